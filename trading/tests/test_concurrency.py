"""Real threads against real PostgreSQL row locks: nothing overspends, nothing is created or filled twice."""

import random
import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count, Sum
from rest_framework.test import APIClient

from trading.models import OPEN_ORDER_STATUSES, Fill, Order
from trading.services.sweep import sweep_symbol
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import (
    D,
    assert_ledger_balanced,
    seed_resting_orders,
    set_market,
    wait_for,
    wallet_balances,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LOOSE = {"max_order_size_pct": "100", "max_position_size_pct": "100", "max_open_orders": 1000,
         "order_rate_limit": 10000}


def run_threads(n, target):
    """Start ``n`` threads on ``target(i, barrier)`` together; re-raise the first error; close their connections."""
    barrier = threading.Barrier(n)
    errors = []

    def wrapped(i):
        try:
            target(i, barrier)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[0]


def test_fifty_threads_placing_and_cancelling_never_overspend(trader, settings):
    settings.RATE_LIMIT_ENABLED = False
    agent, _, wallet = trader(risk_config=LOOSE)
    set_market("BTCUSDT", "60000", bids=[("59990", "10")], asks=[("60010", "10")])
    from agents.services import agent_key_issue

    api_key = agent_key_issue(agent=agent).api_key
    statuses = Counter()
    lock = threading.Lock()

    def worker(i, barrier):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=api_key)
        rnd = random.Random(i)
        barrier.wait()
        for _ in range(6):
            # 0.01 BTC @ 50000 locks 500.50 USDT: at most 19 can be open at once out of 10000
            r = client.post("/api/v1/trade/order?wait_ms=0", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                                              "quantity": "0.01", "price": "50000"}, format="json")
            code = r.json().get("error", {}).get("code") if r.status_code != 201 else "created"
            with lock:
                statuses[(r.status_code, code)] += 1
            if r.status_code == 201 and rnd.random() < 0.5:
                c = client.delete(f"/api/v1/trade/order/{r.json()['id']}")
                with lock:
                    statuses[("cancel", c.status_code)] += 1

    run_threads(50, worker)
    # once the wallet runs low the risk chain refuses first (notional > 100 % of available), else the balance check
    out_of_funds = {(422, "RISK_MAX_ORDER_SIZE"), (422, "INSUFFICIENT_BALANCE")}
    assert set(statuses) <= {(201, "created"), ("cancel", 200)} | out_of_funds, statuses
    assert statuses[(201, "created")] > 19  # cancels freed room for more than the first 19
    assert sum(statuses[k] for k in out_of_funds) > 0  # and the wallet did run out
    open_orders = Order.objects.filter(wallet=wallet, status__in=OPEN_ORDER_STATUSES)
    usdt_available, usdt_locked = wallet_balances(wallet)["USDT"]
    assert open_orders.count() <= 19
    assert usdt_locked == open_orders.aggregate(s=Sum("locked_amount"))["s"] == open_orders.count() * D("500.5")
    assert usdt_available + usdt_locked == D("10000") and usdt_available >= 0
    assert_ledger_balanced()


def test_fifty_concurrent_retries_of_one_client_order_id_make_one_order(celery_worker, trader, settings):
    settings.RATE_LIMIT_ENABLED = False
    agent, _, wallet = trader(risk_config=LOOSE)
    set_market("BTCUSDT", "60000", bids=[("59990", "10")], asks=[("60000", "10")])
    from agents.services import agent_key_issue

    api_key = agent_key_issue(agent=agent).api_key
    results = []
    lock = threading.Lock()
    body = {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "0.01", "client_order_id": "once"}

    def worker(i, barrier):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=api_key)
        barrier.wait()
        r = client.post("/api/v1/trade/order?wait_ms=2000", body, format="json")
        with lock:
            results.append((r.status_code, r.json().get("id")))

    run_threads(50, worker)
    assert Counter(code for code, _ in results) == {201: 1, 200: 49}
    assert len({order_id for _, order_id in results}) == 1
    order = Order.objects.get(wallet=wallet)
    assert wait_for(lambda: Order.objects.get(pk=order.pk).status == "filled"), Order.objects.filter(
        pk=order.pk).values("status", "status_reason", "reject_code", "needs_execution").first()
    assert Fill.objects.filter(order=order).count() == 1
    assert wallet_balances(wallet) == {"USDT": (D("10000") - D("600") - D("0.6"), 0), "BTC": (D("0.01"), 0)}
    assert_ledger_balanced()


def _seed_book(trader, n_orders=600, n_agents=10):
    wallets = [trader(risk_config=LOOSE)[2] for _ in range(n_agents)]
    prices = [D(59000) + i for i in range(n_orders)]  # every one of them crossed by a tick at 58000
    seed_resting_orders(wallets=wallets, symbol="BTCUSDT", side="buy", prices=prices, quantity="0.001")
    return wallets


def _assert_filled_once(n_orders):
    assert Order.objects.filter(status="filled").count() == n_orders
    assert Fill.objects.count() == n_orders
    assert not Order.objects.exclude(fill_count=1).exists()
    assert not Fill.objects.values("order_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert_ledger_balanced()


def test_two_sweepers_on_the_same_tick_never_double_fill(trader, settings):
    settings.SWEEP_BATCH_SIZE = 50
    _seed_book(trader)
    set_market("BTCUSDT", "58000")
    stats = []

    def worker(i, barrier):
        barrier.wait()
        stats.append(sweep_symbol(symbol="BTCUSDT", price=D("58000")))

    run_threads(2, worker)
    assert [s.candidates for s in stats] == [600, 600]
    assert sum(s.filled for s in stats) == 600  # SKIP LOCKED split the work; nothing was filled by both
    _assert_filled_once(600)


def test_two_worker_processes_sweeping_the_same_tick_never_double_fill(celery_worker, trader):
    from trading.tasks import sweep_symbol as sweep_task

    _seed_book(trader)
    set_market("BTCUSDT", "58000")
    sweep_task.delay("BTCUSDT", "58000")
    sweep_task.delay("BTCUSDT", "58000")  # the worker runs both at once (concurrency 2)
    assert wait_for(lambda: Order.objects.filter(status="filled").count() == 600, timeout=30)
    _assert_filled_once(600)


def test_placing_cancelling_and_sweeping_one_wallet_at_once_never_deadlocks(trader, settings):
    """Placements (balances first), cancels and cancel-all (orders, then balances) and sweeps (orders, balances,
    positions) on the same wallet, all at once: the lock order is the same everywhere, so nothing deadlocks."""
    settings.RATE_LIMIT_ENABLED = False
    settings.SWEEP_BATCH_SIZE = 20
    agent, _, wallet = trader(risk_config=LOOSE)
    set_market("BTCUSDT", "60000", bids=[("59990", "10")], asks=[("60010", "10")])
    seed_resting_orders(wallets=[wallet], symbol="BTCUSDT", side="buy", prices=[D(59000) + i for i in range(100)],
                        quantity="0.001")
    from agents.services import agent_key_issue

    api_key = agent_key_issue(agent=agent).api_key
    problems = []

    def worker(i, barrier):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=api_key)
        barrier.wait()
        for n in range(8):
            if i % 4 == 0:
                sweep_symbol(symbol="BTCUSDT", price=D(59050 - n * 5))
            elif i % 4 == 1 and n % 4 == 3:
                r = client.delete("/api/v1/trade/orders/open")
                if r.status_code != 200:
                    problems.append(r.json())
            else:
                r = client.post("/api/v1/trade/order?wait_ms=0", {
                    "symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.001",
                    "price": str(59000 + (i * 8 + n) % 100)}, format="json")
                if r.status_code not in (201, 422):
                    problems.append(r.json())

    run_threads(12, worker)
    assert problems == []
    assert_ledger_balanced()
    filled = Order.objects.filter(wallet=wallet, status="filled").count()
    assert Fill.objects.filter(wallet=wallet).count() == filled
    usdt_available, usdt_locked = wallet_balances(wallet)["USDT"]
    open_locked = Order.objects.filter(wallet=wallet, status__in=OPEN_ORDER_STATUSES).aggregate(
        s=Sum("locked_amount"))["s"] or 0
    assert usdt_locked == open_locked
