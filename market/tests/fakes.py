"""A fake ccxt exchange *object*: it replays hand-written responses (fixtures/binance_ccxt.json) in ccxt's unified
shapes, and can be scripted to raise ccxt's own exceptions. It stands in for the network boundary only: the code
under test is the real LiveSource / services that call it."""

import copy
import json
from pathlib import Path

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "binance_ccxt.json").read_text())


class FakeExchange:
    id = "binance"
    precisionMode = 4  # ccxt.TICK_SIZE, Binance's mode

    def __init__(self, *, failures: list[BaseException] | None = None, markets_error: BaseException | None = None,
                 timestamp_ms: int | None = None):
        self.has = {"fetchTickers": True, "fetchOrderBook": True, "fetchOHLCV": True}
        self.failures = list(failures or [])  # raised, in order, by the next fetch_tickers calls
        self.markets_error = markets_error
        self.timestamp_ms = timestamp_ms  # re-stamp the recorded tickers (to play a fresh market)
        self.calls: list[tuple] = []
        self._ticker_round = 0
        self.markets = None

    def load_markets(self, reload=False):
        self.calls.append(("load_markets",))
        if self.markets_error is not None:
            raise self.markets_error
        self.markets = copy.deepcopy(FIXTURES["load_markets"])
        return self.markets

    def fetch_tickers(self, symbols=None):
        self.calls.append(("fetch_tickers", tuple(symbols or ())))
        if self.failures:
            raise self.failures.pop(0)
        rounds = FIXTURES["fetch_tickers"]
        data = rounds[min(self._ticker_round, len(rounds) - 1)]
        self._ticker_round += 1
        tickers = {s: copy.deepcopy(t) for s, t in data.items() if not symbols or s in symbols}
        if self.timestamp_ms is not None:
            for t in tickers.values():
                t["timestamp"] = self.timestamp_ms
        return tickers

    def fetch_order_book(self, symbol, limit=None):
        self.calls.append(("fetch_order_book", symbol, limit))
        book = copy.deepcopy(FIXTURES["fetch_order_book"][symbol])
        if limit:
            book["bids"], book["asks"] = book["bids"][:limit], book["asks"][:limit]
        return book

    def fetch_ohlcv(self, symbol, timeframe="1m", since=None, limit=None):
        self.calls.append(("fetch_ohlcv", symbol, timeframe, since, limit))
        rows = [r for r in FIXTURES["fetch_ohlcv"].get(symbol, []) if since is None or r[0] >= since]
        return copy.deepcopy(rows[:limit] if limit else rows)
