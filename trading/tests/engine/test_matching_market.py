"""Market orders: book walk, quote amounts, time in force, and the no-book slippage model (hand-computed)."""

from decimal import Decimal as D

import pytest

from trading.engine.matching import match_order
from trading.engine.slippage import SlippageModel, slipped_price, slippage_pct
from trading.engine.types import Liquidity, OrderStatus, RejectCode, Side

from .builders import BASE_RATE, BTC, XRP, booked, intent, market


def fills(result):
    return [(e.price, e.quantity, e.quote_amount, e.fee, e.slippage_pct) for e in result.executions]


def run(order, mkt, instrument=BTC, **kw):
    return match_order(order, mkt, BASE_RATE, instrument=instrument, **kw)


# --- walking the book -------------------------------------------------------------------------------------------

def test_market_buy_walks_the_asks_level_by_level():
    result = run(intent(quantity="0.3", tif="ioc"), booked())
    assert fills(result) == [
        (D("64001.00"), D("0.1"), D("6400.10"), D("6.40010"), D("0.001562")),  # 1/64000 = 0.0015625 % -> even
        (D("64010.00"), D("0.2"), D("12802.00"), D("12.80200"), D("0.015625")),
    ]
    assert result.status == OrderStatus.FILLED
    assert (result.filled_quantity, result.remaining_quantity) == (D("0.3"), 0)
    assert result.avg_price == D("64007.00")  # 19202.10 / 0.3
    assert result.slippage_pct == D("0.010938")  # 7 / 64000 = 0.0109375 %
    assert result.quote_amount == D("19202.10") and result.fee == D("19.20210")
    assert all(e.liquidity == Liquidity.TAKER and e.fee_asset == "USDT" for e in result.executions)


def test_market_sell_walks_the_bids():
    result = run(intent("sell", quantity="0.5", tif="ioc"), booked())
    assert fills(result) == [
        (D("63999.00"), D("0.2"), D("12799.80"), D("12.79980"), D("0.001562")),
        (D("63990.00"), D("0.3"), D("19197.00"), D("19.19700"), D("0.015625")),
    ]
    assert result.avg_price == D("63993.60")  # 31996.80 / 0.5
    assert result.slippage_pct == D("0.010000")  # a seller getting less is positive slippage too


def test_ioc_keeps_what_filled_and_expires_the_rest():
    result = run(intent(quantity="1", tif="ioc"), booked())
    assert [e.quantity for e in result.executions] == [D("0.1"), D("0.5")]
    assert result.status == OrderStatus.EXPIRED
    assert (result.filled_quantity, result.remaining_quantity) == (D("0.6"), D("0.4"))


def test_market_gtc_is_read_as_ioc():
    assert run(intent(quantity="1", tif="gtc"), booked()).status == OrderStatus.EXPIRED


def test_fok_fills_all_or_nothing():
    result = run(intent(quantity="1", tif="fok"), booked())
    assert result.status == OrderStatus.REJECTED
    assert result.reject_code == RejectCode.FOK_NOT_FILLABLE
    assert result.executions == ()
    assert result.remaining_quantity == D("1")
    assert "fillable: 0.6 BTC" in result.reject_message
    full = run(intent(quantity="0.6", tif="fok"), booked())
    assert full.status == OrderStatus.FILLED and full.filled_quantity == D("0.6")


def test_rejected_result_raises_on_request():
    result = run(intent(quantity="1", tif="fok"), booked())
    with pytest.raises(Exception) as info:
        result.raise_if_rejected()
    assert info.value.code == RejectCode.FOK_NOT_FILLABLE
    run(intent(quantity="0.1"), booked()).raise_if_rejected()  # a fill raises nothing


def test_levels_thinner_than_one_step_are_skipped():
    mkt = market(asks=[("64001.00", "0.000004"), ("64002.00", "1")])
    result = run(intent(quantity="0.1"), mkt)
    assert fills(result) == [(D("64002.00"), D("0.1"), D("6400.20"), D("6.40020"), D("0.003125"))]


# --- quote_quantity ---------------------------------------------------------------------------------------------

def test_quote_buy_spends_up_to_the_quote_amount_across_levels():
    result = run(intent(quote_quantity="10000"), booked())
    # 0.1 @ 64001 = 6400.10; the other 3599.90 buys floor(3599.90 / 64010, 0.00001) = 0.05623 @ 64010
    assert fills(result) == [
        (D("64001.00"), D("0.1"), D("6400.10"), D("6.40010"), D("0.001562")),
        (D("64010.00"), D("0.05623"), D("3599.2823"), D("3.59928230"), D("0.015625")),
    ]
    assert result.status == OrderStatus.FILLED
    assert result.filled_quantity == D("0.15623") and result.remaining_quantity == 0
    assert result.quote_amount == D("9999.3823") <= D("10000")


def test_quote_buy_that_exactly_spends_the_last_level_is_filled():
    result = run(intent(quote_quantity="6400.10", tif="fok"), market(asks=[("64001.00", "0.1")]))
    assert result.status == OrderStatus.FILLED and result.filled_quantity == D("0.1")


def test_quote_buy_larger_than_the_book():
    ioc = run(intent(quote_quantity="100000"), booked())
    assert ioc.status == OrderStatus.EXPIRED and ioc.filled_quantity == D("0.6")
    fok = run(intent(quote_quantity="100000", tif="fok"), booked())
    assert fok.reject_code == RejectCode.FOK_NOT_FILLABLE and fok.executions == ()


def test_quote_sell_receives_at_most_the_quote_amount():
    result = run(intent("sell", quote_quantity="15000"), booked())
    # 0.2 @ 63999 = 12799.80; the other 2200.20 sells floor(2200.20 / 63990, 0.00001) = 0.03438 @ 63990
    assert [(e.price, e.quantity) for e in result.executions] == [(D("63999.00"), D("0.2")),
                                                                   (D("63990.00"), D("0.03438"))]
    assert result.quote_amount == D("14999.7762")


def test_quote_amount_too_small_for_one_step_is_rejected():
    result = run(intent(quote_quantity="0.5"), booked())
    assert result.status == OrderStatus.REJECTED and result.reject_code == RejectCode.INVALID_QUANTITY
    assert result.executions == ()


# --- no book: the slippage model ---------------------------------------------------------------------------------

@pytest.mark.parametrize("side, quantity, volume, price", [
    ("buy", "0.1", None, "64006.40"),  # no volume -> the minimum 0.01 %: 64000 * 1.0001
    ("sell", "0.1", None, "63993.60"),  # 64000 * 0.9999
    ("buy", "0.1", "0", "64006.40"),  # zero volume counts as missing
    ("buy", "0.1", "1000000000", "64006.40"),  # 6400 / 1e9 * 100 = 0.00064 % -> clamped up to 0.01 %
    ("buy", "0.01", "1000000", "64040.96"),  # 640 / 1e6 * 100 = 0.064 %: 64000 * 1.00064
    ("sell", "0.01", "1000000", "63959.04"),  # 64000 * 0.99936
])
def test_no_book_price_moves_against_the_trader(side, quantity, volume, price):
    result = run(intent(side, quantity=quantity), market(volume=volume))
    assert [e.price for e in result.executions] == [D(price)]
    assert result.status == OrderStatus.FILLED and result.filled_quantity == D(quantity)


def test_no_book_slippage_grows_with_size_against_volume():
    mkt = market(volume="1000000")
    buy = run(intent(quantity="0.5"), mkt)  # 32000 / 1e6 * 100 = 3.2 %
    sell = run(intent("sell", quantity="0.5"), mkt)
    assert buy.executions[0].price == D("66048.00")  # 64000 * 1.032
    assert sell.executions[0].price == D("61952.00")  # 64000 * 0.968
    assert buy.slippage_pct == sell.slippage_pct == D("3.200000")
    assert buy.executions[0].quote_amount == D("33024.00")
    assert buy.executions[0].fee == D("33.02400")


def test_no_book_slippage_is_capped():
    mkt = market(volume="100000")  # 32000 / 1e5 * 100 = 32 % -> 10 %
    assert run(intent(quantity="0.5"), mkt).executions[0].price == D("70400.00")
    assert run(intent("sell", quantity="0.5"), mkt).executions[0].price == D("57600.00")


def test_slippage_parameters():
    model = SlippageModel(k=D("0.5"), min_pct=D("0.05"), max_pct=D("2"))
    assert model.pct_for(D("32000"), D("1000000")) == D("1.6")
    assert model.pct_for(D("1"), D("1000000")) == D("0.05")
    assert model.pct_for(D("320000"), D("1000000")) == D("2")
    assert model.pct_for(D("1"), None) == D("0.05")
    result = run(intent(quantity="0.5"), market(volume="1000000"), slippage=model)
    assert result.executions[0].price == D("65024.00")  # 64000 * 1.016


def test_no_book_prices_land_on_the_tick_grid():
    mkt = market("0.5123", symbol="XRPUSDT")
    buy = run(intent(quantity="100", symbol="XRPUSDT"), mkt, XRP)
    sell = run(intent("sell", quantity="100", symbol="XRPUSDT"), mkt, XRP)
    assert buy.executions[0].price == D("0.5124")  # 0.51235123 rounded UP
    assert sell.executions[0].price == D("0.5122")  # 0.51224877 rounded DOWN
    assert buy.slippage_pct == sell.slippage_pct == D("0.019520")  # 0.0001 / 0.5123 * 100, reported as filled


def test_quote_buy_without_a_book():
    result = run(intent(quote_quantity="10000"), market())
    # price 64006.40; floor(10000 / 64006.40, 0.00001) = 0.15623; 0.15623 * 64006.40 = 9999.719872
    assert fills(result) == [(D("64006.40"), D("0.15623"), D("9999.71987200"), D("9.99971988"), D("0.010000"))]


def test_slipped_price_and_reported_slippage_helpers():
    assert slipped_price(Side.BUY, D("100"), D("10"), D("0.01")) == D("110.00")
    assert slipped_price(Side.SELL, D("0.01"), D("10"), D("0.01")) == D("0.01")  # never below one tick
    assert slippage_pct(Side.BUY, D("99"), D("100")) == D("-1.000000")  # better than last: negative
