"""An agent's key never reaches another agent's objects (the registry in ``isolation.py``), even a sibling's."""

import pytest

from agents.tests.isolation import AGENT_ENDPOINTS, assert_not_found
from trading.models import Order

# market and trading_namespace are fixtures (prices in Redis under this session's prefix)
from trading.tests.orders_support import market, trading_namespace  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("same_owner", [False, True], ids=["other-account", "sibling-agent"])
def test_another_agents_orders_are_not_found(market, account_factory, agent_factory, agent_client,  # noqa: F811
                                             settings, same_owner):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    market("BTCUSDT", "60000", bids=[("59990", "1")], asks=[("60010", "1")])
    owner = account_factory().account
    victim, victim_key = agent_factory(account=owner, name="victim")
    _, intruder_key = agent_factory(account=owner if same_owner else None, name="intruder")

    placed = agent_client(victim_key).post(
        "/api/v1/trade/order?wait_ms=0", {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.01",
                                          "price": "50000.00", "client_order_id": "victim-1"}, format="json")
    assert placed.status_code == 201, placed.content
    order_id = placed.json()["id"]

    intruder = agent_client(intruder_key)
    checked = assert_not_found(intruder, AGENT_ENDPOINTS, {"order_id": order_id, "client_order_id": "victim-1"})
    assert checked == 4
    assert Order.objects.get(pk=order_id).status == Order.Status.NEW  # the DELETEs changed nothing

    for url in ["/api/v1/trade/orders", "/api/v1/trade/orders/open"]:
        body = intruder.get(url).json()
        rows = body["results"] if isinstance(body, dict) and "results" in body else body
        assert order_id not in str(rows), url
    intruder.delete("/api/v1/trade/orders/open")  # the kill switch of the intruder cancels only its own
    assert Order.objects.get(pk=order_id).status == Order.Status.NEW
    # and the victim still sees its order
    assert agent_client(victim_key).get(f"/api/v1/trade/order/{order_id}").status_code == 200
