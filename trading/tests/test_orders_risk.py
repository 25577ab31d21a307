"""Every rule of the risk chain through the API: its default, the agent's override, its code and its message."""

import pytest

from agents.models import Agent
from trading.models import DailyEquityAnchor, Order
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import D, assert_ledger_balanced, set_market, wallet_balances

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOOK = {"bids": [("59990", "10")], "asks": [("60000", "10")]}


def place(client, wait_ms=3000, **body):
    return client.post(f"/api/v1/trade/order?wait_ms={wait_ms}", body, format="json")


def limit_buy(client, qty, price="59000", **extra):
    return place(client, symbol="BTCUSDT", side="buy", type="limit", quantity=qty, price=price, **extra)


def refused(r, code):
    assert r.status_code == 422, r.json()
    error = r.json()["error"]
    assert error["code"] == code, error
    return error


def test_max_order_size_default_and_override(celery_worker, trader):
    _, client, _ = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    error = refused(limit_buy(client, "0.09"), "RISK_MAX_ORDER_SIZE")  # 5310 USDT > 50 % of 10000
    assert error["message"] == ("order notional 5310.00 USDT exceeds 50% of available 10000.00 USDT (5000.00)")
    assert (error["details"]["limit"], error["details"]["value"]) == ("5000.00000000", "5310.00000000")
    assert limit_buy(client, "0.04").status_code == 201  # 2360 USDT
    _, client, _ = trader(risk_config={"max_order_size_pct": "60", "max_position_size_pct": "100"})
    assert limit_buy(client, "0.09").status_code == 201


def test_max_position_size_default_and_override(celery_worker, trader):
    _, client, _ = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    error = refused(place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.05"),
                    "RISK_MAX_POSITION_SIZE")  # 3000 USDT > 25 % of equity 10000
    assert "25% of equity 10000.00 USDT (2500.00)" in error["message"]
    assert place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.04").json()["status"] == "filled"
    # the position counts: another 0.002 would take it past 2500
    refused(place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.002"), "RISK_MAX_POSITION_SIZE")
    _, client, _ = trader(risk_config={"max_position_size_pct": "40"})
    assert place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.05").json()["status"] == "filled"


def test_max_open_orders_default_and_override(celery_worker, trader):
    _, client, _ = trader(risk_config={"max_open_orders": 2})
    set_market("BTCUSDT", "60000", **BOOK)
    assert limit_buy(client, "0.001").status_code == 201
    assert limit_buy(client, "0.001").status_code == 201
    error = refused(limit_buy(client, "0.001"), "RISK_MAX_OPEN_ORDERS")
    assert error["message"].startswith("2 open orders reach the limit of 2")
    # an order that does not rest is not limited by it
    assert place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.001").status_code == 201
    client.delete("/api/v1/trade/orders/open")
    assert limit_buy(client, "0.001").status_code == 201
    _, client, _ = trader()
    for _ in range(3):
        assert limit_buy(client, "0.001").status_code == 201  # default 50


def test_min_order_size_default_and_override(celery_worker, trader):
    _, client, _ = trader(risk_config={"min_order_size_usd": "100"})
    set_market("BTCUSDT", "60000", **BOOK)
    error = refused(limit_buy(client, "0.001"), "RISK_MIN_ORDER_SIZE")  # 59 USD
    assert error["message"] == "order notional 59.00 USD is below the minimum 100.00 USD"
    assert limit_buy(client, "0.002").status_code == 201  # 118 USD
    _, client, _ = trader()
    assert limit_buy(client, "0.0001").status_code == 201  # 5.9 USD >= 1 (and >= min_notional 5)


def test_order_rate_default_and_override(celery_worker, trader):
    _, client, _ = trader(risk_config={"order_rate_limit": 3})
    set_market("BTCUSDT", "60000", **BOOK)
    for _ in range(3):
        assert limit_buy(client, "0.001").status_code == 201
    error = refused(limit_buy(client, "0.001"), "RISK_ORDER_RATE")
    assert "3 orders in the last 60 s reach the limit of 3 per minute" in error["message"]


def test_daily_loss_breaker_refuses_buys_until_the_next_utc_day(celery_worker, trader):
    agent, client, wallet = trader(risk_config={"max_order_size_pct": "100", "max_position_size_pct": "100"})
    set_market("BTCUSDT", "60000", **BOOK)
    assert place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.15").json()["status"] == "filled"
    # -30 %: equity ~ 1000 + 0.15 * 42000 = 7300, a loss of ~2700 >= 20 % of the 10000 starting balance
    set_market("BTCUSDT", "42000", bids=[("41990", "10")], asks=[("42000", "10")])
    error = refused(limit_buy(client, "0.001", price="41000"), "RISK_DAILY_LOSS_LIMIT")
    assert "limit 20% of starting balance 10000.00 USDT = 2000.00" in error["message"]
    assert DailyEquityAnchor.objects.get(wallet=wallet).tripped_at is not None
    # sells, which reduce exposure, still pass
    r = place(client, symbol="BTCUSDT", side="sell", type="market", quantity="0.01")
    assert r.status_code == 201 and r.json()["status"] == "filled"
    # tripped stays tripped even if the price comes back
    set_market("BTCUSDT", "60000", **BOOK)
    error = refused(limit_buy(client, "0.001"), "RISK_DAILY_LOSS_LIMIT")
    assert "tripped earlier today" in error["message"]
    # tomorrow (a new anchor day) the breaker is reset
    DailyEquityAnchor.objects.filter(wallet=wallet).update(day="2000-01-01")
    assert limit_buy(client, "0.001").status_code == 201
    # a looser limit does not trip at the same loss
    _, client2, _ = trader(risk_config={"max_order_size_pct": "100", "max_position_size_pct": "100",
                                        "daily_loss_limit_pct": "50"})
    assert place(client2, symbol="BTCUSDT", side="buy", type="market", quantity="0.15").json()["status"] == "filled"
    set_market("BTCUSDT", "42000", bids=[("41990", "10")], asks=[("42000", "10")])
    assert limit_buy(client2, "0.001", price="41000").status_code == 201
    assert_ledger_balanced()


def test_paused_agent_cannot_trade(celery_worker, trader):
    agent, client, _ = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.PAUSED)
    error = refused(limit_buy(client, "0.001"), "AGENT_INACTIVE")
    assert error["message"] == "agent is paused; only active agents can trade"


def test_insufficient_balance_names_what_is_missing(celery_worker, trader):
    _, client, wallet = trader(starting_balance=D("100"), risk_config={"max_order_size_pct": "100",
                                                                          "max_position_size_pct": "100"})
    set_market("BTCUSDT", "60000", **BOOK)
    error = refused(limit_buy(client, "0.00169", price="59170"), "INSUFFICIENT_BALANCE")  # 99.9973 + fee > 100
    assert error["message"].startswith("insufficient USDT: order needs 100.10 USDT including the fee, "
                                       "available 100.00")
    error = refused(place(client, symbol="BTCUSDT", side="sell", type="limit", quantity="0.001", price="61000"),
                    "INSUFFICIENT_BALANCE")
    assert "insufficient BTC" in error["message"]
    assert Order.objects.count() == 0 and wallet_balances(wallet) == {"USDT": (D("100"), 0)}


def test_preview_reports_every_rule_with_its_limit_and_value(celery_worker, trader):
    _, client, _ = trader(risk_config={"max_open_orders": 1})
    set_market("BTCUSDT", "60000", **BOOK)
    assert limit_buy(client, "0.001").status_code == 201
    p = client.post("/api/v1/trade/order/preview", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                                    "quantity": "0.001", "price": "59000"}, format="json").json()
    assert p["approved"] is False and p["reason_code"] == "RISK_MAX_OPEN_ORDERS"
    checks = {c["rule"]: c for c in p["checks"]}
    assert checks["max_open_orders"] == {"rule": "max_open_orders", "passed": False, "code": "RISK_MAX_OPEN_ORDERS",
                                         "message": "1 open orders reach the limit of 1; cancel some before placing "
                                                    "a resting order", "limit": "1", "value": "1"}
    assert checks["max_order_size"]["passed"] and checks["max_order_size"]["value"] == "59.00000000"
    assert checks["max_order_size"]["limit"] == "4970.47050000"  # 50 % of the 9940.941 USDT still available
