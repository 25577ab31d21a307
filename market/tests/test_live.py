"""The live source against recorded ccxt responses (a fake exchange object replaying ccxt's unified shapes)."""

import logging
import time
from datetime import UTC, datetime
from decimal import Decimal

import ccxt
import pytest

from market.feed.runner import FeedConfig, FeedRunner, open_source
from market.feed.sources.base import SourceUnavailable
from market.feed.sources.live import LiveSource
from market.models import Candle, Instrument
from market.prices import get_book, get_instrument, get_market_state, get_price, get_ticker, is_stale
from market.services import candles_fetch, instruments_sync
from trading.engine.types import BookLevel, MarketState

from .fakes import FakeExchange

pytestmark = pytest.mark.django_db


def _source(exchange, sleeps=None, **kw):
    sleeps = sleeps if sleeps is not None else []
    return LiveSource(instruments=[get_instrument("BTCUSDT"), get_instrument("ETHUSDT")], exchange=exchange,
                      interval=0, depth=3, sleep=sleeps.append, **kw)


def test_floats_become_exact_decimals(pairs):
    source = _source(FakeExchange())
    source.open()
    btc, eth = sorted(source.poll(), key=lambda u: u.symbol)
    assert btc.symbol == "BTCUSDT" and eth.symbol == "ETHUSDT"
    # 74131.55 as a float is 74131.5500000000029...; the platform keeps the exchange's digits.
    assert btc.price == Decimal("74131.55") and str(btc.price) == "74131.55"
    assert btc.ts_ms == 1776124800123
    assert btc.ticker.open == Decimal("73222.1") and btc.ticker.high == Decimal("74821.07")
    assert btc.ticker.volume == Decimal("18234.71215") and btc.ticker.quote_volume == Decimal("1347786213.7723")
    assert btc.book.bids == (BookLevel(Decimal("74131.54"), Decimal("1.73318")),
                             BookLevel(Decimal("74131.53"), Decimal("0.00034")),
                             BookLevel(Decimal("74131.5"), Decimal("0.1")))  # depth 3
    assert btc.book.asks[1] == BookLevel(Decimal("74131.6"), Decimal("0.0069"))
    assert btc.volume == 0  # no previous poll to measure the 24 h volume's growth against
    # Second poll: the candle volume is the growth of the rolling 24 h volume, exactly.
    btc2, eth2 = sorted(source.poll(), key=lambda u: u.symbol)
    assert btc2.volume == Decimal("18234.94317") - Decimal("18234.71215") == Decimal("0.23102")
    assert eth2.volume == 0  # the rolling 24 h volume shrank: never a negative candle volume


def test_written_prices_books_and_market_state(pairs):
    source = _source(FakeExchange())
    source.open()
    runner = FeedRunner(source=source)
    runner.step()
    snap = get_price("BTCUSDT")
    assert snap.price == Decimal("74131.55") and snap.source == "live"
    assert snap.ts == datetime(2026, 4, 14, 0, 0, 0, 123000, tzinfo=UTC)
    book = get_book("ETHUSDT")
    assert book.bids[0] == BookLevel(Decimal("2355.01"), Decimal("12.5"))
    ticker = get_ticker("BTCUSDT").ticker
    assert ticker.change_pct.quantize(Decimal("0.001")) == Decimal("1.242")
    state = get_market_state("BTCUSDT")
    assert isinstance(state, MarketState)
    assert state.last_price == Decimal("74131.55") and state.volume_24h_quote == Decimal("1347786213.7723")
    assert state.bids[0].price < state.asks[0].price


def test_backoff_and_reconnect_after_errors(pairs, caplog):
    failing = FakeExchange(failures=[ccxt.NetworkError("connection reset"), ccxt.RequestTimeout("timed out"),
                                     ccxt.ExchangeNotAvailable("503"), ccxt.DDoSProtection("429")])
    replacement = FakeExchange()
    sleeps = []
    source = _source(failing, sleeps, exchange_factory=lambda: replacement, backoff_initial=1, backoff_max=3,
                     reconnect_after=3)
    source.open()
    with caplog.at_level(logging.WARNING, logger="market.feed"):
        assert source.poll() == [] and source.poll() == []
        assert sleeps == [1, 2]  # exponential backoff
        assert source.poll() == []  # third failure in a row: a fresh exchange object
        assert source.reconnects == 1 and source.exchange is replacement
        assert sleeps == [1, 2, 3]  # capped at backoff_max
    assert "error #2" in caplog.text and "reconnecting" in caplog.text
    # The fresh exchange answers; the first success resets the backoff.
    updates = source.poll()
    assert len(updates) == 2 and source.failures == 0
    assert ("load_markets",) in replacement.calls


def test_errors_do_not_stop_the_runner(pairs):
    exchange = FakeExchange(failures=[ccxt.NetworkError("down")])
    sleeps = []
    source = _source(exchange, sleeps)
    source.open()
    runner = FeedRunner(source=source)
    assert runner.step() == 0 and sleeps == [1.0]
    assert runner.step() == 2
    assert get_price("ETHUSDT").price == Decimal("2355.02")


def test_stale_detection_uses_the_exchange_timestamp(pairs, settings):
    exchange = FakeExchange()
    source = _source(exchange)
    source.open()
    FeedRunner(source=source).step()
    # The recorded tickers are from 2026-04-14; a live price is judged by the exchange's own timestamp.
    assert is_stale("BTCUSDT") and get_price("BTCUSDT").stale
    source = _source(FakeExchange(timestamp_ms=int(time.time() * 1000) - 5_000))  # 5 s old
    source.open()
    FeedRunner(source=source).step()
    assert not is_stale("BTCUSDT") and not get_market_state("BTCUSDT").stale
    settings.FEED_STALE_SECONDS = 2
    assert is_stale("BTCUSDT") and get_market_state("BTCUSDT").stale


def test_unreachable_exchange_raises_source_unavailable(pairs):
    source = _source(FakeExchange(markets_error=ccxt.NetworkError("binance GET https://api.binance.com")))
    with pytest.raises(SourceUnavailable, match="unreachable"):
        source.open()


def test_fallback_chain(pairs, candle_slice, caplog):
    instruments = [get_instrument("BTCUSDT")]
    down = FakeExchange(markets_error=ccxt.NetworkError("no route to host"))
    with caplog.at_level(logging.WARNING, logger="market.feed"):
        source, reason = open_source(FeedConfig(source="live", replay_dir=str(candle_slice("BTCUSDT", 5))),
                                     instruments, exchange=down)
    assert source.name == "replay" and "no route to host" in reason
    assert "PRICE FEED FALLBACK" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="market.feed"):
        source, reason = open_source(FeedConfig(source="live", replay_dir=""), instruments, exchange=down)
    assert source.name == "synthetic" and "FEED_REPLAY_DIR" in reason
    assert "NOT market data" in caplog.text
    source, reason = open_source(FeedConfig(source="live"), instruments, exchange=FakeExchange())
    assert source.name == "live" and reason is None


def test_sync_pairs_reads_exact_filters(pairs):
    Instrument.objects.filter(symbol="BTCUSDT").update(tick_size=Decimal("1"))  # wrong: sync must fix it
    result = instruments_sync(exchange=FakeExchange(), symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT",
                                                                 "NOPEUSDT"])
    assert result.updated == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]  # filters_source "default" -> "binance"
    assert result.created == ["DOGEUSDT"] and result.missing == ["NOPEUSDT"]
    btc = Instrument.objects.get(symbol="BTCUSDT")
    assert (btc.tick_size, btc.step_size, btc.min_qty, btc.min_notional) == (
        Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"))
    assert btc.filters_source == "binance"
    sol = Instrument.objects.get(symbol="SOLUSDT")  # no raw filters: ccxt's floats, exactly
    assert (sol.tick_size, sol.step_size, sol.min_qty, sol.min_notional) == (
        Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal("5"))
    doge = Instrument.objects.get(symbol="DOGEUSDT")
    assert doge.status == "halted" and doge.tick_size == Decimal("0.00001")
    assert get_instrument("DOGEUSDT").status == "halted"  # the cache was refreshed
    again = instruments_sync(exchange=FakeExchange(), symbols=["BTCUSDT", "DOGEUSDT"])
    assert again.updated == [] and again.unchanged == ["BTCUSDT", "DOGEUSDT"]


def test_fetch_candles_stores_exchange_candles(pairs):
    now_ms = 1776124800000 + 30_000  # mid-minute: the running minute is not stored
    rows, inserted, updated = candles_fetch(symbol="BTCUSDT", days=1, exchange=FakeExchange(), now_ms=now_ms)
    assert (rows, inserted, updated) == (2, 2, 0)
    first = Candle.objects.get(symbol="BTCUSDT", open_time=datetime.fromtimestamp(1776124680, UTC))
    assert (first.open, first.high, first.volume) == (Decimal("74100"), Decimal("74140.01"), Decimal("12.34567"))
    assert candles_fetch(symbol="BTCUSDT", days=1, exchange=FakeExchange(), now_ms=now_ms) == (2, 0, 0)
