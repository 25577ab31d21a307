"""The per-process agent-key cache (agents/keycache.py + common/generation.py): fewer queries, never a stale key."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from agents import keycache
from agents.authentication import resolve_key
from agents.services import agent_archive, agent_key_regenerate, agent_key_revoke
from common.redis import get_redis

ROOT = Path(__file__).resolve().parents[2]
BALANCE = "/api/v1/account/balance"


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.AGENT_KEY_CACHE_SECONDS = 10
    # A generation of this test's own: parallel test processes share the Redis database and bump theirs.
    settings.GENERATION_KEY_PREFIX = f"gen-test-{uuid.uuid4().hex[:12]}"


def queries_of(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(BALANCE).status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_a_known_key_costs_no_query(agent_factory, agent_client):
    _, key = agent_factory()
    client = agent_client(key)
    client.get(BALANCE)  # loads the key (and records its use)
    assert queries_of(client) == 1  # the balances only


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["revoke", "regenerate", "archive", "deactivate_account", "delete_key"])
def test_every_change_to_a_key_agent_or_account_takes_effect_at_once(agent_factory, agent_client, change):
    agent, key = agent_factory()
    client = agent_client(key)
    assert client.get(BALANCE).status_code == 200
    assert queries_of(client) == 1  # cached
    if change == "revoke":
        agent_key_revoke(key=agent.keys.get())
    elif change == "regenerate":
        agent_key_regenerate(agent=agent)
    elif change == "archive":
        agent_archive(agent=agent)
    elif change == "deactivate_account":
        account = Account.objects.get(pk=agent.account_id)
        account.is_active = False
        account.save()
    else:
        agent.keys.get().delete()
    r = client.get(BALANCE)
    assert r.status_code == 401, (change, r.content)


@pytest.mark.django_db
def test_each_request_gets_its_own_copies(agent_factory):
    _, key = agent_factory(risk_config={"max_open_orders": 5})
    first, second = resolve_key(key), resolve_key(key)
    assert first is not second and first.agent is not second.agent
    first.agent.risk_config["max_open_orders"] = 999
    first.allowed_ips.append("10.0.0.1")
    first.agent.name = "changed by a view"
    third = resolve_key(key)
    assert third.agent.risk_config == {"max_open_orders": 5} and third.allowed_ips == []
    assert third.agent.name != "changed by a view"


@pytest.mark.django_db
def test_without_redis_there_is_no_cache(agent_factory, agent_client, settings):
    _, key = agent_factory()
    client = agent_client(key)
    client.get(BALANCE)
    get_redis.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # unreachable: the generation is unknown, so no cache
    try:
        assert queries_of(client) == 2
    finally:
        get_redis.cache_clear()


@pytest.mark.django_db
def test_the_cache_can_be_turned_off(agent_factory, agent_client, settings):
    settings.AGENT_KEY_CACHE_SECONDS = 0
    _, key = agent_factory()
    client = agent_client(key)
    client.get(BALANCE)
    assert queries_of(client) == 2


@pytest.mark.django_db(transaction=True)
def test_a_revocation_in_another_process_reaches_this_one(agent_factory, agent_client):
    agent, key = agent_factory()
    client = agent_client(key)
    assert client.get(BALANCE).status_code == 200
    assert queries_of(client) == 1  # cached in this process
    db = django_settings.DATABASES["default"]
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "GENERATION_KEY_PREFIX": django_settings.GENERATION_KEY_PREFIX}
    script = ("from agents.models import AgentKey; from agents.services import agent_key_revoke; "
              f"agent_key_revoke(key=AgentKey.objects.get(agent_id='{agent.pk}'))")
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert client.get(BALANCE).status_code == 401


@pytest.mark.django_db
def test_a_recorded_use_updates_the_cached_copy(agent_factory, agent_client):
    agent, key = agent_factory()
    client = agent_client(key)
    client.get(BALANCE)  # writes last_used_at once
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            client.get(BALANCE)
    assert not any(q["sql"].startswith("UPDATE") for q in queries)
    assert keycache._entries  # and it was the cache that answered


@pytest.mark.django_db
def test_a_key_revoked_after_redis_lost_its_data_stops_at_once(agent_factory, agent_client):
    """Redis restarted (not persistent): the generation is gone, and activity since then brings the counter back to
    the value this process's cache holds. The cached key must not be trusted again."""
    from common import generation

    agent, key = agent_factory()
    client = agent_client(key)
    for _ in range(5):
        keycache.invalidate()  # some history: the generation has climbed
    assert client.get(BALANCE).status_code == 200
    assert queries_of(client) == 1  # cached at the current generation
    cached = str(generation.current(keycache.GENERATION))
    counter = int(cached.rsplit(":", 1)[-1])
    # What a restart of a non-persistent Redis does to these keys (the test's own prefix: other tests' data stays).
    redis = get_redis()
    for name in redis.scan_iter(f"{django_settings.GENERATION_KEY_PREFIX}:*"):
        redis.delete(name)
    agent_key_revoke(key=agent.keys.get())
    for _ in range(50):  # other changes climb the new counter back to the cached one
        if int(str(generation.current(keycache.GENERATION)).rsplit(":", 1)[-1]) >= counter:
            break
        keycache.invalidate()
    response = client.get(BALANCE)
    assert response.status_code == 401, response.content
