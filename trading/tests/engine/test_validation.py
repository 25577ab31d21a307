from dataclasses import replace
from decimal import Decimal as D

import pytest

from trading.engine.types import EngineRejection, OrderIntent, OrderType, RejectCode, Side, TimeInForce
from trading.engine.validation import validate_intent

from .builders import BTC, XRP, intent


def rejected(order, instrument=BTC, **kw) -> EngineRejection:
    with pytest.raises(EngineRejection) as info:
        validate_intent(order, instrument, **kw)
    return info.value


def test_market_order_by_quantity_is_normalised_gtc_to_ioc():
    order = validate_intent(intent(quantity="0.01"), BTC)
    assert order.time_in_force == TimeInForce.IOC
    assert order.quantity == D("0.01")


def test_market_fok_is_kept():
    assert validate_intent(intent(quantity="0.01", tif="fok"), BTC).time_in_force == TimeInForce.FOK


def test_string_enums_are_parsed():
    raw = OrderIntent(symbol="BTCUSDT", side="sell", type="limit", quantity=D("1"), price=D("64000.00"),
                      time_in_force="ioc")
    order = validate_intent(raw, BTC)
    assert (order.side, order.type, order.time_in_force) == (Side.SELL, OrderType.LIMIT, TimeInForce.IOC)


def test_unknown_enum_value_is_a_validation_error_naming_the_field():
    err = rejected(OrderIntent(symbol="BTCUSDT", side="hold", type="market", quantity=D("1")))
    assert err.code == RejectCode.VALIDATION_ERROR
    assert err.http_status == 400
    assert list(err.details["fields"]) == ["side"]


@pytest.mark.parametrize("kw, field", [
    (dict(quantity="0.01", quote_quantity="100"), "quantity"),
    (dict(), "quantity"),
    (dict(type="limit", quote_quantity="100", price="64000"), "quote_quantity"),
    (dict(type="limit", quantity="0.01"), "price"),
    (dict(type="stop_limit", quantity="0.01", trigger_price="63000"), "price"),
    (dict(quantity="0.01", price="64000"), "price"),
    (dict(type="stop_loss", quantity="0.01", price="64000", trigger_price="63000"), "price"),
    (dict(type="take_profit", quantity="0.01", price="64000", trigger_price="63000"), "price"),
    (dict(type="stop_loss", quantity="0.01"), "trigger_price"),
    (dict(type="take_profit", quantity="0.01"), "trigger_price"),
    (dict(type="stop_limit", quantity="0.01", price="64000"), "trigger_price"),
    (dict(type="limit", quantity="0.01", price="64000", trigger_price="63000"), "trigger_price"),
    (dict(quantity="0.01", trigger_price="63000"), "trigger_price"),
    (dict(quantity="0.01", post_only=True), "post_only"),
    (dict(type="limit", quantity="0.01", price="64000", tif="ioc", post_only=True), "post_only"),
    (dict(type="stop_limit", quantity="0.01", price="64000", trigger_price="63000", post_only=True), "post_only"),
    (dict(quantity="0.01", reduce_only=True), "reduce_only"),
    (dict(quantity="0"), "quantity"),
    (dict(quantity="-1"), "quantity"),
    (dict(quote_quantity="-5"), "quote_quantity"),
    (dict(type="limit", quantity="0.01", price="0"), "price"),
    (dict(quantity="NaN"), "quantity"),
])
def test_shape_errors_are_validation_errors_with_the_field(kw, field):
    err = rejected(intent(**kw))
    assert err.code == RejectCode.VALIDATION_ERROR
    assert list(err.details["fields"]) == [field]
    assert err.message.startswith(f"{field}: ")


def test_symbol_must_be_the_instruments():
    err = rejected(intent(quantity="1", symbol="ETHUSDT"))
    assert err.code == RejectCode.UNKNOWN_SYMBOL
    assert err.http_status == 422


def test_price_off_the_tick_grid():
    err = rejected(intent(type="limit", quantity="0.01", price="64000.005"))
    assert err.code == RejectCode.INVALID_TICK_SIZE
    assert err.message == "price 64000.005 is not a multiple of the tick size 0.01"
    assert err.details == {"field": "price", "value": "64000.005", "tick_size": "0.01"}


def test_trigger_price_off_the_tick_grid():
    err = rejected(intent(type="stop_loss", side="sell", quantity="0.01", trigger_price="63000.001"))
    assert err.code == RejectCode.INVALID_TICK_SIZE
    assert err.details["field"] == "trigger_price"


def test_quantity_off_the_step_grid():
    err = rejected(intent(quantity="0.000015"))
    assert err.code == RejectCode.INVALID_STEP_SIZE
    assert err.message == "quantity 0.000015 is not a multiple of the step size 0.00001"


def test_quantity_below_min_qty():
    err = rejected(intent(type="limit", quantity="0.05", price="0.5000", symbol="XRPUSDT"), XRP)
    assert err.code == RejectCode.INVALID_STEP_SIZE  # 0.05 is not on XRP's 0.1 grid either
    strict = replace(XRP, min_qty=D("1"))
    err = rejected(intent(type="limit", quantity="0.5", price="0.5000", symbol="XRPUSDT"), strict)
    assert err.code == RejectCode.INVALID_QUANTITY
    assert err.message == "quantity 0.5 is below the minimum 1 XRP"


def test_limit_notional_below_min_notional():
    err = rejected(intent(type="limit", quantity="0.00005", price="64000.00"))
    assert err.code == RejectCode.INVALID_QUANTITY
    assert err.message == "order notional 3.2 USDT is below the minimum 5 USDT"
    assert err.details["min_notional"] == "5"


def test_stop_notional_uses_the_trigger_price():
    err = rejected(intent(type="stop_loss", side="sell", quantity="0.00005", trigger_price="64000.00"))
    assert err.code == RejectCode.INVALID_QUANTITY


def test_market_notional_checked_only_with_a_reference_price():
    order = intent(quantity="0.00005")
    assert validate_intent(order, BTC).quantity == D("0.00005")
    assert rejected(order, reference_price=D("64000")).code == RejectCode.INVALID_QUANTITY
    assert validate_intent(intent(quantity="0.0001"), BTC, reference_price=D("64000"))


def test_quote_quantity_below_min_notional():
    err = rejected(intent(quote_quantity="4.99"))
    assert err.code == RejectCode.INVALID_QUANTITY
    assert err.details["field"] == "quote_quantity"


def test_valid_orders_of_every_type_pass():
    for order in (
        intent(quote_quantity="100"),
        intent(type="limit", quantity="0.01", price="64000.00", post_only=True),
        intent(type="limit", side="sell", quantity="0.01", price="64000.00", tif="fok", reduce_only=True),
        intent(type="stop_loss", side="sell", quantity="0.01", trigger_price="63000.00"),
        intent(type="take_profit", side="sell", quantity="0.01", trigger_price="66000.00", tif="fok"),
        intent(type="stop_limit", side="buy", quantity="0.01", price="65100.00", trigger_price="65000.00"),
    ):
        expected = replace(order, time_in_force=TimeInForce.IOC) if order.type == OrderType.MARKET else order
        assert validate_intent(order, BTC) == expected
