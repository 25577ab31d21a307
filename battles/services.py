"""Battle writes: create, configure, the state machine, battle wallets, standings rounds, survival, completion.

State machine (``BATTLE_STATE`` 422 for every other call)::

    draft --start--> pending (start_time in the future; beat activates it then) --start/time--> active
    draft --start--> active
    active --pause--> paused --resume--> active
    active|paused --stop / time up / last survivor--> completed (results frozen once)
    draft|pending --stop--> cancelled

Concurrency: every transition locks the battle row first (``lock_battle``), then, when it touches wallets, the
participants' open orders, then their balances (the order every trading writer uses: orders, then balances).
Completion has three phases so that a stop racing placements and fills freezes the results exactly once and
nothing trades in a battle wallet after it: (1) under the battle's lock, mark it ending (``end_reason``, the clock
stops at ``ended_at``) and set its wallets ``paused``, commit; (2) take and release each wallet's balance locks,
which waits out any placement that passed its ``paused`` check (``trading.selectors.wallet_trading_guard_locked``
runs under those locks) - after this no order can enter; (3) under the battle's lock again, cancel every open order
(waiting for any fill in progress), value the wallets at last prices, write the one ``final`` snapshot (a partial
unique index is the last guard), unroute. A second stop is refused at (1); a crash between phases is finished by
the tick.

Events go out through ``streams.publish`` (battles and streams are siblings above trading; battles may use the
public publish functions of streams, never the other way round), delivered after commit.
"""

import logging
import re
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from battles.models import Battle, Participant, StandingsSnapshot
from battles.presets import PRESETS
from battles.ranking import accumulate, metrics_of, ranked
from battles.selectors import battle_time_is_up, wallet_equities, wallet_new_trades
from common.errors import BusinessRejection, Conflict, NotFound, ValidationFailed
from common.money import fmt
from streams.publish import publish_agent_events, publish_wallet_switched
from trading.models import Balance, LedgerEntry, Wallet
from trading.selectors import wallet_current
from trading.services.orders import order_cancel_all
from trading.locks import lock_wallet
from trading.wallet import wallet_open, wallet_set_routing

logger = logging.getLogger(__name__)

S = Battle.Status


class BattleState(BusinessRejection):
    code = "BATTLE_STATE"


def _refuse(battle: Battle, action: str, allowed) -> BattleState:
    return BattleState(f"Cannot {action} a battle that is {battle.status}.",
                       details={"battle_id": str(battle.pk), "status": battle.status, "action": action,
                                "allowed_from": list(allowed)})


def lock_battle(*, battle_id, skip_locked: bool = False) -> Battle | None:
    """The battle's row, locked for the transaction (every transition and standings round takes it first)."""
    qs = Battle.objects.select_for_update(of=("self",), skip_locked=skip_locked).filter(pk=battle_id)
    return qs.first()


# --- configuration ---------------------------------------------------------------------------------------------
_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value) -> int | None:
    """Seconds from an integer or a string like ``"90"``, ``"15m"``, ``"4h"``, ``"7d"``; ``None`` = no limit."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationFailed("duration: seconds as an integer, or a string like \"4h\".",
                               details={"field": "duration"})
    if isinstance(value, int):
        seconds = value
    else:
        m = _DURATION.match(str(value).strip().lower())
        if not m:
            raise ValidationFailed("duration: seconds as an integer, or a string like \"4h\" (s, m, h, d).",
                                   details={"field": "duration"})
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if not 1 <= seconds <= 366 * 86400:
        raise ValidationFailed("duration: between 1 second and 366 days.", details={"field": "duration"})
    return seconds


def _config(*, preset: str | None, fields: dict) -> dict:
    """A preset's settings overridden by the fields sent."""
    config = {}
    if preset:
        if preset not in PRESETS:
            raise ValidationFailed(f"Unknown preset {preset!r}.", details={"field": "preset",
                                                                             "presets": sorted(PRESETS)})
        p = PRESETS[preset]
        config = {"duration_seconds": p["duration"], "starting_balance": p["starting_balance"],
                  "pairs": list(p["pairs"]), "ranking_metric": p["ranking_metric"],
                  "elimination_threshold_pct": p.get("elimination_threshold_pct")}
    if "duration" in fields:
        config["duration_seconds"] = parse_duration(fields["duration"])
    if "elimination_threshold_pct" in fields:  # null turns survival off
        config["elimination_threshold_pct"] = fields["elimination_threshold_pct"]
    for key in ("starting_balance", "pairs", "ranking_metric", "start_time", "end_time", "interval", "name",
                "mode"):
        if key in fields and fields[key] is not None:
            config[key] = fields[key]
    if "pairs" in config:
        config["pairs"] = _check_pairs(config["pairs"])
    return config


def _check_pairs(pairs) -> list[str]:
    from market.models import Instrument

    pairs = sorted({str(p).upper() for p in pairs})
    if pairs:
        known = set(Instrument.objects.filter(symbol__in=pairs).values_list("symbol", flat=True))
        unknown = [p for p in pairs if p not in known]
        if unknown:
            raise BusinessRejection(f"Not listed: {', '.join(unknown)}.", code="UNKNOWN_SYMBOL",
                                    details={"field": "pairs", "symbols": unknown})
    return pairs


def _check_historical(config: dict) -> None:
    if config.get("mode") != Battle.Mode.HISTORICAL:
        return
    missing = [f for f in ("start_time", "end_time", "interval") if not config.get(f)]
    if missing:
        raise ValidationFailed(f"A historical battle needs {', '.join(missing)}.", details={"field": missing[0]})
    if config["end_time"] <= config["start_time"]:
        raise ValidationFailed("end_time must be after start_time.", details={"field": "end_time"})


def battle_create(*, owner, name: str, mode: str = Battle.Mode.LIVE, preset: str | None = None, **fields) -> Battle:
    config = _config(preset=preset, fields={**fields, "mode": mode})
    config.setdefault("starting_balance", Decimal(settings.DEFAULT_STARTING_BALANCE))
    config.setdefault("ranking_metric", Battle.Metric.ROI_PCT)
    config.setdefault("duration_seconds", PRESETS["quick_1h"]["duration"] if not preset else None)
    config["mode"] = mode
    _check_historical(config)
    return Battle.objects.create(owner=owner, name=name, preset=preset or "", **config)


def battle_update(*, battle: Battle, **fields) -> Battle:
    """Change a draft's configuration (a preset re-applies its settings, explicit fields win)."""
    with transaction.atomic():
        battle = lock_battle(battle_id=battle.pk)
        if battle.status != S.DRAFT:
            raise _refuse(battle, "change", [S.DRAFT])
        preset = fields.pop("preset", None)
        config = _config(preset=preset, fields=fields)
        if preset:
            config["preset"] = preset
        for key, value in config.items():
            setattr(battle, key, value)
        _check_historical({"mode": battle.mode, "start_time": battle.start_time, "end_time": battle.end_time,
                           "interval": battle.interval})
        battle.save()
    return battle


def battle_delete(*, battle: Battle) -> None:
    with transaction.atomic():
        battle = lock_battle(battle_id=battle.pk)
        if battle.status not in (S.DRAFT, S.CANCELLED):
            raise _refuse(battle, "delete", [S.DRAFT, S.CANCELLED])
        battle.delete()


# --- participants ----------------------------------------------------------------------------------------------
def _engaged_elsewhere(agent_ids, *, battle: Battle) -> list[str]:
    return [str(a) for a in Participant.objects.filter(agent_id__in=list(agent_ids), engaged=True)
            .exclude(battle=battle).values_list("agent_id", flat=True)]


def participant_add(*, battle: Battle, agent, actor) -> Participant:
    """Add ``agent`` to a draft. The owner adds its own agents; staff anyone's."""
    from agents.models import Agent

    if not actor.is_staff and agent.account_id != actor.pk:
        raise NotFound("No such agent.")
    if agent.status == Agent.Status.ARCHIVED:
        raise BusinessRejection("This agent is archived.", code="AGENT_ARCHIVED",
                                details={"agent_id": str(agent.pk)})
    with transaction.atomic():
        battle = lock_battle(battle_id=battle.pk)
        if battle.status != S.DRAFT:
            raise _refuse(battle, "add participants to", [S.DRAFT])
        if _engaged_elsewhere([agent.pk], battle=battle):
            raise BattleState("This agent is already in a live battle that is pending, active or paused.",
                              details={"agent_id": str(agent.pk)})
        try:
            with transaction.atomic():
                return Participant.objects.create(battle=battle, agent=agent)
        except IntegrityError:
            raise Conflict("This agent is already a participant.", code="ALREADY_PARTICIPANT",
                           details={"agent_id": str(agent.pk)}) from None


def participant_remove(*, battle: Battle, agent_id) -> None:
    with transaction.atomic():
        battle = lock_battle(battle_id=battle.pk)
        if battle.status != S.DRAFT:
            raise _refuse(battle, "remove participants from", [S.DRAFT])
        deleted, _ = Participant.objects.filter(battle=battle, agent_id=agent_id).delete()
        if not deleted:
            raise NotFound("This agent is not a participant.")


# --- transitions -----------------------------------------------------------------------------------------------
def _engage(battle: Battle) -> None:
    """Commit the participants to this battle (the partial unique index refuses an agent engaged elsewhere)."""
    participants = list(battle.participants.all())
    if len(participants) < 2:
        raise BattleState("A battle needs at least 2 participants to start.",
                          details={"battle_id": str(battle.pk), "participants": len(participants)})
    busy = _engaged_elsewhere([p.agent_id for p in participants], battle=battle)
    if busy:
        raise BattleState("Some agents are already in a live battle that is pending, active or paused.",
                          details={"agent_ids": busy})
    try:
        with transaction.atomic():
            Participant.objects.filter(battle=battle).update(engaged=True)
    except IntegrityError:
        raise BattleState("Some agents are already in a live battle that is pending, active or paused.",
                          details={"battle_id": str(battle.pk)}) from None


def battle_start(*, battle: Battle, now: datetime | None = None) -> Battle:
    now = now or timezone.now()
    with transaction.atomic():
        battle = lock_battle(battle_id=battle.pk)
        if battle.status not in (S.DRAFT, S.PENDING):
            raise _refuse(battle, "start", [S.DRAFT, S.PENDING])
        if battle.mode != Battle.Mode.LIVE:
            raise BattleState("Historical battles are run by the backtest engine, which is not available yet.",
                              details={"battle_id": str(battle.pk), "mode": battle.mode})
        if battle.status == S.DRAFT:
            _engage(battle)
            if battle.start_time and battle.start_time > now:
                battle.status = S.PENDING
                battle.save(update_fields=["status", "updated_at"])
                return battle
        _activate(battle, now)
    return battle


def _activate(battle: Battle, now: datetime) -> None:
    """Open and route a funded battle wallet per participant, start the clock, write round 0."""
    participants = list(battle.participants.select_related("agent").order_by("agent_id"))
    for p in participants:
        wallet = wallet_open(agent=p.agent, starting_balance=battle.starting_balance, kind=Wallet.Kind.BATTLE,
                             battle_id=battle.pk, reason=LedgerEntry.Reason.BATTLE_FUNDING)
        try:
            with transaction.atomic():
                wallet_set_routing(wallet_ids=[wallet.pk], routed=True, paused=False, pairs=battle.pairs)
        except IntegrityError:
            raise BattleState("An agent's key is already routed to another battle wallet.",
                              details={"agent_id": str(p.agent_id)}) from None
        p.wallet = wallet
        p.metric_state, _ = accumulate(None, ts=now, equity=battle.starting_balance)
        p.save(update_fields=["wallet", "metric_state"])
    battle.status = S.ACTIVE
    battle.started_at = now
    battle.end_time = now + timedelta(seconds=battle.duration_seconds) if battle.duration_seconds else None
    battle.save(update_fields=["status", "started_at", "end_time", "updated_at"])
    _write_round(battle, participants, now)
    events = []
    for p in participants:
        publish_wallet_switched(agent_id=p.agent_id, wallet_id=p.wallet_id)
        events.append((p.agent_id, "battle.started",
                       {"battle_id": str(battle.pk), "name": battle.name, "wallet_id": str(p.wallet_id),
                        "starting_balance": fmt(battle.starting_balance), "pairs": battle.pairs,
                        "ranking_metric": battle.ranking_metric,
                        "ends_at": battle.end_time.isoformat() if battle.end_time else None}))
    publish_agent_events(events)


def battle_pause(*, battle: Battle, now: datetime | None = None) -> Battle:
    now = now or timezone.now()
    with transaction.atomic():
        battle = lock_battle(battle_id=battle.pk)
        if battle.status != S.ACTIVE or battle.end_reason:
            raise _refuse(battle, "pause", [S.ACTIVE])
        wallet_set_routing(wallet_ids=_wallet_ids(battle), paused=True)
        battle.status, battle.paused_at = S.PAUSED, now
        battle.save(update_fields=["status", "paused_at", "updated_at"])
    return battle


def battle_resume(*, battle: Battle, now: datetime | None = None) -> Battle:
    now = now or timezone.now()
    with transaction.atomic():
        battle = lock_battle(battle_id=battle.pk)
        if battle.status != S.PAUSED or battle.end_reason:
            raise _refuse(battle, "resume", [S.PAUSED])
        paused_for = max(0.0, (now - battle.paused_at).total_seconds())
        battle.paused_seconds += paused_for
        if battle.end_time:
            battle.end_time += timedelta(seconds=paused_for)
        active = [p.wallet_id for p in battle.participants.filter(status=Participant.Status.ACTIVE)]
        wallet_set_routing(wallet_ids=active, paused=False)  # the eliminated stay paused
        battle.status, battle.paused_at = S.ACTIVE, None
        battle.save(update_fields=["status", "paused_at", "paused_seconds", "end_time", "updated_at"])
    return battle


def battle_stop(*, battle: Battle, now: datetime | None = None, reason: str = "stopped") -> Battle:
    """Stop: an active or paused battle completes (results frozen); a draft or pending one is cancelled."""
    now = now or timezone.now()
    with transaction.atomic():
        battle = lock_battle(battle_id=battle.pk)
        if battle.status in (S.DRAFT, S.PENDING):
            Participant.objects.filter(battle=battle).update(engaged=False)
            battle.status, battle.ended_at, battle.end_reason = S.CANCELLED, now, "cancelled"
            battle.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
            return battle
        if battle.status not in (S.ACTIVE, S.PAUSED) or battle.end_reason:
            raise _refuse(battle, "stop", [S.DRAFT, S.PENDING, S.ACTIVE, S.PAUSED])
        _begin_stop(battle, now, reason)
    return battle_finish(battle_id=battle.pk)


def _begin_stop(battle: Battle, now: datetime, reason: str) -> None:
    """Phase 1 of completion (caller holds the battle's row lock): the clock stops (``ended_at``), the battle is
    marked as ending (``end_reason``: no other stop, pause or round from here on) and every battle wallet refuses
    new orders (``paused``) once this commits."""
    battle.ended_at, battle.end_reason = now, reason
    battle.save(update_fields=["ended_at", "end_reason", "updated_at"])
    wallet_set_routing(wallet_ids=_wallet_ids(battle), paused=True)


def _drain_placements(wallet_ids) -> None:
    """Phase 2: wait for placements in flight. A placement checks ``paused`` while it holds its wallet's balance
    locks, so once we have held each wallet's locks (after phase 1 committed) every order that passed the check is
    committed, and no later one can pass it."""
    for wallet_id in sorted(str(w) for w in wallet_ids):
        with transaction.atomic():
            lock_wallet(wallet_id=wallet_id,
                        assets=list(Balance.objects.filter(wallet_id=wallet_id).values_list("asset", flat=True)))


def battle_finish(*, battle_id, now: datetime | None = None) -> Battle:
    """Phases 2 and 3 of completion: drain placements, then, under the battle's row lock, cancel every open order,
    value the wallets, freeze the results (once: a finished battle is left alone), unroute the agents' keys.
    Also what the tick calls to finish a stop interrupted between phases (a crash)."""
    _drain_placements(Wallet.objects.filter(battle_id=battle_id, kind=Wallet.Kind.BATTLE).values_list("pk",
                                                                                                      flat=True))
    with transaction.atomic():
        battle = lock_battle(battle_id=battle_id)
        if battle.status in (S.ACTIVE, S.PAUSED) and battle.end_reason:
            _complete(battle, now or timezone.now(), battle.end_reason)
    return battle


def battle_rematch(*, battle: Battle, owner) -> Battle:
    """A new draft with the same configuration and participants."""
    with transaction.atomic():
        new = Battle.objects.create(
            owner=owner, name=battle.name if battle.name.endswith("(rematch)") else f"{battle.name[:89]} (rematch)",
            mode=battle.mode, ranking_metric=battle.ranking_metric, preset=battle.preset,
            duration_seconds=battle.duration_seconds, starting_balance=battle.starting_balance, pairs=battle.pairs,
            elimination_threshold_pct=battle.elimination_threshold_pct, interval=battle.interval,
            start_time=battle.start_time if battle.mode == Battle.Mode.HISTORICAL else None,
            end_time=battle.end_time if battle.mode == Battle.Mode.HISTORICAL else None, rematch_of=battle)
        Participant.objects.bulk_create([Participant(battle=new, agent_id=p.agent_id)
                                         for p in battle.participants.order_by("joined_at", "id")])
    return new


def _wallet_ids(battle: Battle) -> list:
    return [w for w in battle.participants.values_list("wallet_id", flat=True) if w]


# --- standings -------------------------------------------------------------------------------------------------
def _ratio(value):
    return fmt(value, 4) if value is not None else None


def _row(p: Participant, equity: Decimal, metrics: dict) -> dict:
    """A standings row with Decimal values (rendered by ``_render`` once ranked)."""
    return {"agent_id": str(p.agent_id), "agent_name": p.agent.name, "status": p.status,
            "eliminated_at": p.eliminated_at.isoformat() if p.eliminated_at else None,
            "equity": equity, **metrics}


def _render(row: dict, metric: str) -> dict:
    out = dict(row)
    out["equity"] = fmt(row["equity"])
    out["total_pnl"] = fmt(row["total_pnl"]) if row["total_pnl"] is not None else None
    for key in ("roi_pct", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "max_drawdown_pct", "win_rate",
                "profit_factor"):
        out[key] = _ratio(row[key])
    value = row.get("value")
    out["value"] = (fmt(value) if metric == "total_pnl" else _ratio(value)) if value is not None else None
    return out


def _measure(battle: Battle, participants: list[Participant], now: datetime) -> dict[int, dict]:
    """Each participant's equity now and its metrics over the battle's window and wallet only: one equity point
    and the new closed trades pushed into its accumulator (saved with the round, in its transaction)."""
    wallets = [p.wallet_id for p in participants if p.wallet_id]
    equities = wallet_equities(wallet_ids=wallets)
    trades = wallet_new_trades(wallet_ids=wallets, after=min((p.last_fill_id for p in participants), default=0))
    rows = {}
    changed = []
    for p in participants:
        if p.status == Participant.Status.ELIMINATED:
            rows[p.pk] = {"perf": None, **(p.final or {})}  # frozen at elimination
            continue
        equity = equities.get(str(p.wallet_id), battle.starting_balance) if p.wallet_id else battle.starting_balance
        mine = [(fid, pnl) for fid, pnl in trades.get(str(p.wallet_id), ()) if fid > p.last_fill_id]
        state, perf = accumulate(p.metric_state, ts=now, equity=equity, trades=[pnl for _, pnl in mine])
        p.metric_state = state
        if mine:
            p.last_fill_id = mine[-1][0]
        changed.append(p)
        rows[p.pk] = {"perf": perf, **_row(p, equity, metrics_of(perf))}
    Participant.objects.bulk_update(changed, ["metric_state", "last_fill_id"])
    return rows


def _ranked(battle: Battle, participants: list[Participant], rows: dict[int, dict]) -> list[dict]:
    """The ranking: active participants by the battle metric (the analytics core's rules); the eliminated after
    them at their fixed rank, with the row frozen at their elimination."""
    metric = battle.ranking_metric
    alive = [(p.pk, rows[p.pk]["perf"]) for p in participants if p.status == Participant.Status.ACTIVE]
    out = []
    for rank, key, value in ranked(alive, metric):
        row = {k: v for k, v in rows[key].items() if k != "perf"}
        out.append(_render({**row, "rank": rank, "value": value}, metric))
    fixed = sorted((p for p in participants if p.status == Participant.Status.ELIMINATED),
                   key=lambda p: (p.final_rank or 0, p.agent.name))
    return out + [p.final for p in fixed]


def _write_round(battle: Battle, participants: list[Participant], now: datetime, *, final: bool = False,
                 rows: dict | None = None) -> StandingsSnapshot:
    rows = rows if rows is not None else _measure(battle, participants, now)
    standings = _ranked(battle, participants, rows)
    battle.round_seq += 1
    Battle.objects.filter(pk=battle.pk).update(round_seq=battle.round_seq)
    return StandingsSnapshot.objects.create(battle=battle, seq=battle.round_seq, ts=now, final=final,
                                            standings=standings)


def standings_round(*, battle_id, now: datetime | None = None) -> StandingsSnapshot | None:
    """One standings round of an active battle: value every wallet, apply survival, rank, store, publish. Skips a
    battle another round or a transition holds (SKIP LOCKED). Completes the battle when survival leaves one."""
    now = now or timezone.now()
    with transaction.atomic():
        battle = lock_battle(battle_id=battle_id, skip_locked=True)
        if battle is None or battle.status != S.ACTIVE or battle.end_reason:
            return None
        participants = list(battle.participants.select_related("agent").order_by("agent_id"))
        rows = _measure(battle, participants, now)
        eliminated = _apply_survival(battle, participants, rows, now)
        alive = [p for p in participants if p.status == Participant.Status.ACTIVE]
        last_one = battle.elimination_threshold_pct is not None and len(alive) <= 1
        events = [(p.agent_id, "battle.eliminated", {"battle_id": str(battle.pk), "rank": p.final_rank,
                                                     "equity": fmt(rows[p.pk]["equity"])}) for p in eliminated]
        if last_one:  # no round of its own: the final one follows (battle_finish)
            _begin_stop(battle, now, "last_survivor")
        else:
            snap = _write_round(battle, participants, now, rows=rows)
            events += [(p.agent_id, "battle.standings", {"battle_id": str(battle.pk), "round": snap.seq,
                                                         "as_of": now.isoformat(), "standings": snap.standings})
                       for p in participants]
        publish_agent_events(events)
    if last_one:
        battle_finish(battle_id=battle_id, now=now)
        return StandingsSnapshot.objects.filter(battle_id=battle_id, final=True).first()
    return snap


def _apply_survival(battle: Battle, participants: list[Participant], rows: dict, now: datetime) -> list:
    """Eliminate the active participants whose equity fell below the threshold: orders cancelled, wallet paused,
    rank fixed (the worst ranks still free; among several eliminated at once, the higher equity ranks better)."""
    if battle.elimination_threshold_pct is None:
        return []
    floor = battle.starting_balance * battle.elimination_threshold_pct / 100
    alive = [p for p in participants if p.status == Participant.Status.ACTIVE]
    out = sorted((p for p in alive if rows[p.pk]["equity"] < floor), key=lambda p: -rows[p.pk]["equity"])
    if not out:
        return []
    worst_free = len(alive)
    for i, p in enumerate(out):
        _freeze_wallet(p.wallet, reason="eliminated from the battle")
        p.status, p.eliminated_at = Participant.Status.ELIMINATED, now
        p.final_rank = worst_free - len(out) + 1 + i
        row = {k: v for k, v in rows[p.pk].items() if k != "perf"}
        row.update(status=p.status, eliminated_at=now.isoformat(), rank=p.final_rank,
                   value=row.get(battle.ranking_metric))
        p.final = _render(row, battle.ranking_metric)
        p.save(update_fields=["status", "eliminated_at", "final_rank", "final"])
    return out


def _freeze_wallet(wallet: Wallet, *, reason: str) -> None:
    """Cancel the wallet's open orders (orders, then balances locked) and set it paused while its balance locks
    are held: an order racing this re-checks after the lock and is refused."""
    order_cancel_all(wallet=wallet, reason=reason)
    assets = list(wallet.balances.values_list("asset", flat=True))
    lock_wallet(wallet_id=wallet.pk, assets=assets)
    wallet_set_routing(wallet_ids=[wallet.pk], paused=True)


def _complete(battle: Battle, now: datetime, reason: str, *, participants=None) -> None:
    """Phase 3: freeze the results (caller holds the battle's row lock, phases 1 and 2 are done)."""
    participants = participants or list(battle.participants.select_related("agent", "wallet").order_by("agent_id"))
    for p in sorted(participants, key=lambda p: str(p.wallet_id)):
        if p.wallet_id:
            order_cancel_all(wallet=p.wallet, reason="battle ended")
    rows = _measure(battle, participants, now)
    snap = _write_round(battle, participants, now, final=True, rows=rows)
    by_agent = {r["agent_id"]: r for r in snap.standings}
    for p in participants:
        p.final = by_agent[str(p.agent_id)]
        p.final_rank = p.final["rank"]
        p.engaged = False
        p.save(update_fields=["final", "final_rank", "engaged"])
    wallet_set_routing(wallet_ids=_wallet_ids(battle), routed=False, paused=True)
    battle.status = S.COMPLETED
    battle.save(update_fields=["status", "updated_at"])
    events = []
    for p in participants:
        publish_wallet_switched(agent_id=p.agent_id, wallet_id=wallet_current(agent=p.agent).pk)
        events.append((p.agent_id, "battle.completed",
                       {"battle_id": str(battle.pk), "reason": reason, "rank": p.final_rank,
                        "standings": snap.standings}))
    publish_agent_events(events)


# --- the periodic job ------------------------------------------------------------------------------------------
def battles_tick(*, now: datetime | None = None) -> dict:
    """What beat runs every BATTLE_SNAPSHOT_SECONDS: activate due pending battles, stop those whose time is up,
    a standings round for every other active one. Idempotent; safe to run concurrently (row locks)."""
    now = now or timezone.now()
    done = {"activated": 0, "completed": 0, "rounds": 0}
    for battle in Battle.objects.filter(status=S.PENDING, mode=Battle.Mode.LIVE, start_time__lte=now):
        try:
            battle_start(battle=battle, now=now)
            done["activated"] += 1
        except BusinessRejection:
            logger.exception("could not activate pending battle %s", battle.pk)
    for battle in Battle.objects.filter(status__in=(S.ACTIVE, S.PAUSED), mode=Battle.Mode.LIVE).exclude(end_reason=""):
        battle_finish(battle_id=battle.pk)  # a stop interrupted between its phases (a crash): finish it
        done["completed"] += 1
    for battle in Battle.objects.filter(status=S.ACTIVE, mode=Battle.Mode.LIVE, end_reason=""):
        if battle_time_is_up(battle, now=now):
            try:
                battle_stop(battle=battle, now=now, reason="time_up")
                done["completed"] += 1
            except BattleState:
                pass  # stopped meanwhile
        elif standings_round(battle_id=battle.pk, now=now) is not None:
            done["rounds"] += 1
    return done
