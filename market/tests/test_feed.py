"""The candle builder, the synthetic source, tick events and the read API helpers."""

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from market.feed.candles import CandleBuilder
from market.feed.runner import FeedRunner
from market.feed.sources.synthetic import SyntheticSource
from market.errors import UnknownSymbol
from market.models import Candle, Instrument
from market.prices import get_instrument, get_market_state, get_price, instruments_cache_clear, list_instruments
from market.selectors import feed_info, feed_status
from market.ticks import publish_tick, subscribe_ticks

pytestmark = pytest.mark.django_db
D = Decimal
T0 = 1_775_001_600_000  # 2026-04-01T00:00:00Z in ms


def _candle(minute_ms):
    c = Candle.objects.get(symbol="BTCUSDT", open_time=datetime.fromtimestamp(minute_ms / 1000, UTC))
    return c.open, c.high, c.low, c.close, c.volume


def test_builder_replaces_whole_minutes_and_flushes_idempotently(pairs):
    b = CandleBuilder(aligned=True)
    for ts, p, v in [(T0, "10", "1"), (T0 + 10_000, "8", "1"), (T0 + 20_000, "12", "1"), (T0 + 30_000, "11", "2")]:
        b.add("BTCUSDT", ts, D(p), D(v))
    assert b.flush() == 1
    assert _candle(T0) == (D(10), D(12), D(8), D(11), D(5))
    b.add("BTCUSDT", T0 + 40_000, D("11.5"), D("1"))
    b.flush()
    assert _candle(T0) == (D(10), D(12), D(8), D("11.5"), D(6))  # replaced by the fuller candle, not added to
    assert b.flush() == 0  # nothing changed: nothing written


def test_builder_merges_a_minute_it_joined_midway(pairs):
    """A live feed restarting mid-minute must not wipe what the previous run stored for that minute."""
    Candle.objects.create(symbol="BTCUSDT", open_time=datetime.fromtimestamp(T0 / 1000, UTC), open=D(100),
                          high=D(105), low=D(99), close=D(101), volume=D(3))
    b = CandleBuilder(aligned=False)
    b.add("BTCUSDT", T0 + 40_000, D(98), D(1))
    b.add("BTCUSDT", T0 + 50_000, D(102), D(1))
    b.flush()
    assert _candle(T0) == (D(100), D(105), D(98), D(102), D(5))
    b.add("BTCUSDT", T0 + 55_000, D(106), D(1))
    b.flush()  # later flushes replace with the merged candle: the stored volume is not added twice
    assert _candle(T0) == (D(100), D(106), D(98), D(106), D(6))
    # The next minute was seen from its first tick: it is written as seen.
    b.add("BTCUSDT", T0 + 60_000, D(107), D(2))
    b.flush()
    assert _candle(T0 + 60_000) == (D(107), D(107), D(107), D(107), D(2))
    assert len(b._buckets) == 1  # the finished minute was forgotten


def test_synthetic_walk_is_seeded_and_labelled(pairs):
    instruments = [get_instrument("BTCUSDT"), get_instrument("XRPUSDT")]

    def walk(seed, n, pairs_=instruments):
        source = SyntheticSource(instruments=pairs_, seed=seed, interval=0, start_prices={"BTCUSDT": "65000"})
        source.open()
        return [[(u.symbol, u.price) for u in source.step()] for _ in range(n)]

    a, b = walk(7, 50), walk(7, 50)
    assert a == b and a != walk(8, 50)
    # A pair's path does not depend on which other pairs are configured.
    assert [step[0] for step in a] == [step[0] for step in walk(7, 50, instruments[:1])]
    prices = [p for step in a for s, p in step if s == "BTCUSDT"]
    assert all(p % D("0.01") == 0 for p in prices) and 60000 < min(prices) and max(prices) < 70000
    source = SyntheticSource(instruments=instruments, seed=1, interval=0)
    source.open()
    FeedRunner(source=source).run(max_ticks=10)
    snap = get_price("XRPUSDT")
    assert snap.source == "synthetic" and snap.price % D("0.0001") == 0
    status = feed_status()
    assert status["BTCUSDT"]["source"] == "synthetic" and status["BTCUSDT"]["stale"] is False
    assert status["ETHUSDT"]["stale"] is True and status["ETHUSDT"]["price"] is None
    info = feed_info()
    assert info["source"] == "synthetic" and info["state"] == "stopped" and info["ticks"] == 10


def test_market_state_for_the_engine(pairs):
    source = SyntheticSource(instruments=[get_instrument("BTCUSDT")], seed=3, interval=0)
    source.open()
    FeedRunner(source=source).run(max_ticks=3)
    state = get_market_state("BTCUSDT")
    assert state.symbol == "BTCUSDT" and not state.stale
    assert state.bids[0].price < state.last_price < state.asks[0].price
    assert state.volume_24h_quote > 0 and isinstance(state.volume_24h_quote, Decimal)
    with pytest.raises(UnknownSymbol) as exc:
        get_market_state("NOPEUSDT")
    assert exc.value.status_code == 404 and exc.value.code == "UNKNOWN_SYMBOL"


def test_instrument_cache(pairs, settings, django_assert_num_queries):
    instruments_cache_clear()
    get_instrument("BTCUSDT")
    with django_assert_num_queries(0):
        for _ in range(100):
            assert get_instrument("BTCUSDT").tick_size == D("0.01")
    Instrument.objects.create(symbol="ADAUSDT", base="ADA", quote="USDT", tick_size=D("0.0001"),
                              step_size=D("0.1"), min_qty=D("0.1"), min_notional=D(5))
    time.sleep(1.05)  # an unknown symbol reloads the cache (at most once a second)
    assert get_instrument("ADAUSDT").step_size == D("0.1")
    with django_assert_num_queries(0):  # a garbage symbol right after costs no query
        with pytest.raises(UnknownSymbol):
            get_instrument("GARBAGE")
    assert [i.symbol for i in list_instruments()][:2] == ["ADAUSDT", "BNBUSDT"]


def test_publish_and_subscribe_ticks(pairs):
    received = []
    ready = threading.Event()

    def consume():
        gen = subscribe_ticks(["ETHUSDT"], idle_seconds=0.05, yield_idle=True)
        for event in gen:
            ready.set()
            if event is not None:
                received.append(event)
                break
        gen.close()

    thread = threading.Thread(target=consume)
    thread.start()
    assert ready.wait(5)
    publish_tick(symbol="BTCUSDT", price=D("1"), source="test")  # another pair: not delivered
    publish_tick(symbol="ETHUSDT", price=D("2345.67"), source="test", volume=D("0.5"))
    thread.join(5)
    assert len(received) == 1
    event = received[0]
    assert (event.symbol, event.price, event.source, event.volume) == ("ETHUSDT", D("2345.67"), "test", D("0.5"))
    assert get_price("ETHUSDT").price == D("2345.67")
