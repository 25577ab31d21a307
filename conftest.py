"""Fixtures shared by every app's tests."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _own_rate_limit_buckets(settings):
    """Each test counts requests in rate-limit buckets of its own (tests share 127.0.0.1 and one Redis db), and
    sees key changes at once."""
    import uuid

    settings.RATE_LIMIT_KEY_PREFIX = f"rl-test-{uuid.uuid4().hex[:12]}"
    # Tests edit key rows with update() to simulate time passing; the per-process key cache would hide that
    # (agents/keycache.py explains why production code calls invalidate()). Its own tests turn it back on.
    settings.AGENT_KEY_CACHE_SECONDS = 0


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def account_factory(db):
    from accounts.services import account_register

    counter = {"n": 0}

    def make(email=None, password="correct-horse-battery", display_name="Trader"):
        counter["n"] += 1
        email = email or f"trader{counter['n']}@example.com"
        return account_register(email=email, password=password, display_name=display_name)

    return make


@pytest.fixture
def agent_factory(db, account_factory):
    """``agent_factory(account=None, **kw)`` -> (agent, plaintext_key)."""
    from agents.services import agent_create

    def make(account=None, name="bot", **kwargs):
        account = account or account_factory().account
        agent, issued = agent_create(account=account, name=name, **kwargs)
        return agent, issued.api_key

    return make


@pytest.fixture
def agent_client(agent_factory):
    """``agent_client(agent_key)`` -> an APIClient sending that X-API-Key."""

    def make(key):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        return client

    return make


@pytest.fixture
def jwt_client():
    """``jwt_client(account)`` -> an APIClient with a fresh access token of that account."""
    from rest_framework_simplejwt.tokens import RefreshToken

    def make(account):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(account).access_token}")
        return client

    return make


@pytest.fixture
def redis_server():
    """A throwaway ``redis-server`` of the test's own (``common.testing.RedisServer``), for tests that stop and
    restart Redis: never the shared one."""
    from common.testing import RedisServer

    server = RedisServer().start()
    yield server
    server.stop()
