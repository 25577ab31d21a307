"""What the Celery side does, with real processes: the tick dispatcher, sweeps on the worker, lost-task recovery,
equity snapshots and their beat schedule."""

import os
import subprocess
import sys
from unittest import mock

import pytest

from trading.models import EquitySnapshot, Fill, Order
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import ROOT, D, assert_ledger_balanced, set_market, wait_for, wallet_balances

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOOK = {"bids": [("59990", "10")], "asks": [("60000", "10")]}


@pytest.fixture(autouse=True)
def fill_by_the_worker(settings):
    """These tests are about the worker path of an order that takes liquidity on arrival (ORDER_FILL_ON_PLACEMENT
    off); the default fills it in the placing transaction (test_orders_api)."""
    settings.ORDER_FILL_ON_PLACEMENT = False


def place(client, wait_ms=3000, **body):
    return client.post(f"/api/v1/trade/order?wait_ms={wait_ms}", body, format="json")


def test_a_market_order_is_filled_by_the_worker_within_the_wait(celery_worker, trader):
    _, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    r = place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.01")
    assert r.status_code == 201 and r.json()["status"] == "filled" and len(r.json()["fills"]) == 1, r.json()
    # wait_ms=0 answers at once; the worker still fills it right after
    r = place(client, wait_ms=0, symbol="BTCUSDT", side="buy", type="market", quantity="0.01")
    assert r.status_code == 201 and r.json()["status"] in ("new", "filled")
    assert wait_for(lambda: Order.objects.get(pk=r.json()["id"]).status == "filled")
    assert wallet_balances(wallet)["BTC"] == (D("0.02"), 0)


def test_the_sweeper_turns_ticks_into_fills(celery_worker, trader, trading_namespace):
    """``manage.py run_sweeper`` subscribes to the feed's ticks and enqueues sweeps that the worker runs."""
    _, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    buy = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="59000").json()
    env = {**celery_worker.env, "SWEEP_COALESCE_MS": "20"}
    sweeper = subprocess.Popen([sys.executable, "manage.py", "run_sweeper"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # keep ticking (the sweeper needs a moment to start and subscribe): a dip to 58990 and back reaches the buy
        filled = False
        for _ in range(60):
            set_market("BTCUSDT", "59500")
            set_market("BTCUSDT", "58990")
            set_market("BTCUSDT", "59500")
            if wait_for(lambda: Order.objects.get(pk=buy["id"]).status == "filled", timeout=0.3):
                filled = True
                break
        assert filled, "the sweeper never filled the crossed order"
        fill = Fill.objects.get(order_id=buy["id"])
        assert (fill.price, fill.liquidity) == (D("59000"), "maker")
    finally:
        os.killpg(sweeper.pid, 15)
        sweeper.wait(10)
    assert_ledger_balanced()


def test_the_dispatcher_coalesces_a_burst_into_its_last_low_and_high():
    from trading.management.commands.run_sweeper import Coalescer

    c = Coalescer()
    for symbol, price in [("BTCUSDT", "60000"), ("ETHUSDT", "3000"), ("BTCUSDT", "59000"), ("BTCUSDT", "60500"),
                          ("BTCUSDT", "60100")]:
        c.add(symbol, D(price))
    assert sorted(c.drain()) == [("BTCUSDT", D("60100"), D("59000"), D("60500")),
                                 ("ETHUSDT", D("3000"), D("3000"), D("3000"))]
    assert c.drain() == []


def test_sweep_task_on_the_worker_fires_conditional_orders(celery_worker, trader):
    from trading.tasks import sweep_symbol

    _, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.01")
    stop = place(client, symbol="BTCUSDT", side="sell", type="stop_loss", quantity="0.01",
                 trigger_price="58000").json()
    set_market("BTCUSDT", "57990", bids=[("57980", "10")], asks=[("58000", "10")])
    sweep_symbol.delay("BTCUSDT", "57990")
    assert wait_for(lambda: Order.objects.get(pk=stop["id"]).status == "filled")
    assert Fill.objects.get(order_id=stop["id"]).price == D("57980")
    assert_ledger_balanced()


def test_a_lost_execution_task_is_recovered(celery_worker, trader, settings):
    from trading.tasks import recover_executions

    _, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    with mock.patch("trading.services.orders._enqueue_execution"):  # the broker lost the message
        r = place(client, wait_ms=300, symbol="BTCUSDT", side="buy", type="market", quantity="0.01")
    assert r.json()["status"] == "new"
    assert Order.objects.get(pk=r.json()["id"]).needs_execution
    settings.EXECUTION_RECOVERY_AFTER_SECONDS = 0
    assert recover_executions()["reenqueued"] == 1  # enqueues fill_order for the worker
    assert wait_for(lambda: Order.objects.get(pk=r.json()["id"]).status == "filled")
    assert not Order.objects.get(pk=r.json()["id"]).needs_execution


def test_equity_snapshots_on_the_worker(celery_worker, trader):
    from trading.tasks import snapshot_equity

    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.01")
    set_market("BTCUSDT", "61000", **BOOK)
    snapshot_equity.delay()
    snap = wait_for(lambda: EquitySnapshot.objects.filter(wallet=wallet).first())
    assert snap is not None
    assert (snap.cash, snap.positions_value) == (D("10000") - D("600") - D("0.6"), D("610"))
    assert (snap.equity, snap.unrealized_pnl) == (D("10009.4"), D("10"))
