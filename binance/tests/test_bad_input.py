"""No input, however malformed, makes the Binance door answer 5xx: every endpoint, signed or not, with random
parameter values (hypothesis), each answered with Binance JSON (a 2xx body or ``{"code", "msg"}``)."""

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from binance.tests.support import PREFIX
from trading.tests.orders_support import set_market

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ["symbol", "symbols", "side", "type", "timeInForce", "quantity", "quoteOrderQty", "price", "stopPrice",
         "newClientOrderId", "origClientOrderId", "orderId", "newOrderRespType", "limit", "interval", "startTime",
         "endTime", "fromId", "recvWindow", "omitZeroBalances", "icebergQty"]
VALUES = st.one_of(
    st.text(max_size=30), st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["BTCUSDT", "BUY", "SELL", "LIMIT", "MARKET", "STOP_LOSS_LIMIT", "LIMIT_MAKER", "GTC", "FOK",
                     "0.001", "60000", "1e5", "NaN", "-1", "0", "[\"BTCUSDT\"]", "[1]", "1m", "FULL", "true"]))
PARAMS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=8)
ENDPOINTS = [("GET", "exchangeInfo"), ("GET", "ticker/price"), ("GET", "ticker/24hr"), ("GET", "ticker/bookTicker"),
             ("GET", "depth"), ("GET", "klines"), ("GET", "trades"), ("GET", "aggTrades"), ("GET", "avgPrice")]
SIGNED = [("GET", "account"), ("GET", "order"), ("POST", "order"), ("DELETE", "order"), ("GET", "openOrders"),
          ("DELETE", "openOrders"), ("GET", "allOrders"), ("GET", "myTrades")]


def assert_binance(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    if response.status_code >= 400:
        assert set(body) == {"code", "msg"} and isinstance(body["code"], int) and body["code"] < 0


def test_random_parameters_never_break_an_endpoint(binance_trader, settings):
    settings.RATE_LIMIT_ANONYMOUS = settings.RATE_LIMIT_PER_KEY = 10**9
    agent, bc, native, wallet = binance_trader()
    set_market("BTCUSDT", "60000", bids=[("59990", "1")], asks=[("60000", "1")])

    @settings_(max_examples=200)
    @given(params=PARAMS, endpoint=st.sampled_from(ENDPOINTS + SIGNED))
    def check(params, endpoint):
        method, path = endpoint
        if endpoint in SIGNED:
            assert_binance(bc.signed(method, path, params))
        else:
            assert_binance(bc.api.generic(method, f"{PREFIX}/{path}?{urlencode(params)}"))

    check()


def settings_(**kw):
    return settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, **kw)
