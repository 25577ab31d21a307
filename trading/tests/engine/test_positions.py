"""Average-cost position math, hand-computed."""

from decimal import Decimal as D

import pytest

from trading.engine.positions import apply_execution, apply_fill, market_value, unrealized_pnl
from trading.engine.types import EngineRejection, Execution, Liquidity, PositionState, RejectCode, Side


def test_buys_re_average_the_entry_without_the_fee():
    state, realized = apply_fill(PositionState(), Side.BUY, D("0.1"), D("60000"), D("6"))
    assert (state.quantity, state.avg_entry_price, state.cost, state.fees_paid, realized) == (
        D("0.1"), D("60000"), D("6000"), D("6"), 0)
    state, _ = apply_fill(state, Side.BUY, D("0.3"), D("64000"), D("19.2"))
    # (6000 + 19200) / 0.4 = 63000: the 25.20 of fees is kept apart
    assert (state.quantity, state.avg_entry_price, state.cost, state.fees_paid) == (
        D("0.4"), D("63000"), D("25200"), D("25.2"))


def test_sells_realize_price_minus_average_times_quantity():
    state = PositionState(quantity=D("0.4"), avg_entry_price=D("63000"), fees_paid=D("25.2"))
    state, realized = apply_fill(state, Side.SELL, D("0.1"), D("65000"), D("6.5"))
    assert realized == D("200")  # (65000 - 63000) * 0.1
    assert (state.quantity, state.avg_entry_price, state.cost) == (D("0.3"), D("63000"), D("18900"))
    state, realized = apply_fill(state, Side.SELL, D("0.3"), D("62000"), D("18.6"))
    assert realized == D("-300")  # (62000 - 63000) * 0.3
    assert (state.quantity, state.avg_entry_price, state.cost) == (0, 0, 0)
    assert (state.realized_pnl, state.fees_paid) == (D("-100"), D("50.3"))


def test_repeating_averages_still_realize_to_the_last_unit():
    state, _ = apply_fill(PositionState(), Side.BUY, D("1"), D("100"), D(0))
    state, _ = apply_fill(state, Side.BUY, D("2"), D("101"), D(0))
    assert state.avg_entry_price == D("100.666666666667")  # 302 / 3 at 12 places
    state, first = apply_fill(state, Side.SELL, D("1"), D("110"), D(0))
    assert first == D("9.33333333")  # 110 - 100.66666667 (the sold third of the 302 cost, at 8 places)
    assert state.cost == D("201.33333333")
    assert state.avg_entry_price == D("100.666666665000")  # what remains: moved only by the 8-place rounding
    state, rest = apply_fill(state, Side.SELL, D("2"), D("110"), D(0))
    assert rest == D("18.66666667")  # the whole remaining cost leaves with the last unit
    assert first + rest == D("330") - D("302")  # proceeds minus cost, exactly


def test_selling_more_than_held_raises():
    with pytest.raises(EngineRejection) as info:
        apply_fill(PositionState(quantity=D("0.1"), avg_entry_price=D("1")), Side.SELL, D("0.2"), D("1"), D(0))
    assert info.value.code == RejectCode.INSUFFICIENT_BALANCE
    assert info.value.message == "cannot sell 0.2: the position holds 0.1"


@pytest.mark.parametrize("quantity, price, fee", [("0", "1", "0"), ("1", "0", "0"), ("1", "1", "-0.01")])
def test_malformed_fills_are_refused(quantity, price, fee):
    with pytest.raises(ValueError):
        apply_fill(PositionState(), Side.BUY, D(quantity), D(price), D(fee))


def test_unrealized_pnl_and_value_at_mark():
    state = PositionState(quantity=D("0.4"), avg_entry_price=D("63000"))
    assert unrealized_pnl(state, D("65000")) == D("800")
    assert unrealized_pnl(state, D("62000")) == D("-400")
    assert market_value(state, D("65000")) == D("26000")
    assert unrealized_pnl(PositionState(), D("65000")) == 0


def test_apply_execution_uses_the_settled_amount_and_fee():
    execution = Execution(price=D("64001.00"), quantity=D("0.1"), quote_amount=D("6400.10"), fee=D("6.4001"),
                          fee_asset="USDT", liquidity=Liquidity.TAKER, slippage_pct=D("0.001562"))
    state, realized = apply_execution(PositionState(), Side.BUY, execution)
    assert (state.quantity, state.cost, state.fees_paid, realized) == (D("0.1"), D("6400.10"), D("6.4001"), 0)
