"""The order path renders its response with ``order_with_fills_data`` (the output serializers' own fields, without
DRF's per-object machinery): it must be what ``OrderWithFillsSerializer`` gives, for orders with several fills,
with none, replayed, and read back."""

from decimal import Decimal

import pytest

from trading.api.orders import OrderWithFillsSerializer, order_with_fills_data
from trading.models import Order
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import set_market

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOOK = {"bids": [("59990", "1")], "asks": [("60000", "0.005"), ("60010", "1")]}


def place(client, **body):
    return client.post("/api/v1/trade/order?wait_ms=2000", body, format="json")


def serializer_data(order_id) -> dict:
    return dict(OrderWithFillsSerializer(Order.objects.get(pk=order_id)).data)


def test_placed_orders_render_as_the_serializer_renders_them(trader, settings):
    settings.ORDER_FILL_ON_PLACEMENT = True
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    walked = place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.01", client_order_id="r-1")
    assert walked.status_code == 201, walked.json()
    body = walked.json()
    assert body["status"] == "filled" and len(body["fills"]) == 2  # walks two levels of the book
    assert body == serializer_data(body["id"])
    assert body["fills"][0]["client_order_id"] == "r-1"

    replay = place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.01", client_order_id="r-1")
    assert replay.status_code == 200 and replay.json() == body

    resting = place(client, symbol="BTCUSDT", side="buy", type="limit", price="50000.5", quantity="0.002")
    assert resting.status_code == 201, resting.json()
    assert resting.json()["fills"] == [] and resting.json()["status"] == "new"
    assert resting.json() == serializer_data(resting.json()["id"])
    assert resting.json() == client.get(f"/api/v1/trade/order/{resting.json()['id']}").json()

    refused = place(client, symbol="BTCUSDT", side="sell", type="market", quantity="5")
    assert refused.status_code == 422  # the error envelope, not a rendered order
    assert set(refused.json()) == {"error"}


def test_renderer_matches_on_a_filled_order_object_carrying_its_fills(trader, settings):
    from trading.engine.types import OrderIntent
    from trading.services.orders import order_place

    settings.ORDER_FILL_ON_PLACEMENT = True
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    placement = order_place(agent=agent, wallet=wallet, intent=OrderIntent(
        symbol="BTCUSDT", side="buy", type="market", quantity=Decimal("0.007")),
        client_order_id=None)
    order = placement.order
    assert order.status == "filled"
    assert order_with_fills_data(order) == dict(OrderWithFillsSerializer(order).data) == serializer_data(order.pk)
