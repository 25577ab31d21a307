"""``live``: a real exchange through ccxt, polled at a fixed cadence (Binance by default).

Each poll fetches the 24 h tickers of all pairs (one ``fetch_tickers`` call when the exchange has it) and the top
``depth`` levels of each pair's order book. An error (network, exchange, rate limit) costs nothing but time: the
source backs off (1 s, 2 s, 4 s ... up to ``backoff_max``), and after ``reconnect_after`` failures in a row it
builds a fresh exchange object (new HTTP session) and reloads the markets. The first success resets the backoff.

Candle volume: a REST ticker has no trade stream, so the volume a tick adds to its 1-minute candle is the growth of
the exchange's rolling 24 h base volume since the previous poll (never negative). This is an estimate; run
``manage.py fetch_candles`` to store the exchange's own 1-minute candles.
"""

import logging

from trading.engine.types import BookLevel, InstrumentSpec

from ..exchange import ccxt_symbol, create_exchange, dec, exchange_errors
from ..types import ZERO, Book, MarketUpdate, Ticker24h
from .base import FeedSource, SourceUnavailable

logger = logging.getLogger("market.feed")


class LiveSource(FeedSource):
    name = "live"

    def __init__(self, *, instruments: list[InstrumentSpec], exchange=None, exchange_factory=None,
                 exchange_id: str = "binance", interval: float = 1.0, depth: int = 20,
                 backoff_initial: float = 1.0, backoff_max: float = 30.0, reconnect_after: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.instruments = list(instruments)
        self.exchange = exchange
        self.exchange_factory = exchange_factory or (lambda: create_exchange(exchange_id))
        self.exchange_id = exchange_id
        self.interval = interval
        self.depth = depth
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.reconnect_after = max(1, reconnect_after)
        self.failures = 0
        self.reconnects = 0
        self._symbols: dict[str, str] = {}  # ccxt symbol -> our symbol
        self._prev_base_volume: dict[str, object] = {}
        self._next_due = 0.0

    def describe(self) -> str:
        return f"live ({self.exchange_id})"

    # --- connection ----------------------------------------------------------------------------------------------
    def open(self) -> None:
        if self.exchange is None:
            self.exchange = self.exchange_factory()
        try:
            self._load_markets()
        except exchange_errors() as exc:
            raise SourceUnavailable(f"{self.exchange_id} unreachable: {type(exc).__name__}: {exc}") from exc

    def _load_markets(self) -> None:
        markets = self.exchange.load_markets()
        self._symbols = {}
        for spec in self.instruments:
            name = ccxt_symbol(spec.base, spec.quote)
            if name in markets:
                self._symbols[name] = spec.symbol
            else:
                logger.warning("price feed: %s does not list %s; no live prices for it", self.exchange_id, name)
        if not self._symbols:
            raise SourceUnavailable(f"{self.exchange_id} lists none of the configured pairs")

    def _reconnect(self) -> None:
        self.reconnects += 1
        logger.warning("price feed: reconnecting to %s (attempt %d)", self.exchange_id, self.reconnects)
        try:
            self.exchange = self.exchange_factory()
            self._load_markets()
        except exchange_errors() as exc:
            logger.warning("price feed: reconnect to %s failed: %s", self.exchange_id, exc)
        except SourceUnavailable as exc:
            logger.warning("price feed: %s", exc)

    def backoff_delay(self) -> float:
        """The wait after the ``failures``-th consecutive error: initial * 2^(n-1), capped."""
        return min(self.backoff_max, self.backoff_initial * (2 ** (self.failures - 1)))

    # --- polling -------------------------------------------------------------------------------------------------
    def poll(self) -> list[MarketUpdate]:
        now = self.clock()
        if now < self._next_due:
            self.sleep(self._next_due - now)
        self._next_due = max(self._next_due + self.interval, self.clock())
        try:
            tickers = self._fetch_tickers()
            books = {name: self.exchange.fetch_order_book(name, limit=self.depth) for name in self._symbols}
        except exchange_errors() as exc:
            self.failures += 1
            delay = self.backoff_delay()
            logger.warning("price feed: %s error #%d (%s: %s); retrying in %.1f s", self.exchange_id,
                           self.failures, type(exc).__name__, exc, delay)
            if self.failures % self.reconnect_after == 0:
                self._reconnect()
            self.sleep(delay)
            self._next_due = self.clock()
            return []
        if self.failures:
            logger.info("price feed: %s is back after %d error(s)", self.exchange_id, self.failures)
        self.failures = 0
        received_at = self.clock()
        updates = []
        for name, symbol in self._symbols.items():
            ticker = tickers.get(name)
            if not ticker:
                continue
            update = self._update(symbol, ticker, books.get(name), received_at)
            if update is not None:
                updates.append(update)
        return updates

    def _fetch_tickers(self) -> dict:
        names = list(self._symbols)
        if self.exchange.has.get("fetchTickers"):
            return self.exchange.fetch_tickers(names)
        return {name: self.exchange.fetch_ticker(name) for name in names}

    def _update(self, symbol: str, t: dict, order_book: dict | None, received_at: float) -> MarketUpdate | None:
        price = dec(t.get("last")) or dec(t.get("close"))
        if price is None or price <= 0:
            return None
        ts_ms = int(t["timestamp"]) if t.get("timestamp") else int(received_at * 1000)
        base_volume = dec(t.get("baseVolume"))
        prev = self._prev_base_volume.get(symbol)
        volume = ZERO
        if base_volume is not None:
            if prev is not None and base_volume > prev:
                volume = base_volume - prev
            self._prev_base_volume[symbol] = base_volume
        open_ = dec(t.get("open"))
        if open_ is None and dec(t.get("change")) is not None:
            open_ = price - dec(t["change"])
        ticker = Ticker24h(open=open_ if open_ is not None else price,
                           high=dec(t.get("high")) or price, low=dec(t.get("low")) or price, last=price,
                           volume=base_volume if base_volume is not None else ZERO,
                           quote_volume=dec(t.get("quoteVolume")))
        return MarketUpdate(symbol=symbol, price=price, ts_ms=ts_ms, received_at=received_at, volume=volume,
                            book=_book(order_book, self.depth) if order_book else None, ticker=ticker)


def _levels(rows, depth: int) -> tuple[BookLevel, ...]:
    # ccxt levels are [price, amount] (some exchanges add a third element, the order count).
    return tuple(BookLevel(dec(row[0]), dec(row[1])) for row in rows[:depth])


def _book(order_book: dict, depth: int) -> Book:
    return Book(bids=_levels(order_book.get("bids") or [], depth), asks=_levels(order_book.get("asks") or [], depth))
