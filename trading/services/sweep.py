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

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trading.engine import matching
from trading.engine.types import EngineRejection, OrderType, RestingOrder, Side
from trading.models import OPEN_ORDER_STATUSES, Order
from trading.services import market
from trading.services.fees import order_fee_rate
from trading.services.orders import intent_of
from trading.services.settlement import close_orders, settle

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepStats:
    candidates: int
    filled: int
    triggered: int


def _range_filters(low: Decimal, high: Decimal) -> list[tuple[str, dict]]:
    """The two range conditions, from the engine's bounds: orders acting at or below a price (resting buys, ...)
    are reached by the low, orders acting at or above it by the high."""
    at_or_below = matching.range_bounds(Side.BUY, low, high).limit  # Bound("gte", low)
    at_or_above = matching.range_bounds(Side.SELL, low, high).limit  # Bound("lte", high)
    return [(Order.Fires.AT_OR_BELOW, {f"sweep_price__{at_or_below.op}": at_or_below.price}),
            (Order.Fires.AT_OR_ABOVE, {f"sweep_price__{at_or_above.op}": at_or_above.price})]


def crossed_order_ids(*, symbol: str, low: Decimal, high: Decimal) -> list:
    """Ids of the open orders of ``symbol`` that some price in [low, high] reaches: one UNION ALL of two index
    range scans, one round trip."""
    parts = [Order.objects.filter(symbol=symbol, status__in=OPEN_ORDER_STATUSES, fires=fires,
                                  sweep_price__isnull=False, **bound).order_by().values_list("id", flat=True)
             for fires, bound in _range_filters(low, high)]
    return list(parts[0].union(parts[1], all=True))


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
            orders = list(Order.objects.select_for_update(no_key=True, skip_locked=True)
                          .filter(pk__in=ids[start:start + batch_size], status__in=OPEN_ORDER_STATUSES,
                                  needs_execution=False)
                          .order_by("wallet_id", "id"))
            items, rejected = [], []
            now = timezone.now()
            for order in orders:
                px = low if order.fires == Order.Fires.AT_OR_BELOW else high
                fee_rate = order_fee_rate(order)
                if order.type == Order.Type.LIMIT or (order.type == Order.Type.STOP_LIMIT and order.triggered_at):
                    result = matching.match_resting(
                        RestingOrder(side=Side(order.side), price=order.price,
                                     quantity=order.quantity - order.filled_quantity),
                        px, fee_rate, instrument=spec, filled_before=order.filled_quantity)
                    if result.executions:
                        items.append((order, result, False))
                    continue
                if not matching.is_triggered(Side(order.side), OrderType(order.type), order.trigger_price, px):
                    continue
                if state is None:
                    state = market.market_state(symbol)
                try:
                    result = matching.match_order(matching.triggered_intent(intent_of(order)), state, fee_rate,
                                                  instrument=spec)
                except EngineRejection as exc:
                    order.triggered_at = now
                    rejected.append((order, exc))
                    continue
                items.append((order, result, True))
            outcome = settle(items, now=now)
            for order, exc in rejected:
                close_orders([order], status=Order.Status.REJECTED, code=str(exc.code), reason=exc.message, now=now)
            filled += outcome.filled
            triggered += sum(1 for _, _, t in items if t)
    return SweepStats(candidates=len(ids), filled=filled, triggered=triggered)
