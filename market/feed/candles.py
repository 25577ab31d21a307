"""1-minute candles built from ticks in memory and flushed to PostgreSQL in one upsert (each second by default).

Per pair the builder keeps the candle of the minute it is in (plus any minute not yet flushed). A flush writes every
candle that changed since the last flush with one ``INSERT ... ON CONFLICT (symbol, open_time) DO UPDATE`` and then
forgets the minutes that are over.

Which minutes the builder has seen whole matters: a flush *replaces* the stored row with the candle in memory, which
is right only if this process saw the minute from its first tick. A source that starts mid-minute (live,
synthetic) has seen only part of its first minute for each pair (and of any minute a late tick reopens): those
candles are *merged* into the stored row on their first flush (stored open kept, high/low widened, volumes added),
and replaced on later flushes. A replay starts every minute at the candle's open, so it always replaces, and a
looping replay rewrites the same candles identically instead of adding their volume twice.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import Q

from market.models import Candle

logger = logging.getLogger("market.feed")


@dataclass(slots=True)
class _Bucket:
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    merge: bool  # first flush merges with the stored row (this process saw only part of the minute)


class CandleBuilder:
    def __init__(self, *, aligned: bool = False):
        self.aligned = aligned
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._latest: dict[str, int] = {}  # minute of each pair's latest tick
        self._highest: dict[str, int] = {}  # highest minute each pair has ticked in
        self._dirty: set[tuple[str, int]] = set()
        self.rows_written = 0

    def add(self, symbol: str, ts_ms: int, price: Decimal, volume: Decimal) -> None:
        minute = ts_ms // 60_000
        key = (symbol, minute)
        bucket = self._buckets.get(key)
        latest = self._latest.get(symbol)
        if bucket is None or (self.aligned and minute != latest):
            if self.aligned:
                merge = False  # a replayed minute always starts at its open
            else:
                highest = self._highest.get(symbol)
                merge = highest is None or minute < highest
            bucket = self._buckets[key] = _Bucket(price, price, price, price, Decimal(0), merge)
        else:
            if price > bucket.high:
                bucket.high = price
            elif price < bucket.low:
                bucket.low = price
            bucket.close = price
        if volume:
            bucket.volume += volume
        self._latest[symbol] = minute
        if minute > self._highest.get(symbol, minute - 1):
            self._highest[symbol] = minute
        self._dirty.add(key)

    def add_many(self, updates) -> None:
        add = self.add
        for u in updates:
            add(u.symbol, u.ts_ms, u.price, u.volume)

    def pending(self) -> int:
        return len(self._dirty)

    def flush(self) -> int:
        """Write the changed candles; returns how many. On a database error keeps them for the next flush."""
        if not self._dirty:
            return 0
        dirty = list(self._dirty)
        try:
            with transaction.atomic():
                self._merge_stored([k for k in dirty if self._buckets[k].merge])
                Candle.objects.bulk_create(
                    [self._row(k) for k in dirty], update_conflicts=True, unique_fields=["symbol", "open_time"],
                    update_fields=["open", "high", "low", "close", "volume"])
        except DatabaseError:
            logger.exception("price feed: candle flush failed; will retry")
            close_old_connections()
            return 0
        self._dirty.clear()
        self.rows_written += len(dirty)
        self._forget_finished()
        return len(dirty)

    def _merge_stored(self, keys: list[tuple[str, int]]) -> None:
        if not keys:
            return
        wanted = reduce(or_, (Q(symbol=s, open_time=_open_time(m)) for s, m in keys))
        for row in Candle.objects.select_for_update().filter(wanted):
            bucket = self._buckets[(row.symbol, int(row.open_time.timestamp()) // 60)]
            bucket.open = row.open
            bucket.high = max(bucket.high, row.high)
            bucket.low = min(bucket.low, row.low)
            bucket.volume += row.volume
        for key in keys:
            self._buckets[key].merge = False

    def _row(self, key) -> Candle:
        b = self._buckets[key]
        return Candle(symbol=key[0], open_time=_open_time(key[1]), open=b.open, high=b.high, low=b.low,
                      close=b.close, volume=b.volume)

    def _forget_finished(self) -> None:
        """Drop flushed minutes a pair has moved past (a replay's old minutes, a live feed's closed ones)."""
        keep_from = self._latest if self.aligned else self._highest
        for key in [k for k in self._buckets if k not in self._dirty]:
            symbol, minute = key
            finished = minute != keep_from[symbol] if self.aligned else minute < keep_from[symbol]
            if finished:
                del self._buckets[key]


def _open_time(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)
