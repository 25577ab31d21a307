"""The tick sweep: fill the resting limit orders and fire the conditional orders a new price crosses.

One sweep = one indexed range query per crossing direction (partial indexes ``order_sweep_le`` / ``order_sweep_ge``
on (symbol, sweep_price) over open orders only), so a tick that crosses nothing costs two index probes, not a scan.
The crossed orders are then locked in batches with ``FOR NO KEY UPDATE SKIP LOCKED``: two workers sweeping the same
tick split the orders between them instead of filling any twice, and the status re-check under the lock drops
what the other one already filled.

A sweep carries the price range [low, high] of the ticks it stands for (the dispatcher coalesces bursts), so a
dip that came and went inside one burst still fills the buys it reached.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from trading import locks
from trading.engine import lifecycle as lc
from trading.engine import matching
from trading.engine.types import Bound, Side
from trading.models import OPEN_ORDER_STATUSES, Order
from trading.services import market
from trading.services.settlement import apply_plans, order_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepStats:
    candidates: int
    filled: int
    triggered: int


def _range_filters(low: Decimal, high: Decimal) -> list[tuple[str, Bound]]:
    """The two range conditions, from the engine's bounds: orders acting at or below a price (resting buys, ...)
    are reached by the low, orders acting at or above it by the high."""
    at_or_below = matching.range_bounds(Side.BUY, low, high).limit  # Bound("gte", low)
    at_or_above = matching.range_bounds(Side.SELL, low, high).limit  # Bound("lte", high)
    return [(Order.Fires.AT_OR_BELOW, at_or_below), (Order.Fires.AT_OR_ABOVE, at_or_above)]


_SQL_OPS = {"gte": ">=", "lte": "<="}


@lru_cache(maxsize=4)
def _crossed_sql(ops: tuple[str, str]) -> str:
    """The crossed-orders query, written once: the same predicates as the partial indexes ``order_sweep_le`` /
    ``order_sweep_ge`` (statuses and ``fires`` as literals, so the planner matches them), one range scan each.
    Built by hand rather than by the ORM: a tick that crosses nothing is this one statement, and composing the
    union through the ORM cost several times the database's own time (it runs on every tick of every pair)."""
    meta = Order._meta
    qn = connection.ops.quote_name
    col = {f: qn(meta.get_field(f).column) for f in ("id", "symbol", "status", "fires", "sweep_price")}
    assert all(st.isidentifier() for st in OPEN_ORDER_STATUSES)
    statuses = ", ".join(f"'{st}'" for st in OPEN_ORDER_STATUSES)
    parts = [f"SELECT {col['id']} FROM {qn(meta.db_table)} WHERE {col['symbol']} = %s AND {col['status']} IN "
             f"({statuses}) AND {col['fires']} = '{fires}' AND {col['sweep_price']} IS NOT NULL AND "
             f"{col['sweep_price']} {_SQL_OPS[op]} %s"
             for fires, op in zip((Order.Fires.AT_OR_BELOW.value, Order.Fires.AT_OR_ABOVE.value), ops, strict=True)]
    return " UNION ALL ".join(parts)


def crossed_order_ids(*, symbol: str, low: Decimal, high: Decimal) -> list:
    """Ids of the open orders of ``symbol`` that some price in [low, high] reaches: one UNION ALL of two index
    range scans, one round trip."""
    (_, below), (_, above) = _range_filters(low, high)
    with connection.cursor() as cur:
        cur.execute(_crossed_sql((below.op, above.op)), [symbol, below.price, symbol, above.price])
        return [row[0] for row in cur.fetchall()]


def sweep_symbol(*, symbol: str, price: Decimal, low: Decimal | None = None,
                 high: Decimal | None = None) -> SweepStats:
    low = min(price, low if low is not None else price)
    high = max(price, high if high is not None else price)
    ids = crossed_order_ids(symbol=symbol, low=low, high=high)
    if not ids:
        return SweepStats(0, 0, 0)
    spec = market.instrument_spec(symbol)
    state = None
    filled = triggered = 0
    batch_size = settings.SWEEP_BATCH_SIZE
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            orders = locks.lock_orders_to_sweep(ids=ids[start:start + batch_size])
            rows = {str(o.pk): o for o in orders}
            states = [order_state(o) for o in orders]
            if state is None and any(not lc.rests_as_limit(st.type, st.triggered_at) for st in states):
                state = market.market_state(symbol)  # conditional orders fire against the live book and price
            plans = lc.sweep(states, low, high, instrument=spec, market=state)
            outcome = apply_plans([(rows[p.order.id], p) for p in plans], now=timezone.now())
            filled += outcome.filled
            triggered += sum(1 for p in plans if p.triggered)
    return SweepStats(candidates=len(ids), filled=filled, triggered=triggered)
