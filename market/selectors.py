"""Reads of the market app: instruments, candles at any interval, feed freshness, the fee schedule."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Max

from common.redis import get_redis
from market import keys
from market.models import Candle, Instrument
from market.prices import age_seconds, get_instrument, get_prices, list_instruments

# Interval name -> seconds. Buckets are aligned on the Unix epoch (UTC): 1h starts on the hour, 4h at 00/04/08...
# UTC, 1d at 00:00 UTC, like Binance's klines.
INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}
MAX_CANDLES = 1000
DEFAULT_CANDLES = 500


def instrument_list(*, status: str | None = None):
    qs = Instrument.objects.all()
    return qs.filter(status=status) if status else qs


def instrument_symbols() -> list[str]:
    return [i.symbol for i in list_instruments(trading_only=True)]


# --- candles ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    open_time: datetime
    close_time: datetime  # open_time + interval - 1 ms (Binance convention)
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    minutes: int  # 1-minute candles it was built from (fewer than the interval's for a running/incomplete bucket)


def _floor(dt: datetime, step: int) -> datetime:
    epoch = int(dt.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, UTC)


def candle_list(*, symbol: str, interval: str = "1m", limit: int = DEFAULT_CANDLES, start: datetime | None = None,
                end: datetime | None = None) -> list[Bar]:
    """Candles of ``symbol`` at ``interval`` aggregated from the 1-minute store, oldest first.

    Buckets are included by their open time: ``start <= open_time <= end``. With ``start``, the first ``limit``
    buckets from it; otherwise the last ``limit`` up to ``end`` (default: the newest stored candle). Open is the
    first minute's open, close the last minute's close, high/low the extremes, volume the exact sum.
    """
    get_instrument(symbol)
    step = INTERVALS[interval]
    span = timedelta(seconds=step)
    if start is not None:
        lo = _floor(start, step)
        if lo < start:
            lo += span  # a bucket opening before ``start`` is not asked for
        hi = lo + span * limit
        if end is not None:
            hi = min(hi, _floor(end, step) + span)
    else:
        if end is None:
            end = Candle.objects.filter(symbol=symbol).aggregate(m=Max("open_time"))["m"]
            if end is None:
                return []
        hi = _floor(end, step) + span
        lo = hi - span * limit
    if hi <= lo:
        return []
    if step == 60:
        rows = Candle.objects.filter(symbol=symbol, open_time__gte=lo, open_time__lt=hi).order_by("open_time")
        return [Bar(c.open_time, c.open_time + span - timedelta(milliseconds=1), c.open, c.high, c.low, c.close,
                    c.volume, 1) for c in rows.iterator()]
    if connection.vendor == "postgresql":
        return _aggregate_sql(symbol, step, lo, hi)
    return _aggregate_python(symbol, step, lo, hi)


def _aggregate_sql(symbol: str, step: int, lo: datetime, hi: datetime) -> list[Bar]:
    table = Candle._meta.db_table
    sql = f"""
        SELECT date_bin(make_interval(secs => %s), open_time, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
               (array_agg(open ORDER BY open_time))[1], max(high), min(low),
               (array_agg(close ORDER BY open_time DESC))[1], sum(volume), count(*)
        FROM {table}
        WHERE symbol = %s AND open_time >= %s AND open_time < %s
        GROUP BY bucket ORDER BY bucket"""
    span = timedelta(seconds=step)
    with connection.cursor() as cursor:
        cursor.execute(sql, [step, symbol, lo, hi])
        return [Bar(b, b + span - timedelta(milliseconds=1), o, h, l, c, v, n)
                for b, o, h, l, c, v, n in cursor.fetchall()]  # noqa: E741


def _aggregate_python(symbol: str, step: int, lo: datetime, hi: datetime) -> list[Bar]:
    """Embedded mode (SQLite): the same aggregation in Python."""
    span = timedelta(seconds=step)
    bars: list[Bar] = []
    current = None
    rows = Candle.objects.filter(symbol=symbol, open_time__gte=lo, open_time__lt=hi).order_by("open_time")
    for c in rows.iterator():
        bucket = _floor(c.open_time, step)
        if current is None or current["t"] != bucket:
            if current is not None:
                bars.append(_bar(current, span))
            current = {"t": bucket, "o": c.open, "h": c.high, "l": c.low, "c": c.close, "v": c.volume, "n": 1}
        else:
            current["h"] = max(current["h"], c.high)
            current["l"] = min(current["l"], c.low)
            current["c"] = c.close
            current["v"] += c.volume
            current["n"] += 1
    if current is not None:
        bars.append(_bar(current, span))
    return bars


def _bar(b: dict, span: timedelta) -> Bar:
    return Bar(b["t"], b["t"] + span - timedelta(milliseconds=1), b["o"], b["h"], b["l"], b["c"], b["v"], b["n"])


# --- freshness --------------------------------------------------------------------------------------------------------
def feed_status() -> dict[str, dict]:
    """Each trading pair's freshness, for /health: ``{symbol: {source, price, ts, received_at, age_seconds, stale,
    stale_after_seconds}}``. A pair the feed never wrote has ``source``/``price`` None and is stale."""
    now = time.time()
    out = {}
    for symbol, snap in get_prices().items():
        if snap is None:
            out[symbol] = {"source": None, "price": None, "ts": None, "received_at": None, "age_seconds": None,
                           "stale": True, "stale_after_seconds": settings.FEED_STALE_SECONDS}
            continue
        age = age_seconds(snap.source, snap.ts.timestamp(), snap.received_at.timestamp(), now)
        out[symbol] = {"source": snap.source, "price": format(snap.price, "f"), "ts": snap.ts.isoformat(),
                       "received_at": snap.received_at.isoformat(), "age_seconds": round(age, 3),
                       "stale": snap.stale, "stale_after_seconds": settings.FEED_STALE_SECONDS}
    return out


def feed_info() -> dict:
    """The feed process as it last reported itself: source, why it fell back, pid, heartbeat age."""
    redis = get_redis()
    if redis is None:
        raw = cache.get(keys.feed_key()) or {}
    else:
        raw = {k.decode(): v.decode() for k, v in redis.hgetall(keys.feed_key()).items()}
    if not raw:
        return {"state": "never_ran", "running": False}
    heartbeat = float(raw.get("heartbeat") or 0)
    age = time.time() - heartbeat
    running = raw.get("state") == "running" and age < max(10.0, 5 * settings.FEED_CANDLE_FLUSH_SECONDS)
    return {"state": raw.get("state"), "running": running, "source": raw.get("source"),
            "description": raw.get("description"), "requested_source": raw.get("requested_source"),
            "fallback_reason": raw.get("fallback_reason") or None, "pid": raw.get("pid"),
            "heartbeat_age_seconds": round(age, 3), "ticks": int(raw.get("ticks") or 0)}


# --- fees -------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeeTierRow:
    tier: int
    min_volume_30d: Decimal
    maker_bps: Decimal
    taker_bps: Decimal


def fee_tier_list() -> list[FeeTierRow]:
    """``settings.FEE_TIERS`` (the table the trading engine charges by), lowest volume first."""
    rows = sorted(settings.FEE_TIERS, key=lambda r: Decimal(str(r["min_volume_30d"])))
    return [FeeTierRow(tier=i, min_volume_30d=Decimal(str(r["min_volume_30d"])),
                       maker_bps=Decimal(str(r["maker_bps"])), taker_bps=Decimal(str(r["taker_bps"])))
            for i, r in enumerate(rows)]
