"""The vocabulary of the fill engine: plain frozen dataclasses, Decimal everywhere, no Django.

The live workers, battles and backtests all build these from their own storage and call the same engine functions
(``trading.engine.matching``, ``.fees``, ``.risk``, ``.positions``). This module is the contract between the engine
and its callers: extend it, do not rename what is here.
"""

# mypy: disable-error-code="misc"
# (for the frozen dataclasses' written-out ``__init__``, which mypy calls assignments to read-only properties;
# see ``_fast.py``)

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, TypeAlias

from ._fast import fast_init
from .money import AMOUNT_QUANTUM, DECIMAL_PLACES

from .limits import RiskLimits

# Average prices keep the storage precision (12 places); settled amounts (balances, fees, PnL) have 8.
PRICE_QUANTUM: Final = Decimal(1).scaleb(-DECIMAL_PLACES)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_LOSS = "stop_loss"  # market order once the last price crosses trigger_price
    TAKE_PROFIT = "take_profit"  # market order once the last price crosses trigger_price
    STOP_LIMIT = "stop_limit"  # limit order at `price` once the last price crosses trigger_price
    # limit order at `price` once the last price reaches trigger_price in the take-profit direction
    TAKE_PROFIT_LIMIT = "take_profit_limit"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(StrEnum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    TRIGGERED = "triggered"


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


# The members as plain module names, for the engine's hot paths: on Python 3.11 ``Side.BUY`` goes through
# ``EnumType.__getattr__`` (about 60 ns more than a global lookup), and an order reads dozens of them.
BUY: Final = Side.BUY
SELL: Final = Side.SELL
MARKET: Final = OrderType.MARKET
LIMIT: Final = OrderType.LIMIT
STOP_LOSS: Final = OrderType.STOP_LOSS
TAKE_PROFIT: Final = OrderType.TAKE_PROFIT
STOP_LIMIT: Final = OrderType.STOP_LIMIT
TAKE_PROFIT_LIMIT: Final = OrderType.TAKE_PROFIT_LIMIT
GTC: Final = TimeInForce.GTC
IOC: Final = TimeInForce.IOC
FOK: Final = TimeInForce.FOK
NEW: Final = OrderStatus.NEW
PARTIALLY_FILLED: Final = OrderStatus.PARTIALLY_FILLED
FILLED: Final = OrderStatus.FILLED
CANCELLED: Final = OrderStatus.CANCELLED
REJECTED: Final = OrderStatus.REJECTED
EXPIRED: Final = OrderStatus.EXPIRED
TRIGGERED: Final = OrderStatus.TRIGGERED
MAKER: Final = Liquidity.MAKER
TAKER: Final = Liquidity.TAKER
_RESTING: Final = (NEW, PARTIALLY_FILLED)
_ZERO: Final = Decimal(0)


# A decorator other than @dataclass keeps this class interpreted when the engine is compiled: market.prices'
# InstrumentInfo subclasses it, and an interpreted class cannot subclass a native one.
@fast_init
@dataclass(frozen=True)
class InstrumentSpec:
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal


# How the engine's functions declare an instrument: an InstrumentSpec, or a subclass of it (market.prices'
# InstrumentInfo). Compiled (``_native.py``), a parameter declared with an engine class accepts that exact class.
Instrument: TypeAlias = Any


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    quantity: Decimal

    def __init__(self, price: Decimal, quantity: Decimal) -> None:
        self.price = price
        self.quantity = quantity


fast_init(BookLevel)


@dataclass(frozen=True)
class MarketState:
    """What the engine knows of a pair at one instant."""

    symbol: str
    last_price: Decimal
    ts: datetime | None  # (None only from lifecycle.sweep without a market and without ts)
    bids: tuple[BookLevel, ...] = ()  # best (highest) first
    asks: tuple[BookLevel, ...] = ()  # best (lowest) first
    volume_24h_quote: Decimal | None = None  # for the no-book slippage model
    stale: bool = False

    def __init__(self, symbol: str, last_price: Decimal, ts: datetime | None, bids: tuple[BookLevel, ...] = (),
                 asks: tuple[BookLevel, ...] = (), volume_24h_quote: Decimal | None = None,
                 stale: bool = False) -> None:
        self.symbol = symbol
        self.last_price = last_price
        self.ts = ts
        self.bids = bids
        self.asks = asks
        self.volume_24h_quote = volume_24h_quote
        self.stale = stale


fast_init(MarketState)


@dataclass(frozen=True)
class OrderIntent:
    """An order as the agent asked for it (already parsed, not yet validated against the instrument).

    Until ``validation.validate_intent`` has normalised it, a field holds whatever the caller gave (a plain string
    for an enum, anything for an amount: validation reports what is wrong with it), hence ``Any``: compiled
    (see ``_native.py``), a declared type is checked when it is set. After validation: ``side`` a ``Side``,
    ``type`` an ``OrderType``, ``time_in_force`` a ``TimeInForce``, the amounts ``Decimal | None``."""

    symbol: str
    side: Any
    type: Any
    quantity: Any = None
    quote_quantity: Any = None
    price: Any = None
    trigger_price: Any = None
    time_in_force: Any = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False

    def __init__(self, symbol: str, side: Any, type: Any, quantity: Any = None, quote_quantity: Any = None,
                 price: Any = None, trigger_price: Any = None, time_in_force: Any = TimeInForce.GTC,
                 post_only: bool = False, reduce_only: bool = False) -> None:
        self.symbol = symbol
        self.side = side
        self.type = type
        self.quantity = quantity
        self.quote_quantity = quote_quantity
        self.price = price
        self.trigger_price = trigger_price
        self.time_in_force = time_in_force
        self.post_only = post_only
        self.reduce_only = reduce_only


fast_init(OrderIntent)


@dataclass(frozen=True)
class FeeRate:
    maker_bps: Decimal
    taker_bps: Decimal
    tier: int = 0

    def __init__(self, maker_bps: Decimal, taker_bps: Decimal, tier: int = 0) -> None:
        self.maker_bps = maker_bps
        self.taker_bps = taker_bps
        self.tier = tier


fast_init(FeeRate)


@dataclass(frozen=True)
class Execution:
    """One fill of an order. ``fee`` is in the quote asset."""

    price: Decimal
    quantity: Decimal
    quote_amount: Decimal  # price * quantity, settled to the amount precision
    fee: Decimal
    fee_asset: str
    liquidity: str
    slippage_pct: Decimal

    def __init__(self, price: Decimal, quantity: Decimal, quote_amount: Decimal, fee: Decimal, fee_asset: str,
                 liquidity: str, slippage_pct: Decimal) -> None:
        self.price = price
        self.quantity = quantity
        self.quote_amount = quote_amount
        self.fee = fee
        self.fee_asset = fee_asset
        self.liquidity = liquidity
        self.slippage_pct = slippage_pct


fast_init(Execution)


@dataclass(frozen=True)
class MatchResult:
    """What happened to an order when the engine looked at it against a market state."""

    executions: tuple[Execution, ...] = ()
    status: str = OrderStatus.NEW
    filled_quantity: Decimal = Decimal(0)
    remaining_quantity: Decimal = Decimal(0)
    reject_code: str | None = None
    reject_message: str | None = None
    # --- extensions (defaults keep older callers working) ---
    slippage_pct: Decimal = Decimal(0)  # the order's average fill price against the reference (last) price
    triggered: bool = False  # a conditional order fired while it was matched
    reject_details: dict = field(default_factory=dict)

    def __init__(self, executions: tuple[Execution, ...] = (), status: str = OrderStatus.NEW,
                 filled_quantity: Decimal = Decimal(0), remaining_quantity: Decimal = Decimal(0),
                 reject_code: str | None = None, reject_message: str | None = None, slippage_pct: Decimal = Decimal(0),
                 triggered: bool = False, reject_details: dict | None = None) -> None:
        self.executions = executions
        self.status = status
        self.filled_quantity = filled_quantity
        self.remaining_quantity = remaining_quantity
        self.reject_code = reject_code
        self.reject_message = reject_message
        self.slippage_pct = slippage_pct
        self.triggered = triggered
        self.reject_details = {} if reject_details is None else reject_details

    # sum(..., Decimal(0)) written as a loop: the same additions in the same order, without a generator (read
    # several times per order)
    @property
    def quote_amount(self) -> Decimal:
        total = _ZERO
        for e in self.executions:
            total += e.quote_amount
        return total

    @property
    def fee(self) -> Decimal:
        total = _ZERO
        for e in self.executions:
            total += e.fee
        return total

    @property
    def avg_price(self) -> Decimal | None:
        """Volume-weighted price of the executions (12 places), None when nothing filled."""
        if not self.filled_quantity:
            return None
        return (self.quote_amount / self.filled_quantity).quantize(PRICE_QUANTUM)

    @property
    def rests(self) -> bool:
        """The order stays on the book (a gtc limit remainder or an untriggered conditional)."""
        return self.status in _RESTING

    def raise_if_rejected(self) -> None:
        if self.reject_code:
            raise EngineRejection(self.reject_code, self.reject_message or self.reject_code, self.reject_details)


fast_init(MatchResult)


@dataclass(frozen=True)
class PositionState:
    """Average-cost position of one wallet in one pair (spot: quantity >= 0)."""

    quantity: Decimal = Decimal(0)
    avg_entry_price: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    fees_paid: Decimal = Decimal(0)
    # Exact quote cost of ``quantity`` (8 places). ``avg_entry_price`` is this divided by the quantity, rounded to
    # 12 places, so ``quantity * avg_entry_price`` can drift from the money actually paid; store the cost basis to
    # keep cash, cost and realized PnL reconciling to the last unit. None: derived from quantity * avg_entry_price.
    cost_basis: Decimal | None = None

    def __init__(self, quantity: Decimal = Decimal(0), avg_entry_price: Decimal = Decimal(0),
                 realized_pnl: Decimal = Decimal(0), fees_paid: Decimal = Decimal(0),
                 cost_basis: Decimal | None = None) -> None:
        self.quantity = quantity
        self.avg_entry_price = avg_entry_price
        self.realized_pnl = realized_pnl
        self.fees_paid = fees_paid
        self.cost_basis = cost_basis

    @property
    def cost(self) -> Decimal:
        if self.cost_basis is not None:
            return self.cost_basis
        return (self.quantity * self.avg_entry_price).quantize(AMOUNT_QUANTUM)


fast_init(PositionState)


@dataclass(frozen=True)
class CheckResult:
    """One rule of the risk chain: passed or not, with the limit and the value it saw."""

    rule: str
    passed: bool
    code: str | None = None
    message: str = ""
    limit: str | None = None
    value: str | None = None
    details: dict = field(default_factory=dict)

    def __init__(self, rule: str, passed: bool, code: str | None = None, message: str = "", limit: str | None = None,
                 value: str | None = None, details: dict | None = None) -> None:
        self.rule = rule
        self.passed = passed
        self.code = code
        self.message = message
        self.limit = limit
        self.value = value
        self.details = {} if details is None else details


fast_init(CheckResult)


class EngineRejection(Exception):
    """The engine refuses an order; ``code`` is an API.md error code (422 family)."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    @property
    def http_status(self) -> int:
        """400 for a malformed order (``VALIDATION_ERROR``, details.fields names the field), 422 for the rest."""
        return 400 if self.code == RejectCode.VALIDATION_ERROR else 422

    def __repr__(self):
        return f"EngineRejection({self.code!r}, {self.message!r})"


class RejectCode(StrEnum):
    """Every code the engine raises. API.md codes, plus four it has no code for (documented in docs/engine.md)."""

    VALIDATION_ERROR = "VALIDATION_ERROR"  # 400: shape of the order (missing/forbidden field, bad combination)
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    INVALID_TICK_SIZE = "INVALID_TICK_SIZE"
    INVALID_STEP_SIZE = "INVALID_STEP_SIZE"
    INVALID_QUANTITY = "INVALID_QUANTITY"  # not in API.md: below the pair's min_qty / min_notional
    POST_ONLY_WOULD_TAKE = "POST_ONLY_WOULD_TAKE"
    FOK_NOT_FILLABLE = "FOK_NOT_FILLABLE"
    AGENT_INACTIVE = "AGENT_INACTIVE"  # not in API.md: the agent is paused or archived
    RISK_DAILY_LOSS_LIMIT = "RISK_DAILY_LOSS_LIMIT"
    RISK_ORDER_RATE = "RISK_ORDER_RATE"  # not in API.md: too many orders in the last 60 s (risk profile)
    RISK_MIN_ORDER_SIZE = "RISK_MIN_ORDER_SIZE"
    RISK_MAX_ORDER_SIZE = "RISK_MAX_ORDER_SIZE"
    RISK_MAX_POSITION_SIZE = "RISK_MAX_POSITION_SIZE"
    RISK_MAX_OPEN_ORDERS = "RISK_MAX_OPEN_ORDERS"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    MARKET_CLOSED = "MARKET_CLOSED"  # the pair is halted, or has no fresh price for an order that executes now


@dataclass(frozen=True)
class RestingOrder:
    """A limit order already on the book, as ``match_resting`` needs it."""

    side: str
    price: Decimal  # the limit price
    quantity: Decimal  # what is still open (remaining quantity)

    def __init__(self, side: str, price: Decimal, quantity: Decimal) -> None:
        self.side = side
        self.price = price
        self.quantity = quantity


fast_init(RestingOrder)


@dataclass(frozen=True)
class Bound:
    """``<column> <op> price``: ``op`` is a Django lookup suffix (``gte`` / ``lte``) so it maps to one range filter."""

    op: str
    price: Decimal

    def __init__(self, op: str, price: Decimal) -> None:
        self.op = op
        self.price = price

    def matches(self, value: Decimal) -> bool:
        return value >= self.price if self.op == "gte" else value <= self.price


fast_init(Bound)


@dataclass(frozen=True)
class CrossingBounds:
    """For one side and one tick price: which resting orders the tick reaches.

    ``limit`` bounds the ``price`` of resting limit orders that fill; ``stop`` bounds the ``trigger_price`` of
    stop_loss and stop_limit orders that fire; ``take_profit`` bounds the ``trigger_price`` of take_profit and
    take_profit_limit orders.
    """

    side: str
    limit: Bound
    stop: Bound
    take_profit: Bound

    def __init__(self, side: str, limit: Bound, stop: Bound, take_profit: Bound) -> None:
        self.side = side
        self.limit = limit
        self.stop = stop
        self.take_profit = take_profit

    def trigger(self, order_type: str) -> Bound:
        return self.take_profit if order_type in (OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT) else self.stop


fast_init(CrossingBounds)


@dataclass(frozen=True)
class Preview:
    """What an order would do now, computed by the same code that fills it (``matching.preview``)."""

    quantity: Decimal  # base quantity (resolved from quote_quantity for quote orders)
    est_price: Decimal
    est_slippage_pct: Decimal
    notional: Decimal  # quote value of the order (filled part at its prices, resting part at its limit)
    est_fee: Decimal
    fee_bps: Decimal
    fee_role: str
    balance_required: Decimal  # quote incl. fee for buys, base quantity for sells
    balance_asset: str
    rests: bool  # part of the order would stay open (counts against max_open_orders)
    status: str  # the status the order would have right after placement
    reject_code: str | None = None  # the matcher refuses it (FOK not fillable, post-only would take, ...)
    reject_message: str | None = None
    # The match the preview ran, when it ran the order as it is (fired now) against the given market: executing
    # the order against that same market state gives exactly this result, so a caller may reuse it.
    match: "MatchResult | None" = field(default=None, compare=False, repr=False)

    def __init__(self, quantity: Decimal, est_price: Decimal, est_slippage_pct: Decimal, notional: Decimal,
                 est_fee: Decimal, fee_bps: Decimal, fee_role: str, balance_required: Decimal, balance_asset: str,
                 rests: bool, status: str, reject_code: str | None = None, reject_message: str | None = None,
                 match: "MatchResult | None" = None) -> None:
        self.quantity = quantity
        self.est_price = est_price
        self.est_slippage_pct = est_slippage_pct
        self.notional = notional
        self.est_fee = est_fee
        self.fee_bps = fee_bps
        self.fee_role = fee_role
        self.balance_required = balance_required
        self.balance_asset = balance_asset
        self.rests = rests
        self.status = status
        self.reject_code = reject_code
        self.reject_message = reject_message
        self.match = match


fast_init(Preview)


@dataclass(frozen=True)
class RiskContext:
    """Everything the risk chain (``risk.run_chain``) needs to judge one order. Amounts in the quote asset.

    The caller gathers it from its storage (live wallet, battle wallet or backtest state) and the order's preview.
    """

    limits: RiskLimits
    side: str
    quantity: Decimal  # base quantity of the order
    price: Decimal  # expected fill price (preview est_price; the limit price for resting orders)
    notional: Decimal  # preview notional
    fee: Decimal  # preview est_fee
    balance_required: Decimal  # preview balance_required: quote incl. fee (buys) or base quantity (sells)
    available_quote: Decimal
    available_base: Decimal
    position_quantity: Decimal  # base held in this pair (available + locked)
    equity: Decimal  # cash plus positions at mark, now
    starting_balance: Decimal  # of the wallet (the daily loss limit is a % of it)
    day_start_equity: Decimal  # equity at 00:00 UTC today (or at the wallet's opening if later)
    quote_asset: str = "USDT"
    base_asset: str = ""
    agent_status: str = "active"
    open_orders: int = 0  # open orders of the wallet before this one
    orders_last_minute: int = 0  # orders placed in the last 60 s before this one
    daily_loss_tripped: bool = False  # the breaker already tripped today; it stays tripped until 00:00 UTC
    adds_open_order: bool = False  # this order would rest (preview.rests)
    reduce_only: bool = False
    quote_usd_rate: Decimal = Decimal(1)  # quote -> USD, for min_order_size_usd (1 for USDT pairs)

    def __init__(self, limits: RiskLimits, side: str, quantity: Decimal, price: Decimal, notional: Decimal,
                 fee: Decimal, balance_required: Decimal, available_quote: Decimal, available_base: Decimal,
                 position_quantity: Decimal, equity: Decimal, starting_balance: Decimal, day_start_equity: Decimal,
                 quote_asset: str = "USDT", base_asset: str = "", agent_status: str = "active", open_orders: int = 0,
                 orders_last_minute: int = 0, daily_loss_tripped: bool = False, adds_open_order: bool = False,
                 reduce_only: bool = False, quote_usd_rate: Decimal = Decimal(1)) -> None:
        self.limits = limits
        self.side = side
        self.quantity = quantity
        self.price = price
        self.notional = notional
        self.fee = fee
        self.balance_required = balance_required
        self.available_quote = available_quote
        self.available_base = available_base
        self.position_quantity = position_quantity
        self.equity = equity
        self.starting_balance = starting_balance
        self.day_start_equity = day_start_equity
        self.quote_asset = quote_asset
        self.base_asset = base_asset
        self.agent_status = agent_status
        self.open_orders = open_orders
        self.orders_last_minute = orders_last_minute
        self.daily_loss_tripped = daily_loss_tripped
        self.adds_open_order = adds_open_order
        self.reduce_only = reduce_only
        self.quote_usd_rate = quote_usd_rate


fast_init(RiskContext)
