"""The fast read API of market data for other apps (the trading engine calls it on every order).

- :func:`get_instrument` — from a per-process cache of all instruments (refreshed every
  ``MARKET_INSTRUMENT_CACHE_SECONDS``), raises :class:`~market.errors.UnknownSymbol` (404 ``UNKNOWN_SYMBOL``).
- :func:`get_price`, :func:`get_book`, :func:`get_ticker`, :func:`get_market_state`, :func:`is_stale` — one Redis
  round trip each (``HMGET`` of the pair's hash), or one cache read in embedded mode. They raise
  :class:`~market.errors.PriceUnavailable` (503 ``PRICE_UNAVAILABLE``) when the feed never wrote the pair.

Staleness: a price is stale when its age exceeds ``FEED_STALE_SECONDS`` (default 30). The age of a ``live`` price
is measured from the exchange's timestamp; any other source's (replay, synthetic) from its wall-clock arrival,
because a replayed tick carries an old candle time by design.
"""

import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache

from common.redis import get_redis
from market import keys
from market.errors import PriceUnavailable, UnknownSymbol
from market.feed.types import Book, Ticker24h
from market.ticks import publish_tick, subscribe_ticks  # noqa: F401 - re-exported: one place for consumers
from trading.engine.types import BookLevel, InstrumentSpec, MarketState

SOURCE_TS_SOURCES = frozenset({"live"})  # sources whose own timestamps measure freshness


@dataclass(frozen=True)
class InstrumentInfo(InstrumentSpec):
    """An instrument as the engine sees it (an ``InstrumentSpec``) plus its trading status."""

    status: str = "trading"

    @property
    def is_trading(self) -> bool:
        return self.status == "trading"


@dataclass(frozen=True)
class PriceSnapshot:
    symbol: str
    price: Decimal
    ts: datetime  # source timestamp (exchange time; candle time for a replay)
    source: str  # live | replay | synthetic
    received_at: datetime  # wall-clock arrival in the feed
    stale: bool = False

    @property
    def age_seconds(self) -> float:
        return age_seconds(self.source, self.ts.timestamp(), self.received_at.timestamp())


@dataclass(frozen=True)
class BookSnapshot:
    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    ts: datetime
    source: str
    received_at: datetime
    stale: bool = False


@dataclass(frozen=True)
class TickerSnapshot:
    symbol: str
    ticker: Ticker24h
    ts: datetime
    source: str
    received_at: datetime
    stale: bool = False


# --- instruments ------------------------------------------------------------------------------------------------------
_lock = threading.Lock()
_instruments: dict[str, InstrumentInfo] = {}
_loaded_at = 0.0
_MISS_RELOAD_SECONDS = 1.0  # an unknown symbol reloads the cache at most this often (garbage symbols stay cheap)


def _trim(value: Decimal) -> Decimal:
    """0.010000000000 (the column's 12 places) -> 0.01, but 100 stays 100 (not 1E+2)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value


def _load_instruments() -> None:
    global _instruments, _loaded_at
    from market.models import Instrument as InstrumentModel

    rows = InstrumentModel.objects.values_list("symbol", "base", "quote", "tick_size", "step_size", "min_qty",
                                               "min_notional", "status")
    _instruments = {r[0]: InstrumentInfo(symbol=r[0], base=r[1], quote=r[2], tick_size=_trim(r[3]),
                                         step_size=_trim(r[4]), min_qty=_trim(r[5]), min_notional=_trim(r[6]),
                                         status=r[7]) for r in rows}
    _loaded_at = time.monotonic()


def instruments_cache_clear() -> None:
    """Forget the cached instruments (services that change instruments call it; other processes refresh on TTL)."""
    global _loaded_at
    with _lock:
        _loaded_at = 0.0


def _fresh_instruments() -> dict[str, InstrumentInfo]:
    if time.monotonic() - _loaded_at > settings.MARKET_INSTRUMENT_CACHE_SECONDS:
        with _lock:
            if time.monotonic() - _loaded_at > settings.MARKET_INSTRUMENT_CACHE_SECONDS:
                _load_instruments()
    return _instruments


def get_instrument(symbol: str) -> InstrumentInfo:
    instrument = _fresh_instruments().get(symbol)
    if instrument is None:
        if time.monotonic() - _loaded_at > _MISS_RELOAD_SECONDS:
            with _lock:
                _load_instruments()
            instrument = _instruments.get(symbol)
        if instrument is None:
            raise UnknownSymbol(symbol)
    return instrument


def list_instruments(*, trading_only: bool = False) -> list[InstrumentInfo]:
    items = sorted(_fresh_instruments().values(), key=lambda i: i.symbol)
    return [i for i in items if i.is_trading] if trading_only else items


# --- freshness --------------------------------------------------------------------------------------------------------
def age_seconds(source: str, ts: float, received_at: float, now: float | None = None) -> float:
    now = time.time() if now is None else now
    return now - (ts if source in SOURCE_TS_SOURCES else received_at)


def _stale(source: str, ts: float, received_at: float, now: float | None = None) -> bool:
    return age_seconds(source, ts, received_at, now) > settings.FEED_STALE_SECONDS


# --- reading the pair hash --------------------------------------------------------------------------------------------
_PRICE_FIELDS = (keys.F_PRICE, keys.F_TS, keys.F_SOURCE, keys.F_RECEIVED)


def _decode(value):
    return value.decode() if isinstance(value, bytes) else value


# --- one read per pair within a block ---------------------------------------------------------------------------------
_memo: ContextVar[dict | None] = ContextVar("market_prices_memo", default=None)
_MISSING = object()


@contextmanager
def one_read_per_pair():
    """Within the block, a pair's hash is read from the store once: a later read of fields already read gets the
    first read's values (a read of other fields reads again). A placement prices its pair up to three times (the
    engine's market state, the risk valuation, the stream message's position mark): one snapshot now serves all
    three, the one the order was executed against. A nested block shares the outermost one's reads."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _remembered(memo: dict | None, symbol: str, fields: tuple[str, ...]):
    """The block's earlier read of ``fields`` of ``symbol`` (None: no price then), or ``_MISSING``."""
    if memo is None:
        return _MISSING
    raw = memo.get(symbol, _MISSING)
    if raw is None or raw is _MISSING:
        return raw
    if all(f in raw for f in fields):
        return {f: raw[f] for f in fields}
    return _MISSING


def _read(symbol: str, fields: tuple[str, ...]) -> dict | None:
    """The pair's stored fields (strings), or None when no price was ever written. One round trip."""
    memo = _memo.get()
    raw = _remembered(memo, symbol, fields)
    if raw is _MISSING:
        raw = _read_store(symbol, fields)
        if memo is not None:
            memo[symbol] = raw
    return raw


def _read_store(symbol: str, fields: tuple[str, ...]) -> dict | None:
    redis = get_redis()
    if redis is None:
        state = cache.get(keys.pair_key(symbol))
        if not state or keys.F_PRICE not in state:
            return None
        return {f: state.get(f) for f in fields}
    values = redis.hmget(keys.pair_key(symbol), fields)
    if values[0] is None:
        return None
    return {f: _decode(v) for f, v in zip(fields, values)}


def _read_many(symbols: list[str], fields: tuple[str, ...]) -> dict[str, dict | None]:
    memo = _memo.get()
    if memo is None:
        return _read_many_store(symbols, fields)
    out = {s: _remembered(memo, s, fields) for s in symbols}
    missing = [s for s, raw in out.items() if raw is _MISSING]
    if missing:
        read = _read_many_store(missing, fields)
        memo.update(read)
        out.update(read)
    return out


def _read_many_store(symbols: list[str], fields: tuple[str, ...]) -> dict[str, dict | None]:
    redis = get_redis()
    if redis is None:
        states = cache.get_many([keys.pair_key(s) for s in symbols])
        out = {}
        for s in symbols:
            state = states.get(keys.pair_key(s))
            out[s] = {f: state.get(f) for f in fields} if state and keys.F_PRICE in state else None
        return out
    pipe = redis.pipeline(transaction=False)
    for s in symbols:
        pipe.hmget(keys.pair_key(s), fields)
    results = pipe.execute()
    return {s: ({f: _decode(v) for f, v in zip(fields, values)} if values[0] is not None else None)
            for s, values in zip(symbols, results)}


def _times(raw: dict) -> tuple[float, float]:
    return int(raw[keys.F_TS]) / 1000, float(raw[keys.F_RECEIVED])


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _snapshot(symbol: str, raw: dict, now: float | None = None) -> PriceSnapshot:
    ts, rx = _times(raw)
    source = raw[keys.F_SOURCE]
    return PriceSnapshot(symbol=symbol, price=Decimal(raw[keys.F_PRICE]), ts=_utc(ts), source=source,
                         received_at=_utc(rx), stale=_stale(source, ts, rx, now))


# --- the read API -----------------------------------------------------------------------------------------------------
def get_price_or_none(symbol: str) -> PriceSnapshot | None:
    get_instrument(symbol)
    raw = _read(symbol, _PRICE_FIELDS)
    return None if raw is None else _snapshot(symbol, raw)


def get_price(symbol: str) -> PriceSnapshot:
    snapshot = get_price_or_none(symbol)
    if snapshot is None:
        raise PriceUnavailable(symbol)
    return snapshot


def get_prices(symbols: list[str] | None = None) -> dict[str, PriceSnapshot | None]:
    """Latest price of each pair (all trading pairs by default): one pipelined round trip."""
    if symbols is None:
        symbols = [i.symbol for i in list_instruments(trading_only=True)]
    else:
        for s in symbols:
            get_instrument(s)
    now = time.time()
    return {s: (None if raw is None else _snapshot(s, raw, now))
            for s, raw in _read_many(symbols, _PRICE_FIELDS).items()}


def is_stale(symbol: str) -> bool:
    """True when the pair's price is older than FEED_STALE_SECONDS, or missing. The engine refuses market orders
    on a stale pair (MARKET_CLOSED)."""
    snapshot = get_price_or_none(symbol)
    return snapshot is None or snapshot.stale


def get_book(symbol: str, depth: int | None = None) -> BookSnapshot:
    get_instrument(symbol)
    raw = _read(symbol, _PRICE_FIELDS + (keys.F_BOOK,))
    if raw is None:
        raise PriceUnavailable(symbol)
    book = Book.from_json(raw[keys.F_BOOK]) if raw.get(keys.F_BOOK) else Book(bids=(), asks=())
    ts, rx = _times(raw)
    source = raw[keys.F_SOURCE]
    return BookSnapshot(symbol=symbol, bids=book.bids[:depth] if depth else book.bids,
                        asks=book.asks[:depth] if depth else book.asks, ts=_utc(ts), source=source,
                        received_at=_utc(rx), stale=_stale(source, ts, rx))


def get_ticker(symbol: str) -> TickerSnapshot:
    get_instrument(symbol)
    raw = _read(symbol, _PRICE_FIELDS + (keys.F_TICKER,))
    if raw is None:
        raise PriceUnavailable(symbol)
    price = Decimal(raw[keys.F_PRICE])
    if raw.get(keys.F_TICKER):
        ticker = Ticker24h.from_json(raw[keys.F_TICKER])
    else:  # a price written without a ticker (publish_tick): a window of one price
        ticker = Ticker24h(open=price, high=price, low=price, last=price, volume=Decimal(0))
    ts, rx = _times(raw)
    source = raw[keys.F_SOURCE]
    return TickerSnapshot(symbol=symbol, ticker=ticker, ts=_utc(ts), source=source, received_at=_utc(rx),
                          stale=_stale(source, ts, rx))


def get_market_state(symbol: str) -> MarketState:
    """Everything the fill engine needs about a pair now: last price, book, 24 h quote volume, staleness."""
    get_instrument(symbol)
    raw = _read(symbol, _PRICE_FIELDS + (keys.F_BOOK, keys.F_TICKER))
    if raw is None:
        raise PriceUnavailable(symbol)
    book = Book.from_json(raw[keys.F_BOOK]) if raw.get(keys.F_BOOK) else Book(bids=(), asks=())
    volume_quote = None
    if raw.get(keys.F_TICKER):
        volume_quote = Ticker24h.from_json(raw[keys.F_TICKER]).quote_volume
    ts, rx = _times(raw)
    source = raw[keys.F_SOURCE]
    return MarketState(symbol=symbol, last_price=Decimal(raw[keys.F_PRICE]), ts=_utc(ts), bids=book.bids,
                       asks=book.asks, volume_24h_quote=volume_quote, stale=_stale(source, ts, rx))
