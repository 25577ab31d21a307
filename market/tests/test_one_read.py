"""``market.prices.one_read_per_pair``: inside the block a pair's hash is read from Redis once."""

from decimal import Decimal

import pytest

from market.prices import get_market_state, get_price, get_prices, one_read_per_pair
from trading.tests.orders_support import set_market

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def redis_reads(monkeypatch):
    """The pairs' hashes read from Redis (HMGET, direct or pipelined), in order."""
    from redis.client import Pipeline, Redis

    reads = []
    real, real_pipe = Redis.hmget, Pipeline.hmget

    def hmget(self, name, keys, *args):
        reads.append(name)
        return real(self, name, keys, *args)

    def pipe_hmget(self, name, keys, *args):
        reads.append(name)
        return real_pipe(self, name, keys, *args)

    monkeypatch.setattr(Redis, "hmget", hmget)
    monkeypatch.setattr(Pipeline, "hmget", pipe_hmget)
    return reads


def test_one_snapshot_per_pair_inside_the_block(pairs, redis_reads):
    set_market("BTCUSDT", "60000", bids=[("59999", "1")], asks=[("60001", "1")])
    set_market("ETHUSDT", "3000")
    with one_read_per_pair():
        state = get_market_state("BTCUSDT")  # every field: price, times, source, book, ticker
        set_market("BTCUSDT", "61000")
        assert get_price("BTCUSDT").price == state.last_price == D("60000")  # the block's snapshot
        prices = get_prices(["BTCUSDT", "ETHUSDT"])
        assert (prices["BTCUSDT"].price, prices["ETHUSDT"].price) == (D("60000"), D("3000"))
        with one_read_per_pair():  # nested: the same snapshot
            assert get_prices(["ETHUSDT"])["ETHUSDT"].price == D("3000")
        assert get_market_state("BTCUSDT").asks[0].price == D("60001")
    assert len(redis_reads) == 2  # BTCUSDT once (all fields), ETHUSDT once
    assert get_price("BTCUSDT").price == D("61000")  # outside the block: the store again
    assert get_market_state("BTCUSDT").last_price == D("61000")


def test_a_read_of_more_fields_reads_again(pairs, redis_reads):
    set_market("BTCUSDT", "60000", bids=[("59999", "1")], asks=[("60001", "1")])
    with one_read_per_pair():
        assert get_price("BTCUSDT").price == D("60000")  # price fields only
        assert get_market_state("BTCUSDT").bids[0].price == D("59999")  # needs the book: read again
        get_price("BTCUSDT")
    assert len(redis_reads) == 2


def test_no_price_is_remembered_as_no_price(pairs, redis_reads):
    from market.errors import PriceUnavailable

    with one_read_per_pair():
        with pytest.raises(PriceUnavailable):
            get_price("SOLUSDT")
        assert get_prices(["SOLUSDT"]) == {"SOLUSDT": None}
    assert len(redis_reads) == 1
