"""Reset and overview with real orders: a resting limit order placed through the API is counted, then cancelled
by the reset, its lock released in the old wallet (whose ledger still balances)."""

import pytest

from agents.models import Agent
from trading.models import Order

# market and trading_namespace are fixtures (prices in Redis under this session's prefix)
from trading.tests.orders_support import (  # noqa: F401
    D,
    assert_ledger_balanced,
    market,
    trading_namespace,
    wallet_balances,
)
from trading.wallet import current_wallet

pytestmark = pytest.mark.django_db(transaction=True)


def test_reset_cancels_the_old_wallets_open_orders(market, account_factory, jwt_client, agent_client,  # noqa: F811
                                                   settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    market("BTCUSDT", "60000", bids=[("59990", "1")], asks=[("60010", "1")])
    owner = jwt_client(account_factory().account)
    created = owner.post("/api/v1/agents", {"name": "maker", "starting_balance": "10000"}, format="json").json()
    agent = Agent.objects.get(pk=created["agent_id"])
    old = current_wallet(agent)

    bot = agent_client(created["api_key"])  # a limit buy far below the market: it rests, funds locked
    placed = bot.post("/api/v1/trade/order?wait_ms=0", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                                       "quantity": "0.01", "price": "50000.00"}, format="json")
    assert placed.status_code == 201, placed.content
    assert placed.json()["status"] == "new"
    locked = wallet_balances(old)["USDT"][1]
    assert locked > 0

    row = owner.get("/api/v1/agents/overview").json()[0]
    assert row["open_orders"] == 1 and row["trade_count"] == 0
    assert row["equity"] == "10000.00000000"  # locked funds are still the agent's

    reset = owner.post(f"/api/v1/agents/{agent.pk}/reset", format="json")
    assert reset.status_code == 200, reset.content

    order = Order.objects.get(pk=placed.json()["id"])
    assert order.status == Order.Status.CANCELLED and order.wallet_id == old.pk
    assert wallet_balances(old) == {"USDT": (D("10000"), 0)}  # the lock went back, in the old wallet
    assert current_wallet(agent).pk != old.pk
    row = owner.get("/api/v1/agents/overview").json()[0]
    assert row["open_orders"] == 0 and row["reset_epoch"] == 1
    assert_ledger_balanced()
