"""The trading core reaches the streams and webhooks through common.events, after its transaction commits."""

import pytest
from django.db import transaction

from streams.models import OutboxEvent, WebhookDelivery
from trading.models import Order
from trading.tests.orders_support import set_market, trader  # noqa: F401 - trader is a fixture

pytestmark = pytest.mark.django_db(transaction=True)

BOOK = {"bids": [("59990", "10")], "asks": [("60000", "10")]}


def limit_buy(client, qty, price="59000"):
    return client.post("/api/v1/trade/order", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                               "quantity": qty, "price": price}, format="json")


def outbox_orders():
    return [(o["id"], o["data"]["status"]) for m in OutboxEvent.objects.order_by("id").values_list("message", flat=True)
            for o in m.get("orders", [])]


def test_a_resting_order_is_streamed_once_committed(trader, settings):
    settings.STREAMS_BUS = "outbox"  # the bus writes rows we can read back
    set_market("BTCUSDT", "60000", **BOOK)
    agent, client, wallet = trader()
    r = limit_buy(client, "0.001")
    assert r.status_code == 201, r.json()
    assert outbox_orders() == [(r.json()["id"], "new")]


def test_a_rolled_back_order_is_never_streamed(trader, settings):
    settings.STREAMS_BUS = "outbox"
    set_market("BTCUSDT", "60000", **BOOK)
    agent, client, wallet = trader()
    with pytest.raises(RuntimeError), transaction.atomic():
        assert limit_buy(client, "0.001").status_code == 201
        assert Order.objects.filter(wallet=wallet).count() == 1
        raise RuntimeError("the caller's transaction fails after the order was accepted in it")
    assert Order.objects.filter(wallet=wallet).count() == 0
    assert outbox_orders() == []


def test_a_risk_refusal_records_its_risk_breach_webhook(trader, settings):
    from streams.services import webhook_endpoint_create

    settings.WEBHOOK_ALLOW_PRIVATE = True
    set_market("BTCUSDT", "60000", **BOOK)
    agent, client, wallet = trader()
    webhook_endpoint_create(agent=agent, url="http://127.0.0.1:9/hook", event_types=["risk.*"])
    r = limit_buy(client, "0.09")  # 5310 USDT > 50 % of 10000: RISK_MAX_ORDER_SIZE, the order rolled back
    assert (r.status_code, r.json()["error"]["code"]) == (422, "RISK_MAX_ORDER_SIZE")
    deliveries = list(WebhookDelivery.objects.filter(event_type="risk.breach").values_list("payload", flat=True))
    assert len(deliveries) == 1


def test_order_webhooks_follow_endpoint_changes_despite_the_endpoint_cache(trader, settings):
    """Each process remembers an agent's endpoints (streams.services._active_endpoints); registering, switching off
    and deleting one must still take effect on the next order."""
    from streams import services
    from streams.models import WebhookEndpoint

    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.ORDER_FILL_ON_PLACEMENT = True
    set_market("BTCUSDT", "60000", **BOOK)
    agent, client, wallet = trader()

    def market_buy():
        r = client.post("/api/v1/trade/order", {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                                "quantity": "0.001"}, format="json")
        assert r.status_code == 201 and r.json()["status"] == "filled", r.json()
        return r.json()["id"]

    def filled_events():
        return [p["data"]["id"] for p in WebhookDelivery.objects.filter(event_type="order.filled")
                .values_list("payload", flat=True)]

    market_buy()  # no endpoint: nothing recorded, and "none" is now cached for this agent
    assert str(agent.pk) in services._endpoints_cache and filled_events() == []
    endpoint = services.webhook_endpoint_create(agent=agent, url="http://127.0.0.1:9/hook",
                                                event_types=["order.filled"]).endpoint
    second = market_buy()
    assert filled_events() == [second]
    endpoint.is_active = False
    endpoint.save(update_fields=["is_active"])
    market_buy()
    assert filled_events() == [second]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
    services.webhook_endpoint_create(agent=agent, url="http://127.0.0.1:9/other", event_types=["order.*"])
    fourth = market_buy()
    assert filled_events() == [fourth]
