"""The vocabulary of the fill engine: plain frozen dataclasses, Decimal everywhere, no Django.

The live workers, battles and backtests all build these from their own storage and call the same engine functions
(``trading.engine.matching``, ``.fees``, ``.risk``, ``.positions``). This module is the contract between the engine
and its callers: extend it, do not rename what is here.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ._fast import fast_init
from .money import AMOUNT_QUANTUM, DECIMAL_PLACES

from .limits import RiskLimits

# Average prices keep the storage precision (12 places); settled amounts (balances, fees, PnL) have 8.
PRICE_QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)


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
BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT, STOP_LOSS, TAKE_PROFIT, STOP_LIMIT, TAKE_PROFIT_LIMIT = (
    OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT, OrderType.STOP_LIMIT,
    OrderType.TAKE_PROFIT_LIMIT)
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
NEW, PARTIALLY_FILLED, FILLED, CANCELLED, REJECTED, EXPIRED, TRIGGERED = (
    OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED,
    OrderStatus.EXPIRED, OrderStatus.TRIGGERED)
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER
_RESTING = (NEW, PARTIALLY_FILLED)
_ZERO = Decimal(0)


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


@fast_init
@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    quantity: Decimal


@fast_init
@dataclass(frozen=True)
class MarketState:
    """What the engine knows of a pair at one instant."""

    symbol: str
    last_price: Decimal
    ts: datetime
    bids: tuple[BookLevel, ...] = ()  # best (highest) first
    asks: tuple[BookLevel, ...] = ()  # best (lowest) first
    volume_24h_quote: Decimal | None = None  # for the no-book slippage model
    stale: bool = False


@fast_init
@dataclass(frozen=True)
class OrderIntent:
    """An order as the agent asked for it (already parsed, not yet validated against the instrument)."""

    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal | None = None
    quote_quantity: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False


@fast_init
@dataclass(frozen=True)
class FeeRate:
    maker_bps: Decimal
    taker_bps: Decimal
    tier: int = 0


@fast_init
@dataclass(frozen=True)
class Execution:
    """One fill of an order. ``fee`` is in the quote asset."""

    price: Decimal
    quantity: Decimal
    quote_amount: Decimal  # price * quantity, settled to the amount precision
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    slippage_pct: Decimal


@fast_init
@dataclass(frozen=True)
class MatchResult:
    """What happened to an order when the engine looked at it against a market state."""

    executions: tuple[Execution, ...] = ()
    status: OrderStatus = OrderStatus.NEW
    filled_quantity: Decimal = Decimal(0)
    remaining_quantity: Decimal = Decimal(0)
    reject_code: str | None = None
    reject_message: str | None = None
    # --- extensions (defaults keep older callers working) ---
    slippage_pct: Decimal = Decimal(0)  # the order's average fill price against the reference (last) price
    triggered: bool = False  # a conditional order fired while it was matched
    reject_details: dict = field(default_factory=dict)

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


@fast_init
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

    @property
    def cost(self) -> Decimal:
        if self.cost_basis is not None:
            return self.cost_basis
        return (self.quantity * self.avg_entry_price).quantize(AMOUNT_QUANTUM)


@fast_init
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


@fast_init
@dataclass(frozen=True)
class RestingOrder:
    """A limit order already on the book, as ``match_resting`` needs it."""

    side: Side
    price: Decimal  # the limit price
    quantity: Decimal  # what is still open (remaining quantity)


@fast_init
@dataclass(frozen=True)
class Bound:
    """``<column> <op> price``: ``op`` is a Django lookup suffix (``gte`` / ``lte``) so it maps to one range filter."""

    op: str
    price: Decimal

    def matches(self, value: Decimal) -> bool:
        return value >= self.price if self.op == "gte" else value <= self.price


@fast_init
@dataclass(frozen=True)
class CrossingBounds:
    """For one side and one tick price: which resting orders the tick reaches.

    ``limit`` bounds the ``price`` of resting limit orders that fill; ``stop`` bounds the ``trigger_price`` of
    stop_loss and stop_limit orders that fire; ``take_profit`` bounds the ``trigger_price`` of take_profit and
    take_profit_limit orders.
    """

    side: Side
    limit: Bound
    stop: Bound
    take_profit: Bound

    def trigger(self, order_type: "OrderType") -> Bound:
        return self.take_profit if order_type in (OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT) else self.stop


@fast_init
@dataclass(frozen=True)
class Preview:
    """What an order would do now, computed by the same code that fills it (``matching.preview``)."""

    quantity: Decimal  # base quantity (resolved from quote_quantity for quote orders)
    est_price: Decimal
    est_slippage_pct: Decimal
    notional: Decimal  # quote value of the order (filled part at its prices, resting part at its limit)
    est_fee: Decimal
    fee_bps: Decimal
    fee_role: Liquidity
    balance_required: Decimal  # quote incl. fee for buys, base quantity for sells
    balance_asset: str
    rests: bool  # part of the order would stay open (counts against max_open_orders)
    status: OrderStatus  # the status the order would have right after placement
    reject_code: str | None = None  # the matcher refuses it (FOK not fillable, post-only would take, ...)
    reject_message: str | None = None
    # The match the preview ran, when it ran the order as it is (fired now) against the given market: executing
    # the order against that same market state gives exactly this result, so a caller may reuse it.
    match: "MatchResult | None" = field(default=None, compare=False, repr=False)


@fast_init
@dataclass(frozen=True)
class RiskContext:
    """Everything the risk chain (``risk.run_chain``) needs to judge one order. Amounts in the quote asset.

    The caller gathers it from its storage (live wallet, battle wallet or backtest state) and the order's preview.
    """

    limits: RiskLimits
    side: Side
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
