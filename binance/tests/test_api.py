"""The Binance door in-process: formats, the signature, and every Binance error produced on purpose.

Orders that rest (limit, stop) need no worker; the market-order path with a real worker is in test_ccxt.py.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from binance.tests.support import PREFIX, sign, signed_query

from trading.tests.orders_support import D, assert_ledger_balanced, set_market

pytestmark = pytest.mark.django_db(transaction=True)

BOOK = {"bids": [("59990", "10")], "asks": [("60000", "10")]}


def err(response, code: int, status: int = 400) -> dict:
    body = response.json()
    assert (response.status_code, body.get("code")) == (status, code), (response.status_code, body)
    assert set(body) == {"code", "msg"} and body["msg"]
    return body


# --- public -----------------------------------------------------------------------------------------------------------
def test_ping_time_and_exchange_info_from_the_instruments(market, api):
    assert api.get(f"{PREFIX}/ping").json() == {}
    server = api.get(f"{PREFIX}/time").json()["serverTime"]
    assert abs(server - time.time() * 1000) < 5000
    r = api.get(f"{PREFIX}/exchangeInfo")
    assert r.status_code == 200 and r["X-MBX-USED-WEIGHT-1M"] == "3"  # third request of this IP
    info = r.json()
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert (filters["LOT_SIZE"]["stepSize"], filters["LOT_SIZE"]["minQty"]) == ("0.00001000", "0.00001000")
    assert filters["MIN_NOTIONAL"]["minNotional"] == filters["NOTIONAL"]["minNotional"] == "5.00000000"
    assert set(btc["orderTypes"]) == {"LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
                                      "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"}
    assert btc["permissionSets"] == [["SPOT"]] and btc["status"] == "TRADING" and btc["quoteAsset"] == "USDT"
    one = api.get(f"{PREFIX}/exchangeInfo", {"symbol": "ETHUSDT"}).json()
    assert [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]
    err(api.get(f"{PREFIX}/exchangeInfo", {"symbol": "NOPEUSDT"}), -1121)


def test_tickers_and_depth_from_the_book(market, api):
    set_market("BTCUSDT", "60000", **BOOK, quote_volume="1000000")
    assert api.get(f"{PREFIX}/ticker/price", {"symbol": "BTCUSDT"}).json() == {"symbol": "BTCUSDT",
                                                                               "price": "60000.00000000"}
    assert any(r["symbol"] == "BTCUSDT" for r in api.get(f"{PREFIX}/ticker/price").json())
    t = api.get(f"{PREFIX}/ticker/24hr", {"symbol": "BTCUSDT"}).json()
    assert (t["lastPrice"], t["bidPrice"], t["askPrice"], t["quoteVolume"]) == (
        "60000.00000000", "59990.00000000", "60000.00000000", "1000000.00000000")
    depth = api.get(f"{PREFIX}/depth", {"symbol": "BTCUSDT", "limit": 5}).json()
    assert depth["bids"] == [["59990.00000000", "10.00000000"]] and depth["asks"] == [["60000.00000000",
                                                                                        "10.00000000"]]
    listed = api.get(f"{PREFIX}/ticker/24hr", {"symbols": '["BTCUSDT"]'}).json()
    assert isinstance(listed, list) and listed[0]["symbol"] == "BTCUSDT"
    err(api.get(f"{PREFIX}/depth", {"symbol": "DOGEXYZ"}), -1121)
    err(api.get(f"{PREFIX}/depth"), -1102)
    err(api.get(f"{PREFIX}/depth", {"symbol": "BTCUSDT", "limit": "ten"}), -1100)


def test_klines_from_the_candle_store(market, api):
    from market.services import candles_upsert

    base = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    from market.candle_files import CandleRow

    rows = [CandleRow(open_ms=int((base + timedelta(minutes=i)).timestamp() * 1000), open=D(100 + i), high=D(101 + i), low=D(99 + i),
                      close=D("100.5") + i, volume=D("2")) for i in range(10)]
    candles_upsert(symbol="BTCUSDT", rows=rows)
    start = int(base.timestamp() * 1000)
    k = api.get(f"{PREFIX}/klines", {"symbol": "BTCUSDT", "interval": "5m", "startTime": start}).json()
    assert k[0][0] == start - start % 300_000 or k[0][0] >= start
    one = api.get(f"{PREFIX}/klines", {"symbol": "BTCUSDT", "interval": "1m", "startTime": start, "limit": 2}).json()
    assert [row[0] for row in one] == [start, start + 60_000]
    assert one[0][1:6] == ["100.00000000", "101.00000000", "99.00000000", "100.50000000", "2.00000000"]
    assert one[0][6] == start + 59_999
    err(api.get(f"{PREFIX}/klines", {"symbol": "BTCUSDT", "interval": "7m"}), -1120)


# --- auth -------------------------------------------------------------------------------------------------------------
def test_signature_timestamp_and_key_errors(binance_trader):
    agent, bc, native, wallet = binance_trader()
    set_market("BTCUSDT", "60000", **BOOK)
    ok = bc.signed("GET", "account")
    assert ok.status_code == 200, ok.json()
    assert ok["X-MBX-USED-WEIGHT-1M"] == "1"
    # -1022 bad signature: signed with another secret
    q = signed_query("not-the-secret", {})
    err(bc.api.get(f"{PREFIX}/account?{q}", HTTP_X_MBX_APIKEY=bc.key), -1022)
    # ... or a parameter changed after signing
    q = signed_query(bc.secret, {"symbol": "BTCUSDT"}).replace("BTCUSDT", "ETHUSDT")
    err(bc.api.get(f"{PREFIX}/openOrders?{q}", HTTP_X_MBX_APIKEY=bc.key), -1022)
    # -1021 timestamp outside recvWindow (old), or more than 1 s ahead
    err(bc.signed("GET", "account", timestamp=int(time.time() * 1000) - 6000), -1021)
    err(bc.signed("GET", "account", {"recvWindow": 20000}, timestamp=int(time.time() * 1000) - 30000), -1021)
    assert bc.signed("GET", "account", {"recvWindow": 20000},
                     timestamp=int(time.time() * 1000) - 10000).status_code == 200
    err(bc.signed("GET", "account", timestamp=int(time.time() * 1000) + 5000), -1021)
    err(bc.signed("GET", "account", {"recvWindow": 70000}), -1131)
    # -1102: no signature / no timestamp
    err(bc.api.get(f"{PREFIX}/account?timestamp={int(time.time() * 1000)}", HTTP_X_MBX_APIKEY=bc.key), -1102)
    query = "recvWindow=5000"
    err(bc.api.get(f"{PREFIX}/account?{query}&signature={sign(bc.secret, query)}", HTTP_X_MBX_APIKEY=bc.key), -1102)
    # -2014 no key / not a key; -2015 unknown key
    err(bc.api.get(f"{PREFIX}/account?{signed_query(bc.secret, {})}"), -2014, 401)
    err(bc.api.get(f"{PREFIX}/account?{signed_query(bc.secret, {})}", HTTP_X_MBX_APIKEY="hello"), -2014, 401)
    err(bc.api.get(f"{PREFIX}/account?{signed_query(bc.secret, {})}",
                   HTTP_X_MBX_APIKEY="ak_live_" + "x" * 43), -2015, 401)


def test_a_key_without_signing_secret_is_refused_with_a_clear_message(binance_trader):
    agent, bc, native, wallet = binance_trader(signing=False)
    body = err(bc.signed("GET", "account"), -2015, 401)
    assert "signing" in body["msg"]


def test_scope_ip_pin_expiry_and_revocation_apply_as_on_the_native_api(binance_trader):
    from agents.models import AgentKey

    agent, bc, native, wallet = binance_trader(scope="read")
    set_market("BTCUSDT", "60000", **BOOK)
    assert bc.signed("GET", "openOrders").status_code == 200
    account = bc.signed("GET", "account").json()
    assert account["canTrade"] is False
    body = err(bc.signed("POST", "order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                           "timeInForce": "GTC", "quantity": "0.001", "price": "50000"}), -2015, 401)
    assert "scope" in body["msg"]
    _, pinned, _, _ = binance_trader(allowed_ips=["10.9.8.7"])
    assert "127.0.0.1" in err(pinned.signed("GET", "account"), -2015, 401)["msg"]
    _, expiring, _, _ = binance_trader(expires_at=timezone.now() + timedelta(hours=1))
    assert expiring.signed("GET", "account").status_code == 200
    AgentKey.objects.filter(lookup=expiring.key[8:16]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "expired" in err(expiring.signed("GET", "account"), -2015, 401)["msg"]
    AgentKey.objects.filter(lookup=bc.key[8:16]).update(revoked_at=timezone.now())
    err(bc.signed("GET", "account"), -2015, 401)


def test_rate_limit_429_with_retry_after_in_the_keys_bucket(binance_trader, settings):
    settings.RATE_LIMIT_PER_KEY = 3
    agent, bc, native, wallet = binance_trader()
    for used in ("1", "2", "3"):
        r = bc.signed("GET", "openOrders")
        assert r.status_code == 200 and r["X-MBX-USED-WEIGHT-1M"] == used
    r = bc.signed("GET", "openOrders")
    body = err(r, -1003, 429)
    assert int(r["Retry-After"]) >= 1 and "Retry" in body["msg"]


def test_a_replayed_order_signature_is_refused(binance_trader):
    agent, bc, native, wallet = binance_trader()
    set_market("BTCUSDT", "60000", **BOOK)
    query = signed_query(bc.secret, {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                     "quantity": "0.001", "price": "50000"})
    post = lambda: bc.api.post(f"{PREFIX}/order", data=query,  # noqa: E731
                               content_type="application/x-www-form-urlencoded", HTTP_X_MBX_APIKEY=bc.key)
    assert post().status_code == 200
    err(post(), -1022)


# --- orders -----------------------------------------------------------------------------------------------------------
def test_limit_order_lifecycle_matches_the_native_view(binance_trader):
    agent, bc, native, wallet = binance_trader()
    set_market("BTCUSDT", "60000", **BOOK)
    r = bc.signed("POST", "order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                    "quantity": "0.01", "price": "50000", "newClientOrderId": "bn-limit-1"})
    assert r.status_code == 200, r.json()
    placed = r.json()
    assert (placed["status"], placed["type"], placed["side"], placed["timeInForce"]) == ("NEW", "LIMIT", "BUY", "GTC")
    assert (placed["origQty"], placed["price"], placed["executedQty"]) == ("0.01000000", "50000.00000000",
                                                                           "0.00000000")
    assert placed["fills"] == [] and placed["clientOrderId"] == "bn-limit-1"
    nat = native.get("/api/v1/trade/order/bn-limit-1").json()
    assert nat["status"] == "new" and nat["quantity"] == "0.01000000" and nat["price"] == "50000.00000000"
    # queried by orderId and by client id
    q = bc.signed("GET", "order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}).json()
    assert q["clientOrderId"] == "bn-limit-1" and q["status"] == "NEW" and q["isWorking"] is True
    assert bc.signed("GET", "order", {"symbol": "BTCUSDT", "origClientOrderId": "bn-limit-1"}).json()["orderId"] \
        == placed["orderId"]
    account = {b["asset"]: b for b in bc.signed("GET", "account").json()["balances"]}
    bal = {b["asset"]: b for b in native.get("/api/v1/account/balance").json()["balances"]}
    assert account["USDT"]["free"] == bal["USDT"]["available"] and account["USDT"]["locked"] == bal["USDT"]["locked"]
    assert D(account["USDT"]["locked"]) > 0
    opened = bc.signed("GET", "openOrders", {"symbol": "BTCUSDT"}).json()
    assert [o["orderId"] for o in opened] == [placed["orderId"]]
    c = bc.signed("DELETE", "order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert c.status_code == 200 and c.json()["status"] == "CANCELED"
    assert c.json()["origClientOrderId"] == "bn-limit-1"
    assert native.get("/api/v1/trade/order/bn-limit-1").json()["status"] == "cancelled"
    # cancelling again: -2011; querying an unknown order: -2013; cancelling one: -2011
    err(bc.signed("DELETE", "order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}), -2011)
    err(bc.signed("GET", "order", {"symbol": "BTCUSDT", "orderId": 12345}), -2013)
    err(bc.signed("GET", "order", {"symbol": "BTCUSDT", "origClientOrderId": "nope"}), -2013)
    err(bc.signed("DELETE", "order", {"symbol": "BTCUSDT", "origClientOrderId": "nope"}), -2011)
    err(bc.signed("GET", "order", {"symbol": "BTCUSDT"}), -1102)
    # the same order looked up under another symbol does not exist
    err(bc.signed("GET", "order", {"symbol": "ETHUSDT", "orderId": placed["orderId"]}), -2013)
    all_orders = bc.signed("GET", "allOrders", {"symbol": "BTCUSDT"}).json()
    assert [(o["orderId"], o["status"]) for o in all_orders] == [(placed["orderId"], "CANCELED")]
    assert_ledger_balanced()


def test_orders_placed_natively_show_on_the_binance_door(binance_trader):
    agent, bc, native, wallet = binance_trader()
    set_market("BTCUSDT", "60000", **BOOK)
    r = native.post("/api/v1/trade/order", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                            "quantity": "0.002", "price": "55000"}, format="json")
    assert r.status_code == 201
    opened = bc.signed("GET", "openOrders").json()
    assert len(opened) == 1 and opened[0]["clientOrderId"] == r.json()["id"].replace("-", "")
    q = bc.signed("GET", "order", {"symbol": "BTCUSDT", "origClientOrderId": opened[0]["clientOrderId"]}).json()
    assert q["orderId"] == opened[0]["orderId"]
    cancelled = bc.signed("DELETE", "openOrders", {"symbol": "BTCUSDT"}).json()
    assert [o["status"] for o in cancelled] == ["CANCELED"]
    err(bc.signed("DELETE", "openOrders", {"symbol": "BTCUSDT"}), -2011)


def test_take_profit_limit_is_the_native_take_profit_limit_and_fires_on_a_fall(binance_trader):
    from trading.services.sweep import sweep_symbol

    agent, bc, native, wallet = binance_trader()
    set_market("BTCUSDT", "60000", **BOOK)
    # buy 0.001 when the price falls to 59000, paying at most 59100
    placed = bc.signed("POST", "order", {"symbol": "BTCUSDT", "side": "BUY", "type": "TAKE_PROFIT_LIMIT",
                                         "timeInForce": "GTC", "quantity": "0.001", "price": "59100",
                                         "stopPrice": "59000", "newOrderRespType": "RESULT"})
    assert placed.status_code == 200, placed.json()
    placed = placed.json()
    assert (placed["type"], placed["status"], placed["stopPrice"], placed["price"], placed["workingTime"]) == (
        "TAKE_PROFIT_LIMIT", "NEW", "59000.00000000", "59100.00000000", -1)
    nat = native.get(f"/api/v1/trade/order/{placed['clientOrderId']}").json()
    assert (nat["type"], D(nat["trigger_price"]), D(nat["price"])) == ("take_profit_limit", D("59000"), D("59100"))
    # a rise is the stop direction: nothing fires
    set_market("BTCUSDT", "61000", bids=[("60990", "1")], asks=[("61010", "1")])
    assert sweep_symbol(symbol="BTCUSDT", price=D("61000")).triggered == 0
    set_market("BTCUSDT", "59000", bids=[("58990", "1")], asks=[("59050", "1")])
    stats = sweep_symbol(symbol="BTCUSDT", price=D("59000"))
    assert (stats.triggered, stats.filled) == (1, 1)
    q = bc.signed("GET", "order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}).json()
    assert (q["type"], q["status"], q["executedQty"], q["cummulativeQuoteQty"]) == (
        "TAKE_PROFIT_LIMIT", "FILLED", "0.00100000", "59.05000000")  # took the 59050 ask, inside its limit
    assert q["workingTime"] > 0
    assert_ledger_balanced()


def test_order_types_and_parameter_errors(binance_trader):
    agent, bc, native, wallet = binance_trader()
    set_market("BTCUSDT", "60000", **BOOK)

    def order(**p):
        return bc.signed("POST", "order", {"symbol": "BTCUSDT", "side": "BUY", **p})

    stop = order(type="STOP_LOSS_LIMIT", timeInForce="GTC", quantity="0.001", price="61000", stopPrice="60500",
                 newOrderRespType="RESULT").json()
    assert (stop["type"], stop["status"], stop["workingTime"]) == ("STOP_LOSS_LIMIT", "NEW", -1)
    assert native.get(f"/api/v1/trade/order/{stop['clientOrderId']}").json()["type"] == "stop_limit"
    ack = order(type="STOP_LOSS", quantity="0.001", stopPrice="61000").json()
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    tp = order(side="SELL", type="TAKE_PROFIT", quantity="0.001", stopPrice="70000")
    err(tp, -2010)  # nothing to sell: insufficient balance
    assert tp.json()["msg"] == "Account has insufficient balance for requested action."
    maker = order(type="LIMIT_MAKER", quantity="0.001", price="59000", newOrderRespType="RESULT").json()
    assert (maker["type"], maker["timeInForce"]) == ("LIMIT_MAKER", "GTC")
    assert native.get(f"/api/v1/trade/order/{maker['clientOrderId']}").json()["post_only"] is True
    # LIMIT_MAKER that would take: -2010 with Binance's message
    assert err(order(type="LIMIT_MAKER", quantity="0.001", price="60000"), -2010)["msg"] == \
        "Order would immediately match and take."
    # IOC limit that cannot take: EXPIRED
    ioc = order(type="LIMIT", timeInForce="IOC", quantity="0.001", price="50000").json()
    assert ioc["status"] == "EXPIRED"
    # missing mandatory parameters (-1102), illegal values (-1100), bad enums
    err(order(type="LIMIT", quantity="0.001", price="50000"), -1102)  # timeInForce
    err(order(type="LIMIT", timeInForce="GTC", price="50000"), -1102)  # quantity
    err(order(type="MARKET"), -1102)
    err(bc.signed("POST", "order", {"side": "BUY", "type": "MARKET", "quantity": "1"}), -1102)  # symbol
    err(order(type="LIMIT", timeInForce="GTC", quantity="1e-3", price="50000"), -1100)
    err(order(type="LIMIT", timeInForce="GTC", quantity="0.001", price="50000", newClientOrderId="no spaces"), -1100)
    err(order(type="ICEBERG", quantity="0.001"), -1116)
    err(bc.signed("POST", "order", {"symbol": "BTCUSDT", "side": "HOLD", "type": "MARKET", "quantity": "1"}), -1117)
    err(order(type="LIMIT", timeInForce="GTX", quantity="0.001", price="50000"), -1115)
    err(order(type="MARKET", quantity="0.001", price="50000"), -1106)
    # unknown symbol -1121; filter failures -1013
    err(bc.signed("POST", "order", {"symbol": "NOPEUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"}), -1121)
    assert err(order(type="LIMIT", timeInForce="GTC", quantity="0.001", price="50000.001"), -1013)["msg"] == \
        "Filter failure: PRICE_FILTER"
    assert err(order(type="LIMIT", timeInForce="GTC", quantity="0.0000101", price="50000"), -1013)["msg"] == \
        "Filter failure: LOT_SIZE"
    assert err(order(type="LIMIT", timeInForce="GTC", quantity="0.00001", price="50000"), -1013)["msg"] == \
        "Filter failure: NOTIONAL"
    # insufficient balance / rejected: -2010 (a risk rule refuses too, with its native code in the message)
    err(order(type="LIMIT", timeInForce="GTC", quantity="1", price="50000"), -2010)
    assert "RISK_" in err(order(type="LIMIT", timeInForce="GTC", quantity="0.15", price="50000"), -2010)["msg"]
    # a reused client id with another body: -2010 duplicate; with the same body: the same order back
    first = order(type="LIMIT", timeInForce="GTC", quantity="0.001", price="50000", newClientOrderId="dup-1").json()
    again = order(type="LIMIT", timeInForce="GTC", quantity="0.001", price="50000", newClientOrderId="dup-1").json()
    assert again["orderId"] == first["orderId"]
    assert err(order(type="LIMIT", timeInForce="GTC", quantity="0.002", price="50000", newClientOrderId="dup-1"),
               -2010)["msg"] == "Duplicate order sent."
    assert_ledger_balanced()


def test_the_agents_order_rate_limit_is_binance_1015(binance_trader):
    agent, bc, native, wallet = binance_trader()
    agent.risk_config = {"order_rate_limit": 1}
    agent.save(update_fields=["risk_config"])
    set_market("BTCUSDT", "60000", **BOOK)
    body = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001",
            "price": "50000"}
    assert bc.signed("POST", "order", body).status_code == 200
    assert "RISK_ORDER_RATE" in err(bc.signed("POST", "order", body), -1015)["msg"]
    # the same limit, whichever door: the native API refuses the agent's next order too
    assert native.post("/api/v1/trade/order", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                               "quantity": "0.001", "price": "50000"},
                       format="json").json()["error"]["code"] == "RISK_ORDER_RATE"
