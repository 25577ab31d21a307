"""A cached key's generation is read in the rate limiter's round trip (agents.authentication): one Redis round
trip fewer per agent request, the same answers and the same counting."""

import pytest
from rest_framework.test import APIClient

from agents import keycache
from common import generation

pytestmark = pytest.mark.django_db
INFO = "/api/v1/account/info"


@pytest.fixture(autouse=True)
def _key_cache_on(settings):
    """The root conftest turns the key cache off for every test; these are about it."""
    settings.AGENT_KEY_CACHE_SECONDS = 10
    keycache._entries.clear()
    yield
    keycache._entries.clear()


@pytest.fixture
def generation_reads(monkeypatch):
    """Names read with generation.current (a round trip of their own), request by request."""
    reads = []
    real = generation.current
    monkeypatch.setattr(generation, "current", lambda name: reads.append(name) or real(name))
    return reads


def _client(key):
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=key)
    return api


def test_a_cached_key_needs_no_generation_round_trip_of_its_own(agent_factory, generation_reads):
    _, key = agent_factory()
    api = _client(key)
    first = api.get(INFO)
    assert first.status_code == 200
    assert generation_reads == [keycache.GENERATION]  # not cached yet: read on its own, then loaded
    del generation_reads[:]
    second = api.get(INFO)
    assert second.status_code == 200
    assert keycache.GENERATION not in generation_reads
    # counted once per request, as before: the remaining budget goes down by exactly one
    assert int(second["X-RateLimit-Remaining"]) == int(first["X-RateLimit-Remaining"]) - 1


def test_a_revoked_key_is_refused_at_once_with_the_merged_read(agent_factory):
    from agents.models import AgentKey

    agent, key = agent_factory()
    api = _client(key)
    assert api.get(INFO).status_code == 200
    assert api.get(INFO).status_code == 200  # served from the cache
    for row in AgentKey.objects.filter(agent=agent):
        row.revoked_at = row.created_at
        row.save(update_fields=["revoked_at"])
    assert api.get(INFO).status_code == 401


def test_a_key_pinned_to_addresses_reads_its_generation_alone(agent_factory, generation_reads):
    """A request such a key's checks refuse must still be counted by IP, as before: no early count for it."""
    from agents.models import AgentKey
    from agents.services import agent_key_issue

    agent, _ = agent_factory()
    issued = agent_key_issue(agent=agent, scope=AgentKey.Scope.READ, allowed_ips=["127.0.0.1"])
    api = _client(issued.api_key)
    assert api.get(INFO).status_code == 200
    del generation_reads[:]
    assert api.get(INFO).status_code == 200
    assert keycache.GENERATION in generation_reads
