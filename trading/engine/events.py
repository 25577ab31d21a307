"""Domain events: what the lifecycle functions say happened, as plain data (no model, no serializer).

Every lifecycle function (``trading.engine.lifecycle``) returns its new state and a list of these. The live driver
hands them on after its transaction commits (``common.events``); the in-memory driver keeps them in a list. Both
drivers produce the same events for the same inputs (a hypothesis test compares them), so a stream, a webhook or a
backtest report can be built on either.

``data`` holds plain values only (``str``, ``int``, ``bool``, ``Decimal``, ``None``, ``datetime``), so a subscriber
can render it without touching the database.
"""

from dataclasses import dataclass, field

ORDER_ACCEPTED = "order.accepted"  # an order was stored and its lock taken (it rests, waits, or executes next)
ORDER_TRIGGERED = "order.triggered"  # a conditional order fired
ORDER_PARTIALLY_FILLED = "order.partially_filled"
ORDER_FILLED = "order.filled"
ORDER_CANCELLED = "order.cancelled"
ORDER_REJECTED = "order.rejected"  # refused after acceptance (FOK not fillable now, cannot pay a slipped fill, ...)
ORDER_EXPIRED = "order.expired"
FILL = "fill"
POSITION_CHANGED = "position.changed"
BALANCE_MOVED = "balance.moved"  # one ledger posting: movements of one wallet for one reason
RISK_BREACH = "risk.breach"  # a risk rule refused an order (nothing was stored)

# order status -> the event a change to it emits
STATUS_EVENTS = {
    "new": ORDER_ACCEPTED,
    "triggered": ORDER_TRIGGERED,
    "partially_filled": ORDER_PARTIALLY_FILLED,
    "filled": ORDER_FILLED,
    "cancelled": ORDER_CANCELLED,
    "rejected": ORDER_REJECTED,
    "expired": ORDER_EXPIRED,
}
ORDER_EVENTS = frozenset(STATUS_EVENTS.values())


@dataclass(frozen=True, slots=True)
class Event:
    """``type`` is one of the constants above; ``wallet_id`` and ``symbol`` say whose (symbol "" for a wallet-wide
    event); ``data`` is the plain payload (the order, fill or position as it is after the change)."""

    type: str
    wallet_id: str
    symbol: str
    data: dict = field(default_factory=dict)
