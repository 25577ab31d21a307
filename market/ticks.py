"""Tick events: the one place that knows their channel names and JSON shape.

The feed publishes every tick twice, on ``<prefix>:ticks`` (all pairs) and ``<prefix>:ticks:<SYMBOL>``, as JSON::

    {"symbol": "BTCUSDT", "price": "64000.12", "ts": "2026-04-01T00:00:00.062Z", "ts_ms": 1775001600062,
     "source": "live", "received_at": "2026-04-01T00:00:00.100Z", "volume": "0.01"}

Consumers (the trading engine, the streams) use :func:`subscribe_ticks` / :func:`asubscribe_ticks` and never spell a
channel name themselves.

Embedded mode (no Redis): there is no pub/sub. :func:`publish_tick` only writes the price to the Django cache, and
:func:`subscribe_ticks` polls the cache and yields a pair's latest price whenever it changed (ticks in between are
collapsed).
"""

import json
import re
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings

from common.redis import get_redis
from market import keys
from market.feed.types import MarketUpdate, dec_str

_SOURCE_NAME = re.compile(r"[a-z0-9_-]{1,32}")


@dataclass(frozen=True, slots=True)
class TickEvent:
    symbol: str
    price: Decimal
    ts: datetime
    source: str
    received_at: datetime
    volume: Decimal = Decimal(0)

    @property
    def ts_ms(self) -> int:
        return int(self.ts.timestamp() * 1000)


def _iso_ms(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tick_event_json(update: MarketUpdate, source: str) -> str:
    # Built by hand: it runs for every tick, and nothing in it needs escaping (symbols and sources are
    # [A-Za-z0-9_-], numbers are decimal strings); json.dumps would cost several times more.
    return ('{"symbol":"' + update.symbol + '","price":"' + dec_str(update.price) + '","ts":"'
            + _iso_ms(update.ts_ms / 1000) + '","ts_ms":' + str(update.ts_ms) + ',"source":"' + source
            + '","received_at":"' + _iso_ms(update.received_at) + '","volume":"' + dec_str(update.volume) + '"}')


def parse_tick_event(raw: str | bytes) -> TickEvent:
    d = json.loads(raw)
    return TickEvent(symbol=d["symbol"], price=Decimal(d["price"]),
                     ts=datetime.fromtimestamp(d["ts_ms"] / 1000, UTC), source=d["source"],
                     received_at=datetime.fromisoformat(d["received_at"].replace("Z", "+00:00")),
                     volume=Decimal(d.get("volume") or "0"))


def publish_tick(*, symbol: str, price: Decimal, source: str, ts: datetime | None = None,
                 volume: Decimal = Decimal(0)) -> None:
    """Record one price outside the feed process (tools, tests): store it as the pair's latest and publish it."""
    from market.feed.store import PriceWriter

    if not _SOURCE_NAME.fullmatch(source):
        raise ValueError(f"source must match {_SOURCE_NAME.pattern}, got {source!r}")
    now = time.time()
    ts_ms = int((ts.timestamp() if ts else now) * 1000)
    PriceWriter().write([MarketUpdate(symbol=symbol, price=price, ts_ms=ts_ms, received_at=now, volume=volume)],
                        source=source)


def _channels(symbols: Iterable[str] | None) -> list[str]:
    return [keys.ticks_channel()] if not symbols else [keys.ticks_channel(s) for s in symbols]


def subscribe_ticks(symbols: Iterable[str] | None = None, *, idle_seconds: float = 1.0,
                    yield_idle: bool = False) -> Iterator[TickEvent | None]:
    """Tick events of ``symbols`` (all pairs when None), forever. Break out of the loop to unsubscribe.

    With ``yield_idle`` the generator yields ``None`` after ``idle_seconds`` without a tick, so that a stream can
    send heartbeats or check for a client that went away.
    """
    symbols = list(symbols) if symbols else None
    redis = get_redis()
    if redis is None:
        yield from _poll_cache(symbols, idle_seconds=idle_seconds, yield_idle=yield_idle)
        return
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(*_channels(symbols))
        while True:
            message = pubsub.get_message(timeout=idle_seconds)
            if message is None:
                if yield_idle:
                    yield None
                continue
            yield parse_tick_event(message["data"])
    finally:
        pubsub.close()


async def asubscribe_ticks(symbols: Iterable[str] | None = None, *,
                           idle_seconds: float = 1.0, yield_idle: bool = False) -> AsyncIterator[TickEvent | None]:
    """The asyncio twin of :func:`subscribe_ticks` (for ASGI streams). Needs Redis."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(*_channels(symbols))
        while True:
            message = await pubsub.get_message(timeout=idle_seconds)
            if message is None:
                if yield_idle:
                    yield None
                continue
            yield parse_tick_event(message["data"])
    finally:
        await pubsub.aclose()
        await client.aclose()


def _poll_cache(symbols, *, idle_seconds, yield_idle):
    """Embedded mode: no pub/sub, so watch the cached latest prices and yield the ones that changed."""
    from market.prices import get_price_or_none
    from market.selectors import instrument_symbols

    seen: dict[str, tuple] = {}
    while True:
        changed = False
        for symbol in symbols or instrument_symbols():
            snap = get_price_or_none(symbol)
            if snap is None:
                continue
            marker = (snap.ts, snap.price, snap.received_at)
            if seen.get(symbol) != marker:
                seen[symbol] = marker
                changed = True
                yield TickEvent(symbol=symbol, price=snap.price, ts=snap.ts, source=snap.source,
                                received_at=snap.received_at)
        if not changed:
            if yield_idle:
                yield None
            time.sleep(min(idle_seconds, 0.25))
