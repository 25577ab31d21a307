"""The order lifecycle as pure functions over plain data: place, execute, sweep, settle, close, valuation.

Every rule of an order's life has its home here (or in the modules this one calls: validation, matching, risk,
positions, fees, slippage). The two drivers call these functions and only load, lock and store:

- the live driver (``trading/services``): loads rows under row locks (``trading/locks.py``), converts them to the
  states below, calls these functions, persists what they return with bulk writes and hands the events on after
  commit;
- the in-memory driver (``trading/engine/memory.py``): keeps the same states in dicts, for backtests.

Each function returns its new state and a list of domain events (``trading.engine.events``); settings
(market-order slippage buffer, slippage model, fee rates, risk limits) come in as arguments. Money is Decimal.

    prepare(intent, ...)          validate, decide "takes now" / "expires now", preview        -> Prepared
    lock_requirement(...)         what an accepted order locks                                -> (asset, amount)
    risk_context(...)             the RiskContext of one order from plain account numbers     -> RiskContext
    accept(...)                   risk chain, the order's state, its lock posting, events     -> Accepted
    execute(order, market, ...)   an order that takes liquidity on arrival against the market -> Execution plan
    sweep(orders, low, high, ...) which resting / conditional orders a price range fills or fires
    settle(order, result, ...)    fills, balance movements (with the top-up), position, PnL, status -> Settled
    close(order, status, ...)     cancel / expire / reject and release the lock               -> Closed
    valuation(balances, prices, ...) cash, positions value, equity, unrealized PnL, ROI       -> Valuation
"""

# mypy: disable-error-code="misc"
# (for the frozen dataclasses' written-out ``__init__``, which mypy calls assignments to read-only properties;
# see ``_fast.py``)

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final, cast

from ._fast import fast_init
from .money import quantize_amount, quantize_down, quantize_up

from . import events as ev
from . import matching, risk, validation
from .fees import fee_for
from .limits import RiskLimits
from .positions import apply_execution, unrealized_pnl
from .slippage import DEFAULT_SLIPPAGE, SlippageModel
from .types import (
    EngineRejection,
    FeeRate,
    Instrument,
    MarketState,
    MatchResult,
    OrderIntent,
    PositionState,
    Preview,
    RejectCode,
    RestingOrder,
    RiskContext,
)
from .types import BUY, EXPIRED, GTC, LIMIT, MARKET, NEW, PARTIALLY_FILLED, REJECTED, SELL, TAKER, TRIGGERED

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
HUNDRED: Final = Decimal(100)
ROI_QUANTUM: Final = Decimal("0.0001")
OPEN_STATUSES: Final = frozenset({NEW, PARTIALLY_FILLED, TRIGGERED})
CONDITIONAL_TYPES: Final = validation.TRIGGERED_TYPES

# Ledger reasons (the live driver's LedgerEntry.Reason values)
ORDER_LOCK: Final = "order_lock"
ORDER_RELEASE: Final = "order_release"
FILL_REASON: Final = "fill"
FEE_REASON: Final = "fee"

# Which way a resting order's sweep price must be crossed (the live driver's Order.Fires values)
FIRES_AT_OR_BELOW: Final = "le"  # resting buys, stop sells, take-profit buys
FIRES_AT_OR_ABOVE: Final = "ge"  # resting sells, stop buys, take-profit sells

# The default of settings.MARKET_ORDER_MAX_SLIPPAGE_PCT
DEFAULT_MARKET_BUFFER_PCT: Final[Decimal] = Decimal(5)


# --- plain state --------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class BalanceState:
    available: Decimal = ZERO
    locked: Decimal = ZERO

    def __init__(self, available: Decimal = ZERO, locked: Decimal = ZERO) -> None:
        self.available = available
        self.locked = locked

    @property
    def total(self) -> Decimal:
        return self.available + self.locked


fast_init(BalanceState)


@dataclass(slots=True)
class OrderState:
    """An order as the engine sees it: what was asked, and where it stands. The drivers map it to their storage."""

    id: str
    wallet_id: str
    symbol: str
    base: str
    quote: str
    side: str
    type: str
    time_in_force: str
    quantity: Decimal | None
    quote_quantity: Decimal | None
    price: Decimal | None
    trigger_price: Decimal | None
    maker_bps: Decimal
    taker_bps: Decimal
    post_only: bool = False
    reduce_only: bool = False
    status: str = NEW
    filled_quantity: Decimal = ZERO
    filled_quote: Decimal = ZERO
    fees_paid: Decimal = ZERO
    fill_count: int = 0
    locked_asset: str = ""
    locked_amount: Decimal = ZERO
    needs_execution: bool = False  # takes liquidity on arrival: executed right after acceptance
    sweep_price: Decimal | None = None  # the price a tick must cross for a sweep to look at the order
    fires: str = ""  # FIRES_AT_OR_BELOW / FIRES_AT_OR_ABOVE / ""
    triggered_at: datetime | None = None
    closed_at: datetime | None = None
    reject_code: str = ""
    status_reason: str = ""
    reference_price: Decimal | None = None
    client_order_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __init__(self, id: str, wallet_id: str, symbol: str, base: str, quote: str, side: str, type: str,
                 time_in_force: str, quantity: Decimal | None, quote_quantity: Decimal | None, price: Decimal | None,
                 trigger_price: Decimal | None, maker_bps: Decimal, taker_bps: Decimal, post_only: bool = False,
                 reduce_only: bool = False, status: str = NEW, filled_quantity: Decimal = ZERO,
                 filled_quote: Decimal = ZERO, fees_paid: Decimal = ZERO, fill_count: int = 0, locked_asset: str = "",
                 locked_amount: Decimal = ZERO, needs_execution: bool = False, sweep_price: Decimal | None = None,
                 fires: str = "", triggered_at: datetime | None = None, closed_at: datetime | None = None,
                 reject_code: str = "", status_reason: str = "", reference_price: Decimal | None = None,
                 client_order_id: str | None = None, created_at: datetime | None = None,
                 updated_at: datetime | None = None) -> None:
        self.id = id
        self.wallet_id = wallet_id
        self.symbol = symbol
        self.base = base
        self.quote = quote
        self.side = side
        self.type = type
        self.time_in_force = time_in_force
        self.quantity = quantity
        self.quote_quantity = quote_quantity
        self.price = price
        self.trigger_price = trigger_price
        self.maker_bps = maker_bps
        self.taker_bps = taker_bps
        self.post_only = post_only
        self.reduce_only = reduce_only
        self.status = status
        self.filled_quantity = filled_quantity
        self.filled_quote = filled_quote
        self.fees_paid = fees_paid
        self.fill_count = fill_count
        self.locked_asset = locked_asset
        self.locked_amount = locked_amount
        self.needs_execution = needs_execution
        self.sweep_price = sweep_price
        self.fires = fires
        self.triggered_at = triggered_at
        self.closed_at = closed_at
        self.reject_code = reject_code
        self.status_reason = status_reason
        self.reference_price = reference_price
        self.client_order_id = client_order_id
        self.created_at = created_at
        self.updated_at = updated_at

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def fee_rate(self) -> FeeRate:
        return FeeRate(maker_bps=self.maker_bps, taker_bps=self.taker_bps)

    def intent(self) -> OrderIntent:
        return OrderIntent(symbol=self.symbol, side=self.side, type=self.type, quantity=self.quantity,
                           quote_quantity=self.quote_quantity, price=self.price, trigger_price=self.trigger_price,
                           time_in_force=self.time_in_force, post_only=self.post_only, reduce_only=self.reduce_only)


fast_init(OrderState)


@dataclass(frozen=True, slots=True)
class Movement:
    asset: str
    available: Decimal = ZERO
    locked: Decimal = ZERO

    def __init__(self, asset: str, available: Decimal = ZERO, locked: Decimal = ZERO) -> None:
        self.asset = asset
        self.available = available
        self.locked = locked


fast_init(Movement)


@dataclass(frozen=True, slots=True)
class Posting:
    """One ledger posting: movements of one wallet for one reason. ``ref_type`` "order" (ref_id the order id) or
    "fill" (ref_id the fill's ``seq`` within ``order_id``: the live driver knows the fill's row id only after the
    insert)."""

    wallet_id: str
    movements: tuple[Movement, ...]
    reason: str
    ref_type: str
    order_id: str
    fill_seq: int = 0

    def __init__(self, wallet_id: str, movements: tuple[Movement, ...], reason: str, ref_type: str, order_id: str,
                 fill_seq: int = 0) -> None:
        self.wallet_id = wallet_id
        self.movements = movements
        self.reason = reason
        self.ref_type = ref_type
        self.order_id = order_id
        self.fill_seq = fill_seq


fast_init(Posting)


@dataclass(frozen=True, slots=True)
class FillRecord:
    order_id: str
    seq: int
    wallet_id: str
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    quote_amount: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: str
    slippage_pct: Decimal
    realized_pnl: Decimal
    ts: datetime | None = None

    def __init__(self, order_id: str, seq: int, wallet_id: str, symbol: str, side: str, price: Decimal,
                 quantity: Decimal, quote_amount: Decimal, fee: Decimal, fee_asset: str, liquidity: str,
                 slippage_pct: Decimal, realized_pnl: Decimal, ts: datetime | None = None) -> None:
        self.order_id = order_id
        self.seq = seq
        self.wallet_id = wallet_id
        self.symbol = symbol
        self.side = side
        self.price = price
        self.quantity = quantity
        self.quote_amount = quote_amount
        self.fee = fee
        self.fee_asset = fee_asset
        self.liquidity = liquidity
        self.slippage_pct = slippage_pct
        self.realized_pnl = realized_pnl
        self.ts = ts


fast_init(FillRecord)


# --- event payloads --------------------------------------------------------------------------------------------------

def _order_snapshot(o: OrderState) -> tuple:
    """What of an order can change after it is accepted (the rest of ``order_data`` is fixed at acceptance)."""
    return (o.status, o.filled_quantity, o.filled_quote, o.fees_paid, o.locked_amount, o.reject_code,
            o.status_reason, o.updated_at, o.triggered_at, o.closed_at, o.needs_execution)


def _order_data_at(o: OrderState, status, filled_quantity, filled_quote, fees_paid, locked_amount, reject_code,
                   status_reason, updated_at, triggered_at, closed_at, needs_execution) -> dict:
    return {"id": o.id, "wallet_id": o.wallet_id, "client_order_id": o.client_order_id, "symbol": o.symbol,
            "side": str(o.side), "type": str(o.type), "status": str(status), "time_in_force": str(o.time_in_force),
            "quantity": o.quantity, "quote_quantity": o.quote_quantity, "price": o.price,
            "trigger_price": o.trigger_price, "post_only": o.post_only, "reduce_only": o.reduce_only,
            "filled_quantity": filled_quantity, "filled_quote": filled_quote,
            "avg_fill_price": filled_quote / filled_quantity if filled_quantity else None,
            "fees_paid": fees_paid, "quote_asset": o.quote, "base_asset": o.base, "locked_asset": o.locked_asset,
            "locked_amount": locked_amount, "reject_code": reject_code, "status_reason": status_reason,
            "created_at": o.created_at, "updated_at": updated_at, "triggered_at": triggered_at,
            "closed_at": closed_at, "needs_execution": needs_execution}


def order_data(o: OrderState) -> dict:
    """The order as it stands, every field a renderer needs (the API's order shape, as plain values)."""
    return _order_data_at(o, *_order_snapshot(o))


def fill_data(f: FillRecord, client_order_id: str | None = None) -> dict:
    return {"order_id": f.order_id, "client_order_id": client_order_id, "seq": f.seq, "symbol": f.symbol,
            "side": str(f.side), "price": f.price, "quantity": f.quantity, "quote_amount": f.quote_amount,
            "fee": f.fee, "fee_asset": f.fee_asset, "liquidity": str(f.liquidity), "slippage_pct": f.slippage_pct,
            "realized_pnl": f.realized_pnl, "created_at": f.ts}


def position_data(symbol: str, p: PositionState, *, base: str = "", quote: str = "", ts=None) -> dict:
    return {"symbol": symbol, "base_asset": base, "quote_asset": quote, "updated_at": ts, "quantity": p.quantity,
            "avg_entry_price": p.avg_entry_price, "cost_basis": p.cost, "realized_pnl": p.realized_pnl,
            "fees_paid": p.fees_paid}


def _posting_data(p: Posting) -> dict:
    return {"reason": p.reason, "order_id": p.order_id, "fill_seq": p.fill_seq,
            "movements": tuple([(m.asset, m.available, m.locked) for m in p.movements])}


# Order and fill events are built lazily (``Event.lazy``): the payload is made when a subscriber first reads it,
# from the order's snapshot taken now (an order changes after its event; a fill never does). Both objects are kept
# by the drivers anyway, so a lazy event costs one small tuple.

def _order_event(o: OrderState) -> ev.Event:
    return ev.Event.lazy(ev.STATUS_EVENTS[o.status], o.wallet_id, o.symbol, _order_data_at, o, o.status,
                         o.filled_quantity, o.filled_quote, o.fees_paid, o.locked_amount, o.reject_code,
                         o.status_reason, o.updated_at, o.triggered_at, o.closed_at, o.needs_execution)


def _posting_event(p: Posting, symbol: str) -> ev.Event:
    # built now: a payload of plain values is not tracked by the garbage collector, while a lazy one would keep
    # the posting and its movements alive (in a backtest that keeps every event, more for each collection to walk)
    return ev.Event(ev.BALANCE_MOVED, p.wallet_id, symbol, _posting_data(p))


# --- placing ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Prepared:
    """An order checked against its pair and the market now, before any wallet state is looked at."""

    intent: OrderIntent  # validated and normalised
    instrument: Instrument
    market: MarketState
    fee_rate: FeeRate
    preview: Preview
    takes_now: bool  # executes on arrival (market, marketable limit, conditional already past its trigger)
    expires_now: bool  # an ioc/fok limit that cannot take now: stored expired, nothing locked

    def __init__(self, intent: OrderIntent, instrument: Instrument, market: MarketState, fee_rate: FeeRate,
                 preview: Preview, takes_now: bool, expires_now: bool) -> None:
        self.intent = intent
        self.instrument = instrument
        self.market = market
        self.fee_rate = fee_rate
        self.preview = preview
        self.takes_now = takes_now
        self.expires_now = expires_now


fast_init(Prepared)


def prepare(intent: OrderIntent, *, instrument: Instrument, market: MarketState, fee_rate: FeeRate,
            trading: bool = True, slippage: SlippageModel = DEFAULT_SLIPPAGE) -> Prepared:
    """Validate the order and decide what it does on arrival. Raises ``EngineRejection`` (validation codes;
    ``MARKET_CLOSED`` when the pair is halted, or when the order would execute now on a stale price)."""
    if not trading:
        raise EngineRejection(RejectCode.MARKET_CLOSED, f"{intent.symbol} is halted: no trading.",
                              {"symbol": intent.symbol})
    intent = validation.validate_intent(intent, instrument, reference_price=market.last_price)
    if intent.type == MARKET:
        takes_now = True
    elif intent.type == LIMIT:
        takes_now = matching.is_marketable(intent, market)
    else:
        takes_now = matching.is_triggered(intent.side, intent.type, intent.trigger_price, market.last_price)
    if takes_now and market.stale:
        raise stale_price(intent.symbol)
    pv = matching.preview(intent, market, fee_rate, instrument=instrument, slippage=slippage)
    expires_now = intent.type == LIMIT and not takes_now and intent.time_in_force != GTC
    return Prepared(intent=intent, instrument=instrument, market=market, fee_rate=fee_rate, preview=pv,
                    takes_now=takes_now, expires_now=expires_now)


def stale_price(symbol: str) -> EngineRejection:
    return EngineRejection(RejectCode.MARKET_CLOSED,
                           f"The price of {symbol} is stale (the feed is not updating it): market orders are "
                           f"refused until it is fresh again.", {"symbol": symbol, "reason": "stale_price"})


def lock_requirement(prep: Prepared, *, available_base: Decimal = ZERO,
                     market_buffer_pct: Decimal = DEFAULT_MARKET_BUFFER_PCT) -> tuple[str, Decimal]:
    """(asset, amount) an order locks when it is accepted.

    Resting and conditional orders: the engine's ``order_lock``. Market orders execute right after acceptance
    (maybe by another process), so they lock too: sells their base quantity (by quote_quantity: the estimate plus
    ``market_buffer_pct``, capped at what is available); buys by quote_quantity that amount plus the taker fee;
    buys by quantity the estimated notional plus ``market_buffer_pct`` plus the taker fee on it. What the fill does
    not use is released when it settles; a fill that costs more draws the difference (``settle``).
    """
    intent, pv, spec = prep.intent, prep.preview, prep.instrument
    if intent.type != MARKET:
        return matching.order_lock(intent, prep.fee_rate, instrument=spec)
    buffer = ONE + market_buffer_pct / HUNDRED
    if intent.side == SELL:
        if intent.quantity is not None:
            return spec.base, intent.quantity
        wanted = quantize_up(pv.quantity * buffer, spec.step_size)
        return spec.base, max(min(wanted, quantize_down(available_base, spec.step_size)), pv.quantity)
    notional = intent.quote_quantity if intent.quote_quantity is not None else quantize_amount(pv.notional * buffer)
    return spec.quote, notional + fee_for(notional, prep.fee_rate, TAKER)


@dataclass(frozen=True, slots=True)
class Account:
    """What the risk chain needs of a wallet, as plain numbers the driver measured."""

    balances: dict  # asset -> BalanceState (or anything with available / locked)
    equity: Decimal
    starting_balance: Decimal
    day_start_equity: Decimal
    daily_loss_tripped: bool = False
    agent_status: str = "active"
    open_orders: int = 0
    orders_last_minute: int = 0

    def __init__(self, balances: dict, equity: Decimal, starting_balance: Decimal, day_start_equity: Decimal,
                 daily_loss_tripped: bool = False, agent_status: str = "active", open_orders: int = 0,
                 orders_last_minute: int = 0) -> None:
        self.balances = balances
        self.equity = equity
        self.starting_balance = starting_balance
        self.day_start_equity = day_start_equity
        self.daily_loss_tripped = daily_loss_tripped
        self.agent_status = agent_status
        self.open_orders = open_orders
        self.orders_last_minute = orders_last_minute


fast_init(Account)


def risk_context(prep: Prepared, account: Account, *, limits: RiskLimits, lock_amount: Decimal) -> RiskContext:
    """The ``RiskContext`` of one order: the preview's numbers, the lock as the balance a buy needs, the account."""
    intent, pv, spec = prep.intent, prep.preview, prep.instrument
    base, quote = account.balances.get(spec.base), account.balances.get(spec.quote)
    notional = pv.notional
    if not notional and intent.quantity is not None and intent.price is not None:
        # an ioc limit that cannot fill now executes nothing; the risk chain judges the order's size
        notional = quantize_amount(intent.quantity * intent.price)
    return RiskContext(
        limits=limits, side=intent.side, quantity=pv.quantity, price=pv.est_price, notional=notional,
        fee=pv.est_fee, balance_required=lock_amount if intent.side == BUY else pv.quantity,
        available_quote=quote.available if quote else ZERO, available_base=base.available if base else ZERO,
        position_quantity=(base.available + base.locked) if base else ZERO, equity=account.equity,
        starting_balance=account.starting_balance, day_start_equity=account.day_start_equity,
        quote_asset=spec.quote, base_asset=spec.base, agent_status=account.agent_status,
        open_orders=account.open_orders, orders_last_minute=account.orders_last_minute,
        daily_loss_tripped=account.daily_loss_tripped, adds_open_order=pv.rests, reduce_only=intent.reduce_only)


def rests_as_limit(order_type: str, triggered_at) -> bool:
    """Does this open order rest as a limit order: a limit, or a stop_limit / take_profit_limit that has fired."""
    return order_type == LIMIT or (order_type in validation.FIRES_AS_LIMIT and triggered_at is not None)


def sweep_key(side: str, order_type: str, price: Decimal) -> tuple[Decimal, str]:
    """(sweep_price, fires) of a resting order, from the engine's crossing bounds: a ``gte`` bound (order price >=
    tick) means the order acts when the price comes down to it, ``lte`` when it goes up to it."""
    bounds = matching.crossing_bounds(side, price)
    bound = bounds.limit if order_type == LIMIT else bounds.trigger(order_type)
    return price, (FIRES_AT_OR_BELOW if bound.op == "gte" else FIRES_AT_OR_ABOVE)


@dataclass(slots=True)
class Accepted:
    order: OrderState | None  # None when refused
    postings: list = field(default_factory=list)
    events: list = field(default_factory=list)
    rejection: EngineRejection | None = None
    daily_loss_tripped_now: bool = False  # the breaker trips with this order: the driver records it for the day

    def __init__(self, order: OrderState | None, postings: list | None = None, events: list | None = None,
                 rejection: EngineRejection | None = None, daily_loss_tripped_now: bool = False) -> None:
        self.order = order
        self.postings = [] if postings is None else postings
        self.events = [] if events is None else events
        self.rejection = rejection
        self.daily_loss_tripped_now = daily_loss_tripped_now


fast_init(Accepted)


def accept(prep: Prepared, account: Account, *, order_id: str, wallet_id: str, limits: RiskLimits, now: datetime,
           available_base: Decimal | None = None, market_buffer_pct: Decimal = DEFAULT_MARKET_BUFFER_PCT,
           client_order_id: str | None = None) -> Accepted:
    """Run the risk chain and, if it passes, the accepted order (its lock posted). Refusals come back in
    ``rejection`` (with a ``risk.breach`` event for RISK_* codes) rather than raised, so the driver can report
    them after rolling back."""
    intent, pv, spec = prep.intent, prep.preview, prep.instrument
    if pv.reject_code:
        return Accepted(None, rejection=EngineRejection(pv.reject_code, pv.reject_message or pv.reject_code,
                                                        {"symbol": intent.symbol}))
    if available_base is None:
        b = account.balances.get(spec.base)
        available_base = b.available if b else ZERO
    lock_asset, lock_amount = lock_requirement(prep, available_base=available_base,
                                               market_buffer_pct=market_buffer_pct)
    ctx = risk_context(prep, account, limits=limits, lock_amount=lock_amount)
    tripped_now = risk.daily_loss_breached(ctx) and not account.daily_loss_tripped
    try:
        risk.enforce(ctx)
    except EngineRejection as exc:
        out = Accepted(None, rejection=exc, daily_loss_tripped_now=tripped_now)
        if str(exc.code).startswith("RISK_"):
            out.events.append(ev.Event(ev.RISK_BREACH, wallet_id, intent.symbol,
                                       {"code": str(exc.code), "message": exc.message, "details": exc.details}))
        return out
    order = OrderState(
        id=order_id, wallet_id=wallet_id, symbol=intent.symbol, base=spec.base, quote=spec.quote, side=intent.side,
        type=intent.type, time_in_force=intent.time_in_force, quantity=intent.quantity,
        quote_quantity=intent.quote_quantity, price=intent.price, trigger_price=intent.trigger_price,
        maker_bps=prep.fee_rate.maker_bps, taker_bps=prep.fee_rate.taker_bps, post_only=intent.post_only,
        reduce_only=intent.reduce_only, locked_asset=lock_asset, reference_price=prep.market.last_price,
        client_order_id=client_order_id, created_at=now, updated_at=now)
    out = Accepted(order, daily_loss_tripped_now=tripped_now)
    if prep.expires_now:
        # an ioc/fok limit that cannot take now: nothing to do, nothing to lock (fok was refused by the preview)
        order.status, order.closed_at = EXPIRED, now
        order.status_reason = "time in force: nothing was fillable at once"
        out.events.append(_order_event(order))
        return out
    if prep.takes_now:
        order.needs_execution = True
    else:
        order.sweep_price, order.fires = sweep_key(intent.side, intent.type,
                                                   intent.price if intent.type == LIMIT
                                                   else intent.trigger_price)
    order.locked_amount = lock_amount
    posting = Posting(wallet_id, (Movement(lock_asset, available=-lock_amount, locked=lock_amount),), ORDER_LOCK,
                      "order", order_id)
    out.postings.append(posting)
    out.events.append(_order_event(order))
    out.events.append(_posting_event(posting, order.symbol))
    return out


# --- executing ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one order now: ``settle`` its ``result``, ``reject`` it (code, message), or ``wait``
    (a conditional order whose price moved back before it was executed: it rests for the sweeps)."""

    order: OrderState
    action: str  # "settle" | "reject" | "wait" | "none"
    result: MatchResult | None = None
    triggered: bool = False
    code: str = ""
    message: str = ""

    def __init__(self, order: OrderState, action: str, result: MatchResult | None = None, triggered: bool = False,
                 code: str = "", message: str = "") -> None:
        self.order = order
        self.action = action
        self.result = result
        self.triggered = triggered
        self.code = code
        self.message = message


fast_init(Plan)


def execute(order: OrderState, market: MarketState, *, instrument: Instrument,
            slippage: SlippageModel = DEFAULT_SLIPPAGE, prepared: Prepared | None = None) -> Plan:
    """An accepted order that takes liquidity on arrival, against the market now. ``prepared``: the order's own
    ``prepare`` result, when it is executed against the very market state it was prepared on (the in-memory
    driver; the live driver when it fills in the placing transaction): the preview's match is that execution."""
    result = None
    if prepared is not None and prepared.market is market:
        result = prepared.preview.match
    if result is None:
        try:
            result = matching.match_order(order.intent(), market, order.fee_rate, instrument=instrument,
                                          slippage=slippage)
        except EngineRejection as exc:  # post-only that would take now
            return Plan(order, "reject", code=str(exc.code), message=exc.message)
    if order.trigger_price is not None and not result.triggered:
        return Plan(order, "wait")
    return Plan(order, "settle", result=result, triggered=result.triggered)


def wait(order: OrderState, *, now: datetime) -> OrderState:
    """A conditional order that fired at placement but not by the time it was executed: it rests for the sweeps."""
    order.needs_execution = False
    order.sweep_price, order.fires = sweep_key(order.side, order.type, cast(Decimal, order.trigger_price))
    order.updated_at = now
    return order


def fire_price(order: OrderState, open_price: Decimal) -> Decimal:
    """The price a conditional order fires at in a candle: the open when the candle opened past the trigger (a gap
    fills at the open), else the trigger price itself."""
    trigger = cast(Decimal, order.trigger_price)  # (a conditional order has one)
    if matching.is_triggered(order.side, order.type, trigger, open_price):
        return open_price
    return trigger


def sweep(orders, low: Decimal, high: Decimal, *, instrument: Instrument, market: MarketState | None = None,
          open_price: Decimal | None = None, volume_24h_quote: Decimal | None = None, ts: datetime | None = None,
          slippage: SlippageModel = DEFAULT_SLIPPAGE) -> list[Plan]:
    """The plans for the open ``orders`` of one pair that some price in [low, high] reaches.

    Resting limits (and fired stop_limits / take_profit_limits) fill whole at their limit as maker when the range
    trades through it (buys judged at the low, sells at the high). Conditional orders fire when the range reaches
    their trigger and execute as what they become: against ``market`` (the live book and last price) when given, else
    (a candle) against no book at ``fire_price`` (the open on a gap, the trigger otherwise) moved by the slippage
    model. Orders the range does not reach get no plan. Plans come in (wallet, order id) order: the order their
    wallets pay in, in every driver.
    """
    plans = []
    for order in sorted(orders, key=lambda o: (o.wallet_id, o.id)):
        if not order.is_open or order.needs_execution:
            continue
        px = low if order.fires == FIRES_AT_OR_BELOW else high
        if rests_as_limit(order.type, order.triggered_at):
            result = matching.match_resting(
                RestingOrder(side=order.side, price=order.price, quantity=order.quantity - order.filled_quantity),
                px, order.fee_rate, instrument=instrument, filled_before=order.filled_quantity)
            if result.executions:
                plans.append(Plan(order, "settle", result=result))
            continue
        if not matching.is_triggered(order.side, order.type, order.trigger_price, px):
            continue
        state = market
        if state is None:
            state = MarketState(symbol=order.symbol, last_price=fire_price(order, open_price or px),
                                ts=ts, volume_24h_quote=volume_24h_quote)
        intent = matching.triggered_intent(order.intent())
        try:
            result = matching.match_order(intent, state, order.fee_rate, instrument=instrument, slippage=slippage)
        except EngineRejection as exc:
            plans.append(Plan(order, "reject", triggered=True, code=str(exc.code), message=exc.message))
            continue
        plans.append(Plan(order, "settle", result=result, triggered=True))
    return plans


# --- settling ---------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Settled:
    order: OrderState
    position: PositionState | None
    balances: dict  # asset -> BalanceState: the wallet's balances after this order's postings
    fills: list = field(default_factory=list)
    postings: list = field(default_factory=list)
    events: list = field(default_factory=list)

    def __init__(self, order: OrderState, position: PositionState | None, balances: dict, fills: list | None = None,
                 postings: list | None = None, events: list | None = None) -> None:
        self.order = order
        self.position = position
        self.balances = balances
        self.fills = [] if fills is None else fills
        self.postings = [] if postings is None else postings
        self.events = [] if events is None else events


fast_init(Settled)


def _fits(balances: dict, postings: Iterable[Posting]) -> dict | None:
    """``balances`` after the movements of ``postings``, in order (a new dict; untouched entries shared), or None
    if one of them takes a balance below zero."""
    running: dict[str, BalanceState] = {}  # asset -> its new balance as the movements go (each one checked in turn)
    for p in postings:
        for m in p.movements:
            asset = m.asset
            now = running.get(asset)
            if now is None:
                b = balances.get(asset)
                now = running[asset] = (BalanceState(b.available, b.locked) if b is not None
                                        else BalanceState(ZERO, ZERO))
            now.available = a = now.available + m.available
            now.locked = lk = now.locked + m.locked
            if a < ZERO or lk < ZERO:
                return None
    out = dict(balances)
    out.update(running)
    return out


def apply_postings(balances: dict, postings: Iterable[Posting]) -> dict:
    """A wallet's balances (asset -> BalanceState) after ``postings`` (a new dict); ``EngineRejection``
    (INSUFFICIENT_BALANCE) if one would take a balance below zero."""
    out = _fits(balances, postings)
    if out is None:
        raise EngineRejection(RejectCode.INSUFFICIENT_BALANCE, "a posting would take a balance below zero", {})
    return out


def close(order: OrderState, status: str, *, now: datetime, reason: str = "", code: str = "",
          balances: dict | None = None) -> Settled:
    """Cancel, expire or reject ``order`` and release what it still holds (one ``order_release`` posting)."""
    release = _close(order, status, now, reason, code)
    events = [_order_event(order)]
    if release is None:
        return Settled(order, None, balances if balances is not None else {}, [], [], events)
    if balances is not None:
        balances = _fits(balances, (release,)) or balances
    events.append(_posting_event(release, order.symbol))
    return Settled(order, None, balances if balances is not None else {}, [], [release], events)


def _close(order: OrderState, status: str, now: datetime, reason: str, code: str) -> Posting | None:
    """``close`` on the order itself: its new state, and the release posting of what it still holds (or None)."""
    locked = order.locked_amount
    release = (Posting(order.wallet_id, (Movement(order.locked_asset, locked, -locked),), ORDER_RELEASE, "order",
                       order.id) if locked > ZERO else None)
    order.status = status
    order.locked_amount = ZERO
    order.sweep_price = None
    order.fires = ""
    order.needs_execution = False
    order.closed_at = now
    order.updated_at = now
    if reason:
        order.status_reason = reason[:255]
    if code:
        order.reject_code = code
    return release


def _fill_movements(order: OrderState, e) -> tuple[tuple[Movement, ...], tuple[Movement, ...]]:
    """Buys pay quote and fee from the order's lock; sells give base from the lock and pay the fee from the
    proceeds."""
    if order.side == BUY:
        return ((Movement(order.base, e.quantity, ZERO), Movement(order.quote, ZERO, -e.quote_amount)),
                (Movement(order.quote, ZERO, -e.fee),))
    return ((Movement(order.base, ZERO, -e.quantity), Movement(order.quote, e.quote_amount, ZERO)),
            (Movement(order.quote, -e.fee, ZERO),))


def _status_after(order: OrderState, result: MatchResult, triggered: bool) -> str:
    if result.status == NEW:
        if order.filled_quantity > ZERO:
            return PARTIALLY_FILLED
        return TRIGGERED if (triggered or order.triggered_at) else NEW
    return result.status


_FLAT: Final = PositionState()  # frozen: the position of a pair never traded

CANNOT_PAY: Final = "the fill would cost more than the order locked and the wallet has available"


def settle(order: OrderState, result: MatchResult, *, position: PositionState | None, balances: dict,
           now: datetime, triggered: bool = False) -> Settled:
    """Apply one engine result to its order: fills, balance movements, position and realized PnL, fees, status.

    ``balances`` are the wallet's balances before this order (asset -> BalanceState; not modified). A fill that
    costs more than the order locked (a market buy that slipped past its buffer) draws the difference from
    ``available`` first (an ``order_lock`` posting, the top-up); if the wallet cannot pay, or a sell exceeds the
    position, the order is rejected (INSUFFICIENT_BALANCE) and its lock released instead.
    """
    if triggered and order.triggered_at is None:
        order.triggered_at = now
    order.updated_at = now
    if result.reject_code and not result.executions:
        return close(order, REJECTED, now=now, reason=result.reject_message or "",
                     code=result.reject_code, balances=balances)
    state = position if position is not None else _FLAT
    side, buy = order.side, order.side == BUY
    wallet_id, order_id, symbol = order.wallet_id, order.id, order.symbol
    fills, fill_postings = [], []
    consumed = quote = fee = ZERO  # quote and fee: result.quote_amount / result.fee, summed in the same order
    seq = order.fill_count
    for e in result.executions:
        try:
            state, realized = apply_execution(state, side, e)
        except EngineRejection:
            return close(order, REJECTED, now=now, reason=CANNOT_PAY, code="INSUFFICIENT_BALANCE",
                         balances=balances)
        seq += 1
        fill_mv, fee_mv = _fill_movements(order, e)
        amount, paid = e.quote_amount, e.fee
        quote += amount
        fee += paid
        consumed += (amount + paid) if buy else e.quantity
        fills.append(FillRecord(order_id, seq, wallet_id, symbol, side, e.price, e.quantity, amount, paid,
                                e.fee_asset, e.liquidity, e.slippage_pct, realized, now))
        fill_postings.append(Posting(wallet_id, fill_mv, FILL_REASON, "fill", order_id, seq))
        fill_postings.append(Posting(wallet_id, fee_mv, FEE_REASON, "fill", order_id, seq))

    locked = order.locked_amount
    if consumed > locked:
        extra = consumed - locked
        postings = [Posting(wallet_id, (Movement(order.locked_asset, -extra, extra),), ORDER_LOCK, "order",
                            order_id)]
        postings += fill_postings
    else:
        postings = fill_postings
    after = _fits(balances, postings)
    if after is None:
        return close(order, REJECTED, now=now, reason=CANNOT_PAY, code="INSUFFICIENT_BALANCE",
                     balances=balances)

    order.filled_quantity += result.filled_quantity
    order.filled_quote += quote
    order.fees_paid += fee
    order.fill_count = seq
    order.locked_amount = max(locked, consumed) - consumed
    order.needs_execution = False
    status = _status_after(order, result, triggered)
    if status in OPEN_STATUSES:
        order.status = status
        order.sweep_price, order.fires = sweep_key(side, LIMIT, cast(Decimal, order.price))  # a limit rests
        events = [_order_event(order)]
    else:
        reason = result.reject_message or ""
        if status == EXPIRED and not reason:
            reason = "time in force: the part not filled at once expired"
        release = _close(order, status, now, reason, result.reject_code or "")
        events = [_order_event(order)]
        if release is not None:
            postings.append(release)
            after = _fits(after, (release,)) or after
    client_order_id = order.client_order_id
    for f in fills:
        events.append(ev.Event.lazy(ev.FILL, wallet_id, symbol, fill_data, f, client_order_id))
    if fills:
        events.append(ev.Event(ev.POSITION_CHANGED, wallet_id, symbol,
                               position_data(symbol, state, base=order.base, quote=order.quote, ts=now)))
    for p in postings:
        events.append(_posting_event(p, symbol))
    return Settled(order, state if fills else position, after, fills, postings, events)


# --- valuation -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Valuation:
    cash: Decimal  # the quote asset, available + locked
    positions_value: Decimal  # other assets at their last price (8 places)
    equity: Decimal  # cash + positions_value (8 places)
    unpriced: tuple[str, ...] = ()  # held assets with no price: left out of the equity
    realized_pnl: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    total_pnl: Decimal = ZERO  # equity - starting balance
    roi_pct: Decimal = ZERO  # total_pnl / starting balance * 100, 4 places

    def __init__(self, cash: Decimal, positions_value: Decimal, equity: Decimal, unpriced: tuple[str, ...] = (),
                 realized_pnl: Decimal = ZERO, unrealized_pnl: Decimal = ZERO, fees_paid: Decimal = ZERO,
                 total_pnl: Decimal = ZERO, roi_pct: Decimal = ZERO) -> None:
        self.cash = cash
        self.positions_value = positions_value
        self.equity = equity
        self.unpriced = unpriced
        self.realized_pnl = realized_pnl
        self.unrealized_pnl = unrealized_pnl
        self.fees_paid = fees_paid
        self.total_pnl = total_pnl
        self.roi_pct = roi_pct


fast_init(Valuation)


def holdings(balances, prices, *, quote: str) -> tuple[Decimal, Decimal, list[str]]:
    """(cash, positions value, unpriced assets) of ``balances`` at ``prices``: the part of :func:`valuation` that
    equity is made of (equity = cash + positions value), for callers that need only the equity at every step
    (a backtest's equity curve). Each asset's value is rounded to 8 places."""
    cash, held = holdings_split(balances, quote=quote)
    value, unpriced = holdings_value(held, prices)
    return cash, value, unpriced


def holdings_split(balances, *, quote: str) -> tuple[Decimal, list[tuple[str, str, Decimal]]]:
    """The price-free half of :func:`holdings`: (cash, [(asset, symbol, total held)] of the other assets held), in
    the balances' order. A caller that values the same balances at many prices computes it once."""
    cash = ZERO
    held = []
    for asset, b in balances.items():
        total = b.available + b.locked
        if asset == quote:
            cash += total
        elif total > ZERO:
            held.append((asset, asset + quote, total))
    return cash, held


def holdings_value(held, prices) -> tuple[Decimal, list[str]]:
    """The priced half of :func:`holdings`: (positions value, unpriced assets) of ``holdings_split``'s ``held``."""
    value = ZERO
    unpriced = []
    for asset, symbol, total in held:
        price = prices.get(symbol)
        if price is None:
            unpriced.append(asset)
        else:
            value += quantize_amount(total * price)
    return value, unpriced


def valuation(balances, prices, *, quote: str, starting_balance: Decimal | None = None,
              positions=None) -> Valuation:
    """The one valuation of a wallet (every number a user sees comes from here).

    ``balances``: asset -> anything with ``available`` and ``locked``; ``prices``: symbol (``f"{asset}{quote}"``)
    -> last price; ``positions``: symbol -> PositionState (for realized / unrealized PnL and fees; optional).
    Each asset's value is rounded to 8 places, so equity is exact at the amount precision and every caller
    agrees to the last unit. Held assets without a price are listed in ``unpriced`` and left out.
    """
    cash, value, unpriced = holdings(balances, prices, quote=quote)
    equity = cash + value
    realized = unrealized = fees = ZERO
    for symbol, p in (positions or {}).items():
        realized += p.realized_pnl
        fees += p.fees_paid
        mark = prices.get(symbol)
        if mark is not None and p.quantity > ZERO:
            unrealized += unrealized_pnl(p, mark)
    total_pnl = roi = ZERO
    if starting_balance is not None:
        total_pnl = equity - starting_balance
        roi = (total_pnl / starting_balance * HUNDRED).quantize(ROI_QUANTUM) if starting_balance else ZERO
    return Valuation(cash=cash, positions_value=value, equity=equity, unpriced=tuple(sorted(unpriced)),
                     realized_pnl=realized, unrealized_pnl=unrealized, fees_paid=fees, total_pnl=total_pnl,
                     roi_pct=roi)

