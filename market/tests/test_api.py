"""The public market API: shapes, intervals, limits, errors."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market.candle_files import CandleRow
from market.feed.book import BookShape, synthesise_book
from market.feed.store import PriceWriter
from market.feed.types import MarketUpdate, Ticker24h
from market.services import candles_upsert

pytestmark = pytest.mark.django_db
D = Decimal
BASE = datetime(2026, 4, 1, tzinfo=UTC)


def _put(symbol="BTCUSDT", price="68284.49", source="replay", ts=None, received_at=None, book=True):
    price = D(price)
    now = time.time()
    update = MarketUpdate(symbol=symbol, price=price, ts_ms=int((ts or BASE).timestamp() * 1000),
                          received_at=received_at or now, volume=D("0.5"),
                          ticker=Ticker24h(open=D("67000"), high=D("69000.5"), low=D("66500"), last=price,
                                           volume=D("1234.5678"), quote_volume=D("84000000.12")))
    if book:
        update.book = synthesise_book(price, tick_size=D("0.01"), step_size=D("0.00001"), shape=BookShape(depth=20))
    PriceWriter().write([update], source=source)


def _minutes(symbol, n, start=BASE):
    rows = []
    for i in range(n):
        o = D(100 + i)
        rows.append(CandleRow(int((start + timedelta(minutes=i)).timestamp() * 1000), o, o + D("0.5"),
                              o - D("0.25"), o + D("0.1"), D("1.5")))
    candles_upsert(symbol=symbol, rows=rows)


def test_pairs(api, pairs):
    resp = api.get("/api/v1/market/pairs")
    assert resp.status_code == 200
    body = resp.json()["pairs"]
    assert [p["symbol"] for p in body] == ["BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    btc = next(p for p in body if p["symbol"] == "BTCUSDT")
    assert btc == {"symbol": "BTCUSDT", "base": "BTC", "quote": "USDT", "status": "trading",
                   "tick_size": "0.01000000", "step_size": "0.00001000", "min_qty": "0.00001000",
                   "min_notional": "5.00000000"}
    assert "X-RateLimit-Limit" in resp  # public, but throttled like everything else


def test_price_and_prices(api, pairs):
    _put()
    resp = api.get("/api/v1/market/price/BTCUSDT")
    assert resp.status_code == 200
    body = resp.json()
    assert body["symbol"] == "BTCUSDT" and body["price"] == "68284.49000000" and body["source"] == "replay"
    assert body["ts"] == "2026-04-01T00:00:00Z" and body["stale"] is False
    assert set(body) == {"symbol", "price", "ts", "received_at", "source", "stale"}
    assert api.get("/api/v1/market/price/btcusdt").json()["price"] == "68284.49000000"  # case-insensitive
    prices = api.get("/api/v1/market/prices").json()["prices"]
    assert len(prices) == 5
    by_symbol = {p["symbol"]: p for p in prices}
    assert by_symbol["BTCUSDT"]["price"] == "68284.49000000"
    assert by_symbol["ETHUSDT"] == {"symbol": "ETHUSDT", "price": None, "ts": None, "received_at": None,
                                    "source": None, "stale": True}


def test_synthetic_source_is_labelled_and_old_prices_are_stale(api, pairs):
    _put(source="synthetic", received_at=time.time() - 60)
    body = api.get("/api/v1/market/price/BTCUSDT").json()
    assert body["source"] == "synthetic" and body["stale"] is True


def test_price_of_a_listed_pair_without_a_price(api, pairs):
    resp = api.get("/api/v1/market/price/ETHUSDT")
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "PRICE_UNAVAILABLE"


@pytest.mark.parametrize("path", ["price/DOGEUSDT", "ticker/DOGEUSDT", "orderbook/DOGEUSDT", "candles/DOGEUSDT",
                                  "price/%F0%9F%92%A9", "candles/" + "X" * 300])
def test_unknown_symbol(api, pairs, path):
    resp = api.get(f"/api/v1/market/{path}")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "UNKNOWN_SYMBOL"


def test_ticker(api, pairs):
    _put()
    body = api.get("/api/v1/market/ticker/BTCUSDT").json()
    assert body["open"] == "67000.00000000" and body["high"] == "69000.50000000" and body["low"] == "66500.00000000"
    assert body["last"] == "68284.49000000" and body["volume"] == "1234.56780000"
    assert body["quote_volume"] == "84000000.12000000"
    assert body["change"] == "1284.49000000" and body["change_pct"] == "1.9171"  # 1284.49 / 67000 = 1.91714...
    assert body["source"] == "replay" and body["stale"] is False


def test_orderbook(api, pairs):
    _put()
    body = api.get("/api/v1/market/orderbook/BTCUSDT", {"depth": 5}).json()
    assert len(body["bids"]) == len(body["asks"]) == 5
    assert body["bids"][0] == ["68277.66000000", "0.36611000"] and body["asks"][0][0] == "68291.32000000"
    assert all(isinstance(x, str) for level in body["bids"] + body["asks"] for x in level)
    assert len(api.get("/api/v1/market/orderbook/BTCUSDT").json()["bids"]) == 20
    assert len(api.get("/api/v1/market/orderbook/BTCUSDT", {"depth": 100}).json()["bids"]) == 20  # all we have


@pytest.mark.parametrize("params", [{"depth": 0}, {"depth": 101}, {"depth": "ten"}, {"depth": "1.5"}])
def test_orderbook_bad_depth(api, pairs, params):
    _put()
    resp = api.get("/api/v1/market/orderbook/BTCUSDT", params)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "VALIDATION_ERROR" and "depth" in resp.json()["error"]["details"]["fields"]


def test_candles_1m_and_limit(api, pairs):
    _minutes("BTCUSDT", 30)
    body = api.get("/api/v1/market/candles/BTCUSDT").json()
    assert body["symbol"] == "BTCUSDT" and body["interval"] == "1m" and len(body["candles"]) == 30
    first = body["candles"][0]
    assert first == {"open_time": "2026-04-01T00:00:00Z", "close_time": "2026-04-01T00:00:59.999000Z",
                     "open": "100.00000000", "high": "100.50000000", "low": "99.75000000",
                     "close": "100.10000000", "volume": "1.50000000"}
    last3 = api.get("/api/v1/market/candles/BTCUSDT", {"limit": 3}).json()["candles"]
    assert [c["open_time"] for c in last3] == ["2026-04-01T00:27:00Z", "2026-04-01T00:28:00Z",
                                               "2026-04-01T00:29:00Z"]
    from_start = api.get("/api/v1/market/candles/BTCUSDT",
                         {"limit": 2, "start": "2026-04-01T00:10:00Z"}).json()["candles"]
    assert [c["open_time"] for c in from_start] == ["2026-04-01T00:10:00Z", "2026-04-01T00:11:00Z"]
    by_ms = api.get("/api/v1/market/candles/BTCUSDT",
                    {"start": int((BASE + timedelta(minutes=5)).timestamp() * 1000),
                     "end": "2026-04-01T00:07:00"}).json()["candles"]
    assert [c["open_time"] for c in by_ms] == ["2026-04-01T00:05:00Z", "2026-04-01T00:06:00Z",
                                               "2026-04-01T00:07:00Z"]


@pytest.mark.parametrize("interval,count,first", [
    ("5m", 6, {"open": "100.00000000", "high": "104.50000000", "low": "99.75000000", "close": "104.10000000",
               "volume": "7.50000000"}),
    ("15m", 2, {"open": "100.00000000", "high": "114.50000000", "low": "99.75000000", "close": "114.10000000",
                "volume": "22.50000000"}),
    ("1h", 1, {"open": "100.00000000", "high": "129.50000000", "low": "99.75000000", "close": "129.10000000",
               "volume": "45.00000000"}),
    ("4h", 1, None), ("1d", 1, None),
])
def test_candle_intervals_aggregate_aligned_buckets(api, pairs, interval, count, first):
    _minutes("BTCUSDT", 30)
    body = api.get("/api/v1/market/candles/BTCUSDT", {"interval": interval}).json()
    assert body["interval"] == interval and len(body["candles"]) == count
    assert body["candles"][0]["open_time"] == "2026-04-01T00:00:00Z"
    if first:
        assert {k: body["candles"][0][k] for k in first} == first


def test_candle_buckets_are_aligned_to_the_epoch(api, pairs):
    _minutes("BTCUSDT", 12, start=BASE + timedelta(minutes=3))  # 00:03 .. 00:14
    candles = api.get("/api/v1/market/candles/BTCUSDT", {"interval": "5m"}).json()["candles"]
    assert [c["open_time"] for c in candles] == ["2026-04-01T00:00:00Z", "2026-04-01T00:05:00Z",
                                                 "2026-04-01T00:10:00Z"]
    assert candles[0]["open"] == "100.00000000" and candles[0]["volume"] == "3.00000000"  # 00:03, 00:04 only


def test_no_candles(api, pairs):
    assert api.get("/api/v1/market/candles/ETHUSDT").json()["candles"] == []


@pytest.mark.parametrize("params,field", [
    ({"interval": "2m"}, "interval"), ({"interval": "1M"}, "interval"), ({"limit": 0}, "limit"),
    ({"limit": 1001}, "limit"), ({"limit": "x"}, "limit"), ({"start": "yesterday"}, "start"),
    ({"end": "2026-13-01"}, "end"), ({"start": "2026-04-02T00:00:00Z", "end": "2026-04-01T00:00:00Z"}, "end"),
    ({"start": "9" * 30}, "start"), ({"start": "9999-12-31T23:59:59Z", "interval": "1d"}, "start"),
    ({"end": "9999-12-31"}, "end"), ({"start": "1969-12-31T23:59:59Z"}, "start"), ({"start": "-1"}, "start"),
])
def test_candles_bad_parameters(api, pairs, params, field):
    resp = api.get("/api/v1/market/candles/BTCUSDT", params)
    assert resp.status_code == 400, resp.content
    error = resp.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["details"]["fields"]


def test_fees(api, pairs):
    body = api.get("/api/v1/market/fees").json()
    assert body["tiers"][0] == {"tier": 0, "min_volume_30d": "0.00", "maker_bps": "8", "taker_bps": "10",
                                "maker_pct": "0.08", "taker_pct": "0.1"}
    volumes = [D(t["min_volume_30d"]) for t in body["tiers"]]
    assert volumes == sorted(volumes) and len(volumes) >= 2
    assert all(D(t["maker_bps"]) <= D(t["taker_bps"]) for t in body["tiers"])
    assert [D(t["taker_bps"]) for t in body["tiers"]] == sorted((D(t["taker_bps"]) for t in body["tiers"]),
                                                                reverse=True)


def test_fees_follow_the_setting(api, pairs, settings):
    settings.FEE_TIERS = [{"min_volume_30d": "0", "maker_bps": "1.5", "taker_bps": "3"}]
    assert api.get("/api/v1/market/fees").json()["tiers"] == [
        {"tier": 0, "min_volume_30d": "0.00", "maker_bps": "1.5", "taker_bps": "3", "maker_pct": "0.015",
         "taker_pct": "0.03"}]


def test_endpoints_need_no_authentication_and_refuse_writes(api, pairs):
    assert api.post("/api/v1/market/pairs", {}, format="json").status_code == 405
