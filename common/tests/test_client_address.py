"""A client cannot choose its own address: X-Forwarded-For is believed only from TRUSTED_PROXIES (default none),
whatever the server in front does. Against real uvicorn processes, as bin/run and docker-compose run them and with
uvicorn's own defaults (which believe X-Forwarded-For from 127.0.0.1)."""

import uuid

import httpx
import pytest

from agents.models import AgentKey
from common.redis import get_redis
from streams.tests.support import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ME = "/api/v1/agents/me"


@pytest.fixture(autouse=True)
def _fresh_ip_buckets():
    """The servers count per IP in the default buckets ("rl:ip:..."); this Redis db is the test run's own."""
    redis = get_redis()
    for bucket in redis.scan_iter("rl:ip:*"):
        redis.delete(bucket)


@pytest.fixture
def pinned_key(agent_factory):
    from agents.services import agent_key_issue

    agent, _ = agent_factory()
    issued = agent_key_issue(agent=agent, scope=AgentKey.Scope.READ, allowed_ips=["9.9.9.9"])
    return issued.key, issued.api_key


def _server(name: str, args=(), **env) -> ServerProcess:
    # A long window: the requests of a test must not straddle two windows on a loaded machine.
    return ServerProcess(name=name, args=args, env={"RATE_LIMIT_ANONYMOUS": "5", "RATE_LIMIT_WINDOW_SECONDS": "3600",
                                                    **env}).start()


@pytest.mark.parametrize("args", [(), ("--no-proxy-headers",)], ids=["uvicorn-defaults", "bin-run-flags"])
def test_a_forged_forwarded_for_neither_passes_allowed_ips_nor_is_recorded(pinned_key, args):
    key, plaintext = pinned_key
    server = _server(f"xff-{len(args)}", args)
    try:
        response = httpx.get(server.url(ME), headers={"X-API-Key": plaintext, "X-Forwarded-For": "9.9.9.9"})
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "IP_NOT_ALLOWED"
        key.refresh_from_db()
        assert key.last_used_ip != "9.9.9.9"
    finally:
        server.stop()


@pytest.mark.parametrize("args", [(), ("--no-proxy-headers",)], ids=["uvicorn-defaults", "bin-run-flags"])
def test_the_anonymous_limit_does_not_reset_with_a_new_forwarded_for(args):
    server = _server(f"xff-limit-{len(args)}", args)
    try:
        codes = [httpx.get(server.url(f"/api/v1/no-such-{i}"),
                           headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(8)]
        # One bucket whatever the header says (the server's start-up probe may have used some of it).
        assert codes.count(404) <= 5 and codes[-3:] == [429] * 3, codes
        assert not list(get_redis().scan_iter("rl:ip:203.0.113.*"))  # no bucket of a claimed address
    finally:
        server.stop()


def test_a_listed_proxy_is_believed(pinned_key):
    key, plaintext = pinned_key
    server = _server("xff-trusted", ("--no-proxy-headers",), TRUSTED_PROXIES="127.0.0.1,::1")
    try:
        response = httpx.get(server.url(ME), headers={"X-API-Key": plaintext,
                                                      "X-Forwarded-For": "198.51.100.7, 9.9.9.9"})
        assert response.status_code == 200, response.text
        key.refresh_from_db()
        assert key.last_used_ip == "9.9.9.9"
        # ...but only its own entry: what the client put before it is not an address the proxy saw.
        forged = f"9.9.9.9, 198.51.100.{uuid.uuid4().int % 250}"
        response = httpx.get(server.url(ME), headers={"X-API-Key": plaintext, "X-Forwarded-For": forged})
        assert response.status_code == 403
    finally:
        server.stop()
