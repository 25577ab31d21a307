"""Domain events: what the lifecycle functions say happened, as plain data (no model, no serializer).

Every lifecycle function (``trading.engine.lifecycle``) returns its new state and a list of these. The live driver
hands them on after its transaction commits (``common.events``); the in-memory driver keeps them in a list. Both
drivers produce the same events for the same inputs (a hypothesis test compares them), so a stream, a webhook or a
backtest report can be built on either.

``data`` holds plain values only (``str``, ``int``, ``bool``, ``Decimal``, ``None``, ``datetime``), so a subscriber
can render it without touching the database.
"""

from collections.abc import Callable
from typing import Any, Final

ORDER_ACCEPTED: Final = "order.accepted"  # an order was stored and its lock taken (it rests, waits, or executes next)
ORDER_TRIGGERED: Final = "order.triggered"  # a conditional order fired
ORDER_PARTIALLY_FILLED: Final = "order.partially_filled"
ORDER_FILLED: Final = "order.filled"
ORDER_CANCELLED: Final = "order.cancelled"
# refused after acceptance (FOK not fillable now, cannot pay a slipped fill, ...)
ORDER_REJECTED: Final = "order.rejected"
ORDER_EXPIRED: Final = "order.expired"
FILL: Final = "fill"
POSITION_CHANGED: Final = "position.changed"
BALANCE_MOVED: Final = "balance.moved"  # one ledger posting: movements of one wallet for one reason
RISK_BREACH: Final = "risk.breach"  # a risk rule refused an order (nothing was stored)

# order status -> the event a change to it emits
STATUS_EVENTS: Final = {
    "new": ORDER_ACCEPTED,
    "triggered": ORDER_TRIGGERED,
    "partially_filled": ORDER_PARTIALLY_FILLED,
    "filled": ORDER_FILLED,
    "cancelled": ORDER_CANCELLED,
    "rejected": ORDER_REJECTED,
    "expired": ORDER_EXPIRED,
}
ORDER_EVENTS: Final = frozenset(STATUS_EVENTS.values())


class Event:
    """``type`` is one of the constants above; ``wallet_id`` and ``symbol`` say whose (symbol "" for a wallet-wide
    event); ``data`` is the plain payload (the order, fill or position as it is after the change).

    The lifecycle builds most events with ``Event.lazy``: it keeps the builder and a snapshot of what changes, and
    ``data`` is built the first time it is read (a backtest that never reads an event's payload never pays for
    it; a subscriber that reads it gets exactly what an eager build would have given). Read-only by convention,
    except the live driver's ``data["id"]`` of a fill (known after its insert)."""

    __slots__ = ("type", "wallet_id", "symbol", "_data", "_make", "_args")

    def __init__(self, type: str, wallet_id: str, symbol: str, data: dict | None = None):
        self.type = type
        self.wallet_id = wallet_id
        self.symbol = symbol
        self._data: dict | None = {} if data is None else data
        self._make: Callable[..., dict] | None = None
        self._args: tuple = ()

    @classmethod
    def lazy(cls, type: str, wallet_id: str, symbol: str, make: Callable[..., dict], *args: Any) -> "Event":
        """An event whose ``data`` is ``make(*args)``, built on first read (``args`` must not change meanwhile)."""
        # (Event itself by name: compiled, that is a native construction, cls(...) a generic call)
        e = Event(type, wallet_id, symbol) if cls is Event else cls(type, wallet_id, symbol)
        e._data, e._make, e._args = None, make, args
        return e

    @property
    def data(self) -> dict:
        data = self._data
        if data is None:
            assert self._make is not None
            data = self._data = self._make(*self._args)
            self._make, self._args = None, ()
        return data

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.type, self.wallet_id, self.symbol, self.data) == (
            other.type, other.wallet_id, other.symbol, other.data)

    __hash__ = None  # type: ignore[assignment]  # the payload is a dict

    def __repr__(self):
        return f"Event(type={self.type!r}, wallet_id={self.wallet_id!r}, symbol={self.symbol!r}, data={self.data!r})"
