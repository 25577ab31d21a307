"""The vocabulary of the fill engine: plain frozen dataclasses, Decimal everywhere, no Django.

The live workers, battles and backtests all build these from their own storage and call the same engine functions
(``trading.engine.matching``, ``.fees``, ``.risk``, ``.positions``). This module is the contract between the engine
and its callers: extend it, do not rename what is here.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_LOSS = "stop_loss"  # market order once the last price crosses trigger_price
    TAKE_PROFIT = "take_profit"  # market order once the last price crosses trigger_price
    STOP_LIMIT = "stop_limit"  # limit order at `price` once the last price crosses trigger_price


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


@dataclass(frozen=True)
class InstrumentSpec:
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    quantity: Decimal


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


@dataclass(frozen=True)
class FeeRate:
    maker_bps: Decimal
    taker_bps: Decimal
    tier: int = 0


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


@dataclass(frozen=True)
class MatchResult:
    """What happened to an order when the engine looked at it against a market state."""

    executions: tuple[Execution, ...] = ()
    status: OrderStatus = OrderStatus.NEW
    filled_quantity: Decimal = Decimal(0)
    remaining_quantity: Decimal = Decimal(0)
    reject_code: str | None = None
    reject_message: str | None = None


@dataclass(frozen=True)
class PositionState:
    """Average-cost position of one wallet in one pair (spot: quantity >= 0)."""

    quantity: Decimal = Decimal(0)
    avg_entry_price: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    fees_paid: Decimal = Decimal(0)


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
