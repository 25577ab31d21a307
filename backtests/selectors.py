"""Reads of a backtest session, each at the session's virtual time T and nothing after it."""

from __future__ import annotations

from datetime import datetime, timedelta

from analytics.metrics import RANKING_METRICS, rank
from analytics.metrics.core import Performance
from common.errors import NotFound, ValidationFailed
from market import selectors as market_selectors

from . import render
from .models import BacktestSession
from .services import INTERVALS, perf_dict, results_summary, session_locked, session_read, session_status

CANDLE_INTERVALS = ("1m", "5m", "15m", "1h", "4h", "1d")


def prices(*, session_id, agent) -> dict:
    with session_read(session_id=session_id, agent=agent) as (s, r):
        return {"virtual_time": render.iso(r.now), "step": r.step, "prices": render.prices(r)}


def balance(*, session_id, agent) -> dict:
    with session_read(session_id=session_id, agent=agent) as (s, r):
        return render.balances(r)


def positions(*, session_id, agent) -> dict:
    with session_read(session_id=session_id, agent=agent) as (s, r):
        return {"virtual_time": render.iso(r.now), "positions": render.positions(r),
                "portfolio": render.portfolio(r, with_positions=False)}


def orders(*, session_id, agent, status: str | None = None, symbol: str | None = None) -> dict:
    with session_read(session_id=session_id, agent=agent) as (s, r):
        rows = r.orders()
        if status == "open":
            rows = [o for o in rows if o.is_open]
        elif status:
            rows = [o for o in rows if str(o.status) == status]
        if symbol:
            rows = [o for o in rows if o.symbol == symbol]
        return {"virtual_time": render.iso(r.now), "count": len(rows), "results": [render.order(o) for o in rows]}


def candles(*, session_id, agent, symbol: str, interval: str | None, limit: int,
            start: datetime | None, end: datetime | None) -> dict:
    """Candles of ``symbol`` closed at the virtual time T: ``open_time + interval <= T``, from the candle store
    (history before the session's start included)."""
    with session_read(session_id=session_id, agent=agent) as (s, r):
        if symbol not in s.pairs:
            raise NotFound(f"{symbol} is not one of this backtest's pairs.", code="UNKNOWN_SYMBOL",
                           details={"symbol": symbol, "pairs": s.pairs})
        interval = interval or s.interval
        if interval not in CANDLE_INTERVALS:
            raise ValidationFailed("unknown interval", details={"fields": {"interval": [", ".join(CANDLE_INTERVALS)]}})
        span = timedelta(seconds=market_selectors.INTERVALS[interval])
        now = r.now
        last_open = now - span  # the newest bucket that has closed opens at or before this
        end = last_open if end is None else min(end, last_open)
        bars = market_selectors.candle_list(symbol=symbol, interval=interval, limit=limit, start=start, end=end)
        bars = [b for b in bars if b.open_time + span <= now and b.minutes]
        return {"symbol": symbol, "interval": interval, "virtual_time": render.iso(now), "candles": [
            {"open_time": render.iso(b.open_time), "close_time": render.iso(b.close_time), "open": render.fmt(b.open),
             "high": render.fmt(b.high), "low": render.fmt(b.low), "close": render.fmt(b.close),
             "volume": render.fmt(b.volume)} for b in bars]}


def status(*, session_id, agent) -> dict:
    from .services import session_get

    return session_status(session_get(session_id=session_id, agent=agent))


def _row(s: BacktestSession) -> dict:
    out = session_status(s)
    res = s.results or {}
    out.update({k: res.get(k) for k in ("final_equity", "total_pnl", "roi_pct")})
    out["metrics"] = res.get("metrics")
    return out


def session_list(*, agent, status: str | None = None, limit: int = 100) -> list[dict]:
    qs = BacktestSession.objects.filter(agent=agent)
    if status:
        qs = qs.filter(status=status)
    return [_row(s) for s in qs.order_by("-created_at")[:limit]]


def compare(*, agent, ids: list) -> dict:
    found = {str(s.pk): s for s in BacktestSession.objects.filter(agent=agent, pk__in=ids)}
    missing = [str(i) for i in ids if str(i) not in found]
    if missing:
        raise NotFound("Backtest session not found.", details={"session_ids": missing})
    rows = []
    for i in ids:
        s = found[str(i)]
        if s.results is None:  # still open: its results so far
            with session_locked(session_id=s.pk, agent=agent) as (s2, r):
                s.results = results_summary(s2, r)
                s.status = s2.status
        rows.append(_row(s))
    return {"sessions": rows}


def _performance(metrics: dict) -> Performance:
    from decimal import Decimal

    kwargs = {}
    for k, v in metrics.items():
        if k in ("max_drawdown_duration", "total_trades", "winning_trades", "losing_trades", "n_returns"):
            kwargs[k] = v
        else:
            kwargs[k] = None if v is None else Decimal(v)
    return Performance(**kwargs)


def best(*, agent, metric: str) -> dict:
    if metric not in RANKING_METRICS:
        raise ValidationFailed(f"metric must be one of {', '.join(RANKING_METRICS)}",
                               details={"fields": {"metric": list(RANKING_METRICS)}})
    done = [s for s in BacktestSession.objects.filter(agent=agent, status=BacktestSession.Status.COMPLETED)
            if s.results and s.results.get("metrics")]
    if not done:
        raise NotFound("No completed backtest yet.", details={"metric": metric})
    by_id = {str(s.pk): s for s in done}
    ranked = rank([(str(s.pk), _performance(s.results["metrics"])) for s in done], metric)
    top = ranked[0]
    return {"metric": metric, "value": None if top.value is None else str(top.value),
            "session": _row(by_id[top.key]),
            "ranking": [{"rank": x.rank, "session_id": x.key, "value": None if x.value is None else str(x.value)}
                        for x in ranked[:20]]}


__all__ = ["prices", "balance", "positions", "orders", "candles", "status", "session_list", "compare", "best",
           "INTERVALS", "perf_dict"]
