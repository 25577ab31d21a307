"""The risk chain: every rule, its default and override, its code and its message."""

from decimal import Decimal as D

import pytest

from trading.engine.limits import RiskLimits
from trading.engine.risk import RISK_CHAIN, daily_loss_breached, enforce, run_chain
from trading.engine.types import EngineRejection, RejectCode, Side

from .builders import risk_ctx

RULES = ["agent_active", "daily_loss_limit", "order_rate", "min_order_size", "max_order_size",
         "max_position_size", "max_open_orders", "balance"]


def check(ctx, rule):
    return next(r for r in run_chain(ctx) if r.rule == rule)


def first_failure(ctx) -> EngineRejection:
    with pytest.raises(EngineRejection) as info:
        enforce(ctx)
    return info.value


def test_a_sound_order_passes_every_rule_in_order():
    results = run_chain(risk_ctx())
    assert [r.rule for r in results] == RULES
    assert len(RISK_CHAIN) == len(RULES)
    assert all(r.passed and r.code is None for r in results)
    enforce(risk_ctx())  # raises nothing


def test_inactive_agent():
    err = first_failure(risk_ctx(agent_status="paused"))
    assert err.code == RejectCode.AGENT_INACTIVE
    assert err.message == "agent is paused; only active agents can trade"
    assert err.details["rule"] == "agent_active"


# --- daily loss limit ---------------------------------------------------------------------------------------------

def test_daily_loss_limit_trips_at_20_pct_of_starting_balance():
    assert check(risk_ctx(equity=D("8000.01")), "daily_loss_limit").passed
    err = first_failure(risk_ctx(equity=D("8000")))
    assert err.code == RejectCode.RISK_DAILY_LOSS_LIMIT
    assert err.message == ("daily loss limit reached (loss today 2000.00 USDT; limit 20% of starting balance "
                           "10000.00 USDT = 2000.00): buys are refused until 00:00 UTC")
    assert err.details["limit"] == "2000.00000000" and err.details["value"] == "2000.00000000"
    assert err.details["tripped"] == "True"


def test_daily_loss_limit_override():
    limits = RiskLimits().merged({"daily_loss_limit_pct": "10"})
    assert not check(risk_ctx(limits=limits, equity=D("9000")), "daily_loss_limit").passed
    assert check(risk_ctx(limits=limits, equity=D("9000.01")), "daily_loss_limit").passed


def test_tripped_breaker_stays_tripped_after_a_recovery():
    ctx = risk_ctx(daily_loss_tripped=True, equity=D("10500"))
    assert daily_loss_breached(ctx)
    err = first_failure(ctx)
    assert err.code == RejectCode.RISK_DAILY_LOSS_LIMIT
    assert "tripped earlier today" in err.message


def test_tripped_breaker_still_lets_sells_reduce_exposure():
    result = check(risk_ctx(side=Side.SELL, equity=D("7000"), available_base=D("1"), position_quantity=D("1"),
                            balance_required=D("0.05")), "daily_loss_limit")
    assert result.passed and result.details["tripped"] == "True"


def test_gains_today_are_no_loss():
    assert check(risk_ctx(equity=D("12000")), "daily_loss_limit").value == "0.00000000"
    assert not daily_loss_breached(risk_ctx(equity=D("12000")))


# --- order rate ---------------------------------------------------------------------------------------------------

def test_order_rate_per_minute():
    assert check(risk_ctx(orders_last_minute=99), "order_rate").passed
    err = first_failure(risk_ctx(orders_last_minute=100))
    assert err.code == RejectCode.RISK_ORDER_RATE
    assert err.message == "100 orders in the last 60 s reach the limit of 100 per minute"
    limits = RiskLimits().merged({"order_rate_limit": 10})
    assert first_failure(risk_ctx(limits=limits, orders_last_minute=10)).code == RejectCode.RISK_ORDER_RATE


# --- min / max order size -----------------------------------------------------------------------------------------

def test_min_order_size_in_usd():
    assert check(risk_ctx(notional=D("1")), "min_order_size").passed
    err = first_failure(risk_ctx(notional=D("0.99"), balance_required=D("1")))
    assert err.code == RejectCode.RISK_MIN_ORDER_SIZE
    assert err.message == "order notional 0.99 USD is below the minimum 1.00 USD"
    limits = RiskLimits().merged({"min_order_size_usd": "10"})
    assert not check(risk_ctx(limits=limits, notional=D("9.99")), "min_order_size").passed
    # a quote asset worth 2 USD: 9.99 of it is 19.98 USD
    assert check(risk_ctx(limits=limits, notional=D("9.99"), quote_usd_rate=D("2")), "min_order_size").passed


def test_max_order_size_is_a_share_of_available_quote():
    assert check(risk_ctx(notional=D("5000")), "max_order_size").passed
    err = first_failure(risk_ctx(notional=D("6000"), balance_required=D("6006")))
    assert err.code == RejectCode.RISK_MAX_ORDER_SIZE
    assert err.message == "order notional 6000.00 USDT exceeds 50% of available 10000.00 USDT (5000.00)"
    assert (err.details["limit"], err.details["value"]) == ("5000.00000000", "6000.00000000")


def test_max_order_size_override():
    limits = RiskLimits().merged({"max_order_size_pct": "70"})
    assert check(risk_ctx(limits=limits, notional=D("6000")), "max_order_size").passed
    assert not check(risk_ctx(limits=limits, notional=D("7000.01")), "max_order_size").passed


def test_max_order_size_does_not_hold_back_sells():
    ctx = risk_ctx(side=Side.SELL, notional=D("60000"), available_quote=D("0"))
    assert check(ctx, "max_order_size").passed


# --- max position size --------------------------------------------------------------------------------------------

def test_max_position_size_is_a_share_of_equity():
    ok = risk_ctx(position_quantity=D("0.02"), quantity=D("0.01"), notional=D("640"))  # 0.03 * 64000 = 1920
    assert check(ok, "max_position_size").passed
    too_big = risk_ctx(position_quantity=D("0.03"), quantity=D("0.01"), notional=D("640"),
                       balance_required=D("640.64"))
    err = first_failure(too_big)
    assert err.code == RejectCode.RISK_MAX_POSITION_SIZE
    assert err.message == "resulting position 2560.00 USDT exceeds 25% of equity 10000.00 USDT (2500.00)"


def test_max_position_size_override():
    limits = RiskLimits().merged({"max_position_size_pct": "30"})
    ctx = risk_ctx(limits=limits, position_quantity=D("0.03"), quantity=D("0.01"), notional=D("640"))
    assert check(ctx, "max_position_size").passed


def test_sells_that_reduce_never_fail_the_position_limit():
    ctx = risk_ctx(side=Side.SELL, position_quantity=D("1"), available_base=D("1"), quantity=D("0.1"),
                   notional=D("6400"))
    result = check(ctx, "max_position_size")
    assert result.passed and result.value == "57600.00000000"  # 0.9 BTC left at 64000


# --- max open orders ----------------------------------------------------------------------------------------------

def test_max_open_orders_counts_only_orders_that_would_rest():
    assert check(risk_ctx(open_orders=49, adds_open_order=True), "max_open_orders").passed
    err = first_failure(risk_ctx(open_orders=50, adds_open_order=True))
    assert err.code == RejectCode.RISK_MAX_OPEN_ORDERS
    assert err.message == "50 open orders reach the limit of 50; cancel some before placing a resting order"
    assert check(risk_ctx(open_orders=50, adds_open_order=False), "max_open_orders").passed
    limits = RiskLimits().merged({"max_open_orders": 60})
    assert check(risk_ctx(limits=limits, open_orders=50, adds_open_order=True), "max_open_orders").passed


# --- balance ------------------------------------------------------------------------------------------------------

def test_buy_needs_quote_including_the_fee():
    limits = RiskLimits().merged({"max_order_size_pct": "100"})  # let the balance rule be the one that speaks
    err = first_failure(risk_ctx(limits=limits, available_quote=D("1921.91")))
    assert err.code == RejectCode.INSUFFICIENT_BALANCE
    assert err.message == ("insufficient USDT: order needs 1921.92 USDT including the fee, "
                           "available 1921.91 USDT")
    assert check(risk_ctx(limits=limits, available_quote=D("1921.92")), "balance").passed


def test_sell_needs_the_base_held():
    ctx = risk_ctx(side=Side.SELL, quantity=D("0.5"), available_base=D("0.4"), position_quantity=D("0.4"))
    err = first_failure(ctx)
    assert err.code == RejectCode.INSUFFICIENT_BALANCE
    assert err.message == "insufficient BTC: sell of 0.5 BTC, available 0.4 BTC"


def test_reduce_only_sell_is_limited_to_the_position():
    ctx = risk_ctx(side=Side.SELL, quantity=D("0.5"), available_base=D("1"), position_quantity=D("0.4"),
                   reduce_only=True)
    err = first_failure(ctx)
    assert err.code == RejectCode.INSUFFICIENT_BALANCE
    assert err.message == "reduce-only sell of 0.5 BTC exceeds the position 0.4 BTC"
    assert check(risk_ctx(side=Side.SELL, quantity=D("0.4"), available_base=D("1"), position_quantity=D("0.4"),
                          reduce_only=True), "balance").passed


def test_enforce_stops_at_the_first_failure_and_run_chain_reports_all():
    ctx = risk_ctx(agent_status="archived", orders_last_minute=500, available_quote=D("1"))
    assert first_failure(ctx).code == RejectCode.AGENT_INACTIVE
    failed = [r.code for r in run_chain(ctx) if not r.passed]
    assert failed == [RejectCode.AGENT_INACTIVE, RejectCode.RISK_ORDER_RATE, RejectCode.RISK_MAX_ORDER_SIZE,
                      RejectCode.INSUFFICIENT_BALANCE]


# --- the quick verdict of each rule (enforce's hot path) is the full rule's verdict ----------------------------------
from hypothesis import given as _given  # noqa: E402
from hypothesis import settings as _settings  # noqa: E402
from hypothesis import strategies as _st  # noqa: E402

from trading.engine.risk import RISK_CHAIN as _CHAIN  # noqa: E402

_amounts = _st.decimals(min_value=0, max_value=20000, places=2)


@_settings(max_examples=300, deadline=None)
@_given(side=_st.sampled_from(["buy", "sell"]), notional=_amounts, available=_amounts, equity=_amounts,
        day_start=_amounts, position=_st.decimals(min_value=0, max_value=1, places=5),
        quantity=_st.decimals(min_value=0, max_value=1, places=5), open_orders=_st.integers(0, 60),
        recent=_st.integers(0, 120), tripped=_st.booleans(), rests=_st.booleans(), reduce=_st.booleans(),
        status=_st.sampled_from(["active", "paused"]))
def test_quick_verdicts_agree_with_the_full_rules(side, notional, available, equity, day_start, position, quantity,
                                                  open_orders, recent, tripped, rests, reduce, status):
    from dataclasses import replace as _replace

    from trading.engine.types import Side as _Side

    ctx = _replace(risk_ctx(), side=_Side(side), notional=notional, balance_required=notional,
                   available_quote=available, available_base=position, position_quantity=position,
                   quantity=quantity, equity=equity, day_start_equity=day_start, open_orders=open_orders,
                   orders_last_minute=recent, daily_loss_tripped=tripped, adds_open_order=rests,
                   reduce_only=reduce and side == "sell", agent_status=status)
    for rule in _CHAIN:
        assert rule(ctx, True) == rule(ctx).passed, rule.__name__
