"""``generation.current_many`` and the generations read in the rate limiter's round trip (common/ratelimit.py)
against the real Redis: a bump of any one name must show, whichever way they are read."""

import uuid

import pytest

from common import generation, ratelimit
from common.redis import get_redis

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_keys(settings):
    settings.GENERATION_KEY_PREFIX = f"gen-test-{uuid.uuid4().hex[:12]}"
    settings.RATE_LIMIT_KEY_PREFIX = f"rl-test-{uuid.uuid4().hex[:12]}"
    yield
    redis = get_redis()
    for pattern in (settings.GENERATION_KEY_PREFIX, settings.RATE_LIMIT_KEY_PREFIX):
        for key in redis.scan_iter(f"{pattern}:*"):
            redis.delete(key)


def test_current_many_sees_every_bump_of_every_name():
    names = ["boards", "agents"]
    first = generation.current_many(names)
    assert first is not None and first == [generation.current(n) for n in names]
    generation.bump("agents")
    second = generation.current_many(names)
    assert second[0] == first[0] and second[1] != first[1]
    generation.bump("boards")
    third = generation.current_many(names)
    assert third[0] != second[0] and third[1] == second[1]


def test_a_lost_hash_gives_a_new_epoch_never_an_old_generation():
    before = generation.current_many(["x"])
    get_redis().delete(generation._key("x"))
    after = generation.current_many(["x"])
    assert after is not None and after != before


def test_the_rate_limiter_reads_the_same_generations_in_its_round_trip():
    names = ["boards", "agents"]
    generation.bump("boards")
    into = {}
    state = ratelimit.hit("ip:test", 100, generations=names, into=into)
    assert state.allowed and state.remaining == 99
    assert into["prefetched_generations"] == generation.current_many(names)
    generation.bump("agents")
    ratelimit.hit("ip:test", 100, generations=names, into=into)
    assert into["prefetched_generations"] == generation.current_many(names)
    assert ratelimit.hit("ip:test", 100).remaining == 97  # no generations asked: counted all the same
