"""Writes of the analytics app: the incremental update, the full recompute, the downsampling and the leaderboards.

The pipeline (docs/analytics.md):

1. ``metrics_update`` (Celery beat, every minute): reads the equity snapshots and sell fills added since its cursors
   and pushes them into each wallet's four streaming states (1d, 7d, 30d, all) — O(1) per wallet and period. A
   rolling window's start moves in hops of 1/24 of the period (per-wallet phase, so the work spreads evenly): when it
   hops, that one state is rebuilt from the stored points. Then it rebuilds the leaderboards.
2. ``metrics_recompute`` (beat, daily; ``manage.py analytics_recompute``): rebuilds every state from the stored data
   up to the same cursors and window starts, compares, and repairs any that differ.
3. ``equity_downsample`` (beat, daily): one-minute snapshots older than 8 days become 5-minute points, 5-minute points
   older than 32 days become 1-hour points (``analytics.metrics.downsample``: first/last points and every drawdown
   extreme kept). The 30d and all states of the wallets it thinned are rebuilt from the thinned history.

One row lock (the ``snapshots`` cursor) serialises the three, so they never interleave.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analytics.metrics import RANKING_METRICS, Accumulator, Performance, deflated_sharpes, rank
from analytics.metrics.downsample import keep_mask
from analytics.models import Cursor, EquityPoint, Leaderboard, MetricState, Period
from common import generation
from trading.models import EquitySnapshot, Fill, Wallet

logger = logging.getLogger(__name__)

PERIOD_SECONDS: dict[str, int | None] = {"1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "all": None}
PERIODS = tuple(PERIOD_SECONDS)
HOPS_PER_PERIOD = 24  # a rolling window's start moves by 1/24 of its length: 1 h, 7 h, 30 h
RAW_RETENTION = timedelta(days=8)  # one-minute snapshots: >= 7 days + the 7d window's hop
FIVE_MINUTE_RETENTION = timedelta(days=32)  # 5-minute points: >= 30 days + the 30d window's hop
LEADERBOARD_GENERATION = "analytics-leaderboards"
SNAPSHOT_CURSOR, FILL_CURSOR = "snapshots", "fills"


def _risk_free() -> float:
    return float(getattr(settings, "ANALYTICS_RISK_FREE_RATE", 0.0))


def _fill_settle_seconds() -> float:
    return float(getattr(settings, "ANALYTICS_FILL_SETTLE_SECONDS", 10.0))


# --- windows ---------------------------------------------------------------------------------------------------------
def window_start(wallet_id, period: str, now: datetime) -> datetime | None:
    """Start of ``period``'s window for a wallet at ``now``: the period plus up to one hop back, on the wallet's own
    hop phase (``None`` for "all"). The 1d window so covers the last 24 to 25 hours."""
    length = PERIOD_SECONDS[period]
    if length is None:
        return None
    hop = length // HOPS_PER_PERIOD
    phase = uuid.UUID(str(wallet_id)).int % hop
    t = int(now.timestamp())
    start = ((t - length - phase) // hop) * hop + phase
    return datetime.fromtimestamp(start, dt_timezone.utc)


# --- metrics <-> JSON -------------------------------------------------------------------------------------------------
_INT_FIELDS = {"max_drawdown_duration", "total_trades", "winning_trades", "losing_trades", "n_returns"}


def metrics_json(perf: Performance) -> dict:
    """Every field at full precision (Decimal as str): the API rounds at the edge, ranking and DSR read it back."""
    return {k: (None if v is None else v if k in _INT_FIELDS else str(v)) for k, v in perf.as_dict().items()}


def performance_of(metrics: dict) -> Performance:
    kwargs = {}
    for k, v in metrics.items():
        kwargs[k] = v if (v is None or k in _INT_FIELDS) else Decimal(v)
    return Performance(**kwargs)


# --- loading series ---------------------------------------------------------------------------------------------------
@dataclass
class _Series:
    ts: np.ndarray  # epoch seconds
    eq: np.ndarray  # float equity
    exact: dict[float, Decimal] = field(default_factory=dict)  # ts -> Decimal equity, for the points asked for


def _iter_series(wallet_ids: list, *, since: datetime | None, snapshot_upto: int):
    """Each wallet's stored curve (downsampled points, then snapshots with id <= ``snapshot_upto``) from ``since``
    on (None = all), as (wallet_id, epoch seconds, float equity) with sorted float arrays; wallets without a point
    are left out. Must be consumed fully (PostgreSQL: it holds a server-side cursor in a transaction)."""
    if not wallet_ids:
        return
    since = since or datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
    if connection.vendor != "postgresql":  # embedded SQLite: the ORM, same result
        for w in wallet_ids:
            pts = [(p[0].timestamp(), float(p[1])) for p in
                   EquityPoint.objects.filter(wallet_id=w, ts__gte=since).values_list("ts", "equity")]
            pts += [(p[0].timestamp(), float(p[1])) for p in
                    EquitySnapshot.objects.filter(wallet_id=w, ts__gte=since, id__lte=snapshot_upto)
                    .values_list("ts", "equity")]
            if pts:
                pts.sort()
                yield w, np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
        return
    # One scan of each table for all the wallets, hash-aggregated per wallet into two float8 arrays sent in
    # PostgreSQL's binary array format, which numpy reads without a Python object per value: a full recompute reads
    # ~20 million points. No ORDER BY (a sort of 20 million rows would cost more than everything else): numpy sorts
    # each wallet's points; both arrays of a wallet are aggregated from the same rows in the same order.
    query = """
        SELECT x.wallet_id, array_send(array_agg(x.t)), array_send(array_agg(x.e)) FROM (
            SELECT wallet_id, date_part('epoch', ts) AS t, equity::float8 AS e FROM analytics_equitypoint
             WHERE wallet_id = ANY(%(ids)s::uuid[]) AND ts >= %(since)s
            UNION ALL
            SELECT wallet_id, date_part('epoch', ts), equity::float8 FROM trading_equitysnapshot
             WHERE wallet_id = ANY(%(ids)s::uuid[]) AND ts >= %(since)s AND id <= %(upto)s
        ) x GROUP BY x.wallet_id"""
    params = {"ids": [str(w) for w in wallet_ids], "since": since, "upto": snapshot_upto}
    with transaction.atomic():
        with connection.cursor() as c:
            # room to hash-aggregate in memory, and no JIT compilation (~60 ms) for a query this simple
            c.execute("SET LOCAL work_mem = '768MB'; SET LOCAL jit = off")
        with connection.connection.cursor(name=f"analytics_series_{uuid.uuid4().hex[:12]}") as cur:
            cur.itersize = 16
            cur.execute(query, params)
            for w, ts_blob, eq_blob in cur:
                ts, eq = _float8_array(ts_blob), _float8_array(eq_blob)
                order = np.argsort(ts, kind="stable")
                yield (w if isinstance(w, uuid.UUID) else uuid.UUID(str(w))), ts[order], eq[order]


_ARRAY_ITEM = np.dtype([("len", ">i4"), ("value", ">f8")])


def _float8_array(blob) -> np.ndarray:
    """A one-dimensional float8[] without NULLs in PostgreSQL's binary format (array_send) -> numpy."""
    return np.frombuffer(blob, dtype=_ARRAY_ITEM, offset=20)["value"].astype(np.float64)  # 20: the header


def _exact_equities(wanted: dict) -> dict:
    """{wallet: {epoch ts}} -> {(wallet, epoch ts): Decimal equity}: the few points whose exact value matters (the
    first of each window, the last)."""
    pairs = [(str(w), datetime.fromtimestamp(t, dt_timezone.utc)) for w, tss in wanted.items() for t in tss]
    if not pairs:
        return {}
    out = {}
    for model in (EquityPoint, EquitySnapshot):
        if connection.vendor == "postgresql":
            table = model._meta.db_table
            with connection.cursor() as cur:
                cur.execute(f"""SELECT t.wallet_id, t.ts, t.equity FROM {table} t
                                JOIN unnest(%s::uuid[], %s::timestamptz[]) AS k(wallet_id, ts)
                                  ON t.wallet_id = k.wallet_id AND t.ts = k.ts""",
                            [[p[0] for p in pairs], [p[1] for p in pairs]])
                rows = cur.fetchall()
        else:
            rows = []
            for w, t in pairs:
                rows += [(w, t, e) for e in model.objects.filter(wallet_id=w, ts=t).values_list("equity", flat=True)]
        for w, t, e in rows:
            out[(uuid.UUID(str(w)), t.timestamp())] = e
    return out


def _load_trades(wallet_ids: list, *, fill_upto: int) -> dict:
    """Each wallet's closed trades (sell fills with id <= ``fill_upto``): [(epoch ts, realized pnl)]."""
    out = defaultdict(list)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("""SELECT wallet_id, extract(epoch FROM created_at)::float8, realized_pnl FROM trading_fill
                            WHERE wallet_id = ANY(%s::uuid[]) AND side = 'sell' AND id <= %s""",
                        [[str(w) for w in wallet_ids], fill_upto])
            for w, t, pnl in cur.fetchall():
                out[w if isinstance(w, uuid.UUID) else uuid.UUID(str(w))].append((t, pnl))
        return out
    rows = (Fill.objects.filter(wallet_id__in=wallet_ids, side="sell", id__lte=fill_upto).order_by("id")
            .values_list("wallet_id", "created_at", "realized_pnl"))
    for w, t, pnl in rows:
        out[w].append((t.timestamp(), pnl))
    return out


@dataclass
class _Built:
    window_start: datetime | None
    acc: Accumulator


def _build(pairs: list[tuple], *, snapshot_upto: int, fill_upto: int, windows: dict | None = None) -> dict:
    """Full computation of the states ``pairs`` = [(wallet_id, period)] from the stored data up to the cursors.
    ``windows[(wallet, period)]`` overrides the window start (the recompute checks a state at ITS window)."""
    windows = windows or {}
    by_wallet = defaultdict(list)
    for w, p in pairs:
        by_wallet[w].append(p)
    wallet_ids = list(by_wallet)
    if not wallet_ids:
        return {}
    info = {w.pk: w for w in Wallet.objects.filter(pk__in=wallet_ids).only("id", "created_at", "starting_balance")}
    trades = _load_trades(wallet_ids, fill_upto=fill_upto)
    starts = [windows[k] for k in pairs]
    since = None if any(s is None for s in starts) else min(starts)
    series = {}
    out = {}
    pending = []  # (key, ts of the first point, ts of the last point): exact Decimals looked up at the end
    empty = np.empty(0)
    for w, ts, eq in _iter_series(wallet_ids, since=since, snapshot_upto=snapshot_upto):
        series[w] = True
        for p in by_wallet[w]:
            out[(w, p)] = _built_one(w, p, windows[(w, p)], ts, eq, info.get(w), trades.get(w, ()), pending)
    for w in wallet_ids:  # no stored point at all
        if w not in series:
            for p in by_wallet[w]:
                out[(w, p)] = _built_one(w, p, windows[(w, p)], empty, empty, info.get(w), trades.get(w, ()),
                                         pending)
    exact = _exact_equities({w: {t for key, a, b in pending if key[0] == w for t in (a, b) if t is not None}
                             for w in {key[0] for key, _, _ in pending}})
    for key, first_t, last_t in pending:
        acc = out[key].acc
        acc.set_endpoints(first_equity=exact[(key[0], first_t)] if first_t is not None else acc.s.first_eq,
                          last_equity=exact[(key[0], last_t)])
    return out


def _built_one(w, p, ws, ts, eq, wallet, trades, pending) -> "_Built":
    t_from = None if ws is None else ws.timestamp()
    wt = [pnl for t, pnl in trades if t_from is None or t >= t_from]
    k = 0 if t_from is None else int(np.searchsorted(ts, t_from, side="left"))
    ts_arr, eq_arr = ts[k:], eq[k:]
    first_t = float(ts_arr[0]) if len(ts_arr) else None
    last_t = float(ts_arr[-1]) if len(ts_arr) else None
    first = Decimal(0) if len(ts_arr) else None  # placeholders until the exact values are read
    if p == "all" and wallet is not None:
        # the funding point: "all" measures from the starting balance
        t0 = wallet.created_at.timestamp()
        if not len(ts_arr) or t0 < ts_arr[0]:
            ts_arr = np.concatenate(([t0], ts_arr))
            eq_arr = np.concatenate(([float(wallet.starting_balance)], eq_arr))
            first, first_t = wallet.starting_balance, None
    last = first
    acc = Accumulator.from_arrays(ts_arr, eq_arr, first_equity=first, last_equity=last, trades=wt)
    if last_t is not None:
        pending.append(((w, p), first_t, last_t))
    return _Built(window_start=ws, acc=acc)


# --- cursors and the shared lock -------------------------------------------------------------------------------------
def _lock_cursors() -> tuple[Cursor, Cursor]:
    """Lock (creating) both cursors, in name order; needs a transaction. Serialises update/recompute/downsample."""
    Cursor.objects.bulk_create([Cursor(name=FILL_CURSOR), Cursor(name=SNAPSHOT_CURSOR)], ignore_conflicts=True)
    rows = {c.name: c for c in Cursor.objects.select_for_update().filter(
        name__in=[FILL_CURSOR, SNAPSHOT_CURSOR]).order_by("name")}
    return rows[SNAPSHOT_CURSOR], rows[FILL_CURSOR]


def _save_states(states: list[MetricState], created: list[MetricState]) -> None:
    if created:
        MetricState.objects.bulk_create(created)
    if not states:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("""
                UPDATE analytics_metricstate AS m
                   SET state = v.state::jsonb, metrics = v.metrics::jsonb, as_of = v.as_of, window_start = v.ws
                  FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[])
                       AS v(id, state, metrics, as_of, ws)
                 WHERE m.id = v.id""",
                        [[s.pk for s in states], [_dumps(s.state) for s in states],
                         [_dumps(s.metrics) for s in states], [s.as_of for s in states],
                         [s.window_start for s in states]])
    else:
        MetricState.objects.bulk_update(states, ["state", "metrics", "as_of", "window_start"])


def _dumps(value) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


# --- 1. the incremental update ---------------------------------------------------------------------------------------
@dataclass
class UpdateReport:
    snapshots: int = 0
    trades: int = 0
    wallets: int = 0
    pushed: int = 0
    rebuilt: int = 0


def metrics_update(*, now: datetime | None = None, build_leaderboards: bool = True,
                   max_rows: int = 200_000) -> UpdateReport:
    """Push the snapshots and sell fills added since the last run into every touched wallet's four states."""
    now = now or timezone.now()
    report = UpdateReport()
    if not Cursor.objects.filter(name=SNAPSHOT_CURSOR).exists() and EquitySnapshot.objects.exists():
        report.rebuilt = metrics_build(now=now, build_leaderboards=build_leaderboards)
        return report
    with transaction.atomic():
        snap_c, fill_c = _lock_cursors()
        snaps = list(EquitySnapshot.objects.filter(id__gt=snap_c.position).order_by("id")
                     .values_list("id", "wallet_id", "ts", "equity")[:max_rows])
        fills = list(Fill.objects.filter(id__gt=fill_c.position).order_by("id")
                     .values_list("id", "wallet_id", "side", "created_at", "realized_pnl")[:max_rows])
        # Fills are written by many workers: take only the contiguous run of ids old enough that no earlier id can
        # still be uncommitted (a later run picks the rest up; the recompute repairs the impossible case).
        settle = now - timedelta(seconds=_fill_settle_seconds())
        taken = []
        for f in fills:
            if f[3] >= settle:
                break
            taken.append(f)
        snap_pos = snaps[-1][0] if snaps else snap_c.position
        fill_pos = taken[-1][0] if taken else fill_c.position
        points = defaultdict(list)
        for _, w, ts, eq in snaps:
            points[w].append((ts.timestamp(), eq))
        trades = defaultdict(list)
        for _, w, side, at, pnl in taken:
            if side == "sell":
                trades[w].append((at.timestamp(), pnl))
        touched = set(points) | set(trades)
        report.snapshots, report.trades, report.wallets = len(snaps), sum(map(len, trades.values())), len(touched)
        if touched:
            _apply(touched, points, trades, now=now, snapshot_upto=snap_pos, fill_upto=fill_pos, report=report)
        snap_c.position, fill_c.position = snap_pos, fill_pos
        Cursor.objects.filter(name=SNAPSHOT_CURSOR).update(position=snap_pos, updated_at=now)
        Cursor.objects.filter(name=FILL_CURSOR).update(position=fill_pos, updated_at=now)
    if build_leaderboards and touched:
        leaderboards_build(now=now)
    return report


def _apply(touched, points, trades, *, now, snapshot_upto, fill_upto, report) -> None:
    agents = dict(Wallet.objects.filter(pk__in=touched).values_list("id", "agent_id"))
    states = {(s.wallet_id, s.period): s for s in MetricState.objects.filter(wallet_id__in=touched)}
    rebuild, windows = [], {}
    dirty = []
    rf = _risk_free()
    for w in touched:
        pts = sorted(points.get(w, ()), key=lambda p: p[0])
        for p in PERIODS:
            ws = window_start(w, p, now)
            windows[(w, p)] = ws
            st = states.get((w, p))
            if st is None or st.window_start != ws:
                rebuild.append((w, p))
                continue
            acc = Accumulator(st.state)
            t_from = None if ws is None else ws.timestamp()
            for t, eq in pts:
                # (a point older than the window, or than the state's last, is the full recompute's business)
                if (acc.last_ts is None or t > acc.last_ts) and (t_from is None or t >= t_from):
                    acc.push(t, eq)
                    report.pushed += 1
            for t, pnl in trades.get(w, ()):
                if t_from is None or t >= t_from:
                    acc.trade(pnl)
            st.state, st.metrics, st.as_of = acc.state(), metrics_json(acc.result(now=now, risk_free=rf)), now
            dirty.append(st)
    created = []
    if rebuild:
        built = _build(rebuild, snapshot_upto=snapshot_upto, fill_upto=fill_upto, windows=windows)
        report.rebuilt = len(built)
        for (w, p), b in built.items():
            metrics = metrics_json(b.acc.result(now=now, risk_free=rf))
            st = states.get((w, p))
            if st is None:
                created.append(MetricState(wallet_id=w, agent_id=agents[w], period=p, window_start=b.window_start,
                                           state=b.acc.state(), metrics=metrics, as_of=now))
            else:
                st.window_start, st.state, st.metrics, st.as_of = b.window_start, b.acc.state(), metrics, now
                dirty.append(st)
    _save_states(dirty, created)


def metrics_build(*, now: datetime | None = None, build_leaderboards: bool = True) -> int:
    """Build every live wallet's four states from the stored data, from scratch, and move the cursors to the
    newest rows: what the first update on an existing database does (rather than replaying millions of old
    snapshots one by one). Returns the number of states written."""
    from django.db.models import Max, Min

    now = now or timezone.now()
    with transaction.atomic():
        snap_c, fill_c = _lock_cursors()
        snap_pos = EquitySnapshot.objects.aggregate(m=Max("id"))["m"] or 0
        # fills: up to the settled ones, as the update would
        settle = now - timedelta(seconds=_fill_settle_seconds())
        unsettled = Fill.objects.filter(created_at__gte=settle).aggregate(m=Min("id"))["m"]
        fill_pos = unsettled - 1 if unsettled else (Fill.objects.aggregate(m=Max("id"))["m"] or 0)
        wallets = dict(Wallet.objects.filter(retired_at__isnull=True).values_list("id", "agent_id"))
        windows = {(w, p): window_start(w, p, now) for w in wallets for p in PERIODS}
        built = _build(list(windows), snapshot_upto=snap_pos, fill_upto=fill_pos, windows=windows)
        rf = _risk_free()
        existing = {(s.wallet_id, s.period): s for s in MetricState.objects.filter(wallet_id__in=wallets)}
        dirty, created = [], []
        for (w, p), b in built.items():
            metrics = metrics_json(b.acc.result(now=now, risk_free=rf))
            st = existing.get((w, p))
            if st is None:
                created.append(MetricState(wallet_id=w, agent_id=wallets[w], period=p, window_start=b.window_start,
                                           state=b.acc.state(), metrics=metrics, as_of=now))
            else:
                st.window_start, st.state, st.metrics, st.as_of = b.window_start, b.acc.state(), metrics, now
                dirty.append(st)
        _save_states(dirty, [])
        MetricState.objects.bulk_create(created, batch_size=2000)
        Cursor.objects.filter(name=SNAPSHOT_CURSOR).update(position=snap_pos, updated_at=now)
        Cursor.objects.filter(name=FILL_CURSOR).update(position=fill_pos, updated_at=now)
    if build_leaderboards:
        leaderboards_build(now=now)
    return len(built)


# --- 2. the full recompute -------------------------------------------------------------------------------------------
@dataclass
class RecomputeReport:
    checked: int = 0
    mismatched: int = 0
    repaired: int = 0
    examples: list = field(default_factory=list)


def metrics_recompute(*, repair: bool = True, wallet_ids=None, periods=PERIODS) -> RecomputeReport:
    """Rebuild every state from the stored data (up to the same cursors, at its own window and ``as_of``),
    compare with the incremental one, and overwrite those that differ when ``repair``."""
    report = RecomputeReport()
    rf = _risk_free()
    with transaction.atomic():
        snap_c, fill_c = _lock_cursors()
        qs = MetricState.objects.filter(period__in=periods)
        if wallet_ids is not None:
            qs = qs.filter(wallet_id__in=wallet_ids)
        states = {(s.wallet_id, s.period): s for s in qs}
        built = _build(list(states), snapshot_upto=snap_c.position, fill_upto=fill_c.position,
                       windows={k: s.window_start for k, s in states.items()})
        dirty = []
        for key, st in states.items():
            report.checked += 1
            fresh = metrics_json(built[key].acc.result(now=st.as_of, risk_free=rf))
            if fresh != st.metrics or built[key].acc.state() != Accumulator(st.state).state():
                report.mismatched += 1
                if len(report.examples) < 5:
                    diff = {k: (st.metrics.get(k), v) for k, v in fresh.items() if st.metrics.get(k) != v}
                    fresh_state = built[key].acc.state()
                    stored_state = Accumulator(st.state).state()
                    diff.update({f"state.{k}": (stored_state.get(k), v) for k, v in fresh_state.items()
                                 if stored_state.get(k) != v})
                    report.examples.append({"wallet": str(key[0]), "period": key[1], "diff": diff})
                if repair:
                    st.state, st.metrics = built[key].acc.state(), fresh
                    dirty.append(st)
        _save_states(dirty, [])
        report.repaired = len(dirty)
    if report.mismatched:
        logger.warning("analytics recompute: %s of %s states differed (%s repaired): %s", report.mismatched,
                       report.checked, report.repaired, report.examples)
    return report


# --- 3. downsampling -------------------------------------------------------------------------------------------------
@dataclass
class DownsampleReport:
    wallets: int = 0
    raw_in: int = 0
    kept_5m: int = 0
    five_in: int = 0
    kept_1h: int = 0


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def equity_downsample(*, now: datetime | None = None, wallet_batch: int = 200) -> DownsampleReport:
    """Thin the equity history: 1-minute snapshots older than 8 days -> 5-minute points, 5-minute points older than
    32 days -> 1-hour points. Then rebuild the states whose window reaches into what it thinned."""
    now = now or timezone.now()
    raw_cut = _floor_hour(now - RAW_RETENTION)
    five_cut = _floor_hour(now - FIVE_MINUTE_RETENTION)
    report = DownsampleReport()
    touched = set()
    with transaction.atomic():
        snap_c, fill_c = _lock_cursors()
        wallets = list(EquitySnapshot.objects.filter(ts__lt=raw_cut).order_by().values_list("wallet_id", flat=True)
                       .distinct())
        wallets5 = list(EquityPoint.objects.filter(resolution="5m", ts__lt=five_cut).order_by()
                        .values_list("wallet_id", flat=True).distinct())
        # 5-minute -> 1-hour first (older), then 1-minute -> 5-minute
        for i in range(0, len(wallets5), wallet_batch):
            chunk = wallets5[i:i + wallet_batch]
            n_in, n_kept = _thin(EquityPoint.objects.filter(resolution="5m", ts__lt=five_cut, wallet_id__in=chunk),
                                 chunk, prior=EquityPoint.objects.filter(resolution="1h", wallet_id__in=chunk),
                                 bucket=3600, to_resolution="1h", from_snapshots=False)
            report.five_in += n_in
            report.kept_1h += n_kept
            touched.update(chunk)
        for i in range(0, len(wallets), wallet_batch):
            chunk = wallets[i:i + wallet_batch]
            n_in, n_kept = _thin(EquitySnapshot.objects.filter(ts__lt=raw_cut, wallet_id__in=chunk), chunk,
                                 prior=EquityPoint.objects.filter(wallet_id__in=chunk), bucket=300,
                                 to_resolution="5m", from_snapshots=True)
            report.raw_in += n_in
            report.kept_5m += n_kept
            touched.update(chunk)
        report.wallets = len(touched)
        if touched:
            # every state whose window reaches into the thinned range: 30d and all of live wallets, and any
            # window of a wallet frozen since (a retired wallet keeps its last 1d/7d states)
            from django.db.models import Q

            states = {(s.wallet_id, s.period): s for s in MetricState.objects.filter(
                Q(window_start__isnull=True) | Q(window_start__lt=raw_cut), wallet_id__in=touched)}
            built = _build(list(states), snapshot_upto=snap_c.position, fill_upto=fill_c.position,
                           windows={k: s.window_start for k, s in states.items()})
            rf = _risk_free()
            for key, st in states.items():
                st.state, st.metrics = built[key].acc.state(), metrics_json(
                    built[key].acc.result(now=st.as_of, risk_free=rf))
            _save_states(list(states.values()), [])
    return report


def _thin(qs, wallet_ids, *, prior, bucket: int, to_resolution: str, from_snapshots: bool) -> tuple[int, int]:
    """Keep the drawdown-preserving subset of ``qs``'s points (per wallet) at ``to_resolution``, delete the rest."""
    from django.db.models import Max

    # the running peak and the last point of everything before these points, per wallet
    peaks = dict(prior.values("wallet_id").annotate(m=Max("equity")).values_list("wallet_id", "m"))
    lasts = {}
    for w in wallet_ids:
        last = prior.filter(wallet_id=w).order_by("-ts").values_list("equity", flat=True).first()
        if last is not None:
            lasts[w] = last
    rows = list(qs.order_by("wallet_id", "ts").values_list("id", "wallet_id", "agent_id", "ts", "equity", "cash",
                                                           "positions_value"))
    by_wallet = defaultdict(list)
    for r in rows:
        by_wallet[r[1]].append(r)
    kept_ids, new_points = [], []
    for w, rs in by_wallet.items():
        ts = np.array([r[3].timestamp() for r in rs])
        eq = np.array([float(r[4]) for r in rs])
        peak = peaks.get(w)
        mask = keep_mask(ts, eq, bucket_seconds=bucket, prior_peak=None if peak is None else float(peak),
                         prior_under=(peak is not None and lasts.get(w) is not None and lasts[w] < peak),
                         keep_first=peak is None)
        for r, k in zip(rs, mask):
            if k:
                kept_ids.append(r[0])
                if from_snapshots:
                    new_points.append(EquityPoint(wallet_id=r[1], agent_id=r[2], ts=r[3], equity=r[4], cash=r[5],
                                                  positions_value=r[6], resolution=to_resolution))
    if from_snapshots:
        EquityPoint.objects.bulk_create(new_points, batch_size=5000, ignore_conflicts=True)
        qs.delete()  # no signals, no dependent rows: one DELETE
    else:
        EquityPoint.objects.filter(pk__in=kept_ids).update(resolution=to_resolution)
        qs.filter(resolution="5m").delete()
    return len(rows), len(kept_ids)


# --- 4. leaderboards -------------------------------------------------------------------------------------------------
def leaderboards_build(*, now: datetime | None = None) -> int:
    """Every (metric, period) board of the visible agents (public, not archived), from their current main wallet's
    state; each row with the deflated Sharpe ratio across the board. Returns the number of boards written."""
    from agents.models import Agent

    now = now or timezone.now()
    rows = (MetricState.objects.filter(wallet__kind=Wallet.Kind.MAIN, wallet__retired_at__isnull=True,
                                       agent__public=True)
            .exclude(agent__status=Agent.Status.ARCHIVED)
            .values_list("period", "agent_id", "agent__name", "agent__account__display_name", "metrics"))
    by_period = defaultdict(list)
    for period, agent_id, name, owner, metrics in rows:
        by_period[period].append((str(agent_id), name, owner, performance_of(metrics)))
    boards = []
    for period in PERIODS:
        entries = by_period.get(period, [])
        perfs = [e[3] for e in entries]
        dsr = dict(zip((e[0] for e in entries), deflated_sharpes(perfs)))
        meta = {e[0]: e for e in entries}
        for metric in RANKING_METRICS:
            ranked = rank([(e[0], e[3]) for e in entries], metric)
            board_rows = []
            for r in ranked:
                _, name, owner, perf = meta[r.key]
                board_rows.append({
                    "agent_id": r.key, "agent_name": name, "owner": owner,
                    "value": _s(r.value), "roi_pct": _s(perf.roi_pct), "sharpe_ratio": _s(perf.sharpe_ratio),
                    "max_drawdown_pct": _s(perf.max_drawdown_pct), "total_trades": perf.total_trades,
                    "deflated_sharpe": _s(dsr[r.key]),
                })
            boards.append(Leaderboard(metric=metric, period=period, as_of=now, rows=board_rows))
    with transaction.atomic():
        Leaderboard.objects.bulk_create(boards, update_conflicts=True, unique_fields=["metric", "period"],
                                        update_fields=["as_of", "rows"])
        generation.bump(LEADERBOARD_GENERATION)
    return len(boards)


def _s(value) -> str | None:
    return None if value is None else str(value)


__all__ = ["PERIODS", "Period", "window_start", "metrics_update", "metrics_recompute", "equity_downsample",
           "leaderboards_build", "metrics_json", "performance_of"]
