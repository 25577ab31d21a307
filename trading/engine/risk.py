"""The risk chain: one ordered list of rules run on every order and in every preview, live or backtest.

In order (``enforce`` stops at the first failure; ``run_chain`` reports every rule, for preview):

1. agent_active       the agent is ``active`` (not paused or archived)                     AGENT_INACTIVE
2. daily_loss_limit   buys refused once today's loss (equity at 00:00 UTC - equity now, realized and unrealized)
                      reaches daily_loss_limit_pct of the starting balance; tripped stays tripped until the next
                      UTC day (``daily_loss_tripped``). Sells pass: in spot they only reduce exposure.
                                                                                          RISK_DAILY_LOSS_LIMIT
3. order_rate         fewer than order_rate_limit orders placed in the last 60 s           RISK_ORDER_RATE
4. min_order_size     notional (in USD) >= min_order_size_usd                              RISK_MIN_ORDER_SIZE
5. max_order_size     buys: notional <= max_order_size_pct of the available quote balance  RISK_MAX_ORDER_SIZE
6. max_position_size  buys: (position + quantity) * price <= max_position_size_pct of equity; sells, which
                      only reduce, never fail                                             RISK_MAX_POSITION_SIZE
7. max_open_orders    an order that would rest needs open orders < max_open_orders        RISK_MAX_OPEN_ORDERS
8. balance            buys: balance_required (quote incl. fee) <= available quote; sells: quantity <= available
                      base (spot, no shorting); reduce_only sells: quantity <= position   INSUFFICIENT_BALANCE

Limits come from ``RiskLimits`` (API.md defaults merged with the agent's overrides). Each message names the value
and the limit: "order notional 6000.00 USDT exceeds 50% of available 10000.00 USDT (5000.00)".
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from .money import fmt

from ._text import money, pct, plain
from .types import CheckResult, EngineRejection, RejectCode, RiskContext
from .types import BUY, SELL

ZERO: Final = Decimal(0)
HUNDRED: Final = Decimal(100)

Rule = Callable[..., Any]  # rule(ctx) -> CheckResult; rule(ctx, True) -> passed (bool)


def _result(rule: str, passed: bool, code: str, message: str, limit, value, **details) -> CheckResult:
    return CheckResult(rule=rule, passed=passed, code=None if passed else code, message=message,
                       limit=_wire(limit), value=_wire(value), details={k: _wire(v) for k, v in details.items()})


def _wire(value) -> str | None:
    if value is None:
        return None
    return fmt(value) if isinstance(value, Decimal) else str(value)


def check_agent_active(ctx: RiskContext, quick: bool = False) -> CheckResult | bool:
    passed = ctx.agent_status == "active"
    if quick:
        return passed
    message = "agent is active" if passed else f"agent is {ctx.agent_status}; only active agents can trade"
    return _result("agent_active", passed, RejectCode.AGENT_INACTIVE, message, "active", ctx.agent_status)


def daily_loss(ctx: RiskContext) -> Decimal:
    """Loss since 00:00 UTC, realized and unrealized: equity at the day's start minus equity now (>= 0)."""
    return max(ctx.day_start_equity - ctx.equity, ZERO)


def daily_loss_limit(ctx: RiskContext) -> Decimal:
    return ctx.starting_balance * ctx.limits.daily_loss_limit_pct / HUNDRED


def daily_loss_breached(ctx: RiskContext) -> bool:
    """Is the breaker tripped now (already today, or by today's loss)? The caller records the trip for the day."""
    loss = daily_loss(ctx)
    return ctx.daily_loss_tripped or (loss > ZERO and loss >= daily_loss_limit(ctx))


def check_daily_loss(ctx: RiskContext, quick: bool = False) -> CheckResult | bool:
    if quick:  # sells always pass; a buy passes unless the breaker is tripped
        return ctx.side != BUY or not daily_loss_breached(ctx)
    loss, limit, q = daily_loss(ctx), daily_loss_limit(ctx), ctx.quote_asset
    breached = daily_loss_breached(ctx)
    if breached and ctx.side == BUY:
        why = "tripped earlier today" if loss < limit else f"loss today {money(loss)} {q}"
        message = (f"daily loss limit reached ({why}; limit {pct(ctx.limits.daily_loss_limit_pct)}% of starting "
                   f"balance {money(ctx.starting_balance)} {q} = {money(limit)}): buys are refused until "
                   f"00:00 UTC")
        passed = False
    elif breached:
        message = "daily loss limit reached; sells, which reduce exposure, are still allowed"
        passed = True
    else:
        message = f"loss today {money(loss)} {q} is within the daily limit {money(limit)} {q}"
        passed = True
    return _result("daily_loss_limit", passed, RejectCode.RISK_DAILY_LOSS_LIMIT, message, limit, loss,
                   tripped=breached, limit_pct=ctx.limits.daily_loss_limit_pct)


def check_order_rate(ctx: RiskContext, quick: bool = False) -> CheckResult | bool:
    limit, count = ctx.limits.order_rate_limit, ctx.orders_last_minute
    passed = count < limit
    if quick:
        return passed
    message = (f"{count} orders in the last 60 s, limit {limit} per minute" if passed else
               f"{count} orders in the last 60 s reach the limit of {limit} per minute")
    return _result("order_rate", passed, RejectCode.RISK_ORDER_RATE, message, limit, count)


def check_min_order_size(ctx: RiskContext, quick: bool = False) -> CheckResult | bool:
    usd, limit = ctx.notional * ctx.quote_usd_rate, ctx.limits.min_order_size_usd
    passed = usd >= limit
    if quick:
        return passed
    message = (f"order notional {money(usd)} USD is at least the minimum {money(limit)} USD" if passed else
               f"order notional {money(usd)} USD is below the minimum {money(limit)} USD")
    return _result("min_order_size", passed, RejectCode.RISK_MIN_ORDER_SIZE, message, limit, usd)


def check_max_order_size(ctx: RiskContext, quick: bool = False) -> CheckResult | bool:
    limit_pct, q = ctx.limits.max_order_size_pct, ctx.quote_asset
    cap = ctx.available_quote * limit_pct / HUNDRED
    if ctx.side == SELL:
        if quick:
            return True
        message = "sells are not limited by the available quote balance"
        return _result("max_order_size", True, RejectCode.RISK_MAX_ORDER_SIZE, message, cap, ctx.notional)
    passed = ctx.notional <= cap
    if quick:
        return passed
    verb = "is within" if passed else "exceeds"
    message = (f"order notional {money(ctx.notional)} {q} {verb} {pct(limit_pct)}% of available "
               f"{money(ctx.available_quote)} {q} ({money(cap)})")
    return _result("max_order_size", passed, RejectCode.RISK_MAX_ORDER_SIZE, message, cap, ctx.notional,
                   limit_pct=limit_pct)


def check_max_position_size(ctx: RiskContext, quick: bool = False) -> CheckResult | bool:
    limit_pct, q = ctx.limits.max_position_size_pct, ctx.quote_asset
    cap = ctx.equity * limit_pct / HUNDRED
    if ctx.side == SELL:
        if quick:
            return True
        value = max(ctx.position_quantity - ctx.quantity, ZERO) * ctx.price
        message = "sells only reduce the position"
        return _result("max_position_size", True, RejectCode.RISK_MAX_POSITION_SIZE, message, cap, value)
    value = (ctx.position_quantity + ctx.quantity) * ctx.price
    passed = value <= cap
    if quick:
        return passed
    verb = "is within" if passed else "exceeds"
    message = (f"resulting position {money(value)} {q} {verb} {pct(limit_pct)}% of equity "
               f"{money(ctx.equity)} {q} ({money(cap)})")
    return _result("max_position_size", passed, RejectCode.RISK_MAX_POSITION_SIZE, message, cap, value,
                   limit_pct=limit_pct)


def check_max_open_orders(ctx: RiskContext, quick: bool = False) -> CheckResult | bool:
    limit, count = ctx.limits.max_open_orders, ctx.open_orders
    passed = not ctx.adds_open_order or count < limit
    if quick:
        return passed
    if not ctx.adds_open_order:
        message = f"the order would not rest; {count} open orders, limit {limit}"
    elif passed:
        message = f"{count} open orders, limit {limit}"
    else:
        message = f"{count} open orders reach the limit of {limit}; cancel some before placing a resting order"
    return _result("max_open_orders", passed, RejectCode.RISK_MAX_OPEN_ORDERS, message, limit, count)


def check_balance(ctx: RiskContext, quick: bool = False) -> CheckResult | bool:
    if ctx.side == BUY:
        need, have, q = ctx.balance_required, ctx.available_quote, ctx.quote_asset
        passed = need <= have
        if quick:
            return passed
        message = (f"order needs {money(need)} {q} including the fee; available {money(have)} {q}" if passed else
                   f"insufficient {q}: order needs {money(need)} {q} including the fee, available {money(have)} {q}")
        return _result("balance", passed, RejectCode.INSUFFICIENT_BALANCE, message, have, need, asset=q)
    need, base = ctx.quantity, ctx.base_asset
    if ctx.reduce_only and need > ctx.position_quantity:
        if quick:
            return False
        message = (f"reduce-only sell of {plain(need)} {base} exceeds the position "
                   f"{plain(ctx.position_quantity)} {base}")
        return _result("balance", False, RejectCode.INSUFFICIENT_BALANCE, message, ctx.position_quantity, need,
                       asset=base)
    passed = need <= ctx.available_base
    if quick:
        return passed
    message = (f"sell of {plain(need)} {base}; available {plain(ctx.available_base)} {base}" if passed else
               f"insufficient {base}: sell of {plain(need)} {base}, available {plain(ctx.available_base)} {base}")
    return _result("balance", passed, RejectCode.INSUFFICIENT_BALANCE, message, ctx.available_base, need,
                   asset=base)


RISK_CHAIN: Final[tuple[Rule, ...]] = (
    check_agent_active,
    check_daily_loss,
    check_order_rate,
    check_min_order_size,
    check_max_order_size,
    check_max_position_size,
    check_max_open_orders,
    check_balance,
)


def run_chain(ctx: RiskContext) -> list[CheckResult]:
    """Every rule's verdict, in chain order (for preview's ``checks``)."""
    return [rule(ctx) for rule in RISK_CHAIN]


def enforce(ctx: RiskContext) -> None:
    """Raise ``EngineRejection`` for the first rule the order breaks; return quietly if all pass.

    Each rule is first asked for its verdict only (``quick``: no message formatting, the hot path of every
    order); the full result with its message is built for the rule that fails."""
    for rule in RISK_CHAIN:
        if rule(ctx, True):
            continue
        result = rule(ctx)
        if not result.passed:
            raise EngineRejection(result.code, result.message,
                                  {"rule": result.rule, "limit": result.limit, "value": result.value,
                                   **result.details})
