"""Celery tasks of the trading core: a few lines each, the work is in ``trading.services``.

Every task is idempotent (see the services), so ``acks_late`` + ``reject_on_worker_lost`` (settings) may deliver one
twice: a worker killed mid-task leaves its message to be redelivered and its transaction rolled back.
"""

from datetime import timedelta
from decimal import Decimal

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

# A lost database connection (a restart, "too many clients") is worth a few quick retries: every task is idempotent.
TRANSIENT = {"autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 1, "retry_backoff_max": 10,
             "retry_jitter": True, "max_retries": 5}


@shared_task(name="trading.fill_order", ignore_result=True, **TRANSIENT)
def fill_order(order_id: str, symbol: str | None = None) -> int:
    """Execute an order that takes liquidity on arrival (fired by ``transaction.on_commit`` of its placement),
    with the other orders of its pair waiting for the same."""
    from trading.services.fills import order_execute

    return order_execute(order_id=order_id, symbol=symbol)


@shared_task(name="trading.sweep_symbol", ignore_result=True, **TRANSIENT)
def sweep_symbol(symbol: str, price: str, low: str | None = None, high: str | None = None) -> dict:
    """Fill/fire the resting and conditional orders of ``symbol`` that the ticks in [low, high] crossed."""
    from trading.services.sweep import sweep_symbol as sweep

    stats = sweep(symbol=symbol, price=Decimal(price), low=Decimal(low) if low else None,
                  high=Decimal(high) if high else None)
    return {"candidates": stats.candidates, "filled": stats.filled, "triggered": stats.triggered}


@shared_task(name="trading.snapshot_equity", ignore_result=True)
def snapshot_equity() -> int:
    """Every minute (beat): one equity snapshot per live wallet."""
    from trading.services.positions import equity_snapshot_all

    return equity_snapshot_all()


@shared_task(name="trading.recover_executions", ignore_result=True)
def recover_executions() -> dict:
    """Safety net (beat): re-enqueue orders still waiting for their arrival execution after a while (a lost task),
    and sweep every pair with resting orders at its last price (a lost tick). Both are idempotent."""
    from trading.models import OPEN_ORDER_STATUSES, Order
    from trading.services.market import last_prices

    cutoff = timezone.now() - timedelta(seconds=settings.EXECUTION_RECOVERY_AFTER_SECONDS)
    stuck = list(Order.objects.filter(needs_execution=True, created_at__lt=cutoff)
                 .values_list("id", "symbol")[:1000])
    for order_id, symbol in stuck:
        fill_order.delay(str(order_id), symbol)
    symbols = list(Order.objects.filter(status__in=OPEN_ORDER_STATUSES, sweep_price__isnull=False).order_by()
                   .values_list("symbol", flat=True).distinct())  # order_by(): else DISTINCT covers created_at
    prices = last_prices(symbols)
    for symbol, price in prices.items():
        sweep_symbol.delay(symbol, str(price))
    return {"reenqueued": len(stuck), "swept": len(prices)}
