"""Bad input at the trading edge is a 400 naming the field, never a 500 and never silently ignored (issue 8:
items 11, 13, 14)."""

import pytest

from trading.models import Order
from trading.tests.orders_support import *  # noqa: F403

pytestmark = pytest.mark.django_db(transaction=True)

HUGE = "10000000000000000.00"


def _envelope_field(response) -> dict:
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR", body
    return body["error"]["details"]["fields"]


@pytest.mark.parametrize("path", ["/api/v1/trade/order", "/api/v1/trade/order/preview"])
@pytest.mark.parametrize("body", [
    {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.001", "price": HUGE},
    {"symbol": "BTCUSDT", "side": "buy", "type": "stop_limit", "quantity": "0.001", "price": HUGE,
     "trigger_price": "60000"},
    {"symbol": "BTCUSDT", "side": "buy", "type": "stop_loss", "quantity": "0.001", "trigger_price": HUGE},
    {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": HUGE, "price": "60000"},
    {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quote_quantity": HUGE},
])
def test_out_of_range_prices_and_sizes_are_400_at_the_edge(trader, path, body):
    set_market("BTCUSDT", "60000")
    agent, client, wallet = trader()
    response = client.post(path, body, format="json")
    assert response.status_code == 400, response.content
    details = _envelope_field(response)
    assert set(details) & {"price", "trigger_price", "quantity", "quote_quantity"}, details
    assert not Order.objects.filter(wallet=wallet).exists()


@pytest.mark.parametrize("bad", ["１", "1e-3", "3e4", "+1", " 1", "1 ", "1.", ".5", "1..0", "0x10", "1_000",
                                 "١", "1,5", "-1", "\t1", "1\n", ""])
def test_decimal_strings_follow_one_strict_grammar(trader, bad):
    set_market("BTCUSDT", "60000")
    agent, client, wallet = trader()
    response = client.post("/api/v1/trade/order/preview",
                           {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": bad, "price": "60000"},
                           format="json")
    assert response.status_code == 400, (bad, response.content)
    assert "quantity" in _envelope_field(response)


@pytest.mark.parametrize("query, field", [
    ("limit=-1", "limit"), ("limit=abc&offset=-5", "limit"), ("offset=-5", "offset"), ("limit=0", "limit"),
    ("limit=100000", "limit"), ("offset=x", "offset"),
])
@pytest.mark.parametrize("path", ["/api/v1/trade/orders", "/api/v1/trade/history"])
def test_bad_pagination_is_400_with_the_field(trader, path, query, field):
    set_market("BTCUSDT", "60000")
    agent, client, wallet = trader()
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    assert field in _envelope_field(response)


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/trade/orders?symbol=NOPE"), ("get", "/api/v1/trade/history?symbol=NOPE"),
    ("get", "/api/v1/trade/orders/open?symbol=NOPE"), ("delete", "/api/v1/trade/orders/open?symbol=NOPE"),
])
def test_an_unknown_symbol_in_a_filter_is_refused(trader, method, path):
    set_market("BTCUSDT", "60000")
    agent, client, wallet = trader()
    response = getattr(client, method)(path)
    assert response.status_code == 422, response.content
    body = response.json()["error"]
    assert body["code"] == "UNKNOWN_SYMBOL" and body["details"]["symbol"] == "NOPE"


def test_valid_pagination_and_symbol_still_work(trader):
    set_market("BTCUSDT", "60000")
    agent, client, wallet = trader()
    for path in ("/api/v1/trade/orders?limit=5&offset=0&symbol=btcusdt", "/api/v1/trade/history?limit=500",
                 "/api/v1/trade/orders/open?symbol=ETHUSDT"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)
    response = client.delete("/api/v1/trade/orders/open?symbol=BTCUSDT")
    assert response.status_code == 200 and response.json()["cancelled"] == 0


def test_orders_carry_order_id_as_an_alias_of_id(trader):
    """Issue 8 item 17: fills name their order ``order_id``; the order itself answers to both names."""
    set_market("BTCUSDT", "60000")
    agent, client, wallet = trader()
    placed = client.post("/api/v1/trade/order?wait_ms=0", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                                           "quantity": "0.001", "price": "50000"}, format="json")
    assert placed.status_code == 201, placed.content
    order = placed.json()
    assert order["order_id"] == order["id"]
    listed = client.get("/api/v1/trade/orders").json()["results"]
    assert [(o["id"], o["order_id"]) for o in listed] == [(order["id"], order["id"])]
