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

from trading import locks
from trading.engine import lifecycle as lc
from trading.models import Order
from trading.services import market
from trading.services.settlement import apply_plans, close_orders, order_state

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
        batch = locks.lock_orders_to_execute(symbol=symbol, limit=settings.EXECUTION_BATCH_SIZE, order_id=order_id)
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
        apply_plans([(order, lc.execute(order_state(order), state, instrument=spec)) for order in batch], now=now)
        return len(batch)
