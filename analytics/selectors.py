"""Reads of the analytics app: a wallet's performance, its equity history, the leaderboards."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

from django.db.models import Max
from django.utils import timezone

from analytics.metrics import Performance
from analytics.models import EquityPoint, Leaderboard, MetricState
from analytics.services import LEADERBOARD_GENERATION, PERIODS, _build, metrics_json, performance_of, window_start
from common import generation
from trading.models import EquitySnapshot, Fill

INTERVAL_SECONDS = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
HISTORY_DEFAULT_SPAN = {"1m": timedelta(days=1), "5m": timedelta(days=7), "1h": timedelta(days=30),
                        "1d": timedelta(days=365)}
HISTORY_MAX_POINTS = 10_000


@dataclass(frozen=True)
class WalletPerformance:
    period: str
    as_of: datetime
    performance: Performance


def wallet_performance(*, wallet, period: str) -> WalletPerformance:
    """The wallet's metrics over ``period`` as the last incremental update left them; a wallet the update has not
    reached yet (just created) is computed from its stored data on the spot."""
    st = MetricState.objects.filter(wallet=wallet, period=period).only("metrics", "as_of").first()
    if st is not None:
        return WalletPerformance(period=period, as_of=st.as_of, performance=performance_of(st.metrics))
    now = timezone.now()
    snap_upto = EquitySnapshot.objects.aggregate(m=Max("id"))["m"] or 0
    fill_upto = Fill.objects.aggregate(m=Max("id"))["m"] or 0
    ws = window_start(wallet.pk, period, now)
    built = _build([(wallet.pk, period)], snapshot_upto=snap_upto, fill_upto=fill_upto,
                   windows={(wallet.pk, period): ws})
    perf = performance_of(metrics_json(built[(wallet.pk, period)].acc.result(now=now)))
    return WalletPerformance(period=period, as_of=now, performance=perf)


@dataclass(frozen=True)
class HistoryPoint:
    ts: datetime
    equity: Decimal
    cash: Decimal
    positions_value: Decimal


def equity_history(*, wallet, interval: str, start: datetime | None, end: datetime | None) -> list[HistoryPoint]:
    """One point per ``interval`` bucket in [start, end) — the bucket's last point (its close), stamped with the
    bucket's start — oldest first, from whichever stored resolution covers each stretch (one-minute snapshots for
    the last 8 days, then 5-minute, then 1-hour points)."""
    step = INTERVAL_SECONDS[interval]
    end = end or timezone.now()
    start = start or end - HISTORY_DEFAULT_SPAN[interval]
    fields = ("ts", "equity", "cash", "positions_value")
    rows = list(EquityPoint.objects.filter(wallet=wallet, ts__gte=start, ts__lt=end).order_by("ts")
                .values_list(*fields))
    rows += list(EquitySnapshot.objects.filter(wallet=wallet, ts__gte=start, ts__lt=end).order_by("ts")
                 .values_list(*fields))
    rows.sort(key=lambda r: r[0])
    out: dict[int, tuple] = {}
    for r in rows:
        out[int(r[0].timestamp()) // step] = r  # later rows overwrite: the bucket's last point
    return [HistoryPoint(ts=datetime.fromtimestamp(b * step, dt_timezone.utc), equity=r[1], cash=r[2],
                         positions_value=r[3]) for b, r in sorted(out.items())]


# --- leaderboards ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeaderboardPage:
    metric: str
    period: str
    as_of: datetime | None
    rows: list[dict]


def leaderboard(*, metric: str, period: str, limit: int) -> LeaderboardPage:
    """The board's first ``limit`` visible rows, ranked 1..limit. Agents hidden (``public=False``) or archived
    since the board was built are dropped here, so a hidden agent never appears, even for the minute until the
    next build."""
    from agents.models import Agent

    board = Leaderboard.objects.filter(metric=metric, period=period).first()
    if board is None:
        return LeaderboardPage(metric=metric, period=period, as_of=None, rows=[])
    rows, out, offset = board.rows, [], 0
    while len(out) < limit and offset < len(rows):
        chunk = rows[offset:offset + limit - len(out) + 16]
        offset += len(chunk)
        visible = set(str(a) for a in Agent.objects.filter(pk__in=[r["agent_id"] for r in chunk], public=True)
                      .exclude(status=Agent.Status.ARCHIVED).values_list("pk", flat=True))
        out += [r for r in chunk if r["agent_id"] in visible]
    out = out[:limit]
    return LeaderboardPage(metric=metric, period=period, as_of=board.as_of,
                           rows=[{"rank": i, **r} for i, r in enumerate(out, start=1)])


# What a leaderboard page depends on: the boards (rebuilt every minute) and the agents (a hidden, renamed or archived
# agent). Every save of an agent bumps "agent-auth" (agents/keycache.py), every build bumps the boards' generation.
LEADERBOARD_DEPENDS_ON = [LEADERBOARD_GENERATION, "agent-auth"]
_pages: dict[tuple, tuple[list[int], float, object]] = {}
_pages_lock = threading.Lock()
PAGE_CACHE_SECONDS = 30.0  # belt and braces: a change made without save() (a bulk update) shows within this


def leaderboard_cached(*, metric: str, period: str, limit: int, render) -> object:
    """``render(leaderboard(...))``, reused by this process while neither generation moves (one Redis MGET per
    request); without Redis, computed every time."""
    gens = generation.current_many(LEADERBOARD_DEPENDS_ON)
    key = (metric, period, limit)
    now = time.monotonic()
    if gens is not None:
        hit = _pages.get(key)
        if hit is not None and hit[0] == gens and now - hit[1] < PAGE_CACHE_SECONDS:
            return hit[2]
    page = render(leaderboard(metric=metric, period=period, limit=limit))
    if gens is not None:
        with _pages_lock:
            if len(_pages) > 1000:
                _pages.clear()
            _pages[key] = (gens, now, page)
    return page


__all__ = ["PERIODS", "wallet_performance", "equity_history", "leaderboard"]
