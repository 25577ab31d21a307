"""The replay source on the real Binance candles: the candles the platform stores are the input candles, and the
5-minute aggregation equals the separately recorded 5-minute file, to the last digit."""

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from market.candle_files import iter_rows, parse_ts_ms
from market.feed.runner import FeedRunner
from market.feed.sources.replay import ReplaySource
from market.models import Candle
from market.prices import get_instrument, get_price, get_ticker, is_stale

from .conftest import CANDLES_DIR

pytestmark = pytest.mark.django_db


def _replay(symbols, start, end, *, directory=CANDLES_DIR, loop=False, max_ticks=None, **kw):
    source = ReplaySource(directory=directory, instruments=[get_instrument(s) for s in symbols], speed=0,
                          loop=loop, start_ms=parse_ts_ms(start) if start else None,
                          end_ms=parse_ts_ms(end) if end else None, **kw)
    source.open()
    runner = FeedRunner(source=source)
    stats = runner.run(max_ticks=max_ticks)
    return source, stats


def _file_rows(path, start, end):
    return list(iter_rows(path, start_ms=parse_ts_ms(start), end_ms=parse_ts_ms(end)))


def _stored(symbol, start, end):
    return list(Candle.objects.filter(symbol=symbol, open_time__gte=start, open_time__lt=end)
                .order_by("open_time").values_list("open_time", "open", "high", "low", "close", "volume"))


def test_one_day_of_btc_is_stored_exactly_as_recorded(pairs):
    start, end = "2026-04-01T00:00:00Z", "2026-04-02T00:00:00Z"
    _, stats = _replay(["BTCUSDT"], start, end)
    expected = [(r.open_time, r.open, r.high, r.low, r.close, r.volume)
                for r in _file_rows(CANDLES_DIR / "BTCUSDT-1m.csv.gz", start, end)]
    assert len(expected) == 1440 and stats.ticks == 1440 * 4
    stored = _stored("BTCUSDT", datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC))
    assert stored == expected  # Decimal equality: every price and volume to the last digit
    # The last tick is the last candle's close; the price carries the candle time and the replay source.
    snap = get_price("BTCUSDT")
    assert snap.price == expected[-1][4] and snap.source == "replay"
    assert snap.ts == datetime(2026, 4, 1, 23, 59, 45, tzinfo=UTC)
    # Staleness of a replayed price is judged by its wall-clock arrival, not by its (old) candle time.
    assert not snap.stale and not is_stale("BTCUSDT")


def test_five_minute_aggregation_equals_the_recorded_five_minute_file(pairs, api):
    start, end = "2026-04-15T00:00:00Z", None  # to the end of the 1m file (2026-04-22T12:07)
    _replay(["BTCUSDT"], start, end)
    recorded = {r.open_time: r for r in iter_rows(CANDLES_DIR / "BTCUSDT-5m.csv")}
    last_complete = datetime(2026, 4, 22, 12, 0, tzinfo=UTC)  # 12:05 holds only 12:05..12:07 in the 1m file
    got = []
    cursor = "2026-04-15T00:00:00Z"
    while True:
        resp = api.get("/api/v1/market/candles/BTCUSDT",
                       {"interval": "5m", "start": cursor, "end": last_complete.isoformat(), "limit": 1000})
        assert resp.status_code == 200, resp.content
        page = resp.json()["candles"]
        got += page
        if len(page) < 1000:
            break
        cursor = parse_ts_ms(page[-1]["open_time"]) + 300_000
    assert len(got) == 2161  # every overlapping bucket, 2026-04-15 00:00 .. 2026-04-22 12:00
    for bar in got:
        ref = recorded[datetime.fromisoformat(bar["open_time"].replace("Z", "+00:00"))]
        assert (Decimal(bar["open"]), Decimal(bar["high"]), Decimal(bar["low"]), Decimal(bar["close"]),
                Decimal(bar["volume"])) == (ref.open, ref.high, ref.low, ref.close, ref.volume), bar["open_time"]


def test_a_looping_replay_rewrites_the_same_candles(pairs, candle_slice):
    directory = candle_slice("ETHUSDT", 30, gz=False)
    source, stats = _replay(["ETHUSDT"], None, None, directory=directory, loop=True, max_ticks=30 * 4 * 3 + 5)
    assert source.cycles >= 3
    expected = [(r.open_time, r.open, r.high, r.low, r.close, r.volume)
                for r in iter_rows(directory / "ETHUSDT-1m.csv")]
    stored = list(Candle.objects.filter(symbol="ETHUSDT").order_by("open_time")
                  .values_list("open_time", "open", "high", "low", "close", "volume"))
    assert stored == expected  # volumes not counted twice on the second and third pass


def test_replay_paces_ticks_by_speed_and_synthesises_book_and_ticker(pairs, candle_slice):
    directory = candle_slice("BTCUSDT", 3)
    clock = {"t": 1000.0}
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock["t"] += seconds

    source = ReplaySource(directory=directory, instruments=[get_instrument("BTCUSDT")], speed=60, loop=False,
                          clock=lambda: clock["t"], sleep=sleep)
    source.open()
    assert source.points == 4  # a minute lasts 1 s at x60: the 4 path points
    first = source.poll()
    assert [u.price for u in first] == [Decimal("69979.98")]  # the first candle's open, at once
    second = source.poll()
    assert sleeps == [pytest.approx(0.25)]  # 15 s of candle time at x60
    assert second[0].ts_ms - first[0].ts_ms == 15_000
    book, ticker = second[0].book, second[0].ticker
    assert book.bids[0].price < second[0].price < book.asks[0].price
    assert ticker.open == Decimal("69979.98") and ticker.last == second[0].price
    ticks = first + second
    while not source.finished:
        ticks += source.poll()
    assert len(ticks) == 12 and sum(u.volume for u in ticks) == Decimal("32.55652") + Decimal("128.768") + \
        Decimal("41.56602")


def test_replay_price_goes_stale_by_wall_clock(pairs, settings, candle_slice):
    directory = candle_slice("BTCUSDT", 2)
    _replay(["BTCUSDT"], None, None, directory=directory)
    assert not is_stale("BTCUSDT")
    settings.FEED_STALE_SECONDS = 0.05
    time.sleep(0.1)
    assert is_stale("BTCUSDT") and get_ticker("BTCUSDT").stale
