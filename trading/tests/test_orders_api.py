"""Every order type, time in force and flag through the HTTP API, with exact prices, quantities, fees and balances.

Orders that take liquidity on arrival are executed by a REAL Celery worker (``celery_worker``) and the API's bounded
wait returns their fills. Resting and conditional orders are filled by the tick sweep, called here in-process so
that each step is deterministic (the worker-driven sweep is in test_worker_fills.py).
"""

import pytest

from trading.models import Fill, LedgerEntry, Order, Position
from trading.services.sweep import sweep_symbol
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import D, assert_ledger_balanced, set_market, wallet_balances

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOOK = {"bids": [("59990", "1")], "asks": [("60000", "0.005"), ("60010", "1")]}


def place(client, wait_ms=3000, **body):
    return client.post(f"/api/v1/trade/order?wait_ms={wait_ms}", body, format="json")


def buy_btc(client, qty="0.01"):
    """Market-buy ``qty`` BTC against BOOK (0.005 @ 60000, the rest @ 60010)."""
    set_market("BTCUSDT", "60000", **BOOK)
    r = place(client, symbol="BTCUSDT", side="buy", type="market", quantity=qty)
    assert r.status_code == 201, r.json()
    assert r.json()["status"] == "filled"
    return r.json()


# --- market orders ------------------------------------------------------------------------------------------------

def test_market_buy_walks_the_book_and_pays_taker_fees(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    r = place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.01", client_order_id="m-1")
    assert r.status_code == 201
    o = r.json()
    assert (o["status"], o["time_in_force"], o["filled_quantity"]) == ("filled", "ioc", "0.01000000")
    assert o["filled_quote"] == "600.05000000" and o["fees_paid"] == "0.60005000"
    assert o["avg_fill_price"] == "60005.00000000" and o["locked_amount"] == "0.00000000"
    assert [(f["price"], f["quantity"], f["quote_amount"], f["fee"], f["liquidity"], f["seq"]) for f in o["fills"]] == [
        ("60000.00000000", "0.00500000", "300.00000000", "0.30000000", "taker", 1),
        ("60010.00000000", "0.00500000", "300.05000000", "0.30005000", "taker", 2)]
    assert o["fills"][1]["slippage_pct"] == "0.016667"  # (60010 - 60000) / 60000
    assert wallet_balances(wallet) == {"USDT": (D("9399.34995"), 0), "BTC": (D("0.01"), 0)}
    # lock = 600.05 * 1.05 + taker fee on it; what the fill did not use went back at once
    reasons = list(LedgerEntry.objects.filter(ref_id=o["id"]).values_list("reason", "delta_available", "delta_locked"))
    assert reasons[0] == ("order_lock", D("-630.6825525"), D("630.6825525"))
    assert reasons[-1] == ("order_release", D("30.0325025"), D("-30.0325025"))
    assert LedgerEntry.objects.filter(ref_type="fill", reason="fee").count() == 2
    assert_ledger_balanced()


def test_market_buy_by_quote_quantity_without_a_book_uses_the_slippage_model(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "50000")  # no book, no volume: minimum slippage 0.01 %
    r = place(client, symbol="BTCUSDT", side="buy", type="market", quote_quantity="100")
    o = r.json()
    assert r.status_code == 201 and o["status"] == "filled", o
    assert (o["quantity"], o["quote_quantity"]) == (None, "100.00000000")
    assert o["filled_quantity"] == "0.00199000"  # 100 / 50005 rounded down to the 0.00001 step
    assert (o["fills"][0]["price"], o["fills"][0]["quote_amount"], o["fills"][0]["fee"]) == (
        "50005.00000000", "99.50995000", "0.09950995")
    assert o["fills"][0]["slippage_pct"] == "0.010000"
    assert wallet_balances(wallet) == {"USDT": (D("9900.39054005"), 0), "BTC": (D("0.00199"), 0)}
    assert_ledger_balanced()


def test_market_sell_realizes_average_cost_pnl(celery_worker, trader):
    agent, client, wallet = trader()
    buy_btc(client)
    set_market("BTCUSDT", "60100", bids=[("60100", "0.004"), ("60050", "1")], asks=[("60110", "1")])
    o = place(client, symbol="BTCUSDT", side="sell", type="market", quantity="0.006").json()
    assert (o["status"], o["filled_quote"], o["fees_paid"]) == ("filled", "360.50000000", "0.36050000")
    assert [f["realized_pnl"] for f in o["fills"]] == ["0.38000000", "0.09000000"]
    assert wallet_balances(wallet) == {"USDT": (D("9759.48945"), 0), "BTC": (D("0.004"), 0)}
    pos = Position.objects.get(wallet=wallet, symbol="BTCUSDT")
    assert (pos.quantity, pos.cost_basis, pos.avg_entry_price, pos.realized_pnl) == (
        D("0.004"), D("240.02"), D("60005"), D("0.47"))
    positions = client.get("/api/v1/account/positions").json()
    assert positions == [{
        "symbol": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT", "quantity": "0.00400000",
        "avg_entry_price": "60005.00000000", "cost_basis": "240.02000000", "mark_price": "60100.00000000",
        "market_value": "240.40000000", "unrealized_pnl": "0.38000000", "unrealized_pnl_pct": "0.1583",
        "realized_pnl": "0.47000000", "fees_paid": "0.96055000", "updated_at": positions[0]["updated_at"]}]
    pf = client.get("/api/v1/account/portfolio").json()
    assert (pf["cash"], pf["positions_value"], pf["equity"]) == ("9759.48945000", "240.40000000", "9999.88945000")
    assert (pf["total_pnl"], pf["roi_pct"]) == ("-0.11055000", "-0.0011")
    assert_ledger_balanced()


def test_sell_more_than_held_is_refused(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    r = place(client, symbol="BTCUSDT", side="sell", type="market", quantity="0.01")
    assert r.status_code == 422 and r.json()["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert Order.objects.count() == 0


# --- limit orders, time in force, flags ---------------------------------------------------------------------------

def test_resting_limit_buy_fills_at_its_price_as_maker_when_a_tick_crosses(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    o = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="59000").json()
    assert (o["status"], o["locked_asset"], o["locked_amount"]) == ("new", "USDT", "590.59000000")
    assert wallet_balances(wallet)["USDT"] == (D("9409.41"), D("590.59"))
    assert sweep_symbol(symbol="BTCUSDT", price=D("59000.01")).filled == 0
    stats = sweep_symbol(symbol="BTCUSDT", price=D("58990"))
    assert (stats.candidates, stats.filled) == (1, 1)
    o = client.get(f"/api/v1/trade/order/{o['id']}").json()
    assert (o["status"], o["filled_quote"], o["fees_paid"]) == ("filled", "590.00000000", "0.47200000")
    assert (o["fills"][0]["price"], o["fills"][0]["liquidity"], o["fills"][0]["slippage_pct"]) == (
        "59000.00000000", "maker", "0.000000")
    assert wallet_balances(wallet) == {"USDT": (D("9409.528"), 0), "BTC": (D("0.01"), 0)}
    assert sweep_symbol(symbol="BTCUSDT", price=D("58000")).candidates == 0  # closed orders leave the index
    assert_ledger_balanced()


def test_marketable_gtc_limit_takes_then_rests_the_remainder(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", bids=[("59990", "1")], asks=[("60000", "0.004"), ("60100", "1")])
    o = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="60050").json()
    assert (o["status"], o["filled_quantity"], o["locked_amount"]) == ("partially_filled", "0.00400000",
                                                                       "360.86050000")
    assert [(f["price"], f["liquidity"]) for f in o["fills"]] == [("60000.00000000", "taker")]
    assert wallet_balances(wallet) == {"USDT": (D("9398.8995"), D("360.8605")), "BTC": (D("0.004"), 0)}
    assert sweep_symbol(symbol="BTCUSDT", price=D("60050")).filled == 1
    o = client.get(f"/api/v1/trade/order/{o['id']}").json()
    assert (o["status"], o["filled_quote"], o["fees_paid"], o["avg_fill_price"]) == (
        "filled", "600.30000000", "0.52824000", "60030.00000000")
    assert wallet_balances(wallet) == {"USDT": (D("9399.17176"), 0), "BTC": (D("0.01"), 0)}
    assert_ledger_balanced()


def test_ioc_limit_fills_what_it_can_and_expires_the_rest(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", bids=[("59990", "1")], asks=[("60000", "0.004"), ("60100", "1")])
    o = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="60050",
              time_in_force="ioc").json()
    assert (o["status"], o["filled_quantity"], o["locked_amount"]) == ("expired", "0.00400000", "0.00000000")
    assert wallet_balances(wallet) == {"USDT": (D("9759.76"), 0), "BTC": (D("0.004"), 0)}
    # an ioc that cannot take anything expires at once, locking nothing
    o = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="59000",
              time_in_force="ioc").json()
    assert (o.get("status"), o.get("filled_quantity"), o.get("fills")) == ("expired", "0.00000000", []), o
    assert wallet_balances(wallet)["USDT"] == (D("9759.76"), 0)
    assert_ledger_balanced()


def test_fok_is_all_or_nothing(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", bids=[("59990", "1")], asks=[("60000", "0.004"), ("60100", "1")])
    r = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="60050",
              time_in_force="fok")
    assert r.status_code == 422 and r.json()["error"]["code"] == "FOK_NOT_FILLABLE"
    assert Order.objects.count() == 0 and wallet_balances(wallet)["USDT"] == (D("10000"), 0)
    o = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.004", price="60050",
              time_in_force="fok").json()
    assert (o["status"], o["filled_quantity"], o["filled_quote"]) == ("filled", "0.00400000", "240.00000000")
    r = place(client, symbol="BTCUSDT", side="buy", type="market", quantity="2", time_in_force="fok")
    assert r.status_code == 422 and r.json()["error"]["code"] == "FOK_NOT_FILLABLE"


def test_post_only_never_takes(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    r = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="60000", post_only=True)
    assert r.status_code == 422 and r.json()["error"]["code"] == "POST_ONLY_WOULD_TAKE"
    o = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="59999.99",
              post_only=True).json()
    assert (o["status"], o["post_only"]) == ("new", True)
    r = place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.01", post_only=True)
    assert r.status_code == 400 and "post_only" in r.json()["error"]["details"]["fields"]


def test_reduce_only_sells_never_exceed_the_position(celery_worker, trader):
    agent, client, wallet = trader()
    r = place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.01", reduce_only=True)
    assert r.status_code == 400 and "reduce_only" in r.json()["error"]["details"]["fields"]
    buy_btc(client, "0.005")
    r = place(client, symbol="BTCUSDT", side="sell", type="limit", quantity="0.006", price="70000", reduce_only=True)
    assert r.status_code == 422 and r.json()["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert "reduce-only" in r.json()["error"]["message"]
    o = place(client, symbol="BTCUSDT", side="sell", type="limit", quantity="0.005", price="70000",
              reduce_only=True).json()
    assert (o["status"], o["reduce_only"], o["locked_asset"], o["locked_amount"]) == ("new", True, "BTC",
                                                                                      "0.00500000")


# --- conditional orders -------------------------------------------------------------------------------------------

def test_stop_loss_sell_fires_when_the_price_falls_to_its_trigger(celery_worker, trader):
    agent, client, wallet = trader()
    buy_btc(client)
    o = place(client, symbol="BTCUSDT", side="sell", type="stop_loss", quantity="0.01", trigger_price="59000").json()
    assert (o["status"], o["locked_asset"], o["locked_amount"]) == ("new", "BTC", "0.01000000")
    set_market("BTCUSDT", "59500", bids=[("59490", "1")], asks=[("59510", "1")])
    assert sweep_symbol(symbol="BTCUSDT", price=D("59500")).triggered == 0
    set_market("BTCUSDT", "58950", bids=[("58900", "1")], asks=[("58960", "1")])
    stats = sweep_symbol(symbol="BTCUSDT", price=D("58950"))
    assert (stats.triggered, stats.filled) == (1, 1)
    o = client.get(f"/api/v1/trade/order/{o['id']}").json()
    assert o["status"] == "filled" and o["triggered_at"] is not None
    assert (o["fills"][0]["price"], o["fills"][0]["liquidity"], o["fees_paid"]) == (
        "58900.00000000", "taker", "0.58900000")
    assert wallet_balances(wallet) == {"USDT": (D("9399.34995") + D("589") - D("0.589"), 0)}
    assert_ledger_balanced()


def test_take_profit_sell_fires_when_the_price_rises_to_its_trigger(celery_worker, trader):
    agent, client, wallet = trader()
    buy_btc(client)
    o = place(client, symbol="BTCUSDT", side="sell", type="take_profit", quantity="0.01",
              trigger_price="61000").json()
    set_market("BTCUSDT", "61000", bids=[("60990", "1")], asks=[("61010", "1")])
    assert sweep_symbol(symbol="BTCUSDT", price=D("61000")).filled == 1
    o = client.get(f"/api/v1/trade/order/{o['id']}").json()
    assert (o["status"], o["filled_quote"], o["fills"][0]["realized_pnl"]) == ("filled", "609.90000000",
                                                                              "9.85000000")


def test_stop_limit_buy_triggers_then_rests_as_a_limit(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    o = place(client, symbol="BTCUSDT", side="buy", type="stop_limit", quantity="0.01", trigger_price="61000",
              price="61100").json()
    assert (o["status"], o["locked_amount"]) == ("new", "611.61100000")
    set_market("BTCUSDT", "61000", bids=[("60990", "1")], asks=[("61200", "1")])
    assert sweep_symbol(symbol="BTCUSDT", price=D("61000")).triggered == 1
    o = client.get(f"/api/v1/trade/order/{o['id']}").json()
    assert (o["status"], o["filled_quantity"]) == ("triggered", "0.00000000") and o["triggered_at"]
    assert [x["id"] for x in client.get("/api/v1/trade/orders/open").json()] == [o["id"]]
    assert sweep_symbol(symbol="BTCUSDT", price=D("61150")).filled == 0  # above its limit: no fill
    assert sweep_symbol(symbol="BTCUSDT", price=D("61100")).filled == 1
    o = client.get(f"/api/v1/trade/order/{o['id']}").json()
    assert (o["status"], o["fills"][0]["price"], o["fills"][0]["liquidity"], o["fees_paid"]) == (
        "filled", "61100.00000000", "maker", "0.48880000")
    assert wallet_balances(wallet) == {"USDT": (D("10000") - D("611") - D("0.4888"), 0), "BTC": (D("0.01"), 0)}
    assert_ledger_balanced()


def test_take_profit_limit_sell_fires_on_a_rise_then_rests_as_a_limit(celery_worker, trader):
    agent, client, wallet = trader()
    buy_btc(client)
    o = place(client, symbol="BTCUSDT", side="sell", type="take_profit_limit", quantity="0.01",
              trigger_price="61000", price="61200").json()
    assert (o["type"], o["status"], o["locked_asset"], o["locked_amount"]) == (
        "take_profit_limit", "new", "BTC", "0.01000000")
    # a fall is the stop direction: a take-profit does not fire
    set_market("BTCUSDT", "58000", bids=[("57990", "1")], asks=[("58010", "1")])
    assert sweep_symbol(symbol="BTCUSDT", price=D("58000")).triggered == 0
    set_market("BTCUSDT", "61000", bids=[("60990", "1")], asks=[("61010", "1")])
    stats = sweep_symbol(symbol="BTCUSDT", price=D("61000"))
    assert (stats.triggered, stats.filled) == (1, 0)  # fired; the best bid is under its 61200 limit: it rests
    o = client.get(f"/api/v1/trade/order/{o['id']}").json()
    assert (o["status"], o["filled_quantity"]) == ("triggered", "0.00000000") and o["triggered_at"]
    assert [x["id"] for x in client.get("/api/v1/trade/orders/open").json()] == [o["id"]]
    assert sweep_symbol(symbol="BTCUSDT", price=D("61150")).filled == 0  # below its limit: no fill
    assert sweep_symbol(symbol="BTCUSDT", price=D("61200")).filled == 1
    o = client.get(f"/api/v1/trade/order/{o['id']}").json()
    assert (o["status"], o["fills"][0]["price"], o["fills"][0]["liquidity"], o["fees_paid"]) == (
        "filled", "61200.00000000", "maker", "0.48960000")
    assert wallet_balances(wallet) == {"USDT": (D("9399.34995") + D("612") - D("0.4896"), 0)}
    assert_ledger_balanced()


def test_take_profit_limit_needs_a_price_and_a_trigger(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    r = place(client, symbol="BTCUSDT", side="buy", type="take_profit_limit", quantity="0.01", price="59000")
    assert r.status_code == 400 and "trigger_price" in r.json()["error"]["details"]["fields"]
    r = place(client, symbol="BTCUSDT", side="buy", type="take_profit_limit", quantity="0.01", trigger_price="59000")
    assert r.status_code == 400 and "price" in r.json()["error"]["details"]["fields"]


# --- exchange rules, unknown pairs, closed markets ----------------------------------------------------------------

@pytest.mark.parametrize("body,status,code", [
    ({"price": "60000.001"}, 422, "INVALID_TICK_SIZE"),
    ({"quantity": "0.000011"}, 422, "INVALID_STEP_SIZE"),
    ({"quantity": "0.00001"}, 422, "INVALID_QUANTITY"),  # notional 0.6 < min_notional 5
    ({"quote_quantity": "10"}, 400, "VALIDATION_ERROR"),  # both sizes
    ({"price": 60000.5}, 400, "VALIDATION_ERROR"),  # a float on the wire
    ({"side": "short"}, 400, "VALIDATION_ERROR"),
    ({"symbol": "DOGEUSDT"}, 404, "UNKNOWN_SYMBOL"),
    ({"type": "market"}, 400, "VALIDATION_ERROR"),  # a market order with a price
])
def test_orders_are_checked_against_the_pair(celery_worker, trader, body, status, code):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    r = place(client, **{"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.01",
                         "price": "59000", **body})
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.json()
    assert Order.objects.count() == 0


def test_a_stale_pair_refuses_market_orders_but_takes_resting_ones(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", age_seconds=120, **BOOK)
    r = place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.01")
    assert r.status_code == 422 and r.json()["error"]["code"] == "MARKET_CLOSED"
    o = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="59000").json()
    assert o["status"] == "new"


# --- idempotency, reads, cancels -----------------------------------------------------------------------------------

def test_client_order_id_makes_retries_safe(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    body = {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "59000",
            "client_order_id": "retry-me"}
    first = place(client, **body)
    again = place(client, **{**body, "quantity": "0.010"})  # the same order written differently
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = place(client, **{**body, "price": "58000"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "DUPLICATE_CLIENT_ORDER_ID"
    assert Order.objects.count() == 1 and wallet_balances(wallet)["USDT"] == (D("9409.41"), D("590.59"))
    # another agent may use the same client id
    _, client2, _ = trader()
    assert place(client2, **body).status_code == 201


def test_get_list_and_cancel_orders(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    set_market("ETHUSDT", "3000", bids=[("2999", "10")], asks=[("3001", "10")])
    a = place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="59000",
              client_order_id="a").json()
    b = place(client, symbol="ETHUSDT", side="buy", type="limit", quantity="0.1", price="2900").json()
    c = place(client, symbol="BTCUSDT", side="buy", type="market", quantity="0.001").json()
    assert client.get("/api/v1/trade/order/a").json()["id"] == a["id"]
    assert client.get(f"/api/v1/trade/order/{a['id']}").json()["client_order_id"] == "a"
    page = client.get("/api/v1/trade/orders?limit=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [o["id"] for o in client.get("/api/v1/trade/orders?status=filled").json()["results"]] == [c["id"]]
    assert {o["id"] for o in client.get("/api/v1/trade/orders?status=open").json()["results"]} == {a["id"], b["id"]}
    assert [o["id"] for o in client.get("/api/v1/trade/orders?symbol=ethusdt").json()["results"]] == [b["id"]]
    assert client.get("/api/v1/trade/orders?status=bogus").status_code == 400
    assert client.get("/api/v1/trade/orders?since=2000-01-01T00:00:00Z").json()["count"] == 3
    assert client.get("/api/v1/trade/orders?since=2999-01-01T00:00:00Z").json()["count"] == 0
    assert {o["id"] for o in client.get("/api/v1/trade/orders/open").json()} == {a["id"], b["id"]}

    cancelled = client.delete(f"/api/v1/trade/order/{a['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.delete(f"/api/v1/trade/order/{a['id']}").json()["status"] == "cancelled"  # idempotent
    r = client.delete(f"/api/v1/trade/order/{c['id']}")
    assert r.status_code == 422 and r.json()["error"]["code"] == "ORDER_NOT_OPEN"
    # another agent's order is "not found", never "forbidden"
    _, stranger, _ = trader()
    assert stranger.get(f"/api/v1/trade/order/{b['id']}").status_code == 404
    assert stranger.delete(f"/api/v1/trade/order/{b['id']}").status_code == 404
    assert client.get("/api/v1/trade/order/nope").status_code == 404
    history = client.get("/api/v1/trade/history").json()
    assert history["count"] == 1 and history["results"][0]["order_id"] == c["id"]
    assert_ledger_balanced()


def test_kill_switch_cancels_everything_and_releases_every_lock(celery_worker, trader):
    agent, client, wallet = trader()
    buy_btc(client)
    set_market("ETHUSDT", "3000", bids=[("2999", "10")], asks=[("3001", "10")])
    place(client, symbol="BTCUSDT", side="buy", type="limit", quantity="0.01", price="59000")
    place(client, symbol="BTCUSDT", side="sell", type="limit", quantity="0.005", price="65000")
    place(client, symbol="BTCUSDT", side="sell", type="stop_loss", quantity="0.005", trigger_price="55000")
    place(client, symbol="ETHUSDT", side="buy", type="limit", quantity="0.1", price="2900")
    r = client.delete("/api/v1/trade/orders/open?symbol=ETHUSDT")
    assert r.json()["cancelled"] == 1
    r = client.delete("/api/v1/trade/orders/open")
    assert r.status_code == 200 and r.json()["cancelled"] == 3
    assert client.get("/api/v1/trade/orders/open").json() == []
    assert all(locked == 0 for _, locked in wallet_balances(wallet).values())
    assert wallet_balances(wallet) == {"USDT": (D("9399.34995"), 0), "BTC": (D("0.01"), 0)}
    assert client.delete("/api/v1/trade/orders/open").json()["cancelled"] == 0
    assert_ledger_balanced()


def test_bulk_quotes_replace_the_ladder_atomically(celery_worker, trader):
    agent, client, wallet = trader()
    buy_btc(client, "0.02")
    set_market("BTCUSDT", "60000", bids=[("59990", "1")], asks=[("60010", "1")])
    ladder = {"symbol": "BTCUSDT", "cancel_all": True, "quotes": [
        {"side": "buy", "price": "59900", "quantity": "0.001", "client_order_id": "q-b1"},
        {"side": "buy", "price": "59800", "quantity": "0.002"},
        {"side": "sell", "price": "60100", "quantity": "0.003", "post_only": True}]}
    r = client.post("/api/v1/trade/quotes/bulk", ladder, format="json")
    assert r.status_code == 200, r.json()
    first = r.json()
    assert len(first["orders"]) == 3 and first["cancelled"] == []
    # a ladder with one bad quote changes nothing
    bad = {**ladder, "quotes": [{"side": "buy", "price": "59700", "quantity": "0.001"},
                                {"side": "buy", "price": "59600.005", "quantity": "0.001"}]}
    r = client.post("/api/v1/trade/quotes/bulk", bad, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_TICK_SIZE"
    assert r.json()["error"]["details"]["index"] == 1
    assert {o["id"] for o in client.get("/api/v1/trade/orders/open").json()} == {o["id"] for o in first["orders"]}
    # a ladder that would overspend changes nothing either (risk: 50 % of available USDT per order)
    r = client.post("/api/v1/trade/quotes/bulk", {**ladder, "quotes": [
        {"side": "buy", "price": "50000", "quantity": "0.2"}]}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "RISK_MAX_ORDER_SIZE"
    assert len(client.get("/api/v1/trade/orders/open").json()) == 3
    # the replacement cancels the old ladder in the same transaction
    new = {**ladder, "quotes": [{"side": "buy", "price": "59950", "quantity": "0.004"}]}
    r = client.post("/api/v1/trade/quotes/bulk", new, format="json").json()
    assert len(r["cancelled"]) == 3 and all(o["status"] == "cancelled" for o in r["cancelled"])
    assert [o["id"] for o in client.get("/api/v1/trade/orders/open").json()] == [r["orders"][0]["id"]]
    assert wallet_balances(wallet)["BTC"] == (D("0.02"), 0)
    assert wallet_balances(wallet)["USDT"][1] == D("239.8") + D("0.2398")  # 0.004 * 59950 + taker-rate fee
    assert_ledger_balanced()


def test_close_position_sells_what_is_held(celery_worker, trader):
    agent, client, wallet = trader()
    r = client.post("/api/v1/trade/positions/close?wait_ms=3000", {"symbol": "BTCUSDT"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "NO_POSITION"
    buy_btc(client)
    set_market("BTCUSDT", "61000", bids=[("61000", "1")], asks=[("61010", "1")])
    r = client.post("/api/v1/trade/positions/close?wait_ms=3000", {"symbol": "BTCUSDT", "quantity": "0.004"},
                    format="json")
    assert r.status_code == 201 and r.json()["filled_quantity"] == "0.00400000"
    r = client.post("/api/v1/trade/positions/close?wait_ms=3000", {"symbol": "BTCUSDT"}, format="json")
    o = r.json()
    assert (o["side"], o["type"], o["reduce_only"], o["status"], o["filled_quantity"]) == (
        "sell", "market", True, "filled", "0.00600000")
    pos = Position.objects.get(wallet=wallet, symbol="BTCUSDT")
    assert (pos.quantity, pos.cost_basis, pos.realized_pnl) == (0, 0, D("610") - D("600.05"))
    assert client.get("/api/v1/account/positions").json() == []
    assert "BTC" not in wallet_balances(wallet)
    assert_ledger_balanced()


def test_preview_has_no_side_effects(celery_worker, trader):
    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    before = (Order.objects.count(), LedgerEntry.objects.count(), wallet_balances(wallet))
    r = client.post("/api/v1/trade/order/preview", {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                                    "quantity": "0.01"}, format="json")
    p = r.json()
    assert r.status_code == 200 and p["approved"] is True and p["reason"] is None
    assert (p["notional"], p["est_fee"], p["fee_bps"], p["fee_role"], p["est_price"]) == (
        "600.05000000", "0.60005000", "10.0000", "taker", "60005.00000000")
    assert p["est_slippage_pct"] == "0.008333" and p["balance_required"] == "600.65005000"
    assert [c["rule"] for c in p["checks"]] == ["agent_active", "daily_loss_limit", "order_rate", "min_order_size",
                                                "max_order_size", "max_position_size", "max_open_orders", "balance"]
    p = client.post("/api/v1/trade/order/preview", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                                    "quantity": "0.1", "price": "59000"}, format="json").json()
    assert p["approved"] is False and p["reason_code"] == "RISK_MAX_ORDER_SIZE" and "50%" in p["reason"]
    assert (p["fee_role"], p["est_fee"]) == ("maker", "4.72000000")
    p = client.post("/api/v1/trade/order/preview", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                                    "quantity": "0.01", "price": "59000.001"}, format="json").json()
    assert p["approved"] is False and p["reason_code"] == "INVALID_TICK_SIZE"
    assert (Order.objects.count(), LedgerEntry.objects.count(), wallet_balances(wallet)) == before
    assert Fill.objects.count() == 0


def test_read_scope_keys_cannot_trade(celery_worker, trader):
    from agents.services import agent_key_issue

    agent, client, wallet = trader()
    issued = agent_key_issue(agent=agent, scope="read")
    from rest_framework.test import APIClient

    reader = APIClient()
    reader.credentials(HTTP_X_API_KEY=issued.api_key)
    r = place(reader, symbol="BTCUSDT", side="buy", type="market", quantity="0.01")
    assert r.status_code == 403 and r.json()["error"]["code"] == "KEY_SCOPE"
    assert reader.get("/api/v1/trade/orders").status_code == 200


@pytest.mark.parametrize("size", [{"quote_quantity": "5"}, {"quantity": "0.0016"}])
def test_quote_quantity_and_quantity_meet_min_notional_by_one_rule(trader, size):
    """Issue 8 item 12: 5 USDT of ETH at 3029.65 buys 0.0016 ETH (4.84744 USDT), under ETHUSDT's 5 USDT minimum:
    refused as quote_quantity exactly as the same size given as quantity; nothing is stored."""
    _, client, wallet = trader()
    set_market("ETHUSDT", "3029.65")
    r = place(client, symbol="ETHUSDT", side="buy", type="market", **size)
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_QUANTITY", r.json()
    assert not Order.objects.filter(wallet=wallet).exists()


def test_quote_quantity_finer_than_the_quote_precision_is_refused_not_truncated(trader):
    _, client, wallet = trader()
    set_market("ETHUSDT", "3029.65")
    r = place(client, symbol="ETHUSDT", side="buy", type="market", quote_quantity="5.000000000001")
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_STEP_SIZE", r.json()
    assert r.json()["error"]["details"]["field"] == "quote_quantity"
    r = place(client, symbol="ETHUSDT", side="buy", type="market", quote_quantity="10.5")
    assert r.status_code == 201 and r.json()["status"] == "filled", r.json()
    assert D(r.json()["filled_quote"]) <= D("10.5")
