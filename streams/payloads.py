"""Wire shapes of what the streams carry, built from the trading models.

Orders, fills and positions are rendered by the same serializers (and, for positions, the same service) as the
pull endpoints (``GET /trade/orders/open``, ``GET /trade/history``, ``GET /account/positions``), so a stream and a
poll never disagree on a field. Imports of the trading API are local: producers import this module and must not
pull the web layer in at start-up.

Items have the bus shape: ``{"id", "v" (version: updated_at as epoch seconds), "data"}``.
"""

from datetime import datetime

from common.fastrender import fast_renderer  # noqa: F401 - re-exported: the streams render with it
from common.money import fmt, to_decimal

# A public trade is a platform fill stripped of who made it.
PUBLIC_TRADE_FIELDS = ("id", "symbol", "side", "price", "quantity", "created_at")


def epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def order_items(orders) -> list[dict]:
    """Each order as a stream item (id, version, data), rendered by one serializer pass (a sweep publishes hundreds at once)."""
    from trading.api.orders import OrderOutputSerializer

    data = OrderOutputSerializer(orders, many=True).data
    return [{"id": str(o.pk), "v": epoch(o.updated_at), "data": dict(d)} for o, d in zip(orders, data)]


def fill_items(fills) -> list[dict]:
    from trading.api.orders import FillOutputSerializer

    data = FillOutputSerializer(fills, many=True).data
    return [{"id": f.pk, "data": dict(d)} for f, d in zip(fills, data)]


def position_items(*, wallet_id, symbols=None) -> list[dict]:
    """The wallet's positions (closed ones included) as ``GET /account/positions`` renders them, at mark.

    A position is identified by its symbol: a stream follows one wallet, which holds one position per pair.
    Inside a transaction this sees that transaction's own updates.
    """
    from trading.api.positions import PositionSerializer
    from trading.services.positions import positions_at_mark

    views = positions_at_mark(wallet=wallet_id, include_closed=True)
    return [{"id": v.symbol, "v": epoch(v.updated_at), "open": v.quantity > 0,
             "data": dict(PositionSerializer(v).data)}
            for v in views if symbols is None or v.symbol in symbols]


def public_trade(fill: dict) -> dict:
    """A fill as the API renders it -> the public trade it is."""
    return {k: fill.get(k) for k in PUBLIC_TRADE_FIELDS}


def public_trades(rows) -> list[dict]:
    """Public trades straight from ``Fill`` rows' values (no order join, no full fill rendering), rendered by the
    same field types as the fill serializer, so they read exactly like :func:`public_trade` of a fill."""
    from rest_framework import serializers

    from common.fields import DecimalString

    class PublicTradeSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        symbol = serializers.CharField()
        side = serializers.CharField()
        price = DecimalString()
        quantity = DecimalString()
        created_at = serializers.DateTimeField()

    return [dict(row) for row in PublicTradeSerializer(rows, many=True).data]


def book_levels(levels, depth: int) -> list[list[str]]:
    """``[[price, quantity], ...]`` strings, top ``depth``, from (price, quantity) pairs or level objects."""
    out = []
    for level in list(levels or ())[:depth]:
        if isinstance(level, (list, tuple)):
            price, qty = level[0], level[1]
        else:
            price, qty = level.price, level.quantity
        out.append([_level_str(price), _level_str(qty)])
    return out


def _level_str(value) -> str:
    # The API's fixed-point form (8 places): one price is always the same string, which the book diff keys on.
    return fmt(to_decimal(value))
