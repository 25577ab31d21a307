"""A worker killed with SIGKILL in the middle of a sweep, then restarted: every order filled exactly once, the
ledger balanced, nothing lost.

The sweep settles its orders in many small transactions (SWEEP_BATCH_SIZE=25), so the kill lands after some
batches committed and, most likely, inside one that had not: PostgreSQL rolls that one back when the connection
dies. The message was never acknowledged (acks_late), so Redis redelivers it once its visibility timeout (3 s here)
has passed, and the restarted worker sweeps again: what was filled is no longer open, the rest fills.
"""

import uuid

import pytest
from django.db.models import Count, Sum

from trading.models import Balance, Fill, Order
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import D, WorkerProcess, assert_ledger_balanced, seed_resting_orders, set_market
from trading.tests.orders_support import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

N_ORDERS = 3000


def test_sigkill_mid_sweep_then_restart_fills_every_order_exactly_once(trader, trading_namespace):
    from trading.tasks import sweep_symbol

    loose = {"max_order_size_pct": "100", "max_position_size_pct": "100", "max_open_orders": 1000}
    wallets = [trader(risk_config=loose, starting_balance=D("100000"))[2] for _ in range(20)]
    seed_resting_orders(wallets=wallets, symbol="BTCUSDT", side="buy",
                        prices=[D(59000) + i for i in range(N_ORDERS)], quantity="0.001")
    set_market("BTCUSDT", "58000")
    queue = f"h5crash-{uuid.uuid4().hex[:6]}"
    env = {"SWEEP_BATCH_SIZE": "25"}
    worker = WorkerProcess(namespace=trading_namespace, queues=queue, concurrency=1, extra_env=env).start()
    try:
        sweep_symbol.apply_async(args=["BTCUSDT", "58000"], queue=queue)
        filled = wait_for(lambda: Order.objects.filter(status="filled").count() >= 100, timeout=30, interval=0.005)
        assert filled, "the sweep did not start"
        worker.kill()
        partly = Order.objects.filter(status="filled").count()
        assert 0 < partly < N_ORDERS, f"the kill came too late to be mid-sweep ({partly} filled)"
        # what committed is whole: one fill per filled order, balances equal to their ledger
        assert Fill.objects.count() == partly
        assert_ledger_balanced()

        worker = WorkerProcess(namespace=trading_namespace, queues=queue, concurrency=1, extra_env=env).start()
        assert wait_for(lambda: Order.objects.filter(status="filled").count() == N_ORDERS, timeout=60), (
            f"only {Order.objects.filter(status='filled').count()} of {N_ORDERS} filled after the restart")
    finally:
        worker.stop()

    assert Fill.objects.count() == N_ORDERS
    assert not Fill.objects.values("order_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not Order.objects.exclude(fill_count=1).exists()
    assert_ledger_balanced()
    assert Balance.objects.filter(asset="USDT").aggregate(s=Sum("locked"))["s"] == 0
    assert Balance.objects.filter(asset="BTC").aggregate(s=Sum("available"))["s"] == D("0.001") * N_ORDERS
