"""The real ccxt client (``ccxt.binance``, configuration only) against a running server and a real Celery worker.

Every result is checked against the native API's view of the same agent (``/api/v1`` with its X-API-Key).
"""

from datetime import timedelta
from decimal import Decimal

import ccxt
import pytest
from django.utils import timezone

from binance.tests.support import ccxt_config
from trading.tests.orders_support import D, assert_ledger_balanced, set_market

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOOK = {"bids": [("59990", "10"), ("59980", "5")], "asks": [("60000", "10"), ("60010", "5")]}


def dec(x) -> Decimal:
    return Decimal(str(x))  # ccxt hands out floats: to Decimal through str, as the style guide says


def native_balances(native) -> dict:
    return {b["asset"]: (D(b["available"]), D(b["locked"])) for b in native.get("/api/v1/account/balance").json()
            ["balances"]}


def ccxt_balances(exchange) -> dict:
    bal = exchange.fetch_balance()
    return {a: (dec(bal[a]["free"]), dec(bal[a]["used"])) for a in bal["total"]}


def test_market_data_through_ccxt_matches_the_native_api(ccxt_exchange, api):
    from market.candle_files import CandleRow
    from market.services import candles_upsert

    exchange, agent, native, wallet = ccxt_exchange()
    set_market("BTCUSDT", "60000", **BOOK, quote_volume="2500000")
    base = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    candles_upsert(symbol="BTCUSDT", rows=[
        CandleRow(open_ms=int((base + timedelta(minutes=i)).timestamp() * 1000), open=D(60000 + i),
                  high=D(60010 + i), low=D(59990 + i), close=D(60005 + i), volume=D("1.5")) for i in range(30)])

    markets = exchange.load_markets()
    pairs = {p["symbol"]: p for p in api.get("/api/v1/market/pairs").json()["pairs"]}
    assert {m["id"] for m in markets.values()} == set(pairs)
    btc = markets["BTC/USDT"]
    assert (btc["spot"], btc["active"], btc["base"], btc["quote"]) == (True, True, "BTC", "USDT")
    assert dec(btc["precision"]["price"]) == D(pairs["BTCUSDT"]["tick_size"])
    assert dec(btc["precision"]["amount"]) == D(pairs["BTCUSDT"]["step_size"])
    assert dec(btc["limits"]["amount"]["min"]) == D(pairs["BTCUSDT"]["min_qty"])
    assert dec(btc["limits"]["cost"]["min"]) == D(pairs["BTCUSDT"]["min_notional"])

    ticker = exchange.fetch_ticker("BTC/USDT")
    native_ticker = api.get("/api/v1/market/ticker/BTCUSDT").json()
    assert dec(ticker["last"]) == D(native_ticker["last"]) and dec(ticker["quoteVolume"]) == D("2500000")
    assert (dec(ticker["bid"]), dec(ticker["ask"])) == (D("59990"), D("60000"))

    book = exchange.fetch_order_book("BTC/USDT", limit=5)
    native_book = api.get("/api/v1/market/orderbook/BTCUSDT?depth=5").json()
    assert [[dec(p), dec(q)] for p, q in book["bids"]] == [[D(p), D(q)] for p, q in native_book["bids"]]
    assert [[dec(p), dec(q)] for p, q in book["asks"]] == [[D(p), D(q)] for p, q in native_book["asks"]]

    since = int(base.timestamp() * 1000)
    ohlcv = exchange.fetch_ohlcv("BTC/USDT", "5m", since=since, limit=6)
    native_candles = api.get(f"/api/v1/market/candles/BTCUSDT?interval=5m&start={since}&limit=6").json()["candles"]
    assert len(ohlcv) == len(native_candles) == 6
    for row, c in zip(ohlcv, native_candles):
        assert [dec(v) for v in row[1:]] == [D(c[k]) for k in ("open", "high", "low", "close", "volume")]
    assert exchange.fetch_time() == pytest.approx(timezone.now().timestamp() * 1000, abs=5000)


def test_trading_through_ccxt_is_the_agents_trading(ccxt_exchange, celery_worker):
    exchange, agent, native, wallet = ccxt_exchange()
    set_market("BTCUSDT", "60000", **BOOK)
    exchange.load_markets()
    assert ccxt_balances(exchange)["USDT"] == native_balances(native)["USDT"] == (D("10000"), D(0))

    # market buy by quantity: FULL response with its fills, once the worker executed it
    bought = exchange.create_order("BTC/USDT", "market", "buy", 0.01)
    assert bought["status"] == "closed" and dec(bought["filled"]) == D("0.01"), bought
    nat = native.get(f"/api/v1/trade/order/{bought['clientOrderId']}").json()
    assert nat["status"] == "filled" and D(nat["filled_quantity"]) == D("0.01")
    assert dec(bought["cost"]) == D(nat["filled_quote"]) and dec(bought["average"]) == D(nat["avg_fill_price"])
    assert len(bought["trades"]) == len(nat["fills"]) >= 1
    assert dec(bought["fee"]["cost"]) == D(nat["fees_paid"]) and bought["fee"]["currency"] == "USDT"

    # market buy by cost (quoteOrderQty)
    by_cost = exchange.create_market_buy_order_with_cost("BTC/USDT", 120)
    nat_cost = native.get(f"/api/v1/trade/order/{by_cost['clientOrderId']}").json()
    assert by_cost["status"] == "closed" and nat_cost["status"] == "filled"
    assert D(nat_cost["quote_quantity"]) == D("120") and dec(by_cost["cost"]) == D(nat_cost["filled_quote"])
    assert dec(by_cost["amount"]) == dec(by_cost["filled"]) == D(nat_cost["filled_quantity"]) > 0

    # a resting limit buy and a stop-loss-limit sell (the stop fires below 59000)
    limit = exchange.create_order("BTC/USDT", "limit", "buy", 0.002, 55000)
    assert limit["status"] == "open" and dec(limit["price"]) == D("55000")
    stop = exchange.create_order("BTC/USDT", "STOP_LOSS_LIMIT", "sell", 0.005, 58900, {"stopPrice": 59000})
    assert stop["status"] == "open" and dec(stop["triggerPrice"]) == D("59000")
    nat_stop = native.get(f"/api/v1/trade/order/{stop['clientOrderId']}").json()
    assert (nat_stop["type"], D(nat_stop["trigger_price"]), D(nat_stop["price"])) == ("stop_limit", D("59000"),
                                                                                      D("58900"))

    fetched = exchange.fetch_order(limit["id"], "BTC/USDT")
    nat_limit = native.get(f"/api/v1/trade/order/{limit['clientOrderId']}").json()
    assert (fetched["status"], fetched["clientOrderId"]) == ("open", limit["clientOrderId"]) and \
        nat_limit["status"] == "new"
    assert (dec(fetched["amount"]), dec(fetched["price"])) == (D(nat_limit["quantity"]), D(nat_limit["price"]))

    open_orders = exchange.fetch_open_orders("BTC/USDT")
    native_open = native.get("/api/v1/trade/orders/open").json()
    assert {o["clientOrderId"] for o in open_orders} == {o["client_order_id"] for o in native_open} == \
        {limit["clientOrderId"], stop["clientOrderId"]}

    # the balances while orders rest: free and locked as the native API says
    assert ccxt_balances(exchange)["USDT"] == native_balances(native)["USDT"]
    assert ccxt_balances(exchange)["BTC"] == native_balances(native)["BTC"]

    cancelled = exchange.cancel_order(limit["id"], "BTC/USDT")
    assert cancelled["status"] == "canceled"
    assert native.get(f"/api/v1/trade/order/{limit['clientOrderId']}").json()["status"] == "cancelled"
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(limit["id"], "BTC/USDT")

    rest = exchange.cancel_all_orders("BTC/USDT")
    assert [o["clientOrderId"] for o in rest] == [stop["clientOrderId"]] and rest[0]["status"] == "canceled"
    assert native.get("/api/v1/trade/orders/open").json() == []

    trades = exchange.fetch_my_trades("BTC/USDT")
    history = native.get("/api/v1/trade/history").json()["results"]
    assert sorted(int(t["id"]) for t in trades) == sorted(f["id"] for f in history)
    by_id = {f["id"]: f for f in history}
    for t in trades:
        f = by_id[int(t["id"])]
        assert (dec(t["price"]), dec(t["amount"]), dec(t["fee"]["cost"]), t["side"], t["takerOrMaker"]) == \
            (D(f["price"]), D(f["quantity"]), D(f["fee"]), f["side"], f["liquidity"])
        assert t["order"] == str(exchange.fetch_order(t["order"], "BTC/USDT")["id"])

    assert ccxt_balances(exchange) == {a: v for a, v in native_balances(native).items() if a in ("USDT", "BTC")}
    assert_ledger_balanced()


def test_ccxt_raises_its_own_exceptions_for_binance_errors(ccxt_exchange, binance_server):
    exchange, agent, native, wallet = ccxt_exchange()
    set_market("BTCUSDT", "60000", **BOOK)
    exchange.load_markets()
    with pytest.raises(ccxt.InsufficientFunds):  # -2010, Binance's message
        exchange.create_order("BTC/USDT", "limit", "sell", 0.01, 70000)  # no BTC to sell
    with pytest.raises(ccxt.InvalidOrder):  # -2010 risk rejection
        exchange.create_order("BTC/USDT", "limit", "buy", 0.15, 50000)
    with pytest.raises(ccxt.OrderImmediatelyFillable):  # LIMIT_MAKER that would take
        exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 60000, {"postOnly": True})
    with pytest.raises(ccxt.OrderNotFound):  # -2013
        exchange.fetch_order("123456789", "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):  # -2011
        exchange.cancel_order("123456789", "BTC/USDT")
    with pytest.raises(ccxt.InvalidOrder):  # -1013 PRICE_FILTER (a price ccxt did not round)
        exchange.private_post_order({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                     "quantity": "0.001", "price": "50000.005"})
    with pytest.raises(ccxt.BadSymbol):  # -1121, from the server (ccxt checks unified symbols itself)
        exchange.public_get_depth({"symbol": "NOPEUSDT"})
    with pytest.raises(ccxt.BadRequest):  # -1102
        exchange.private_get_order({"symbol": "BTCUSDT"})

    wrong = ccxt.binance(ccxt_config(binance_server.base, exchange.apiKey, "sk_wrong"))
    with pytest.raises(ccxt.AuthenticationError):  # -1022
        wrong.fetch_balance()
    late_config = ccxt_config(binance_server.base, exchange.apiKey, exchange.secret)
    late = ccxt.binance({**late_config, "options": {**late_config["options"], "timeDifference": 30000,
                                                    "recvWindow": 5000}})  # its clock 30 s behind
    with pytest.raises(ccxt.InvalidNonce):  # -1021
        late.fetch_balance()
    assert exchange.fetch_balance()["USDT"]["free"] == 10000
