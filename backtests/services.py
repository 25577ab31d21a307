"""Backtest sessions: create, start, step, trade, cancel; results. Every call on a session locks its row.

Durability: the session row (config, step, log length) and its action log (``BacktestAction``) are the whole truth;
the engine state is rebuilt from them by ``runner.Runner`` (deterministic replay) and cached per process keyed by
(step, log length). A cached runner behind the row catches up by replaying the log entries it has not seen, so calls
may land on any web process, and a restarted server continues a session from the database alone.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from analytics.metrics import performance
from common.errors import BusinessRejection, NotFound, ValidationFailed
from market import selectors as market_selectors
from market.models import Candle
from trading.engine.fees import parse_fee_tiers
from trading.engine.limits import RiskLimits
from trading.engine.types import EngineRejection, InstrumentSpec
from trading.services.orders import engine_error
from trading.services.risk import agent_limits

from . import render
from .models import BacktestAction, BacktestSession
from .runner import DECIMAL_FIELDS, Candle as RCandle, Config, Runner, build_series

INTERVALS = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86_400}
MAX_BATCH_STEPS = 10_000
MAX_TOTAL_STEPS = 1_000_000
OPEN = (BacktestSession.Status.CREATED, BacktestSession.Status.RUNNING)


class BacktestState(BusinessRejection):
    code = "BACKTEST_STATE"


class BattleState(BusinessRejection):
    code = "BATTLE_STATE"


class NoData(BusinessRejection):
    code = "NO_CANDLE_DATA"


# --- create -------------------------------------------------------------------------------------------------------------

def _instrument(symbol: str) -> InstrumentSpec:
    from trading.services.market import instrument_spec

    try:
        return instrument_spec(symbol)
    except Exception as exc:  # market.errors.UnknownSymbol (404 in a path); in a body it is 422 (API.md)
        if getattr(exc, "code", "") == "UNKNOWN_SYMBOL" or exc.__class__.__name__ == "UnknownSymbol":
            raise BusinessRejection(f"Unknown symbol {symbol!r}.", code="UNKNOWN_SYMBOL",
                                    details={"symbol": symbol}) from None
        raise


def session_create(*, agent, start_time: datetime, end_time: datetime, interval: str, pairs: list[str],
                   starting_balance: Decimal, strategy_label: str = "", clock_owner: str = "") -> BacktestSession:
    if interval not in INTERVALS:
        raise ValidationFailed(f"interval must be one of {', '.join(INTERVALS)}", details={"fields": {
            "interval": [f"one of {', '.join(INTERVALS)}"]}})
    seconds = INTERVALS[interval]
    if end_time <= start_time:
        raise ValidationFailed("end_time must be after start_time", details={"fields": {"end_time": ["after start_time"]}})
    for name, t in (("start_time", start_time), ("end_time", end_time)):
        if int(t.timestamp()) % seconds or t.microsecond:
            raise ValidationFailed(f"{name} must be aligned to the {interval} interval (UTC, like the candles)",
                                   details={"fields": {name: [f"a multiple of {interval} since the Unix epoch"]}})
    total_steps = int((end_time - start_time).total_seconds()) // seconds
    if total_steps > MAX_TOTAL_STEPS:
        raise ValidationFailed(f"at most {MAX_TOTAL_STEPS} steps per session (this range has {total_steps})",
                               details={"fields": {"end_time": ["range too long for the interval"]}})
    pairs = list(dict.fromkeys(p.strip().upper() for p in pairs))
    instruments = [_instrument(p) for p in pairs]
    for p in pairs:
        if not Candle.objects.filter(symbol=p, open_time__gte=start_time, open_time__lt=end_time).exists():
            raise NoData(f"The candle store has no {p} data between {render.iso(start_time)} and {render.iso(end_time)}. "
                         "Import it with `manage.py import_candles` or `fetch_candles`.",
                         details={"symbol": p, "start_time": render.iso(start_time), "end_time": render.iso(end_time)})
    config = {
        "limits": {k: str(v) for k, v in agent_limits(agent).as_dict().items()},
        "fee_tiers": [t.as_config() for t in parse_fee_tiers(settings.FEE_TIERS)],
        "market_buffer_pct": str(settings.MARKET_ORDER_MAX_SLIPPAGE_PCT),
        "instruments": [{"symbol": i.symbol, "base": i.base, "quote": i.quote, "tick_size": str(i.tick_size),
                         "step_size": str(i.step_size), "min_qty": str(i.min_qty),
                         "min_notional": str(i.min_notional)} for i in instruments],
    }
    return BacktestSession.objects.create(
        agent=agent, start_time=start_time, end_time=end_time, interval=interval, pairs=pairs,
        starting_balance=starting_balance, strategy_label=strategy_label or "", config=config,
        total_steps=total_steps, clock_owner=clock_owner)


# --- the per-process cache of runners -----------------------------------------------------------------------------------

_lock = threading.Lock()
_runners: OrderedDict = OrderedDict()  # session id -> Runner
_series: OrderedDict = OrderedDict()  # (symbol, interval, start, end) -> Series
RUNNER_CACHE = 64
SERIES_CACHE = 32


def engine_config(s: BacktestSession) -> Config:
    c = s.config
    return Config(
        start=s.start_time, interval=timedelta(seconds=INTERVALS[s.interval]), total_steps=s.total_steps,
        instruments=tuple(InstrumentSpec(i["symbol"], i["base"], i["quote"], *(Decimal(i[k]) for k in (
            "tick_size", "step_size", "min_qty", "min_notional"))) for i in c["instruments"]),
        starting_balance=s.starting_balance, limits=RiskLimits().merged(c.get("limits", {})),
        fee_tiers=parse_fee_tiers(c["fee_tiers"]), market_buffer_pct=Decimal(c["market_buffer_pct"]))


def load_candles(symbol: str, interval: str, start: datetime, end: datetime) -> list[RCandle]:
    """The pair's candles at ``interval`` from 24 h before ``start`` (the seed price and the 24 h volume the slippage
    model reads) up to ``end``, from the candle store."""
    span = timedelta(seconds=INTERVALS[interval])
    lo = start - timedelta(days=1) if span < timedelta(days=1) else start - span
    n = int((end - lo) / span) + 1
    bars = market_selectors.candle_list(symbol=symbol, interval=interval, start=lo, end=end - span, limit=n)
    return [RCandle(b.open_time, b.open, b.high, b.low, b.close, b.volume) for b in bars]


def _series_of(s: BacktestSession, cfg: Config):
    out = []
    for symbol in s.pairs:
        key = (symbol, s.interval, s.start_time, s.end_time)
        with _lock:
            hit = _series.get(key)
        if hit is None:
            hit = build_series(symbol, load_candles(symbol, s.interval, s.start_time, s.end_time),
                               start=s.start_time, interval=cfg.interval, total_steps=s.total_steps)
            with _lock:
                _series[key] = hit
                while len(_series) > SERIES_CACHE:
                    _series.popitem(last=False)
        out.append(hit)
    return out


def runner_build(s: BacktestSession) -> Runner:
    cfg = engine_config(s)
    return Runner(cfg, _series_of(s, cfg))


def runner_sync(s: BacktestSession, r: Runner | None = None) -> Runner:
    """The session's runner at the row's step and log length: the cached one caught up, or one rebuilt by replay."""
    if r is None:
        with _lock:
            r = _runners.get(s.pk)
    if r is None or r.applied > s.actions or r.step > s.step:
        r = runner_build(s)
    if r.applied < s.actions:
        for a in BacktestAction.objects.filter(session=s, seq__gt=r.applied).order_by("seq"):
            r.advance_to(a.step)
            try:
                r.apply(a.kind, a.payload)
            except EngineRejection:
                pass  # refused then, refused now: the refusal is part of the history (ids, breaker)
    r.advance_to(s.step)
    with _lock:
        _runners[s.pk] = r
        _runners.move_to_end(s.pk)
        while len(_runners) > RUNNER_CACHE:
            _runners.popitem(last=False)
    return r


def cache_drop(session_id=None) -> None:
    with _lock:
        if session_id is None:
            _runners.clear()
            _series.clear()
        else:
            _runners.pop(session_id, None)


_session_locks: dict = {}


def _process_lock(session_id) -> threading.RLock:
    """Serialises this process's threads on one session's cached runner (the row lock serialises processes)."""
    lock = _session_locks.get(session_id)
    if lock is None:
        with _lock:
            lock = _session_locks.setdefault(session_id, threading.RLock())
    return lock


def _find_session(qs, *, session_id, agent=None) -> BacktestSession:
    """The session ``session_id`` from ``qs``, the agent's own when ``agent`` is given; else 404."""
    if agent is not None:
        qs = qs.filter(agent=agent)
    s = qs.filter(pk=session_id).first()
    if s is None:
        raise NotFound("Backtest session not found.", details={"session_id": str(session_id)})
    return s


@contextmanager
def session_read(*, session_id, agent=None):
    """The session's runner at the row's committed state, for a read: no row lock (the state is a function of the
    row's step and log length, and the log rows it names are committed with it)."""
    s = _find_session(BacktestSession.objects.all(), session_id=session_id, agent=agent)
    with _process_lock(s.pk):
        try:
            yield s, runner_sync(s)
        except BaseException:
            cache_drop(s.pk)
            raise


@contextmanager
def session_locked(*, session_id, agent=None):
    """The session's row locked for this transaction and its runner synced to it. Another agent's session is 404.
    If anything fails, the process's cached runner is dropped (it may be ahead of the rolled-back row)."""
    try:
        with transaction.atomic():
            s = _find_session(BacktestSession.objects.select_for_update(no_key=True), session_id=session_id,
                              agent=agent)
            with _process_lock(s.pk):
                yield s, runner_sync(s)
    except BaseException:
        cache_drop(session_id)
        raise


def session_get(*, session_id, agent=None) -> BacktestSession:
    qs = BacktestSession.objects.all()
    if agent is not None:
        qs = qs.filter(agent=agent)
    try:
        s = qs.filter(pk=session_id).first()
    except Exception:  # not a UUID
        s = None
    if s is None:
        raise NotFound("Backtest session not found.", details={"session_id": str(session_id)})
    return s


# --- the clock ----------------------------------------------------------------------------------------------------------

def _require_open(s: BacktestSession) -> None:
    if s.status not in OPEN:
        raise BacktestState(f"The backtest is {s.status}.", details={"status": s.status})


def _require_own_clock(s: BacktestSession, by_owner: bool) -> None:
    if s.clock_owner and not by_owner:
        raise BattleState("This session's clock belongs to a historical battle: its owner advances it "
                          "(POST /battles/{id}/step).", details={"clock_owner": s.clock_owner})


def _mark_started(s: BacktestSession) -> None:
    if s.status == BacktestSession.Status.CREATED:
        s.status = BacktestSession.Status.RUNNING
        s.started_at = timezone.now()


def _finish(s: BacktestSession, r: Runner, status: str) -> None:
    s.status = status
    s.finished_at = timezone.now()
    s.results = results_summary(s, r)


def step_response(s: BacktestSession, r: Runner, *, from_step: int, snapshots: list | None = None) -> dict:
    out = {"session_id": str(s.pk), "status": s.status, "virtual_time": render.iso(r.now), "step": r.step,
           "total_steps": s.total_steps, "progress_pct": f"{s.progress_pct:.2f}", "prices": render.prices(r),
           "fills": [render.fill(f) for f in r.fills_between(from_step, r.step)],
           "portfolio": render.portfolio(r), "is_complete": r.is_complete}
    if snapshots is not None:
        out["snapshots"] = snapshots
    return out


_TABLE = BacktestSession._meta.db_table
# The clock's commit does not wait for its WAL flush (synchronous_commit off for this one statement's transaction;
# ~0.12 ms of a ~2 ms step here). What that risks: only a crash of PostgreSQL itself (not of a web process) can lose
# the last few clock moves (at most wal_writer_delay's worth), and nothing else: WAL is written in order, so the
# session's orders, whose commits do wait, make every earlier clock move durable with them; a lost move is stepped
# again with the same result (a runner is a function of the step and the order log). A PostgreSQL-only setting;
# the fast path runs on PostgreSQL only.
_ADVANCE_SQL = f"""
    UPDATE {_TABLE} AS s
       SET step = LEAST(s.step + %s, s.total_steps), status = 'running', started_at = COALESCE(s.started_at, now())
      FROM (SELECT id, step FROM {_TABLE} WHERE id = %s FOR NO KEY UPDATE) AS old,
           (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait
     WHERE s.id = old.id AND s.agent_id = %s AND s.clock_owner = '' AND s.status IN ('created', 'running')
       AND s.step < s.total_steps
 RETURNING old.step, s.step, s.actions, s.total_steps"""


def _at(s: BacktestSession, step: int, actions: int) -> BacktestSession:
    """``s`` as it stood at ``step`` with ``actions`` log entries (a runner is a function of just these)."""
    from copy import copy

    c = copy(s)
    c.step, c.actions = step, actions
    return c


def _advance_fast(*, session_id, agent, steps: int, snapshots: bool) -> dict | None:
    """The clock in one statement (autocommit): the UPDATE takes the row lock, moves the step and returns the old
    and new step; the process's runner then goes from the one to the other (or is rebuilt at the old one first).
    None when the session is not an open one of this agent with its own clock (the locked path says why).
    PostgreSQL only (row locks, set_config)."""
    with connection.prepared_cursor() as cur:  # common/db/postgresql: planning it cost more than running it
        cur.execute(_ADVANCE_SQL, [steps, session_id, agent.pk])
        row = cur.fetchone()
    if row is None:
        return None
    old, step, actions, total = row
    with _process_lock(session_id):
        try:
            r = _runners.get(session_id)
            if r is None or r.applied != actions or r.step != old:
                s = BacktestSession.objects.get(pk=session_id)
                r = runner_sync(_at(s, old, actions))
            shots = r.advance(step - old, snapshot=render.snapshot if snapshots else None)
            if step >= total:
                with session_locked(session_id=session_id) as (s2, r2):
                    if s2.status == BacktestSession.Status.RUNNING:
                        _finish(s2, r2, BacktestSession.Status.COMPLETED)
                        s2.save(update_fields=["status", "finished_at", "results"])
                    return step_response(s2, r2, from_step=old, snapshots=shots if snapshots else None)
            view = BacktestSession(pk=session_id, status=BacktestSession.Status.RUNNING, step=step, total_steps=total)
            return step_response(view, r, from_step=old, snapshots=shots if snapshots else None)
        except BaseException:
            cache_drop(session_id)
            raise


def session_advance(*, session_id, agent=None, steps: int = 1, snapshots: bool = False, by_owner: bool = False,
                    start_only: bool = False) -> dict:
    """Start and/or advance the clock by ``steps`` candles. ``by_owner``: the owner of a shared clock."""
    if not 1 <= steps <= MAX_BATCH_STEPS and not start_only:
        raise ValidationFailed(f"steps must be between 1 and {MAX_BATCH_STEPS}",
                               details={"fields": {"steps": [f"1..{MAX_BATCH_STEPS}"]}})
    if agent is not None and not by_owner and not start_only and connection.vendor == "postgresql":
        t0 = time.perf_counter()
        out = _advance_fast(session_id=session_id, agent=agent, steps=steps, snapshots=snapshots)
        if out is not None:
            if steps > 1:  # the engine time of batches, for the status's rate (one more statement per batch)
                BacktestSession.objects.filter(pk=session_id).update(
                    run_seconds=models.F("run_seconds") + (time.perf_counter() - t0))
            return out
    with session_locked(session_id=session_id, agent=agent) as (s, r):
        _require_own_clock(s, by_owner)
        _require_open(s)
        _mark_started(s)
        from_step = r.step
        shots = None
        if not start_only:
            t0 = time.perf_counter()
            shots = r.advance(steps, snapshot=render.snapshot if snapshots else None)
            s.run_seconds += time.perf_counter() - t0
            s.step = r.step
            if r.is_complete:
                _finish(s, r, BacktestSession.Status.COMPLETED)
        s.save(update_fields=["status", "started_at", "step", "run_seconds", "finished_at", "results"])
        return step_response(s, r, from_step=from_step, snapshots=shots if snapshots else None)


def session_cancel(*, session_id, agent=None, by_owner: bool = False) -> dict:
    with session_locked(session_id=session_id, agent=agent) as (s, r):
        _require_own_clock(s, by_owner)
        if s.status == BacktestSession.Status.COMPLETED:
            raise BacktestState("The backtest has completed; there is nothing to cancel.", details={"status": s.status})
        if s.status != BacktestSession.Status.CANCELLED:
            _finish(s, r, BacktestSession.Status.CANCELLED)
            s.save(update_fields=["status", "finished_at", "results"])
        return step_response(s, r, from_step=r.step)


# --- orders -------------------------------------------------------------------------------------------------------------

@dataclass
class Placed:
    order: dict
    created: bool


def _wire_body(body: dict) -> dict:
    out = {}
    for k, v in body.items():
        if v is None:
            continue
        out[k] = str(v) if k in DECIMAL_FIELDS else v
    out["symbol"] = str(out["symbol"]).strip().upper()
    return out


def order_place(*, session_id, agent, body: dict) -> Placed:
    """Place an order at the session's virtual time, through the engine. ``body``: the validated /trade/order body."""
    body = _wire_body(body)
    rejection = None
    with session_locked(session_id=session_id, agent=agent) as (s, r):
        _require_open(s)
        if s.orders_paused:
            raise BattleState("The battle of this session is paused: new orders are refused.",
                              details={"clock_owner": s.clock_owner})
        if body["symbol"] not in s.pairs:
            raise BusinessRejection(f"{body['symbol']} is not one of this backtest's pairs ({', '.join(s.pairs)}).",
                                    code="UNKNOWN_SYMBOL", details={"symbol": body["symbol"], "pairs": s.pairs})
        cid = body.get("client_order_id")
        if cid and cid in r.client_ids:
            oid, first = r.client_ids[cid]
            if first != body:
                from common.errors import Conflict
                raise Conflict(f"client_order_id {cid!r} was already used for a different order.",
                               code="DUPLICATE_CLIENT_ORDER_ID", details={"client_order_id": cid, "order_id": oid})
            return Placed(render.order(r.order(oid)), False)
        s.actions += 1
        BacktestAction.objects.create(session=s, seq=s.actions, step=s.step, kind=BacktestAction.Kind.ORDER,
                                      payload=body)
        _mark_started(s)
        n_fills = len(r.ex.fills)
        try:
            order = r.apply("order", body)
        except EngineRejection as exc:
            rejection = exc  # logged (the refusal is part of the history) and committed, then raised
            order = None
        s.save(update_fields=["actions", "status", "started_at"])
        if order is not None:
            out = render.order(order)
            out["fills"] = [render.fill(f) for f in r.ex.fills[n_fills:] if f.order_id == order.id]
    if rejection is not None:
        raise engine_error(rejection)
    return Placed(out, True)


def order_cancel(*, session_id, agent, order_id: str) -> dict:
    rejection = None
    with session_locked(session_id=session_id, agent=agent) as (s, r):
        _require_open(s)
        o = r.order(order_id)
        if o is None:
            raise NotFound("Order not found.", details={"order_id": order_id})
        if not o.is_open:
            if str(o.status) == "cancelled":
                return render.order(o)
            rejection = EngineRejection("ORDER_NOT_OPEN", f"The order is {o.status}; only open orders can be cancelled.",
                                        {"order_id": order_id, "status": str(o.status)})
        else:
            s.actions += 1
            BacktestAction.objects.create(session=s, seq=s.actions, step=s.step, kind=BacktestAction.Kind.CANCEL,
                                          payload={"order_id": order_id})
            order = r.apply("cancel", {"order_id": order_id})
            s.save(update_fields=["actions"])
            return render.order(order)
    raise engine_error(rejection)


# --- results ------------------------------------------------------------------------------------------------------------

def _perf(r: Runner):
    return performance(r.curve, r.trades(), now=r.now)


def perf_dict(p) -> dict:
    out = {}
    for k, v in p.as_dict().items():
        out[k] = str(v) if isinstance(v, Decimal) else v
    return out


def results_summary(s: BacktestSession, r: Runner) -> dict:
    v = r.valuation()
    return {"final_equity": render.fmt(v.equity), "starting_balance": render.fmt(s.starting_balance),
            "total_pnl": render.fmt(v.total_pnl), "roi_pct": render.fmt(v.roi_pct, 4),
            "fees_paid": render.fmt(v.fees_paid), "orders": len(r.orders()), "fills": len(r.ex.fills),
            "virtual_time": render.iso(r.now), "steps": r.step, "metrics": perf_dict(_perf(r))}


def session_status(s: BacktestSession) -> dict:
    eta = None
    rate = None
    if s.status == BacktestSession.Status.RUNNING and s.step and s.started_at:
        wall = (timezone.now() - s.started_at).total_seconds()
        rate = s.step / wall if wall > 0 else None
        eta = round((s.total_steps - s.step) / rate, 3) if rate else None
    elif s.status == BacktestSession.Status.COMPLETED:
        eta = 0.0
    return {"session_id": str(s.pk), "status": s.status, "strategy_label": s.strategy_label,
            "start_time": render.iso(s.start_time), "end_time": render.iso(s.end_time), "interval": s.interval,
            "pairs": s.pairs, "starting_balance": render.fmt(s.starting_balance),
            "virtual_time": render.iso(s.start_time + timedelta(seconds=INTERVALS[s.interval]) * s.step),
            "step": s.step, "total_steps": s.total_steps, "progress_pct": f"{s.progress_pct:.2f}",
            "eta_seconds": eta, "steps_per_second": None if rate is None else round(rate, 3),
            "created_at": render.iso(s.created_at), "started_at": render.iso(s.started_at),
            "finished_at": render.iso(s.finished_at), "battle": s.clock_owner or None}


def session_results(*, session_id, agent) -> dict:
    with session_read(session_id=session_id, agent=agent) as (s, r):
        summary = s.results or results_summary(s, r)
        return {**session_status(s), "final": s.status not in OPEN, **summary}


def equity_curve(*, session_id, agent, max_points: int | None = None) -> list[dict]:
    with session_read(session_id=session_id, agent=agent) as (s, r):
        curve = r.curve
        if max_points and len(curve) > max_points:
            stride = -(-len(curve) // max_points)
            idx = list(range(0, len(curve), stride))
            if idx[-1] != len(curve) - 1:
                idx.append(len(curve) - 1)
            curve = [curve[i] for i in idx]
        return [{"ts": render.iso(t), "equity": render.fmt(e)} for t, e in curve]


def trades(*, session_id, agent) -> list[dict]:
    with session_read(session_id=session_id, agent=agent) as (s, r):
        return [render.fill(f) for f in r.ex.fills]


def session_measure(*, session_id):
    """(equity, Performance, virtual time) of a session now: what a historical battle's standings read."""
    with session_read(session_id=session_id) as (s, r):
        return r.curve[-1][1], _perf(r), r.now


def sessions_pause_orders(*, session_ids, paused: bool) -> None:
    """The clock owner's switch (a historical battle paused / resumed): orders on these sessions refused or not."""
    BacktestSession.objects.filter(pk__in=list(session_ids)).update(orders_paused=paused)
