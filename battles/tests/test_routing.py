"""Wallet routing: while an agent is in a live battle its usual key acts on its battle wallet (account, trade,
streams snapshot), its everyday wallet untouched; after completion it is back on the everyday wallet. Orders are
executed by a REAL Celery worker."""

import pytest

from battles.models import Battle
from battles.services import battle_pause, battle_resume, battle_stop
from battles.tests.support import act, add, error_code, make_battle
from trading.models import Order, Wallet
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import D, assert_ledger_balanced, set_market, wallet_balances

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOOK = {"bids": [("59990", "5")], "asks": [("60000", "5")]}


def buy(client, symbol="BTCUSDT", qty="0.01"):
    return client.post("/api/v1/trade/order?wait_ms=3000", {"symbol": symbol, "side": "buy", "type": "market",
                                                            "quantity": qty}, format="json")


@pytest.fixture
def duel(trader, account_factory, jwt_client):
    owner = account_factory().account
    (a1, c1, main1), (a2, c2, main2) = trader(account=owner, name="alpha"), trader(account=owner, name="beta")
    client = jwt_client(owner)
    b = make_battle(client, starting_balance="5000", pairs=["BTCUSDT", "ETHUSDT"])
    add(client, b["id"], a1)
    add(client, b["id"], a2)
    return client, b["id"], (a1, c1, main1), (a2, c2, main2)


def test_orders_in_a_battle_hit_the_battle_wallet_then_back_to_everyday(celery_worker, duel):
    owner, bid, (a1, c1, main1), (a2, c2, main2) = duel
    set_market("BTCUSDT", "60000", **BOOK)
    before = wallet_balances(main1)
    assert c1.get("/api/v1/account/balance").json()["wallet_id"] == str(main1.pk)
    assert act(owner, bid, "start").status_code == 200
    battle_wallet = Wallet.objects.get(agent=a1, battle_id=bid)

    info = c1.get("/api/v1/account/info").json()
    assert info["wallet_id"] == str(battle_wallet.pk) and info["starting_balance"] == "5000.00000000"
    balance = c1.get("/api/v1/account/balance").json()
    assert balance["wallet_id"] == str(battle_wallet.pk) and balance["total_equity_usdt"] == "5000.00000000"
    r = buy(c1)
    assert r.status_code == 201 and r.json()["status"] == "filled", r.json()
    order = Order.objects.get(pk=r.json()["id"])
    assert order.wallet_id == battle_wallet.pk
    assert wallet_balances(battle_wallet)["BTC"] == (D("0.01"), 0)
    assert wallet_balances(main1) == before  # the everyday wallet is untouched
    positions = c1.get("/api/v1/account/positions").json()
    assert [p["symbol"] for p in positions] == ["BTCUSDT"]
    assert [o["id"] for o in c1.get("/api/v1/trade/orders").json()["results"]] == [str(order.pk)]
    assert len(c1.get("/api/v1/trade/history").json()["results"]) == 1

    # a pair outside the battle's pairs is refused
    set_market("SOLUSDT", "150", bids=[("149", "100")], asks=[("150", "100")])
    r = buy(c1, symbol="SOLUSDT", qty="1")
    assert r.status_code == 422 and error_code(r) == "UNKNOWN_SYMBOL"

    # paused: new orders 422 BATTLE_STATE; resumed: accepted again
    battle_pause(battle=Battle.objects.get(pk=bid))
    r = buy(c1)
    assert r.status_code == 422 and error_code(r) == "BATTLE_STATE"
    r = c1.post("/api/v1/trade/order/preview", {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                                "quantity": "0.01"}, format="json")
    assert r.status_code == 200 and r.json()["approved"] is False and "BATTLE_STATE" in str(r.json()), r.json()
    battle_resume(battle=Battle.objects.get(pk=bid))
    # a resting order left open at the stop is cancelled by it
    r = c1.post("/api/v1/trade/order", {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.01",
                                        "price": "50000"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "new"
    resting = r.json()["id"]

    battle_stop(battle=Battle.objects.get(pk=bid))
    assert Order.objects.get(pk=resting).status == "cancelled"
    assert c1.get("/api/v1/account/balance").json()["wallet_id"] == str(main1.pk)
    assert c1.get("/api/v1/account/positions").json() == []
    r = buy(c1)  # back on the everyday wallet: the order goes there
    assert r.status_code == 201 and Order.objects.get(pk=r.json()["id"]).wallet_id == main1.pk
    assert wallet_balances(battle_wallet)["BTC"] == (D("0.01"), 0)  # the battle wallet stays as it ended
    results = owner.get(f"/api/v1/battles/{bid}/results").json()
    top = {r["agent_name"]: r for r in results["standings"]}
    assert D(top["alpha"]["equity"]) < D("5000") and top["alpha"]["total_trades"] == 0
    assert top["beta"]["equity"] == "5000.00000000" and top["beta"]["rank"] == 1 and top["alpha"]["rank"] == 2
    assert_ledger_balanced()


def test_stream_snapshot_follows_the_routing(celery_worker, duel):
    from streams.selectors import stream_snapshot

    owner, bid, (a1, c1, main1), _ = duel
    assert stream_snapshot(agent=a1, symbol=None, recent=10).wallet_id == str(main1.pk)
    act(owner, bid, "start")
    battle_wallet = Wallet.objects.get(agent=a1, battle_id=bid)
    assert stream_snapshot(agent=a1, symbol=None, recent=10).wallet_id == str(battle_wallet.pk)
    act(owner, bid, "stop")
    assert stream_snapshot(agent=a1, symbol=None, recent=10).wallet_id == str(main1.pk)
