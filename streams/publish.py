"""The publish API: what the trading core (and anything else that changes what a stream or webhook reports) calls.

Every function is safe to call inside the transaction that makes the change: it renders the objects *now* (their
state at the call) and hands one message per (wallet, symbol) to the bus, which delivers it only if and when that
transaction commits (``streams.bus``); outside a transaction it publishes at once. Webhook deliveries for orders
that reached ``filled``, ``cancelled``, ``expired`` or ``rejected`` are recorded in the same transaction. A bus
failure never raises into the caller.

- ``publish_changes(orders=, fills=, positions=)``: a batch of what one transaction did (the settlement's
  ``Outcome``): orders changed, fills inserted (``pk`` set), positions updated. Grouped so that an order, its fills
  and its position reach a stream in the same delta.
- ``publish_order_update(order)``, ``publish_fill(fill, order=, position=)``, ``publish_position(position)``: the
  same for single objects. (An order that executes on arrival is best published with its fills only: see
  docs/streams.md, "Wiring".)
- ``publish_wallet_opened(wallet)``: a reset opened a new main wallet; open streams re-snapshot onto it.
- ``publish_wallet_switched(agent_id=, wallet_id=)``: a battle routed/unrouted the agent's key; streams re-snapshot.
- ``publish_agent_events([(agent_id, event_type, data)])``: an agent-level event (battle.*) to streams and webhooks.
- ``publish_book(symbol, book)``: a new order book (optional: the streams re-read books on every feed tick).
- ``publish_risk_breach(agent_id=, code=, message=, details=)``: a risk rule refused an order (webhook only). Call
  it where the refusal leaves the service, outside the atomic block that rolls back, or it is rolled back too.
"""

import logging
import uuid
from collections import defaultdict
from functools import lru_cache

from streams import bus
from streams.payloads import book_levels, epoch, fill_items, order_items, position_items

logger = logging.getLogger(__name__)


def publish_changes(*, orders=(), fills=(), positions=()) -> None:
    try:
        _publish_changes(orders=list(orders), fills=list(fills), positions=list(positions))
    except Exception:  # noqa: BLE001 - a stream or webhook problem must never undo the trade that caused it
        logger.exception("could not publish stream events / record webhooks")


def _publish_changes(*, orders, fills, positions) -> None:
    from streams.services import webhook_order_events

    groups: dict[tuple, dict] = defaultdict(lambda: {"orders": [], "fills": [], "positions": []})
    owners = {}
    for kind, objs in (("orders", orders), ("fills", fills), ("positions", positions)):
        for obj in objs:
            key = (str(obj.wallet_id), obj.symbol)
            groups[key][kind].append(obj)
            owners.setdefault(key, obj)
    orders_by_id = {o.pk: o for o in orders}
    position_symbols = defaultdict(set)
    for p in positions:
        position_symbols[str(p.wallet_id)].add(p.symbol)
    rendered_positions = {wallet_id: {i["id"]: i for i in position_items(wallet_id=wallet_id, symbols=symbols)}
                          for wallet_id, symbols in position_symbols.items()}
    # One serializer pass for all orders and all fills: a sweep publishes hundreds of them at once.
    order_rendered = dict(zip((o.pk for o in orders), order_items(orders)))
    fills = [_with_order(f, orders_by_id) for f in fills]
    fill_rendered = dict(zip((f.pk for f in fills), fill_items(fills)))
    for (wallet_id, symbol), group in groups.items():
        owner = owners[(wallet_id, symbol)]
        message = {"agent": str(owner.agent_id), "wallet": wallet_id, "main": _is_main_wallet(owner),
                   "symbol": symbol}
        if group["orders"]:
            message["orders"] = [order_rendered[o.pk] for o in group["orders"]]
        if group["fills"]:
            message["fills"] = [fill_rendered[f.pk] for f in group["fills"]]
            message["src"] = max(epoch(f.created_at) or 0.0 for f in group["fills"]) or None
        if group["positions"]:
            rendered = rendered_positions.get(wallet_id, {})
            message["positions"] = [rendered[p.symbol] for p in group["positions"] if p.symbol in rendered]
        bus.send(message)
    webhook_order_events(orders=orders)


def publish_order_update(order) -> None:
    publish_changes(orders=[order])


def publish_fill(fill, *, order=None, position=None) -> None:
    publish_changes(orders=[order] if order is not None else [], fills=[fill],
                    positions=[position] if position is not None else [])


def publish_position(position) -> None:
    publish_changes(positions=[position])


def publish_wallet_opened(wallet) -> None:
    if wallet.kind == "main":
        bus.send({"agent": str(wallet.agent_id), "wallet": str(wallet.pk), "main": True})


def publish_wallet_switched(*, agent_id, wallet_id) -> None:
    """The agent's key now acts on another wallet (a battle began or ended): its open streams re-snapshot onto it."""
    try:
        bus.send({"agent": str(agent_id), "wallet": str(wallet_id), "switch": True})
    except Exception:  # noqa: BLE001
        logger.exception("could not publish a wallet switch")


def publish_agent_events(events) -> None:
    """Agent-level events (``battle.started`` ...), ``events`` = [(agent_id, event_type, data)]: each an
    ``events: [{type, data}]`` entry in the next delta of that agent's streams, and a webhook delivery to its
    endpoints subscribed to the type (one endpoint query for the batch). In the caller's transaction, like every
    publish; never raises."""
    from streams.services import _active_endpoints, _deliveries, _save, subscribes

    events = list(events)
    if not events:
        return
    try:
        for agent_id, event_type, data in events:
            bus.send({"agent": str(agent_id), "event": {"type": event_type, "data": data}})
        endpoints = _active_endpoints({str(a) for a, _, _ in events})
        deliveries = []
        for agent_id, event_type, data in events:
            targets = [e for e in endpoints.get(str(agent_id), ()) if subscribes(e.event_types, event_type)]
            if targets:
                deliveries += _deliveries(targets, agent_id=agent_id, event_type=event_type, data=data,
                                          event_id=uuid.uuid4())
        _save(deliveries)
    except Exception:  # noqa: BLE001 - an event problem must never undo the change it reports
        logger.exception("could not publish agent events")


def publish_book(symbol: str, book, *, ts=None) -> None:
    """``book``: ``{"bids": [...], "asks": [...]}`` or an object with ``bids``/``asks``, best first, of
    (price, quantity) pairs or level objects."""
    bids = book["bids"] if isinstance(book, dict) else book.bids
    asks = book["asks"] if isinstance(book, dict) else book.asks
    bus.send({"symbol": symbol, "src": epoch(ts),
              "book": {"bids": book_levels(bids, len(bids)), "asks": book_levels(asks, len(asks))}})


def publish_risk_breach(*, agent_id, code: str, message: str, details: dict | None = None) -> None:
    from streams.services import webhook_risk_breach

    try:
        webhook_risk_breach(agent_id=agent_id, code=code, message=message, details=details)
    except Exception:  # noqa: BLE001 - a webhook must never turn a clean 422 into a 500
        logger.exception("could not record a risk.breach webhook")


def _with_order(fill, orders_by_id):
    order = orders_by_id.get(fill.order_id)
    if order is not None:
        fill.order = order  # the fill's serializer reads order.client_order_id: no query for it
    return fill


def _is_main_wallet(obj) -> bool:
    """Whether ``obj``'s wallet is a main (everyday) wallet, without a query when the wallet is already loaded."""
    if type(obj)._meta.get_field("wallet").is_cached(obj):
        return obj.wallet.kind == "main"
    return _wallet_kind(obj.wallet_id) == "main"


@lru_cache(maxsize=8192)
def _wallet_kind(wallet_id) -> str:
    # A wallet's kind never changes, so a per-process cache is always right.
    from trading.models import Wallet

    return Wallet.objects.filter(pk=wallet_id).values_list("kind", flat=True).first() or ""
