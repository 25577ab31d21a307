"""The fill engine: one set of rules for live trading, battles and backtests.

Taking liquidity (market orders, and limit orders marketable on arrival) — taker fee:
- With a book on the side the order takes from, walk it level by level, best first, each level at its own price
  (one ``Execution`` per level). A limit order only takes levels at or better than its limit.
  A quote_quantity order spends (buy) or receives (sell) at most that quote amount: at each level it takes the
  whole level or as many steps as the rest of the amount pays for, rounded DOWN to the step.
- Without a book, one execution of the whole quantity at the slippage-model price (``slippage.py``); a
  marketable limit order gets that price capped at its limit (a buy never pays more, a sell never gets less).

Time in force, for what could not be filled at once:
- gtc: the rest of a limit order stays on the book (status ``partially_filled``, or ``new`` if nothing filled);
  market orders read gtc as ioc.
- ioc: the rest expires (status ``expired``; the fills it got are kept).
- fok: all or nothing: not fully fillable at once -> status ``rejected``, ``FOK_NOT_FILLABLE``, no executions.
- post_only: a limit order that would take on arrival -> ``EngineRejection(POST_ONLY_WOULD_TAKE)``.

Resting limit orders (``match_resting``): a tick that trades through the limit (buy: tick <= limit; sell: tick >=
limit) fills the whole rest at the LIMIT price, maker fee, slippage 0 (paper trading: no queue position).

Conditional orders (``is_triggered``): stop_loss and stop_limit fire when the last price falls to the trigger
(sell) or rises to it (buy); take_profit and take_profit_limit when it rises to it (sell) or falls to it (buy).
Once fired, stop_loss and take_profit execute as market orders, stop_limit and take_profit_limit as a limit order
at their price (``triggered_intent``).
"""

# mypy: disable-error-code="misc"
# (for the frozen dataclasses' written-out ``__init__``, which mypy calls assignments to read-only properties;
# see ``_fast.py``)

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final

from ._fast import fast_init
from .money import quantize_amount, quantize_down

from ._text import plain
from .fees import bps_for, fee_for
from .slippage import DEFAULT_SLIPPAGE, SlippageModel, slipped_price, slippage_pct
from .types import (
    PRICE_QUANTUM,
    BookLevel,
    Bound,
    CrossingBounds,
    EngineRejection,
    Execution,
    FeeRate,
    Instrument,
    MarketState,
    MatchResult,
    OrderIntent,
    Preview,
    RejectCode,
    RestingOrder,
)
from .types import (
    BUY,
    EXPIRED,
    FILLED,
    FOK,
    GTC,
    LIMIT,
    MAKER,
    MARKET,
    NEW,
    PARTIALLY_FILLED,
    REJECTED,
    SELL,
    STOP_LIMIT,
    STOP_LOSS,
    TAKER,
    TAKE_PROFIT,
    TAKE_PROFIT_LIMIT,
)
from .validation import FIRES_AS_LIMIT, TRIGGERED_TYPES, market_time_in_force

ZERO: Final = Decimal(0)
NO_FEE: Final = quantize_amount(ZERO)  # fee_for(0, any rate, any role): 0 rounded up to 8 places, Decimal("0E-8")


# --- price relations --------------------------------------------------------------------------------------------

def crosses(side: str, price: Decimal, limit: Decimal) -> bool:
    """A trade at ``price`` is at or better than ``limit`` for this side (buy: price <= limit, sell: >=)."""
    return price <= limit if side == BUY else price >= limit


def is_triggered(side: str, order_type: str, trigger_price: Decimal, last_price: Decimal) -> bool:
    """Has a conditional order fired at ``last_price``?

    stop_loss / stop_limit: sell when last <= trigger, buy when last >= trigger.
    take_profit / take_profit_limit: sell when last >= trigger, buy when last <= trigger.
    """
    if order_type in (STOP_LOSS, STOP_LIMIT):
        return last_price <= trigger_price if side == SELL else last_price >= trigger_price
    if order_type in (TAKE_PROFIT, TAKE_PROFIT_LIMIT):
        return last_price >= trigger_price if side == SELL else last_price <= trigger_price
    raise ValueError(f"{order_type} orders have no trigger")


def triggered_intent(intent: OrderIntent) -> OrderIntent:
    """What a fired conditional order becomes: stop_loss/take_profit -> market, stop_limit/take_profit_limit ->
    limit at its price."""
    if intent.type in FIRES_AS_LIMIT:
        return replace(intent, type=LIMIT, trigger_price=None)
    if intent.type in (STOP_LOSS, TAKE_PROFIT):
        return replace(intent, type=MARKET, trigger_price=None,
                       time_in_force=market_time_in_force(intent.time_in_force))
    raise ValueError(f"{intent.type} orders have no trigger")


def crossing_bounds(side: str, price: Decimal) -> CrossingBounds:
    """For a tick at ``price``: the resting orders of ``side`` it fills or fires, as one range per column.

    limit: buys with limit >= P, sells with limit <= P. stop_loss/stop_limit triggers: sells with trigger >= P,
    buys with trigger <= P. take_profit/take_profit_limit triggers: sells with trigger <= P, buys with trigger >= P.
    Each ``Bound(op, price)`` is the inverse of ``crosses`` / ``is_triggered`` for that column, so one indexed
    ``<column>__<op>=price`` query per side finds exactly the orders those functions would accept.
    """
    at_or_above, at_or_below = Bound("gte", price), Bound("lte", price)
    if side == BUY:
        return CrossingBounds(side=side, limit=at_or_above, stop=at_or_below, take_profit=at_or_above)
    return CrossingBounds(side=side, limit=at_or_below, stop=at_or_above, take_profit=at_or_below)


def range_bounds(side: str, low: Decimal, high: Decimal) -> CrossingBounds:
    """``crossing_bounds`` for a price range (a candle, or the ticks between two sweeps): every order that some
    price in [low, high] would reach. ``gte`` bounds take the low, ``lte`` bounds the high."""
    def widest(bound: Bound) -> Bound:
        return Bound(bound.op, low if bound.op == "gte" else high)

    one = crossing_bounds(side, low)
    return CrossingBounds(side=side, limit=widest(one.limit), stop=widest(one.stop),
                          take_profit=widest(one.take_profit))


# --- taking liquidity -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Take:
    """Internal: the (price, quantity) fills of a taking pass, and whether the order got all it asked for."""

    fills: tuple[tuple[Decimal, Decimal], ...]
    complete: bool

    def __init__(self, fills: tuple[tuple[Decimal, Decimal], ...], complete: bool) -> None:
        self.fills = fills
        self.complete = complete


fast_init(_Take)


def _levels_to_take(side: str, market: MarketState) -> tuple[BookLevel, ...]:
    return market.asks if side == BUY else market.bids


def is_marketable(intent: OrderIntent, market: MarketState) -> bool:
    """Would the order take liquidity on arrival? Market: always. Limit: its limit reaches the best opposite
    price (buy limit >= best ask), or the last price when no book is known."""
    if intent.price is None:
        return True
    levels = _levels_to_take(intent.side, market)
    best = levels[0].price if levels else market.last_price
    return crosses(intent.side, best, intent.price)


def _walk_book(intent: OrderIntent, levels: tuple[BookLevel, ...], step: Decimal) -> _Take:
    """Take levels best first, up to the quantity (or quote amount) and, for limits, only at or inside the limit."""
    remaining_qty = intent.quantity
    remaining_quote = intent.quote_quantity
    fills = []
    for level in levels:
        if intent.price is not None and not crosses(intent.side, level.price, intent.price):
            break
        available = quantize_down(level.quantity, step)
        if remaining_qty is not None:
            take = min(available, remaining_qty)
            remaining_qty -= take
            done = remaining_qty == ZERO
        else:
            affordable = quantize_down(remaining_quote / level.price, step)
            take = min(available, affordable)
            remaining_quote -= level.price * take
            done = affordable <= available  # the rest cannot pay for one more step at this level's price
        if take > ZERO:
            fills.append((level.price, take))
        if done:
            return _Take(tuple(fills), complete=True)
    return _Take(tuple(fills), complete=False)


def _model_fill(intent: OrderIntent, market: MarketState, step: Decimal, tick: Decimal,
                slippage: SlippageModel) -> _Take:
    """No book: the whole order at the slippage-model price (capped at the limit for limit orders)."""
    last = market.last_price
    notional = intent.quote_quantity if intent.quantity is None else intent.quantity * last
    price = slipped_price(intent.side, last, slippage.pct_for(notional, market.volume_24h_quote), tick)
    if intent.price is not None:
        price = min(price, intent.price) if intent.side == BUY else max(price, intent.price)
    quantity = intent.quantity if intent.quantity is not None else quantize_down(intent.quote_quantity / price, step)
    return _Take(((price, quantity),) if quantity > ZERO else (), complete=True)


def _take(intent: OrderIntent, market: MarketState, instrument: Instrument, slippage: SlippageModel) -> _Take:
    if not is_marketable(intent, market):
        return _Take((), complete=False)
    levels = _levels_to_take(intent.side, market)
    if levels:
        return _walk_book(intent, levels, instrument.step_size)
    return _model_fill(intent, market, instrument.step_size, instrument.tick_size, slippage)


def _execution(price: Decimal, quantity: Decimal, side: str, liquidity: str, fee_rate: FeeRate,
               fee_asset: str, reference: Decimal | None) -> Execution:
    """One fill: quote amount settled to 8 places, fee on it rounded up; slippage vs ``reference`` (None: 0).
    (Positional arguments: it runs for every fill.)"""
    amount = quantize_amount(price * quantity)
    return Execution(price, quantity, amount, fee_for(amount, fee_rate, liquidity), fee_asset, liquidity,
                     ZERO if reference is None else slippage_pct(side, price, reference))


def _rejected(code: str, message: str, quantity: Decimal, **details) -> MatchResult:
    return MatchResult(status=REJECTED, remaining_quantity=quantity, reject_code=code,
                       reject_message=message, reject_details=details)


def _settle(intent: OrderIntent, taken: _Take, market: MarketState, fee_rate: FeeRate,
            instrument: Instrument) -> MatchResult:
    """Apply time in force to a taking pass and turn its fills into executions and a status."""
    ordered = intent.quantity or ZERO  # quote orders: the base quantity is whatever the quote amount bought
    fills = taken.fills
    filled = ZERO  # sum(..., ZERO) without a generator (same additions, same order)
    for _, q in fills:
        filled += q
    tif = market_time_in_force(intent.time_in_force) if intent.type == MARKET else intent.time_in_force

    if not taken.complete and tif == FOK:
        wanted = (f"quantity {plain(intent.quantity)}" if intent.quantity is not None
                  else f"quote_quantity {plain(intent.quote_quantity)}")
        return _rejected(RejectCode.FOK_NOT_FILLABLE,
                         f"fill-or-kill order for {wanted} cannot be filled in full now "
                         f"(fillable: {plain(filled)} {instrument.base})",
                         ordered, fillable=str(filled))
    if intent.quantity is None and filled < max(instrument.min_qty, instrument.step_size):
        return _rejected(RejectCode.INVALID_QUANTITY,
                         f"quote_quantity {plain(intent.quote_quantity)} {instrument.quote} fills {plain(filled)} "
                         f"{instrument.base}, below the minimum {plain(instrument.min_qty)}",
                         ZERO, fillable=str(filled), min_qty=str(instrument.min_qty))

    side, last, fee_asset = intent.side, market.last_price, instrument.quote
    executions = tuple([_execution(p, q, side, TAKER, fee_rate, fee_asset, last) for p, q in fills])
    remaining = ZERO if intent.quantity is None else ordered - filled
    if taken.complete:
        status = FILLED
    elif tif == GTC:  # only limit orders get here with gtc
        status = PARTIALLY_FILLED if filled else NEW
    else:
        status = EXPIRED
    if filled:
        quote = ZERO
        for e in executions:
            quote += e.quote_amount
        slipped = slippage_pct(side, (quote / filled).quantize(PRICE_QUANTUM), last)  # of the average price
    else:
        slipped = ZERO
    return MatchResult(executions, status, filled, remaining, None, None, slipped)


def match_order(intent: OrderIntent, market: MarketState, fee_rate: FeeRate, *, instrument: Instrument,
                slippage: SlippageModel = DEFAULT_SLIPPAGE) -> MatchResult:
    """A validated order against the market now: on arrival, or a conditional order re-checked on a tick.

    Market and limit orders take what they can (taker fee) and apply their time in force. A conditional order
    that has not fired comes back ``new`` and untouched; one that has fires (``triggered=True``) and is matched
    as the market or limit order it becomes. Raises ``EngineRejection(POST_ONLY_WOULD_TAKE)``; other refusals
    (FOK not fillable, a quote amount too small for one step) come back as status ``rejected`` with a code.
    """
    if intent.type in TRIGGERED_TYPES:
        if not is_triggered(intent.side, intent.type, intent.trigger_price, market.last_price):
            return MatchResult(status=NEW, remaining_quantity=intent.quantity)
        fired = match_order(triggered_intent(intent), market, fee_rate, instrument=instrument, slippage=slippage)
        return replace(fired, triggered=True)
    if intent.post_only and is_marketable(intent, market):
        levels = _levels_to_take(intent.side, market)
        best = levels[0].price if levels else market.last_price
        raise EngineRejection(
            RejectCode.POST_ONLY_WOULD_TAKE,
            f"post-only {intent.side} at {plain(intent.price)} would take liquidity at {plain(best)}",
            {"price": str(intent.price), "best_price": str(best)})
    return _settle(intent, _take(intent, market, instrument, slippage), market, fee_rate, instrument)


def match_resting(order: RestingOrder, price: Decimal, fee_rate: FeeRate, *, instrument: Instrument,
                  filled_before: Decimal = ZERO) -> MatchResult:
    """A resting limit order against a new tick: traded through (buy: tick <= limit, sell: tick >= limit) ->
    the whole open quantity fills at the LIMIT price as maker, slippage 0. For a candle pass its low for buys and
    its high for sells. ``filled_before`` only decides the status of an untouched order (new or partially_filled).
    """
    if not crosses(order.side, price, order.price):
        status = PARTIALLY_FILLED if filled_before else NEW
        return MatchResult(status=status, filled_quantity=ZERO, remaining_quantity=order.quantity)
    execution = _execution(order.price, order.quantity, order.side, MAKER, fee_rate, instrument.quote, None)
    return MatchResult(executions=(execution,), status=FILLED, filled_quantity=order.quantity,
                       remaining_quantity=ZERO)


# --- what an order needs, and what it would do ------------------------------------------------------------------

def order_lock(intent: OrderIntent, fee_rate: FeeRate, *, instrument: Instrument,
               quantity: Decimal | None = None, slippage: SlippageModel = DEFAULT_SLIPPAGE) -> tuple[str, Decimal]:
    """``(asset, amount)`` to lock for ``quantity`` (default: the whole order) of an order that rests.

    Pass ``fees.highest_fee_rate(tiers)`` as ``fee_rate``: the wallet's tier may rise before the order fills.
    Sells lock the base quantity. Limit (and stop_limit / take_profit_limit) buys lock ``quantity * price`` plus the
    fee at the higher of the maker/taker rates. Lock a limit order AFTER ``match_order``, for its
    ``remaining_quantity`` only (its taking part is paid at once): the rest can then only fill at its limit, so the
    lock always covers that fill to the last unit. stop_loss / take_profit buys lock ``quantity * ceil_tick(trigger *
    (1 + max_pct / 100))`` plus the taker fee, the most the no-book model charges once they fire — a reservation, not
    a bound: a book walk (or per-level fee rounding) can cost more, so release it and re-check the wallet when the
    order fires. Market orders lock nothing (``ValueError``): ``preview().balance_required`` says what they need.
    """
    if intent.type == MARKET:
        raise ValueError("market orders execute at once and lock nothing; use preview().balance_required")
    quantity = intent.quantity if quantity is None else quantity
    if intent.side == SELL:
        return instrument.base, quantity
    if intent.type == LIMIT or intent.type in FIRES_AS_LIMIT:
        notional = quantize_amount(quantity * intent.price)
        worst = max(fee_for(notional, fee_rate, MAKER), fee_for(notional, fee_rate, TAKER))
        return instrument.quote, notional + worst
    worst_price = slipped_price(BUY, intent.trigger_price, slippage.max_pct, instrument.tick_size)
    notional = quantize_amount(quantity * worst_price)
    return instrument.quote, notional + fee_for(notional, fee_rate, TAKER)


def _unfired_market(intent: OrderIntent, market: MarketState) -> MarketState:
    """The market a conditional order that has not fired yet is estimated against: fired at its trigger price,
    and no book (the book of that future moment is unknown)."""
    return replace(market, last_price=intent.trigger_price, bids=(), asks=())


def preview(intent: OrderIntent, market: MarketState, fee_rate: FeeRate, *, instrument: Instrument,
            lock_fee_rate: FeeRate | None = None, slippage: SlippageModel = DEFAULT_SLIPPAGE) -> Preview:
    """What the validated order would do now, by the very code that fills it (``match_order``), without side
    effects. A conditional order not yet fired is estimated as fired at its trigger price (no book); the part of a
    gtc limit that would rest is counted at its limit price with the maker fee.

    notional = filled quote amount + resting quantity * limit; est_fee likewise; est_price = notional / quantity.
    balance_required — what must be available to place the order, never less than what placing it moves:
    sells, the whole base quantity (spot: a sell is backed in full); market-like buys, their quote amount plus
    fee; limit buys, the larger of ``order_lock`` of the whole order and what placing it moves (its fills now plus
    ``order_lock`` of the rest — per-level fee rounding can make that a few units more); conditional buys still
    waiting for their trigger, ``order_lock`` of the whole order. A matcher refusal (post-only would take, FOK)
    is reported in ``reject_code`` rather than raised. Locks are computed at ``lock_fee_rate`` (pass
    ``highest_fee_rate(tiers)``, as for ``order_lock``; default: ``fee_rate``).
    """
    lock_rate = lock_fee_rate or fee_rate
    fired_now = intent.type not in TRIGGERED_TYPES or is_triggered(
        intent.side, intent.type, intent.trigger_price, market.last_price)
    sim_intent = intent if fired_now else triggered_intent(intent)
    sim_market = market if fired_now else _unfired_market(intent, market)
    reusable = None
    try:
        result = match_order(sim_intent, sim_market, fee_rate, instrument=instrument, slippage=slippage)
        reusable = result if fired_now else None
    except EngineRejection as exc:
        result = _rejected(exc.code, exc.message, intent.quantity or ZERO)

    reference = intent.price or intent.trigger_price or market.last_price
    status: str
    if result.reject_code:
        # nothing would execute; estimate the order whole at its own (or the last) price so risk can still judge it
        quantity = intent.quantity or quantize_down(intent.quote_quantity / reference, instrument.step_size)
        notional = intent.quote_quantity or quantize_amount(quantity * reference)
        role = MAKER if intent.post_only else TAKER
        est_fee = fee_for(notional, fee_rate, role)
        status, resting_qty = REJECTED, ZERO
    else:
        quantity = intent.quantity or result.filled_quantity
        resting_qty = result.remaining_quantity if result.rests and intent.price is not None else ZERO
        filled_quote, filled_fee = result.quote_amount, result.fee
        role = TAKER if result.executions or intent.price is None else MAKER
        if resting_qty:
            resting_notional = quantize_amount(resting_qty * intent.price)
            notional = filled_quote + resting_notional
            est_fee = filled_fee + fee_for(resting_notional, fee_rate, MAKER)
        else:  # nothing rests (every market order): the fee of nothing is 0E-8 whatever the rate
            notional = filled_quote + ZERO
            est_fee = filled_fee + NO_FEE
        status = result.status
    if not fired_now:
        # accepted now, waiting for its trigger: the estimate is of its firing, which is judged when it fires
        status, reject_code, reject_message = NEW, None, None
    else:
        reject_code, reject_message = result.reject_code, result.reject_message

    est_price = (notional / quantity).quantize(PRICE_QUANTUM) if quantity else reference
    if intent.side == SELL:
        asset, required = instrument.base, quantity
    elif not fired_now:  # waits for its trigger: reserve for the whole order
        asset, required = order_lock(intent, lock_rate, instrument=instrument, slippage=slippage)
    elif result.reject_code or intent.price is None:  # market-like: its (estimated) cost
        asset, required = instrument.quote, notional + est_fee
    else:  # a limit buy is backed whole, and at least what placing it moves: its fills now + the lock of the rest
        rest_lock = (order_lock(intent, lock_rate, instrument=instrument, quantity=resting_qty)[1]
                     if resting_qty else ZERO)
        moves_now = filled_quote + filled_fee + rest_lock
        asset, required = instrument.quote, max(moves_now, order_lock(intent, lock_rate, instrument=instrument)[1])
    return Preview(quantity=quantity, est_price=est_price, est_slippage_pct=result.slippage_pct,
                   notional=notional, est_fee=est_fee, fee_bps=bps_for(fee_rate, role), fee_role=role,
                   balance_required=required, balance_asset=asset,
                   rests=not fired_now or result.rests, status=status,
                   reject_code=reject_code, reject_message=reject_message, match=reusable)
