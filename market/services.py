"""Writes of the market app: instruments (defaults, sync from an exchange) and the candle store (imports)."""

import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from market.candle_files import CandleRow, candle_files, iter_rows
from market.feed.exchange import ccxt_symbol, create_exchange, dec
from market.models import Candle, Instrument
from market.prices import instruments_cache_clear

logger = logging.getLogger(__name__)

FILTER_FIELDS = ("tick_size", "step_size", "min_qty", "min_notional")
SYMBOL_RE = re.compile(r"[A-Z0-9]{2,32}")


# --- instruments ------------------------------------------------------------------------------------------------------
def default_pairs() -> list[dict]:
    """The configured default pairs (``MARKET_DEFAULT_PAIRS`` restricted to ``MARKET_PAIRS``)."""
    wanted = [s.strip().upper() for s in settings.MARKET_PAIRS if s.strip()]
    known = {p["symbol"]: p for p in settings.MARKET_DEFAULT_PAIRS}
    missing = [s for s in wanted if s not in known]
    if missing:
        logger.warning("MARKET_PAIRS names %s, which MARKET_DEFAULT_PAIRS has no filters for; run sync_pairs",
                       ", ".join(missing))
    return [known[s] for s in wanted if s in known]


def ensure_default_pairs(*, model=Instrument) -> int:
    """Create the default pairs that do not exist yet (never touches existing ones). Idempotent; returns how many
    were created. ``model`` lets the data migration pass its historical model."""
    existing = set(model.objects.values_list("symbol", flat=True))
    created = [model(symbol=p["symbol"], base=p["base"], quote=p["quote"], status="trading",
                     **{f: Decimal(p[f]) for f in FILTER_FIELDS})
               for p in default_pairs() if p["symbol"] not in existing]
    model.objects.bulk_create(created, ignore_conflicts=True)
    if created and model is Instrument:
        instruments_cache_clear()
    return len(created)


instruments_ensure_defaults = ensure_default_pairs


@dataclass(frozen=True)
class SyncResult:
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    missing: list[str]  # configured pairs the exchange does not list


def _binance_filters(info: dict) -> dict:
    """The exact filter strings of Binance's exchangeInfo, when ccxt kept them in ``market['info']``."""
    out = {}
    for f in (info or {}).get("filters", []) or []:
        kind = f.get("filterType")
        if kind == "PRICE_FILTER" and f.get("tickSize"):
            out["tick_size"] = Decimal(f["tickSize"])
        elif kind == "LOT_SIZE":
            if f.get("stepSize"):
                out["step_size"] = Decimal(f["stepSize"])
            if f.get("minQty"):
                out["min_qty"] = Decimal(f["minQty"])
        elif kind in ("NOTIONAL", "MIN_NOTIONAL") and f.get("minNotional"):
            out["min_notional"] = Decimal(f["minNotional"])
    return out


def market_filters(market: dict) -> dict:
    """Filters of one ccxt market: the raw exchange strings when present, else ccxt's unified (float) fields.

    ccxt's ``precision`` holds tick sizes for exchanges in TICK_SIZE precision mode (Binance) and decimal places
    for DECIMAL_PLACES mode; both are handled.
    """
    import ccxt

    precision_mode = market.get("_precisionMode", ccxt.TICK_SIZE)
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}

    def step(value):
        value = dec(value)
        if value is None:
            return None
        if precision_mode == ccxt.DECIMAL_PLACES:
            return Decimal(1).scaleb(-int(value))
        return value

    unified = {
        "tick_size": step(precision.get("price")),
        "step_size": step(precision.get("amount")),
        "min_qty": dec((limits.get("amount") or {}).get("min")),
        "min_notional": dec((limits.get("cost") or {}).get("min")),
    }
    filters = {k: v for k, v in unified.items() if v is not None}
    filters.update(_binance_filters(market.get("info")))
    filters.setdefault("min_qty", filters.get("step_size", Decimal(0)))
    filters.setdefault("min_notional", Decimal(0))
    return filters


def _status(market: dict) -> str:
    info_status = ((market.get("info") or {}).get("status") or "").upper()
    if market.get("active") is False or (info_status and info_status != "TRADING"):
        return Instrument.Status.HALTED
    return Instrument.Status.TRADING


def instruments_sync(*, exchange=None, symbols: list[str] | None = None, all_quote: str | None = None
                     ) -> SyncResult:
    """Load pairs and filters from the exchange's market metadata (ccxt ``load_markets``).

    Updates the given symbols (default: every instrument, plus the configured default pairs); with ``all_quote``
    also adds every spot pair quoted in that asset. Raises the exchange's error when it cannot be reached.
    """
    exchange = exchange or create_exchange()
    markets = exchange.load_markets()
    exchange_id = getattr(exchange, "id", None) or settings.FEED_EXCHANGE
    precision_mode = getattr(exchange, "precisionMode", None)
    by_symbol = {}
    for m in markets.values():
        if m.get("spot") is False or m.get("type") not in (None, "spot"):
            continue
        base, quote = m.get("base"), m.get("quote")
        if not base or not quote:
            continue
        if precision_mode is not None:
            m = {**m, "_precisionMode": precision_mode}
        symbol = f"{base}{quote}".upper()
        if SYMBOL_RE.fullmatch(symbol):  # symbols travel unescaped in keys, channels and events
            by_symbol[symbol] = m

    wanted = [s.upper() for s in symbols] if symbols else sorted(
        set(Instrument.objects.values_list("symbol", flat=True)) | {p["symbol"] for p in default_pairs()})
    if all_quote:
        wanted = sorted(set(wanted) | {s for s, m in by_symbol.items() if m["quote"].upper() == all_quote.upper()})
    created, updated, unchanged, missing = [], [], [], []
    with transaction.atomic():
        current = {i.symbol: i for i in Instrument.objects.select_for_update().filter(symbol__in=wanted)}
        for symbol in wanted:
            market = by_symbol.get(symbol)
            if market is None:
                missing.append(symbol)
                continue
            filters = market_filters(market)
            if any(f not in filters for f in ("tick_size", "step_size")):
                logger.warning("sync_pairs: %s has no tick/step size in the exchange metadata; skipped", symbol)
                missing.append(symbol)
                continue
            values = {"base": market["base"].upper(), "quote": market["quote"].upper(), "status": _status(market),
                      "filters_source": exchange_id, **filters}
            instrument = current.get(symbol)
            if instrument is None:
                Instrument.objects.create(symbol=symbol, **values)
                created.append(symbol)
            elif any(getattr(instrument, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(instrument, k, v)
                instrument.save()
                updated.append(symbol)
            else:
                unchanged.append(symbol)
    instruments_cache_clear()
    return SyncResult(created=created, updated=updated, unchanged=unchanged, missing=missing)


# --- candles ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportResult:
    symbol: str
    path: str
    rows: int
    inserted: int
    updated: int


_COLUMNS = ("symbol", "open_time", "open", "high", "low", "close", "volume")


def candles_upsert(*, symbol: str, rows) -> tuple[int, int, int]:
    """Store candles (CandleRows), replacing stored ones that differ. Returns (rows, inserted, updated).

    PostgreSQL: ``COPY`` into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` that only
    touches rows whose values changed, so re-importing the same file writes nothing. Other databases: batched
    ``bulk_create`` upserts.
    """
    if connection.vendor != "postgresql":
        return _upsert_portable(symbol, rows)
    table = Candle._meta.db_table
    cols = ", ".join(_COLUMNS)
    count = 0
    with transaction.atomic(), connection.cursor() as cursor:
        # IF NOT EXISTS + TRUNCATE: a caller's outer transaction may import several files before it commits.
        cursor.execute("""CREATE TEMP TABLE IF NOT EXISTS _candle_import (symbol varchar(32), open_time timestamptz,
                          open numeric, high numeric, low numeric, close numeric, volume numeric) ON COMMIT DROP""")
        cursor.execute("TRUNCATE _candle_import")
        with cursor.cursor.copy(f"COPY _candle_import ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((symbol, r.open_time, r.open, r.high, r.low, r.close, r.volume))
                count += 1
        cursor.execute(
            f"""INSERT INTO {table} ({cols}) SELECT {cols} FROM _candle_import
                ON CONFLICT (symbol, open_time) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high,
                    low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume
                WHERE ({table}.open, {table}.high, {table}.low, {table}.close, {table}.volume)
                      IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)
                RETURNING (xmax = 0)""")
        flags = [r[0] for r in cursor.fetchall()]
    inserted = sum(1 for f in flags if f)
    return count, inserted, len(flags) - inserted


def _upsert_portable(symbol: str, rows, batch: int = 2000) -> tuple[int, int, int]:
    count = 0
    buffer = []

    def flush():
        Candle.objects.bulk_create(buffer, update_conflicts=True, unique_fields=["symbol", "open_time"],
                                   update_fields=["open", "high", "low", "close", "volume"])
        buffer.clear()

    with transaction.atomic():
        for r in rows:
            buffer.append(Candle(symbol=symbol, open_time=r.open_time, open=r.open, high=r.high, low=r.low,
                                 close=r.close, volume=r.volume))
            count += 1
            if len(buffer) >= batch:
                flush()
        if buffer:
            flush()
    return count, count, 0  # the portable path cannot tell inserts from updates


def candles_import(*, path: str | Path, symbol: str | None = None) -> list[ImportResult]:
    """Import 1-minute candle CSVs (a file or a directory of ``<SYMBOL>-1m.csv[.gz]``). Idempotent."""
    path = Path(path)
    files = candle_files(path, interval=None if symbol else "1m")
    if not files:
        raise FileNotFoundError(f"no <SYMBOL>-1m.csv[.gz] candle files at {path}")
    results = []
    for f in files:
        if f.interval != "1m":
            raise ValueError(f"{f.path.name} holds {f.interval} candles; the store keeps 1-minute candles")
        target = (symbol or f.symbol).upper()
        rows, inserted, updated = candles_upsert(symbol=target, rows=iter_rows(f.path))
        results.append(ImportResult(symbol=target, path=str(f.path), rows=rows, inserted=inserted, updated=updated))
    return results


def candles_fetch(*, symbol: str, days: float, exchange=None, page_limit: int = 1000,
                  now_ms: int | None = None) -> tuple[int, int, int]:
    """Pull the last ``days`` of 1-minute candles of ``symbol`` from the exchange (ccxt ``fetch_ohlcv``, paged)
    into the store. Returns (rows, inserted, updated). Raises the exchange's error when it cannot be reached."""
    from market.prices import get_instrument

    instrument = get_instrument(symbol)
    exchange = exchange or create_exchange()
    market_symbol = ccxt_symbol(instrument.base, instrument.quote)
    now_ms = now_ms or int(time.time() * 1000)
    since = now_ms - int(timedelta(days=days).total_seconds() * 1000)
    current_minute = now_ms // 60_000 * 60_000
    rows: list[CandleRow] = []
    while since < current_minute:
        batch = exchange.fetch_ohlcv(market_symbol, "1m", since=since, limit=page_limit)
        if not batch:
            break
        for ts, o, h, l, c, v in (b[:6] for b in batch):  # noqa: E741
            if since <= ts < current_minute:  # the running minute is not a finished candle yet
                rows.append(CandleRow(int(ts), dec(o), dec(h), dec(l), dec(c), dec(v) or Decimal(0)))
        last = int(batch[-1][0])
        if last + 60_000 <= since:
            break
        since = last + 60_000
    unique = {r.open_ms: r for r in rows}
    return candles_upsert(symbol=symbol, rows=[unique[k] for k in sorted(unique)])
