"""The trading core's events, published through ``common.events`` after commit (streams and webhooks subscribe).

Today's two, one per former direct call into ``streams.publish``; the engine's domain events (order accepted,
filled, cancelled, rejected; fill; position changed; balance moved) are to replace them (issue 9).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OrdersChanged:
    """What one transaction did: orders whose state changed, fills inserted (``pk`` set), positions updated. The
    model instances as the transaction left them; grouped so an order, its fills and its position travel together."""

    orders: tuple = ()
    fills: tuple = ()
    positions: tuple = ()


@dataclass(frozen=True)
class RiskBreach:
    """A risk rule refused an order (published outside the refused order's rolled-back transaction)."""

    agent_id: object
    code: str
    message: str
    details: dict | None = field(default=None)
