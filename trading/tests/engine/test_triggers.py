"""Conditional orders: trigger rules, what they become, and the sweep bounds the Django side queries with."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.engine.matching import (
    crosses,
    crossing_bounds,
    is_triggered,
    match_order,
    match_resting,
    range_bounds,
    triggered_intent,
)
from trading.engine.types import Bound, OrderStatus, OrderType, RestingOrder, Side, TimeInForce

from .builders import BASE_RATE, BTC, NOW, intent, market

SL, TP, SLM = OrderType.STOP_LOSS, OrderType.TAKE_PROFIT, OrderType.STOP_LIMIT
TPL = OrderType.TAKE_PROFIT_LIMIT


@pytest.mark.parametrize("side, type_, last, fired", [
    (Side.SELL, SL, "63000.01", False), (Side.SELL, SL, "63000.00", True), (Side.SELL, SL, "62000", True),
    (Side.BUY, SL, "62999.99", False), (Side.BUY, SL, "63000.00", True), (Side.BUY, SL, "64000", True),
    (Side.SELL, TP, "62999.99", False), (Side.SELL, TP, "63000.00", True), (Side.SELL, TP, "64000", True),
    (Side.BUY, TP, "63000.01", False), (Side.BUY, TP, "63000.00", True), (Side.BUY, TP, "62000", True),
    (Side.SELL, SLM, "63000.01", False), (Side.SELL, SLM, "63000.00", True),
    (Side.BUY, SLM, "62999.99", False), (Side.BUY, SLM, "63000.00", True),
    # take_profit_limit: the take-profit direction (sells on a rise, buys on a fall), never the stop direction
    (Side.SELL, TPL, "62999.99", False), (Side.SELL, TPL, "63000.00", True), (Side.SELL, TPL, "64000", True),
    (Side.SELL, TPL, "62000", False),
    (Side.BUY, TPL, "63000.01", False), (Side.BUY, TPL, "63000.00", True), (Side.BUY, TPL, "62000", True),
    (Side.BUY, TPL, "64000", False),
])
def test_trigger_rules(side, type_, last, fired):
    assert is_triggered(side, type_, D("63000.00"), D(last)) is fired


def test_plain_orders_have_no_trigger():
    with pytest.raises(ValueError):
        is_triggered(Side.BUY, OrderType.LIMIT, D(1), D(1))
    with pytest.raises(ValueError):
        triggered_intent(intent(quantity="1"))


def test_what_a_fired_order_becomes():
    stop = triggered_intent(intent("sell", "stop_loss", quantity="0.1", trigger_price="63000.00"))
    assert (stop.type, stop.trigger_price, stop.time_in_force) == (OrderType.MARKET, None, TimeInForce.IOC)
    tp = triggered_intent(intent("sell", "take_profit", quantity="0.1", trigger_price="66000.00", tif="fok"))
    assert (tp.type, tp.time_in_force) == (OrderType.MARKET, TimeInForce.FOK)
    stop_limit = triggered_intent(intent("buy", "stop_limit", quantity="0.1", price="65100.00",
                                         trigger_price="65000.00"))
    assert (stop_limit.type, stop_limit.price, stop_limit.trigger_price, stop_limit.time_in_force) == (
        OrderType.LIMIT, D("65100.00"), None, TimeInForce.GTC)
    tp_limit = triggered_intent(intent("sell", "take_profit_limit", quantity="0.1", price="66100.00",
                                       trigger_price="66000.00", tif="ioc"))
    assert (tp_limit.type, tp_limit.price, tp_limit.trigger_price, tp_limit.time_in_force) == (
        OrderType.LIMIT, D("66100.00"), None, TimeInForce.IOC)


def run(order, mkt):
    return match_order(order, mkt, BASE_RATE, instrument=BTC)


def test_unfired_stop_is_left_untouched():
    result = run(intent("sell", "stop_loss", quantity="0.1", trigger_price="63000.00"), market("63500.00"))
    assert result.status == OrderStatus.NEW and result.executions == () and not result.triggered
    assert result.remaining_quantity == D("0.1")


def test_fired_stop_loss_executes_as_a_market_order():
    result = run(intent("sell", "stop_loss", quantity="0.1", trigger_price="63000.00"), market("62990.00"))
    assert result.triggered and result.status == OrderStatus.FILLED
    assert [(e.price, e.quote_amount, e.fee) for e in result.executions] == [
        (D("62983.70"), D("6298.370"), D("6.29837"))]  # 62990 * 0.9999 = 62983.701 -> down to the tick


def test_fired_take_profit_executes_as_a_market_order():
    result = run(intent("sell", "take_profit", quantity="0.1", trigger_price="66000.00"), market("66000.00"))
    assert result.triggered and result.executions[0].price == D("65993.40")


def test_fired_stop_limit_becomes_a_limit_order():
    result = run(intent("buy", "stop_limit", quantity="0.1", price="65100.00", trigger_price="65000.00"),
                 market("65000.00"))
    assert result.triggered and result.status == OrderStatus.FILLED
    assert result.executions[0].price == D("65006.50")  # model price 65000 * 1.0001, inside the 65100 limit


def test_fired_stop_limit_rests_what_its_limit_cannot_take():
    mkt = market("62990.00", bids=[("62950.00", "0.05"), ("62800.00", "1")])
    result = run(intent("sell", "stop_limit", quantity="0.1", price="62900.00", trigger_price="63000.00"), mkt)
    assert result.triggered and result.status == OrderStatus.PARTIALLY_FILLED
    assert [(e.price, e.quantity) for e in result.executions] == [(D("62950.00"), D("0.05"))]
    assert result.remaining_quantity == D("0.05")


def test_unfired_take_profit_limit_is_left_untouched_in_the_stop_direction():
    # a sell take-profit-limit at 66000 does nothing when the price falls (that would be a stop)
    result = run(intent("sell", "take_profit_limit", quantity="0.1", price="65900.00", trigger_price="66000.00"),
                 market("62000.00"))
    assert result.status == OrderStatus.NEW and result.executions == () and not result.triggered


def test_fired_take_profit_limit_becomes_a_limit_order():
    result = run(intent("sell", "take_profit_limit", quantity="0.1", price="65900.00", trigger_price="66000.00"),
                 market("66000.00"))
    assert result.triggered and result.status == OrderStatus.FILLED
    assert result.executions[0].price == D("65993.40")  # model price 66000 * 0.9999, inside the 65900 limit


def test_fired_take_profit_limit_rests_what_its_limit_cannot_take():
    # a buy take-profit-limit fires when the price falls to 61000; its 60950 limit takes only the first level
    mkt = market("61000.00", asks=[("60940.00", "0.04"), ("61010.00", "1")])
    result = run(intent("buy", "take_profit_limit", quantity="0.1", price="60950.00", trigger_price="61000.00"), mkt)
    assert result.triggered and result.status == OrderStatus.PARTIALLY_FILLED
    assert [(e.price, e.quantity) for e in result.executions] == [(D("60940.00"), D("0.04"))]
    assert result.remaining_quantity == D("0.06")


def test_take_profit_limit_rests_as_a_limit_only_once_fired():
    from trading.engine.lifecycle import rests_as_limit
    assert rests_as_limit(OrderType.LIMIT, None)
    assert not rests_as_limit(TPL, None) and not rests_as_limit(SLM, None)
    assert rests_as_limit(TPL, NOW) and rests_as_limit(SLM, NOW)
    assert not rests_as_limit(TP, NOW) and not rests_as_limit(SL, NOW)


# --- sweep bounds -------------------------------------------------------------------------------------------------

def test_crossing_bounds_for_a_tick():
    p = D("64000.00")
    buy, sell = crossing_bounds(Side.BUY, p), crossing_bounds(Side.SELL, p)
    assert (buy.limit, buy.stop, buy.take_profit) == (Bound("gte", p), Bound("lte", p), Bound("gte", p))
    assert (sell.limit, sell.stop, sell.take_profit) == (Bound("lte", p), Bound("gte", p), Bound("lte", p))
    assert sell.trigger(OrderType.STOP_LIMIT) == sell.stop and sell.trigger(OrderType.TAKE_PROFIT) == sell.take_profit
    assert sell.trigger(TPL) == sell.take_profit and buy.trigger(TPL) == buy.take_profit


def test_range_bounds_for_a_candle():
    low, high = D("63000.00"), D("65000.00")
    buy, sell = range_bounds(Side.BUY, low, high), range_bounds(Side.SELL, low, high)
    assert (buy.limit, buy.stop, buy.take_profit) == (Bound("gte", low), Bound("lte", high), Bound("gte", low))
    assert (sell.limit, sell.stop, sell.take_profit) == (Bound("lte", high), Bound("gte", low), Bound("lte", high))


prices = st.integers(min_value=1, max_value=10_000_000).map(lambda n: D(n).scaleb(-2))


@given(side=st.sampled_from(list(Side)), tick=prices, level=prices)
def test_bounds_select_exactly_what_the_matcher_fills_and_fires(side, tick, level):
    bounds = crossing_bounds(side, tick)
    fills = bool(match_resting(RestingOrder(side, level, D("0.1")), tick, BASE_RATE, instrument=BTC).executions)
    assert bounds.limit.matches(level) is fills is crosses(side, tick, level)
    for type_ in (SL, TP, SLM, TPL):
        assert bounds.trigger(type_).matches(level) is is_triggered(side, type_, level, tick)


@given(side=st.sampled_from(list(Side)), a=prices, b=prices, level=prices)
def test_range_bounds_select_what_some_price_of_the_range_reaches(side, a, b, level):
    low, high = min(a, b), max(a, b)
    wide = range_bounds(side, low, high)
    at_low, at_high = crossing_bounds(side, low), crossing_bounds(side, high)
    for name in ("limit", "stop", "take_profit"):
        reached = getattr(at_low, name).matches(level) or getattr(at_high, name).matches(level)
        assert getattr(wide, name).matches(level) is reached
