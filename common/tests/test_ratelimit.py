"""Rate limits in Redis: per agent key, per account, per anonymous IP; headers on every API response."""

import time

import pytest

from agents.services import agent_key_issue
from common.redis import get_redis

pytestmark = [pytest.mark.django_db, pytest.mark.urls("common.tests.urls")]

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def limits(response) -> tuple[int, int, int]:
    return tuple(int(response[h]) for h in HEADERS)


def assert_rate_limited(response):
    assert response.status_code == 429, (response.status_code, response.content)
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60 and error["details"] == {"retry_after": retry_after}
    assert int(response["X-RateLimit-Remaining"]) == 0


def test_every_response_of_a_key_carries_the_headers_and_counts_down(agent_factory, agent_client, settings):
    settings.RATE_LIMIT_PER_KEY = 50
    _, key = agent_factory()
    client = agent_client(key)
    seen = [limits(client.get("/api/v1/account/balance")) for _ in range(3)]
    assert [s[:2] for s in seen] == [(50, 49), (50, 48), (50, 47)]
    reset = seen[0][2]
    assert time.time() < reset <= time.time() + settings.RATE_LIMIT_WINDOW_SECONDS + 1
    assert reset % settings.RATE_LIMIT_WINDOW_SECONDS == 0  # fixed windows


def test_a_key_past_its_limit_gets_429_with_retry_after(agent_factory, agent_client, settings):
    settings.RATE_LIMIT_PER_KEY = 3
    _, key = agent_factory()
    client = agent_client(key)
    for _ in range(3):
        assert client.get("/api/v1/account/balance").status_code == 200
    assert_rate_limited(client.get("/api/v1/account/balance"))
    assert_rate_limited(client.get("/api/v1/account/info"))  # the limit is the key's, not the endpoint's


def test_each_key_has_its_own_bucket(agent_factory, agent_client, settings):
    settings.RATE_LIMIT_PER_KEY = 2
    agent, key = agent_factory()
    other = agent_key_issue(agent=agent, scope="read").api_key
    for _ in range(2):
        agent_client(key).get("/api/v1/account/balance")
    assert_rate_limited(agent_client(key).get("/api/v1/account/balance"))
    r = agent_client(other).get("/api/v1/account/balance")
    assert r.status_code == 200 and limits(r)[:2] == (2, 1)


def test_accounts_are_limited_per_account(account_factory, jwt_client, settings):
    settings.RATE_LIMIT_PER_ACCOUNT = 2
    alice, bob = account_factory().account, account_factory().account
    for _ in range(2):
        r = jwt_client(alice).get("/api/v1/_probe/account")
        assert r.status_code == 200
    assert limits(r)[:2] == (2, 0)
    assert_rate_limited(jwt_client(alice).get("/api/v1/_probe/account"))  # a new token, the same account
    assert jwt_client(bob).get("/api/v1/_probe/account").status_code == 200


def test_anonymous_callers_are_limited_per_ip(api, settings):
    settings.RATE_LIMIT_ANONYMOUS = 2
    for remaining in (1, 0):
        r = api.get("/api/v1/health/live", REMOTE_ADDR="10.1.1.1")
        assert r.status_code == 200 and limits(r)[:2] == (2, remaining)
    assert_rate_limited(api.get("/api/v1/health/live", REMOTE_ADDR="10.1.1.1"))
    assert api.get("/api/v1/health/live", REMOTE_ADDR="10.1.1.2").status_code == 200
    # X-Forwarded-For is not trusted: a client cannot pick its own bucket.
    assert_rate_limited(api.get("/api/v1/health/live", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="10.9.9.9"))


def test_an_agent_key_is_not_limited_by_its_ip(agent_factory, agent_client, api, settings):
    settings.RATE_LIMIT_ANONYMOUS = 1
    _, key = agent_factory()
    api.get("/api/v1/health/live", REMOTE_ADDR="10.2.2.2")
    assert_rate_limited(api.get("/api/v1/health/live", REMOTE_ADDR="10.2.2.2"))
    assert agent_client(key).get("/api/v1/account/balance", REMOTE_ADDR="10.2.2.2").status_code == 200


@pytest.mark.parametrize("request_kwargs, status", [
    ({"path": "/api/v1/account/balance"}, 401),  # no credentials: refused before DRF's throttle ran
    ({"path": "/api/v1/account/balance", "HTTP_X_API_KEY": "ak_live_" + "0" * 43}, 401),  # a wrong key
    ({"path": "/api/v1/_probe/echo"}, 404),  # NotFound raised by a view
    ({"path": "/api/v1/no-such-thing"}, 404),  # no view at all: Django's 404
    ({"path": "/api/v1/health/live", "HTTP_ACCEPT": "image/png"}, 406),
])
def test_errors_carry_the_headers_and_count_against_the_ip(api, settings, request_kwargs, status):
    settings.RATE_LIMIT_ANONYMOUS = 5
    r = api.get(REMOTE_ADDR="10.3.3.3", **request_kwargs)
    assert r.status_code == status and r.json()["error"]
    assert limits(r)[:2] == (5, 4)


def test_method_not_allowed_and_validation_errors_carry_the_headers(api, agent_factory, agent_client):
    _, key = agent_factory()
    r = agent_client(key).delete("/api/v1/account/balance")
    assert r.status_code in (403, 405)  # a trade key may write, and this endpoint has no DELETE
    assert all(h in r for h in HEADERS)
    r = api.post("/api/v1/_probe/echo", {"name": 1}, format="json")
    assert r.status_code == 400 and all(h in r for h in HEADERS)


def test_guessing_keys_runs_into_the_ip_limit(api, settings):
    settings.RATE_LIMIT_ANONYMOUS = 3
    for i in range(3):
        r = api.get("/api/v1/account/balance", REMOTE_ADDR="10.4.4.4", HTTP_X_API_KEY=f"ak_live_{i:0>43}")
        assert r.status_code == 401
    assert_rate_limited(api.get("/api/v1/account/balance", REMOTE_ADDR="10.4.4.4",
                                HTTP_X_API_KEY="ak_live_" + "9" * 43))


def test_unknown_urls_past_the_limit_are_429(api, settings):
    settings.RATE_LIMIT_ANONYMOUS = 1
    assert api.get("/api/v1/nope", REMOTE_ADDR="10.5.5.5").status_code == 404
    assert_rate_limited(api.get("/api/v1/nope", REMOTE_ADDR="10.5.5.5"))


def test_non_api_paths_are_not_counted(api, settings):
    settings.RATE_LIMIT_ANONYMOUS = 1
    for _ in range(3):
        r = api.get("/not-the-api", REMOTE_ADDR="10.6.6.6")
        assert r.status_code == 404 and "X-RateLimit-Limit" not in r


def test_counts_live_in_redis_and_expire_with_the_window(agent_factory, agent_client, settings):
    _, key = agent_factory()
    agent_client(key).get("/api/v1/account/balance")
    redis = get_redis()
    buckets = list(redis.scan_iter(f"{settings.RATE_LIMIT_KEY_PREFIX}:key:*"))
    assert len(buckets) == 1 and int(redis.get(buckets[0])) == 1
    assert 0 < redis.ttl(buckets[0]) <= settings.RATE_LIMIT_WINDOW_SECONDS + 1


def test_disabled_limits_send_no_headers(api, settings):
    settings.RATE_LIMIT_ENABLED = False
    settings.RATE_LIMIT_ANONYMOUS = 1
    for _ in range(3):
        r = api.get("/api/v1/health/live")
        assert r.status_code == 200 and "X-RateLimit-Limit" not in r


def test_an_unreachable_redis_fails_open(api, settings):
    """A Redis outage must not become an API outage: requests pass, uncounted and without headers."""
    get_redis.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        r = api.get("/api/v1/health/live")
        assert r.status_code == 200 and "X-RateLimit-Limit" not in r
    finally:
        get_redis.cache_clear()
