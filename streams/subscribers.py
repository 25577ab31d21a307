"""The streams' and webhooks' side of the trading core's domain events (``common.events``).

The trading core hands the events its engine returned (``trading.engine.events``, plain data) to ``common.events``
after its transaction commits; :func:`on_trading_events`, subscribed in ``StreamsConfig.ready()``, turns one
committed batch into bus messages (one per wallet and pair: its orders, fills and positions, so they reach a stream
in the same delta) and webhook deliveries. Nothing here runs inside the trade's transaction, and the trading core
imports nothing of this app.

Rendering is from the events' data: orders and fills through the fields of the API's own output serializers
(``payloads.fast_renderer``: their sources and ``to_representation``, so a stream and a poll never disagree on a
field), positions through the trading service's ``position_view`` at the mark price now. No row is re-read.
"""

import logging
from collections import defaultdict
from functools import lru_cache
from types import SimpleNamespace

from streams import bus
from streams.payloads import epoch, fast_renderer
from trading.engine.events import Event

logger = logging.getLogger(__name__)

ORDER_EVENTS = {"order.accepted", "order.triggered", "order.partially_filled", "order.filled", "order.cancelled",
                "order.rejected", "order.expired"}


@lru_cache(maxsize=8192)
def wallet_owner(wallet_id: str) -> tuple[str, str]:
    """(agent id, wallet kind) of a wallet: neither ever changes, so a per-process cache is always right."""
    from trading.models import Wallet

    row = Wallet.objects.filter(pk=wallet_id).values_list("agent_id", "kind").first()
    return (str(row[0]), row[1]) if row else ("", "")


def _order_obj(data: dict) -> SimpleNamespace:
    return SimpleNamespace(pk=data["id"], **data)


@lru_cache(maxsize=1)
def _renderers():
    """The order and fill renderers of the API's output serializers (built once per process)."""
    from trading.api.orders import FillOutputSerializer, OrderOutputSerializer

    return fast_renderer(OrderOutputSerializer), fast_renderer(FillOutputSerializer)


@lru_cache(maxsize=1)
def _position_renderer():
    """The position renderer of ``GET /account/positions``' serializer (built once per process)."""
    from trading.api.positions import PositionSerializer

    return fast_renderer(PositionSerializer)


def on_trading_events(events: list) -> None:
    """Render one committed batch of trading events to the streams' bus and the webhooks."""
    try:
        _publish(events)
    except Exception:  # noqa: BLE001 - a stream or webhook problem must never reach the trade that caused it
        logger.exception("could not publish stream events / record webhooks")


def _publish(events: list) -> None:
    render_order, render_fill = _renderers()
    groups: dict[tuple, dict] = defaultdict(lambda: {"orders": {}, "fills": [], "positions": {}})
    breaches = []
    for e in events:
        if not isinstance(e, Event):  # the bus carries other layers' events too
            continue
        key = (e.wallet_id, e.symbol)
        if e.type in ORDER_EVENTS:
            if e.data.get("needs_execution") and e.data["id"] not in groups[key]["orders"]:
                # accepted, to be executed by a worker in a moment: its fill is the news. Streamed now, its `new`
                # state would take the connection's delta slot and hold the fill back (docs/streams.md, Wiring).
                continue
            groups[key]["orders"][e.data["id"]] = e.data  # the order as it stands after the batch
        elif e.type == "fill":
            groups[key]["fills"].append(e.data)
        elif e.type == "position.changed":
            groups[key]["positions"][e.data["symbol"]] = e.data
        elif e.type == "risk.breach":
            breaches.append(e)
    if groups:
        orders = [o for g in groups.values() for o in g["orders"].values()]
        fills = [f for g in groups.values() for f in g["fills"]]
        rendered_orders = {o["id"]: render_order(o) for o in orders}
        rendered_fills = {id(f): render_fill({**f, "order": {"client_order_id": f.get("client_order_id")}})
                          for f in fills}
        marks = _marks({s for g in groups.values() for s in g["positions"]})
        messages = []
        for (wallet_id, symbol), g in groups.items():
            agent_id, kind = wallet_owner(wallet_id)
            message = {"agent": agent_id, "wallet": wallet_id, "main": kind == "main", "symbol": symbol}
            if g["orders"]:
                message["orders"] = [{"id": oid, "v": epoch(o["updated_at"]), "data": rendered_orders[oid]}
                                     for oid, o in g["orders"].items()]
            if g["fills"]:
                message["fills"] = [{"id": f["id"], "data": rendered_fills[id(f)]} for f in g["fills"]]
                message["src"] = max(epoch(f["created_at"]) or 0.0 for f in g["fills"]) or None
            if g["positions"]:
                message["positions"] = [_position_item(p, marks.get(s)) for s, p in g["positions"].items()]
            messages.append(message)
        bus.send_many(messages)  # one Redis round trip for the batch (a sweep touches many wallets)
        _webhooks([_order_obj(o) for o in orders])
    for e in breaches:
        _breach(e)


def _marks(symbols: set) -> dict:
    if not symbols:
        return {}
    from trading.selectors import last_prices

    return last_prices(symbols=sorted(symbols))


def _position_item(p: dict, mark) -> dict:
    from trading.engine.types import PositionState
    from trading.services.positions import position_view

    state = PositionState(quantity=p["quantity"], avg_entry_price=p["avg_entry_price"], cost_basis=p["cost_basis"],
                          realized_pnl=p["realized_pnl"], fees_paid=p["fees_paid"])
    view = position_view(symbol=p["symbol"], base_asset=p["base_asset"], quote_asset=p["quote_asset"], state=state,
                         mark=mark if state.quantity > 0 else None, updated_at=p["updated_at"])
    return {"id": p["symbol"], "v": epoch(p["updated_at"]), "open": state.quantity > 0,
            "data": _position_renderer()(view)}


def _webhooks(order_objs) -> None:
    from streams.services import ORDER_STATUS_EVENTS, webhook_order_events

    reached = [o for o in order_objs if o.status in ORDER_STATUS_EVENTS]
    if not reached:
        return
    for o in reached:
        o.agent_id = wallet_owner(o.wallet_id)[0]
    webhook_order_events(orders=reached)


def _breach(e) -> None:
    from streams.services import webhook_risk_breach

    agent_id = wallet_owner(e.wallet_id)[0]
    if agent_id:
        webhook_risk_breach(agent_id=agent_id, code=e.data["code"], message=e.data["message"],
                            details=e.data.get("details"))
