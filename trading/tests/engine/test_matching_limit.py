"""Limit orders on arrival (marketable or resting, every time in force, post-only) and resting fills on a tick."""

from decimal import Decimal as D

import pytest

from trading.engine.matching import match_order, match_resting
from trading.engine.types import EngineRejection, Liquidity, OrderStatus, RejectCode, RestingOrder, Side

from .builders import BASE_RATE, BTC, booked, intent, market


def run(order, mkt):
    return match_order(order, mkt, BASE_RATE, instrument=BTC)


def limit(side="buy", price="64005.00", quantity="0.3", **kw):
    return intent(side, "limit", quantity=quantity, price=price, **kw)


# --- marketable on arrival: takes up to the limit, taker fee ------------------------------------------------------

def test_gtc_limit_takes_up_to_its_limit_and_rests_the_rest():
    result = run(limit(), booked())  # asks 0.1 @ 64001 (inside the limit), 0.5 @ 64010 (outside)
    assert [(e.price, e.quantity, e.quote_amount, e.fee, e.liquidity) for e in result.executions] == [
        (D("64001.00"), D("0.1"), D("6400.10"), D("6.40010"), Liquidity.TAKER)]
    assert result.status == OrderStatus.PARTIALLY_FILLED
    assert (result.filled_quantity, result.remaining_quantity) == (D("0.1"), D("0.2"))
    assert result.rests


def test_ioc_limit_expires_what_it_could_not_take():
    result = run(limit(tif="ioc"), booked())
    assert result.status == OrderStatus.EXPIRED
    assert (result.filled_quantity, result.remaining_quantity) == (D("0.1"), D("0.2"))
    assert not result.rests


def test_fok_limit_needs_all_of_it_inside_the_limit():
    refused = run(limit(tif="fok"), booked())
    assert refused.reject_code == RejectCode.FOK_NOT_FILLABLE and refused.executions == ()
    filled = run(limit(price="64010.00", tif="fok"), booked())
    assert [(e.price, e.quantity) for e in filled.executions] == [(D("64001.00"), D("0.1")),
                                                                  (D("64010.00"), D("0.2"))]
    assert filled.status == OrderStatus.FILLED


def test_sell_limit_takes_bids_down_to_its_limit():
    result = run(limit("sell", price="63995.00", quantity="0.5"), booked())
    assert [(e.price, e.quantity, e.fee) for e in result.executions] == [(D("63999.00"), D("0.2"), D("12.79980"))]
    assert result.status == OrderStatus.PARTIALLY_FILLED and result.remaining_quantity == D("0.3")


# --- not marketable: rests as a maker ----------------------------------------------------------------------------

@pytest.mark.parametrize("tif, status, code", [
    ("gtc", OrderStatus.NEW, None),
    ("ioc", OrderStatus.EXPIRED, None),
    ("fok", OrderStatus.REJECTED, RejectCode.FOK_NOT_FILLABLE),
])
def test_limit_below_the_best_ask(tif, status, code):
    result = run(limit(price="64000.99", tif=tif), booked())
    assert result.executions == ()
    assert result.status == status and result.reject_code == code
    assert result.remaining_quantity == D("0.3")


# --- post-only ---------------------------------------------------------------------------------------------------

def test_post_only_that_would_take_is_refused():
    with pytest.raises(EngineRejection) as info:
        run(limit(price="64001.00", post_only=True), booked())
    assert info.value.code == RejectCode.POST_ONLY_WOULD_TAKE
    assert info.value.message == "post-only buy at 64001 would take liquidity at 64001"
    assert info.value.details == {"price": "64001.00", "best_price": "64001.00"}


def test_post_only_that_rests_is_accepted():
    result = run(limit(price="64000.99", post_only=True), booked())
    assert result.status == OrderStatus.NEW and result.executions == ()
    sell = run(limit("sell", price="63999.01", post_only=True), booked())
    assert sell.status == OrderStatus.NEW


def test_post_only_without_a_book_compares_with_the_last_price():
    with pytest.raises(EngineRejection):
        run(limit(price="64000.00", post_only=True), market())
    assert run(limit(price="63999.99", post_only=True), market()).status == OrderStatus.NEW


# --- no book: marketable against the last price, the model price capped at the limit ------------------------------

@pytest.mark.parametrize("side, price, fill", [
    ("buy", "64100.00", "64006.40"),  # model price 64000 * 1.0001 is inside the limit
    ("buy", "64003.00", "64003.00"),  # ... capped at the limit: a buyer never pays more
    ("sell", "63900.00", "63993.60"),
    ("sell", "63999.00", "63999.00"),  # a seller never gets less than the limit
])
def test_marketable_limit_without_a_book(side, price, fill):
    result = run(limit(side, price=price, quantity="0.1"), market())
    assert [(e.price, e.liquidity) for e in result.executions] == [(D(fill), Liquidity.TAKER)]
    assert result.status == OrderStatus.FILLED


def test_non_marketable_limit_without_a_book_rests():
    assert run(limit(price="63999.99", quantity="0.1"), market()).status == OrderStatus.NEW
    assert run(limit("sell", price="64000.01", quantity="0.1"), market()).status == OrderStatus.NEW


# --- resting orders on a tick: fill at the limit, maker fee -------------------------------------------------------

def resting(side, price, quantity, tick, **kw):
    return match_resting(RestingOrder(Side(side), D(price), D(quantity)), D(tick), BASE_RATE, instrument=BTC, **kw)


def test_resting_buy_fills_at_its_limit_when_the_market_trades_through():
    for tick in ("63990.00", "63000.00"):  # at the limit, or far through it: the fill is at the limit
        result = resting("buy", "63990.00", "0.2", tick)
        assert [(e.price, e.quantity, e.quote_amount, e.fee, e.liquidity, e.slippage_pct)
                for e in result.executions] == [
            (D("63990.00"), D("0.2"), D("12798.00"), D("10.23840"), Liquidity.MAKER, D(0))]
        assert result.status == OrderStatus.FILLED
        assert (result.filled_quantity, result.remaining_quantity) == (D("0.2"), 0)


def test_resting_buy_untouched_above_its_limit():
    result = resting("buy", "63990.00", "0.2", "63990.01")
    assert result.executions == () and result.status == OrderStatus.NEW and result.remaining_quantity == D("0.2")
    assert resting("buy", "63990.00", "0.2", "64000", filled_before=D("0.1")).status == OrderStatus.PARTIALLY_FILLED


def test_resting_sell_fills_at_its_limit_when_the_market_reaches_it():
    assert resting("sell", "64100.00", "0.05", "64099.99").executions == ()
    result = resting("sell", "64100.00", "0.05", "64500.00")
    assert [(e.price, e.quote_amount, e.fee) for e in result.executions] == [
        (D("64100.00"), D("3205.00"), D("2.56400"))]
