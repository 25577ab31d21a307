"""Is an order well formed, and does it respect the pair's exchange rules? ``validate_intent`` says, or raises.

Shape (``VALIDATION_ERROR``, 400, ``details.fields`` names the field):
- exactly one of ``quantity`` / ``quote_quantity``, every amount > 0;
- ``quote_quantity`` only on market orders (the matcher turns it into a base quantity, rounded DOWN to the step);
- ``price`` required on limit, stop_limit and take_profit_limit, forbidden on market, stop_loss and take_profit;
- ``trigger_price`` required on stop_loss, take_profit, stop_limit and take_profit_limit, forbidden on market and
  limit;
- ``post_only`` only on gtc limit orders; ``reduce_only`` only on sells (spot, long-only: a buy never reduces);
- market orders accept ioc and fok; gtc on a market order is read as ioc (nothing of a market order rests).

Exchange rules (422):
- ``price`` and ``trigger_price`` multiples of ``tick_size`` -> ``INVALID_TICK_SIZE``;
- ``quantity`` a multiple of ``step_size`` -> ``INVALID_STEP_SIZE``;
- ``quantity >= min_qty`` and notional >= ``min_notional`` -> ``INVALID_QUANTITY``. The notional is quantity times
  the limit price (limit, stop_limit, take_profit_limit), the trigger price (stop_loss, take_profit), the
  ``reference_price`` when the caller gives one (market orders), or ``quote_quantity`` itself when there is no price
  at all.
- One rule for both sizes: a ``quote_quantity`` is judged as the base quantity it buys at the reference price,
  ``floor(quote_quantity / price, step)``, against min_qty and min_notional, like a ``quantity``; a
  ``quote_quantity`` finer than 8 places (the quote asset's precision) -> ``INVALID_STEP_SIZE``, never truncated.
- the symbol must be the instrument's -> ``UNKNOWN_SYMBOL``.
"""

from dataclasses import replace
from decimal import Decimal
from typing import Final, cast

from .money import AMOUNT_PLACES, AMOUNT_QUANTUM, ZERO, is_multiple, quantize_down

from ._text import plain
from .types import EngineRejection, Instrument, OrderIntent, OrderType, RejectCode, Side, TimeInForce
from .types import BUY, GTC, IOC, LIMIT, MARKET, STOP_LIMIT, STOP_LOSS, TAKE_PROFIT, TAKE_PROFIT_LIMIT

PRICED_TYPES: Final = frozenset({LIMIT, STOP_LIMIT, TAKE_PROFIT_LIMIT})
TRIGGERED_TYPES: Final = frozenset({STOP_LOSS, TAKE_PROFIT, STOP_LIMIT,
                             TAKE_PROFIT_LIMIT})
# conditional orders that become a limit order at their ``price`` when they fire (and then rest like one)
FIRES_AS_LIMIT: Final = frozenset({STOP_LIMIT, TAKE_PROFIT_LIMIT})


def _invalid(field: str, message: str) -> EngineRejection:
    return EngineRejection(RejectCode.VALIDATION_ERROR, f"{field}: {message}", {"fields": {field: [message]}})


def market_time_in_force(tif: str) -> str:
    """What a market order does with its time in force: ioc and fok as asked, gtc read as ioc."""
    return IOC if tif == GTC else tif


def _enum(enum_cls, value, field: str):
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise _invalid(field, f"must be one of {allowed}, got {value!r}") from None


def _check_shape(intent: OrderIntent) -> None:
    for name in ("quantity", "quote_quantity", "price", "trigger_price"):
        value = getattr(intent, name)
        if value is not None and (not isinstance(value, Decimal) or not value.is_finite() or value <= ZERO):
            raise _invalid(name, f"must be a positive decimal, got {value!r}")
    if (intent.quantity is None) == (intent.quote_quantity is None):
        raise _invalid("quantity", "give exactly one of quantity and quote_quantity")
    if intent.quote_quantity is not None and intent.type != MARKET:
        raise _invalid("quote_quantity", "only market orders take quote_quantity; give quantity")
    if intent.type in PRICED_TYPES and intent.price is None:
        raise _invalid("price", f"required for {intent.type} orders")
    if intent.type not in PRICED_TYPES and intent.price is not None:
        raise _invalid("price", f"not allowed on {intent.type} orders")
    if intent.type in TRIGGERED_TYPES and intent.trigger_price is None:
        raise _invalid("trigger_price", f"required for {intent.type} orders")
    if intent.type not in TRIGGERED_TYPES and intent.trigger_price is not None:
        raise _invalid("trigger_price", f"not allowed on {intent.type} orders")
    if intent.post_only and (intent.type != LIMIT or intent.time_in_force != GTC):
        raise _invalid("post_only", "only gtc limit orders can be post-only")
    if intent.reduce_only and intent.side == BUY:
        raise _invalid("reduce_only", "a buy cannot reduce a spot position; reduce_only is for sells")


def _check_exchange_rules(intent: OrderIntent, instrument: Instrument, reference_price: Decimal | None) -> None:
    for name in ("price", "trigger_price"):
        value = getattr(intent, name)
        if value is not None and not is_multiple(value, instrument.tick_size):
            raise EngineRejection(
                RejectCode.INVALID_TICK_SIZE,
                f"{name} {plain(value)} is not a multiple of the tick size {plain(instrument.tick_size)}",
                {"field": name, "value": str(value), "tick_size": str(instrument.tick_size)})
    quantity = intent.quantity
    if quantity is not None and not is_multiple(quantity, instrument.step_size):
        raise EngineRejection(
            RejectCode.INVALID_STEP_SIZE,
            f"quantity {plain(quantity)} is not a multiple of the step size {plain(instrument.step_size)}",
            {"field": "quantity", "value": str(quantity), "step_size": str(instrument.step_size)})
    field = "quantity"
    price = intent.price or intent.trigger_price or reference_price
    if intent.quote_quantity is not None:
        # One rule for both sizes: a quote_quantity stands for the base quantity it buys at the reference price,
        # rounded DOWN to the step, and that quantity meets min_qty and min_notional exactly like a quantity.
        # Amounts finer than the quote asset's precision (8 places) would be cut silently: refused instead.
        field = "quote_quantity"
        if not is_multiple(intent.quote_quantity, AMOUNT_QUANTUM):
            raise EngineRejection(
                RejectCode.INVALID_STEP_SIZE,
                f"quote_quantity {plain(intent.quote_quantity)} has more than {AMOUNT_PLACES} decimal places "
                f"({instrument.quote} precision)",
                {"field": field, "value": str(intent.quote_quantity), "step_size": str(AMOUNT_QUANTUM)})
        if price is not None:
            quantity = quantize_down(intent.quote_quantity / price, instrument.step_size)
    if quantity is not None and quantity < instrument.min_qty:
        what = (f"quantity {plain(quantity)}" if field == "quantity" else
                f"quote_quantity {plain(intent.quote_quantity)} {instrument.quote} buys {plain(quantity)} "
                f"{instrument.base} at {plain(cast(Decimal, price))}, which")
        raise EngineRejection(
            RejectCode.INVALID_QUANTITY,
            f"{what} is below the minimum {plain(instrument.min_qty)} {instrument.base}",
            {"field": field, "value": str(quantity), "min_qty": str(instrument.min_qty)})
    if quantity is None:
        notional = intent.quote_quantity
    else:
        notional = quantity * price if price is not None else None
    if notional is not None and notional < instrument.min_notional:
        raise EngineRejection(
            RejectCode.INVALID_QUANTITY,
            f"order notional {plain(notional)} {instrument.quote} is below the minimum "
            f"{plain(instrument.min_notional)} {instrument.quote}",
            {"field": field, "notional": str(notional), "min_notional": str(instrument.min_notional)})


def validate_intent(intent: OrderIntent, instrument: Instrument, *,
                    reference_price: Decimal | None = None) -> OrderIntent:
    """The order, normalised (enums parsed, market gtc -> ioc), or ``EngineRejection`` on the first broken rule.

    ``reference_price`` (the last price) lets a market order given by quantity be checked against min_notional.
    """
    side, otype, tif = intent.side, intent.type, intent.time_in_force or GTC
    if (type(side) is not Side or type(otype) is not OrderType or type(tif) is not TimeInForce
            or intent.time_in_force is None):
        intent = replace(intent, side=_enum(Side, side, "side"), type=_enum(OrderType, otype, "type"),
                         time_in_force=_enum(TimeInForce, tif, "time_in_force"))
    if intent.symbol != instrument.symbol:
        raise EngineRejection(RejectCode.UNKNOWN_SYMBOL, f"unknown symbol {intent.symbol!r}",
                              {"symbol": intent.symbol})
    _check_shape(intent)
    _check_exchange_rules(intent, instrument, reference_price)
    if intent.type == MARKET and intent.time_in_force == GTC:
        intent = OrderIntent(intent.symbol, intent.side, intent.type, intent.quantity, intent.quote_quantity,
                             intent.price, intent.trigger_price, IOC, intent.post_only,
                             intent.reduce_only)
    return intent
