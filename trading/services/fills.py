"""Executing orders that take liquidity on arrival: what the ``fill_order`` task runs after the placing commit.

A task executes its order together with the other orders of the same pair still waiting for execution (oldest
first, up to ``EXECUTION_BATCH_SIZE``): one market read and one settlement for the batch, so a burst of market
orders costs a few transactions instead of one each. The orders are taken with ``FOR NO KEY UPDATE SKIP LOCKED``:
an order another worker (or a cancel) holds is left to it, and the tasks of orders already executed in someone
else's batch find nothing to do.

Idempotent: an order is executed only while ``needs_execution`` is set, and the transaction that executes it
clears it. A task delivered twice, or redelivered after a worker died mid-transaction (PostgreSQL rolled that
transaction back), finds either the flag still set and nothing written, or the flag cleared and everything
written, never half.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trading.engine import matching
from trading.engine.types import EngineRejection
from trading.models import Order
from trading.services import market
from trading.services.fees import order_fee_rate
from trading.services.orders import intent_of
from trading.services.settlement import close_orders, settle, sweep_key

logger = logging.getLogger(__name__)


def order_execute(*, order_id, symbol: str | None = None) -> int:
    """Execute ``order_id`` (and its pair's other waiting orders) against the market now. Returns how many
    orders this call executed (0: someone else did, or it was cancelled)."""
    if symbol is None:
        symbol = Order.objects.filter(pk=order_id, needs_execution=True).values_list("symbol", flat=True).first()
    elif not Order.objects.filter(pk=order_id, needs_execution=True).exists():
        symbol = None
    if symbol is None:  # executed already (in another task's batch, usually) or gone: one query, no transaction
        return 0
    with transaction.atomic():
        batch = list(Order.objects.select_for_update(no_key=True, skip_locked=True)
                     .filter(needs_execution=True, symbol=symbol)
                     .order_by("created_at")[:settings.EXECUTION_BATCH_SIZE])
        if all(str(o.pk) != str(order_id) for o in batch):
            batch += list(Order.objects.select_for_update(no_key=True, skip_locked=True)
                          .filter(pk=order_id, needs_execution=True))
        if not batch:
            return 0
        now = timezone.now()
        closed = [o for o in batch if not o.is_open]
        if closed:  # cancelled before a worker got to it (closing clears the flag; belt and braces)
            Order.objects.filter(pk__in=[o.pk for o in closed]).update(needs_execution=False)
        batch = [o for o in batch if o.is_open]
        try:
            spec = market.instrument_spec(symbol)
            state = market.market_state(symbol, require_fresh=True)
        except market.MarketClosed as exc:
            close_orders(batch, status=Order.Status.REJECTED, code=exc.code, reason=exc.message, now=now)
            return len(batch)
        items, rejected, waiting = [], [], []
        for order in batch:
            try:
                result = matching.match_order(intent_of(order), state, order_fee_rate(order), instrument=spec)
            except EngineRejection as exc:  # post-only that would take now
                rejected.append((order, exc))
                continue
            if order.trigger_price is not None and not result.triggered:
                waiting.append(order)  # fired at placement, but the price moved back before a worker got to it
                continue
            items.append((order, result, result.triggered))
        settle(items, now=now)
        for order, exc in rejected:
            close_orders([order], status=Order.Status.REJECTED, code=str(exc.code), reason=exc.message, now=now)
        for order in waiting:
            order.needs_execution = False
            order.sweep_price, order.fires = sweep_key(side=order.side, order_type=order.type,
                                                       price=order.trigger_price)
            order.save(update_fields=["needs_execution", "sweep_price", "fires", "updated_at"])
        return len(batch)
