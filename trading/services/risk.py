"""The Django side of the risk chain: gather a ``RiskContext`` from the database; the rules are the engine's.

``trading.engine.risk`` judges; this module only measures (balances, equity at mark, open orders, orders in the last
minute, equity at 00:00 UTC) and remembers that the daily loss breaker tripped, which must outlive the refused
order's rolled-back transaction.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone as dt_timezone
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction

from trading.engine import lifecycle as lc
from trading.engine.limits import RiskLimits
from trading.models import OPEN_ORDER_STATUSES, DailyEquityAnchor, EquitySnapshot, Order, Wallet
from trading.services.market import last_prices


Valuation = lc.Valuation


def wallet_valuation(*, balances, quote: str | None = None, prices: dict | None = None,
                     starting_balance: Decimal | None = None, positions: dict | None = None) -> lc.Valuation:
    """Value ``balances`` ({asset: obj with available/locked}) in the quote asset at last prices: the engine's one
    ``lifecycle.valuation`` (equity, PnL, ROI), with the prices read here when not given."""
    quote = quote or settings.QUOTE_ASSET
    if prices is None:
        held = [a for a, b in balances.items() if a != quote and (b.available + b.locked) > 0]
        symbols = [f"{a}{quote}" for a in held] + [s for s in (positions or {}) if s not in held]
        prices = last_prices(symbols)
    return lc.valuation(balances, prices, quote=quote, starting_balance=starting_balance, positions=positions)


@dataclass(frozen=True)
class Counters:
    """What the risk chain counts in the database, read in one round trip."""

    open_orders: int
    recent_orders: int  # placed in the last 60 s
    anchor_found: bool  # today's DailyEquityAnchor exists
    anchor_equity: Decimal | None
    anchor_tripped: bool


def order_counts(*, wallet_id, now: datetime) -> Counters:
    """Open orders, orders of the last 60 s and today's equity anchor of the wallet: three index lookups, one
    round trip."""
    table = Order._meta.db_table
    anchors = DailyEquityAnchor._meta.db_table
    placeholders = ", ".join(["%s"] * len(OPEN_ORDER_STATUSES))
    # parameters as each backend stores them (uuid, datetime and date differ between PostgreSQL and SQLite)
    wallet = Order._meta.get_field("wallet").get_db_prep_value(wallet_id, connection)
    since = Order._meta.get_field("created_at").get_db_prep_value(now - timedelta(seconds=60), connection)
    day = DailyEquityAnchor._meta.get_field("day").get_db_prep_value(now.astimezone(dt_timezone.utc).date(),
                                                                       connection)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT (SELECT count(*) FROM {table} WHERE wallet_id = %s AND status IN ({placeholders})),"
            f"       (SELECT count(*) FROM {table} WHERE wallet_id = %s AND created_at >= %s),"
            f"       a.equity, a.tripped_at IS NOT NULL, a.id IS NOT NULL "
            f"FROM (SELECT 1) one LEFT JOIN {anchors} a ON a.wallet_id = %s AND a.day = %s",
            [wallet, *OPEN_ORDER_STATUSES, wallet, since, wallet, day],
        )
        open_count, recent, equity, tripped, found = cur.fetchone()
    if equity is not None and not isinstance(equity, Decimal):  # SQLite hands back the decimal as text/float
        equity = DailyEquityAnchor._meta.get_field("equity").to_python(str(equity))
    return Counters(open_count, recent, bool(found), equity, bool(tripped))


def utc_day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(dt_timezone.utc).date(), time.min, tzinfo=dt_timezone.utc)


def day_start_equity(*, wallet: Wallet, equity_now: Decimal, now: datetime, persist: bool,
                     counters: Counters | None = None) -> tuple[Decimal, bool]:
    """(equity at 00:00 UTC today, breaker already tripped today). The first time a day is asked for, its anchor
    is the wallet's opening balance if it opened today, else the last equity snapshot before midnight, else the
    equity now; ``persist`` stores it (not from a preview, which has no side effects)."""
    day = now.astimezone(dt_timezone.utc).date()
    if counters is not None and counters.anchor_found:
        return counters.anchor_equity, counters.anchor_tripped
    if counters is None:
        anchor = DailyEquityAnchor.objects.filter(wallet=wallet, day=day).only("equity", "tripped_at").first()
        if anchor is not None:
            return anchor.equity, anchor.tripped_at is not None
    midnight = utc_day_start(now)
    if wallet.created_at >= midnight:
        equity = wallet.starting_balance
    else:
        snap = (EquitySnapshot.objects.filter(wallet=wallet, ts__lt=midnight, ts__gte=midnight - timedelta(days=1))
                .order_by("-ts").values_list("equity", flat=True).first())
        equity = snap if snap is not None else equity_now
    if persist:
        anchor, _ = DailyEquityAnchor.objects.get_or_create(wallet=wallet, day=day, defaults={"equity": equity})
        return anchor.equity, anchor.tripped_at is not None
    return equity, False


def daily_loss_trip_record(*, wallet_id, now: datetime, equity: Decimal) -> None:
    """Remember that the breaker tripped today, in its own transaction (the refused order's one rolled back)."""
    day = now.astimezone(dt_timezone.utc).date()
    with transaction.atomic():
        anchor, _ = DailyEquityAnchor.objects.get_or_create(wallet_id=wallet_id, day=day,
                                                            defaults={"equity": equity, "tripped_at": now})
        if anchor.tripped_at is None:
            DailyEquityAnchor.objects.filter(pk=anchor.pk, tripped_at__isnull=True).update(tripped_at=now)


def agent_limits(agent) -> RiskLimits:
    return RiskLimits().merged(agent.risk_config or {})


def risk_account(*, agent, wallet: Wallet, balances, quote: str, now: datetime, persist: bool,
                 open_orders_delta: int = 0, recent_orders_delta: int = 0,
                 counts: Counters | None = None) -> lc.Account:
    """What the risk chain needs of the wallet, measured: balances (``{asset: Balance}`` of the whole wallet,
    locked by the caller when placing), equity at mark, open orders, orders of the last 60 s, equity at 00:00 UTC
    and whether the breaker tripped today. ``*_delta`` adjust the counts for orders placed/cancelled earlier in the
    same transaction (a quote ladder)."""
    equity = wallet_valuation(balances=balances, quote=quote).equity
    if counts is None:
        counts = order_counts(wallet_id=wallet.pk, now=now)
    day_equity, tripped = day_start_equity(wallet=wallet, equity_now=equity, now=now, persist=persist,
                                           counters=counts)
    return lc.Account(balances=balances, equity=equity, starting_balance=wallet.starting_balance,
                      day_start_equity=day_equity, daily_loss_tripped=tripped, agent_status=agent.status,
                      open_orders=counts.open_orders + open_orders_delta,
                      orders_last_minute=counts.recent_orders + recent_orders_delta)
