"""preview(): the same computation as the fill, with the resting part at its limit (hand-computed numbers)."""

from decimal import Decimal as D

import pytest

from trading.engine.matching import match_order, order_lock, preview
from trading.engine.types import Liquidity, OrderStatus, RejectCode

from .builders import BASE_RATE, BTC, booked, intent, market


def pv(order, mkt):
    return preview(order, mkt, BASE_RATE, instrument=BTC)


def test_market_buy_preview_equals_the_fill():
    order = intent(quantity="0.3", tif="ioc")
    p = pv(order, booked())
    fill = match_order(order, booked(), BASE_RATE, instrument=BTC)
    assert (p.notional, p.est_fee) == (fill.quote_amount, fill.fee) == (D("19202.10"), D("19.20210"))
    assert p.est_price == fill.avg_price == D("64007.00")
    assert p.est_slippage_pct == fill.slippage_pct == D("0.010938")
    assert (p.fee_bps, p.fee_role) == (D("10"), Liquidity.TAKER)
    assert (p.balance_required, p.balance_asset) == (D("19221.30210"), "USDT")
    assert (p.rests, p.status, p.reject_code) == (False, OrderStatus.FILLED, None)


def test_market_sell_needs_the_base_quantity():
    p = pv(intent("sell", quantity="0.5"), booked())
    assert (p.balance_required, p.balance_asset) == (D("0.5"), "BTC")
    assert p.notional == D("31996.80") and p.est_fee == D("31.99680")


def test_quote_buy_preview_resolves_the_quantity():
    p = pv(intent(quote_quantity="10000"), booked())
    assert p.quantity == D("0.15623")
    assert p.notional == D("9999.3823") and p.balance_required == D("9999.3823") + D("9.99938230")


def test_partly_marketable_gtc_limit():
    order = intent(type="limit", quantity="0.3", price="64005.00")
    p = pv(order, booked())
    # takes 0.1 @ 64001 (6400.10, taker fee 6.40010); rests 0.2 @ 64005 (12801.00, maker fee 10.24080)
    assert p.notional == D("19201.10")
    assert p.est_fee == D("16.64090")
    assert p.est_price == D("64003.666666666667")  # 19201.10 / 0.3, 12 places
    assert (p.fee_role, p.fee_bps) == (Liquidity.TAKER, D("10"))
    # placing it pays the taking part (6406.50010) and locks the rest (0.2 * 64005 = 12801.00 + the higher fee
    # 12.80100): 19220.30110 in all; the whole order is backed at 0.3 * 64005 + 19.20150 = 19220.70150
    assert order_lock(order, BASE_RATE, instrument=BTC, quantity=D("0.2")) == ("USDT", D("12813.80100"))
    assert p.balance_required == max(D("6406.50010") + D("12813.80100"), D("19220.70150")) == D("19220.70150")
    assert (p.rests, p.status) == (True, OrderStatus.PARTIALLY_FILLED)


def test_ioc_sell_that_would_not_fill_still_needs_its_base():
    p = pv(intent("sell", "limit", quantity="0.5", price="64500.00", tif="ioc"), booked())
    assert (p.status, p.balance_required, p.balance_asset) == (OrderStatus.EXPIRED, D("0.5"), "BTC")


def test_unfired_conditional_is_accepted_even_if_its_firing_would_be_refused():
    # at the trigger 65000 a fok buy limit at 64000 could not fill; but placing it now is accepted
    p = pv(intent("buy", "stop_limit", quantity="0.1", price="64000.00", trigger_price="65000.00", tif="fok"),
           booked())
    assert (p.status, p.reject_code, p.rests) == (OrderStatus.NEW, None, True)
    assert p.balance_required == D("6400.00") + D("6.40")  # the limit lock of the whole order


def test_resting_limit_is_a_maker_at_its_price():
    p = pv(intent(type="limit", quantity="0.1", price="63000.00"), booked())
    assert (p.est_price, p.notional, p.est_fee) == (D("63000.00"), D("6300.00"), D("5.04000"))
    assert (p.fee_role, p.fee_bps, p.est_slippage_pct) == (Liquidity.MAKER, D("8"), 0)
    assert p.balance_required == D("6306.30")  # 6300 + 10 bps: a gtc limit may yet take
    assert (p.rests, p.status) == (True, OrderStatus.NEW)


def test_unfired_sell_stop_is_estimated_at_its_trigger():
    p = pv(intent("sell", "stop_loss", quantity="0.1", trigger_price="63000.00"), booked())
    assert (p.est_price, p.notional, p.est_fee) == (D("62993.70"), D("6299.37"), D("6.29937"))
    assert p.est_slippage_pct == D("0.010000")
    assert (p.balance_required, p.balance_asset, p.rests, p.status) == (D("0.1"), "BTC", True, OrderStatus.NEW)


def test_unfired_buy_stop_locks_for_the_worst_model_price():
    order = intent("buy", "stop_loss", quantity="0.1", trigger_price="65000.00")
    p = pv(order, booked())
    assert (p.est_price, p.notional) == (D("65006.50"), D("6500.65"))
    # 0.1 * 65000 * 1.10 = 7150.00, plus the taker fee 7.15
    assert p.balance_required == D("7157.15") == order_lock(order, BASE_RATE, instrument=BTC)[1]


def test_stop_already_fired_is_previewed_as_it_executes_now():
    p = pv(intent("sell", "stop_loss", quantity="0.3", trigger_price="64500.00"), booked())
    assert p.status == OrderStatus.FILLED and not p.rests
    assert p.notional == D("12799.80") + D("6399.00")  # 0.2 @ 63999 + 0.1 @ 63990


def test_post_only_that_would_take_is_reported_not_raised():
    p = pv(intent(type="limit", quantity="0.1", price="64001.00", post_only=True), booked())
    assert p.reject_code == RejectCode.POST_ONLY_WOULD_TAKE and p.status == OrderStatus.REJECTED
    assert p.notional == D("6400.10")  # the order whole at its own price, so risk can still judge it


def test_unfillable_fok_is_reported_with_an_estimate_at_the_last_price():
    p = pv(intent(quantity="1", tif="fok"), booked())
    assert p.reject_code == RejectCode.FOK_NOT_FILLABLE
    assert (p.notional, p.est_fee, p.balance_required) == (D("64000.00"), D("64.00"), D("64064.00"))


def test_order_lock_for_each_resting_type():
    assert order_lock(intent("sell", "limit", quantity="0.1", price="70000.00"), BASE_RATE, instrument=BTC) == (
        "BTC", D("0.1"))
    assert order_lock(intent("buy", "stop_limit", quantity="0.1", price="65100.00", trigger_price="65000.00"),
                      BASE_RATE, instrument=BTC) == ("USDT", D("6510.00") + D("6.51"))
    assert order_lock(intent("buy", "take_profit", quantity="0.1", trigger_price="60000.00"),
                      BASE_RATE, instrument=BTC) == ("USDT", D("6600.00") + D("6.60"))


def test_preview_without_a_book_uses_the_model():
    p = pv(intent(quantity="0.1"), market())
    assert (p.est_price, p.notional, p.est_fee) == (D("64006.40"), D("6400.64"), D("6.40064"))


def test_market_orders_lock_nothing():
    with pytest.raises(ValueError, match="lock nothing"):
        order_lock(intent(quantity="0.1"), BASE_RATE, instrument=BTC)
