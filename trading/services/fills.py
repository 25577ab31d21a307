"""Executing an order that takes liquidity on arrival: what the ``fill_order`` task runs after the placing commit.

Idempotent: the order row is locked and the work is done only while ``needs_execution`` is set; the transaction
that executes the order clears it. A task delivered twice, or redelivered after a worker died mid-transaction
(PostgreSQL rolled that transaction back), finds either the flag still set and nothing written, or the flag
cleared and everything written, never half.
"""

import logging

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


def order_execute(*, order_id) -> str | None:
    """Execute ``order_id`` against the market now if it still waits for it; its status afterwards, or None."""
    with transaction.atomic():
        order = Order.objects.select_for_update(no_key=True).filter(pk=order_id, needs_execution=True).first()
        if order is None:
            return None
        now = timezone.now()
        if not order.is_open:  # cancelled before a worker got to it (close_orders clears the flag; belt and braces)
            Order.objects.filter(pk=order.pk).update(needs_execution=False)
            return order.status
        try:
            spec = market.instrument_spec(order.symbol)
            state = market.market_state(order.symbol, require_fresh=True)
        except market.MarketClosed as exc:
            close_orders([order], status=Order.Status.REJECTED, code=exc.code, reason=exc.message, now=now)
            return order.status
        intent = intent_of(order)
        try:
            result = matching.match_order(intent, state, order_fee_rate(order), instrument=spec)
        except EngineRejection as exc:  # post-only that would take now
            close_orders([order], status=Order.Status.REJECTED, code=str(exc.code), reason=exc.message, now=now)
            return order.status
        if order.trigger_price is not None and not result.triggered:
            # Fired at placement but the price moved back before a worker got to it: it waits for its trigger.
            order.needs_execution = False
            order.sweep_price, order.fires = sweep_key(side=order.side, order_type=order.type,
                                                       price=order.trigger_price)
            order.save(update_fields=["needs_execution", "sweep_price", "fires", "updated_at"])
            return order.status
        settle([(order, result, result.triggered)], now=now)
        return order.status
