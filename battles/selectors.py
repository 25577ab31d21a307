"""Reads of battles: visibility, the clock, the live standings and the data behind the admin's live page."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery, Value
from django.db.models.functions import Mod
from django.utils import timezone

from rest_framework.utils.encoders import JSONEncoder

from accounts.models import Account
from battles.models import Battle, Participant, StandingsSnapshot
from common.errors import NotFound
from common.money import ZERO
from trading.models import Balance, Fill
from trading.selectors import last_prices

_ENCODER = JSONEncoder()  # DRF's: the same datetime/Decimal text as every other response


def battle_visible(*, account):
    """The battles an account may see: its own; every battle for staff."""
    qs = Battle.objects.select_related("owner")
    return qs if account.is_staff else qs.filter(owner=account)


def battle_get(*, account, battle_id) -> Battle:
    try:
        return battle_visible(account=account).get(pk=battle_id)
    except (Battle.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such battle.") from None


def battle_list(*, account, status: str | None = None, mode: str | None = None):
    qs = battle_visible(account=account).prefetch_related("participants__agent")
    if status:
        qs = qs.filter(status=status)
    if mode:
        qs = qs.filter(mode=mode)
    return qs


@dataclass(frozen=True)
class Clock:
    elapsed_seconds: int
    remaining_seconds: int | None  # None: no time limit
    ends_at: datetime | None


def battle_clock(battle: Battle, *, now: datetime | None = None) -> Clock:
    """Elapsed battle time (the clock stops while paused) and what is left of its duration."""
    if battle.started_at is None:
        return Clock(0, battle.duration_seconds, None)
    if battle.mode == Battle.Mode.HISTORICAL and battle.start_time and battle.end_time:
        # the virtual clock: replayed time so far and what is left of the range
        at = battle.virtual_time or battle.start_time
        return Clock(int((at - battle.start_time).total_seconds()), int((battle.end_time - at).total_seconds()),
                     battle.end_time)
    now = now or timezone.now()
    until = battle.ended_at or (battle.paused_at if battle.status == Battle.Status.PAUSED else None) or now
    elapsed = max(0.0, (until - battle.started_at).total_seconds() - battle.paused_seconds)
    if battle.duration_seconds is None:
        return Clock(int(elapsed), None, None)
    remaining = max(0.0, battle.duration_seconds - elapsed)
    ends_at = None if battle.status == Battle.Status.PAUSED else battle.end_time
    return Clock(int(elapsed), int(round(remaining)) if battle.ended_at is None else 0, ends_at)


def battle_time_is_up(battle: Battle, *, now: datetime | None = None) -> bool:
    if battle.status != Battle.Status.ACTIVE or battle.duration_seconds is None or battle.started_at is None:
        return False
    now = now or timezone.now()
    elapsed = (now - battle.started_at).total_seconds() - battle.paused_seconds
    return elapsed >= battle.duration_seconds


def latest_snapshot(*, battle: Battle) -> StandingsSnapshot | None:
    return StandingsSnapshot.objects.filter(battle=battle).order_by("-seq").first()


def _blank_standings(battle: Battle) -> list[dict]:
    """Before the first round: every participant, unranked, at the starting balance."""
    start = battle.starting_balance
    return [{"rank": None, "agent_id": str(p.agent_id), "agent_name": p.agent.name, "status": p.status,
             "equity": f"{start:.8f}", "roi_pct": None, "total_pnl": None, "sharpe_ratio": None,
             "sortino_ratio": None, "calmar_ratio": None, "max_drawdown_pct": None, "win_rate": None,
             "profit_factor": None, "total_trades": 0, "value": None}
            for p in battle.participants.select_related("agent")]


def battle_get_with_standings(*, account, battle_id) -> Battle:
    """``battle_get`` and its latest round in ONE query (``/live`` is polled: one round trip fewer)."""
    latest = StandingsSnapshot.objects.filter(battle=OuterRef("pk")).order_by("-seq")
    qs = battle_visible(account=account).annotate(
        _seq=Subquery(latest.values("seq")[:1]), _ts=Subquery(latest.values("ts")[:1]),
        _final=Subquery(latest.values("final")[:1]), _standings=Subquery(latest.values("standings")[:1]))
    try:
        battle = qs.get(pk=battle_id)
    except (Battle.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such battle.") from None
    battle._latest = (StandingsSnapshot(battle=battle, seq=battle._seq, ts=battle._ts, final=battle._final,
                                        standings=battle._standings) if battle._seq is not None else None)
    return battle


# --- /live: the polled read, one statement and a pre-rendered body ------------------------------------------------
class LiveAuthFailed(Exception):
    """The token's account is gone or deactivated (the view answers 401, as the JWT authentication would)."""


_BATTLE_COLUMNS = [f.column for f in Battle._meta.concrete_fields]
_LIVE_SQL = (
    "SELECT a.is_active, " + ", ".join(f"b.{c}" for c in _BATTLE_COLUMNS) + ", s.id, s.seq, s.ts, s.final "
    f"FROM {Account._meta.db_table} a "
    f"LEFT JOIN {Battle._meta.db_table} b ON b.id = %s AND (b.owner_id = a.id OR a.is_staff) "
    f"LEFT JOIN LATERAL (SELECT id, seq, ts, final FROM {StandingsSnapshot._meta.db_table} "
    "  WHERE battle_id = b.id ORDER BY seq DESC LIMIT 1) s ON true "
    "WHERE a.id = %s")
# Rendered standings rows per snapshot id. Snapshots are insert-only (one per round, never updated), so an id's
# rendering never goes stale, and a new round (a new id) shows at once. Bounded: cleared when it grows past this.
_rendered_rows: dict[int, bytes] = {}
_RENDERED_MAX = 2000


def _drf_default(obj):
    return _ENCODER.default(obj)


# The /live statement's row per (account, battle), reused while the generations it depends on stand still (see
# common.generation): the battle's own ("battle-live:<id>", bumped by every save or delete of the battle and by
# every new standings round, battles.apps) and the accounts' (agents.keycache's, bumped by every save or delete of
# an account: is_active, is_staff). Their reads ride on the rate limiter's round trip (the view's
# ``prefetch_generations``), so a polled /live with nothing new touches neither PostgreSQL nor Redis beyond that.
_live_rows: dict[tuple[str, str], tuple[tuple, tuple]] = {}
_LIVE_ROWS_MAX = 10_000


def live_generation(battle_id) -> str:
    return f"battle-live:{battle_id}"


def _live_row(account_id, battle_id, generations) -> tuple:
    from django.db import connection

    key = (str(account_id), str(battle_id))
    if generations is not None:
        hit = _live_rows.get(key)
        if hit is not None and hit[0] == tuple(generations):
            return hit[1]
    with connection.cursor() as cur:
        cur.execute(_LIVE_SQL, [str(battle_id), account_id])
        row = cur.fetchone()
    if generations is not None and row is not None:  # generations read BEFORE the statement: common.generation
        if len(_live_rows) >= _LIVE_ROWS_MAX:
            _live_rows.clear()
        _live_rows[key] = (tuple(generations), row)
    return row


def battle_live_body(*, account_id, battle_id, now: datetime | None = None, generations=None) -> bytes:
    """The ``/live`` body (``battle_standings`` of the latest round) as JSON bytes, for the account ``account_id``
    (from a validated token): ONE statement checks the account (exists and active), the battle's visibility (its
    owner, or staff) and finds the latest round; the round's rows are rendered once per process (orjson) and
    spliced in. ``generations``: the current generations of the accounts and of this battle (read by the caller
    before this call), to reuse the statement's row while they stand still; None: run it. Raises
    ``LiveAuthFailed`` (no such or inactive account) or ``NotFound``."""
    import orjson
    from django.db import connection

    if connection.vendor != "postgresql":
        # Embedded mode (SQLite): _LIVE_SQL is PostgreSQL's (LATERAL); the same answer through the ORM.
        account = Account.objects.filter(pk=account_id, is_active=True).first()
        if account is None:
            raise LiveAuthFailed()
        return _live_json(battle_standings(battle=battle_get_with_standings(account=account, battle_id=battle_id),
                                           now=now))
    row = _live_row(account_id, battle_id, generations)
    if row is None or not row[0]:
        raise LiveAuthFailed()
    fields = row[1:1 + len(_BATTLE_COLUMNS)]
    if fields[0] is None:
        raise NotFound("No such battle.")
    battle = Battle(**{f.attname: v for f, v in zip(Battle._meta.concrete_fields, fields)})
    snap_id, seq, ts, final = row[1 + len(_BATTLE_COLUMNS):]
    if snap_id is None:
        rows = orjson.Fragment(orjson.dumps(_blank_standings(battle)))
    else:
        rendered = _rendered_rows.get(snap_id)
        if rendered is None:
            standings = StandingsSnapshot.objects.filter(pk=snap_id).values_list("standings", flat=True).first()
            rendered = orjson.dumps(standings, default=_drf_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
            if len(_rendered_rows) >= _RENDERED_MAX:
                _rendered_rows.clear()
            _rendered_rows[snap_id] = rendered
        rows = orjson.Fragment(rendered)
    clock = battle_clock(battle, now=now)
    return _live_json({
        "battle_id": str(battle.pk), "status": battle.status, "ranking_metric": battle.ranking_metric,
        "elapsed_seconds": clock.elapsed_seconds, "remaining_seconds": clock.remaining_seconds,
        "virtual_time": battle.virtual_time if battle.mode == Battle.Mode.HISTORICAL else None,
        "as_of": ts, "round": seq if snap_id is not None else 0, "final": bool(snap_id is not None and final),
        "standings": rows,
    })


def _live_json(payload: dict) -> bytes:
    import orjson

    body = orjson.dumps(payload, default=_drf_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    if b"\xe2\x80\xa8" in body or b"\xe2\x80\xa9" in body:  # as DRF's renderer: escape JS line separators
        body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return body


def battle_standings(*, battle: Battle, final: bool = False, now: datetime | None = None) -> dict:
    """What ``/live`` (latest round) and ``/results`` (the frozen final round) answer."""
    snap = battle._latest if hasattr(battle, "_latest") else latest_snapshot(battle=battle)
    clock = battle_clock(battle, now=now)
    return {
        "battle_id": str(battle.pk), "status": battle.status, "ranking_metric": battle.ranking_metric,
        "elapsed_seconds": clock.elapsed_seconds, "remaining_seconds": clock.remaining_seconds,
        "virtual_time": battle.virtual_time if battle.mode == Battle.Mode.HISTORICAL else None,
        "as_of": snap.ts if snap else None, "round": snap.seq if snap else 0,
        "final": bool(snap and snap.final),
        "standings": snap.standings if snap else _blank_standings(battle),
    }


# --- valuation: what the standings rounds read ------------------------------------------------------------------
def wallet_equities(*, wallet_ids) -> dict[str, Decimal]:
    """Equity of each wallet in the quote asset (every other asset at its last price): one balance query and one
    price read for all of them."""
    quote = settings.QUOTE_ASSET
    holdings: dict[str, list[tuple[str, Decimal]]] = {str(w): [] for w in wallet_ids}
    assets = set()
    for wallet_id, asset, available, locked in (Balance.objects.filter(wallet_id__in=list(wallet_ids))
                                                .values_list("wallet_id", "asset", "available", "locked")):
        total = available + locked
        if total:
            holdings[str(wallet_id)].append((asset, total))
            if asset != quote:
                assets.add(asset)
    prices = last_prices(symbols=sorted(f"{a}{quote}" for a in assets))
    out = {}
    for wallet_id, held in holdings.items():
        equity = ZERO
        for asset, total in held:
            if asset == quote:
                equity += total
            else:
                price = prices.get(f"{asset}{quote}")
                if price is not None:
                    equity += total * price
        out[wallet_id] = equity
    return out


def wallet_new_trades(*, wallet_ids, after: int = 0) -> dict[str, list[tuple[int, Decimal]]]:
    """Closed round trips (sells realising PnL) of each wallet with a fill id above ``after``, oldest first:
    [(fill id, realized pnl)]."""
    out = {str(w): [] for w in wallet_ids}
    for wallet_id, fill_id, pnl in (Fill.objects.filter(wallet_id__in=list(wallet_ids), side="sell", id__gt=after)
                                    .order_by("id").values_list("wallet_id", "id", "realized_pnl")):
        out[str(wallet_id)].append((fill_id, pnl))
    return out


def equity_series(*, battle: Battle, max_points: int | None = None) -> dict[str, list[tuple[datetime, Decimal]]]:
    """Each participant's equity at the battle's rounds (thinned to about ``max_points`` evenly spaced rounds, the
    last one always kept), oldest first, from the battle's start at the starting balance."""
    max_points = max_points or settings.BATTLE_METRIC_MAX_POINTS
    step = max(1, -(-battle.round_seq // max_points))
    qs = StandingsSnapshot.objects.filter(battle=battle)
    if step > 1:
        qs = qs.annotate(_m=Mod("seq", Value(step))).filter(Q(_m=0) | Q(seq=battle.round_seq))
    series: dict[str, list] = {}
    for ts, rows in qs.order_by("seq").values_list("ts", "standings"):
        for row in rows:
            series.setdefault(row["agent_id"], []).append((ts, Decimal(row["equity"])))
    return series


def agent_search(*, account, query: str = "", limit: int = 20):
    """Agents that may join a battle of ``account``: its own (staff: anyone's), by name or owner email."""
    from agents.models import Agent

    qs = Agent.objects.select_related("account").exclude(status=Agent.Status.ARCHIVED)
    if not account.is_staff:
        qs = qs.filter(account=account)
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(account__email__icontains=query)
                       | Q(account__display_name__icontains=query))
    return qs.order_by("name")[:limit]


def participant_trades(*, battle: Battle, limit: int = 50) -> dict[str, list[dict]]:
    """Each participant's most recent fills in the battle wallet (the admin's live page)."""
    out = {}
    for p in battle.participants.select_related("agent"):
        if p.wallet_id is None:
            out[str(p.agent_id)] = []
            continue
        out[str(p.agent_id)] = [
            {"created_at": f.created_at.isoformat(), "symbol": f.symbol, "side": f.side, "price": f"{f.price:.8f}",
             "quantity": f"{f.quantity:.8f}", "fee": f"{f.fee:.8f}", "realized_pnl": f"{f.realized_pnl:.8f}"}
            for f in Fill.objects.filter(wallet_id=p.wallet_id).order_by("-created_at", "-id")[:limit]]
    return out


def participants_of(*, battle: Battle) -> list[Participant]:
    return list(battle.participants.select_related("agent", "agent__account").order_by("joined_at", "id"))
