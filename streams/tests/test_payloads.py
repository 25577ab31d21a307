"""The streams render orders and fills with ``payloads.fast_renderer`` (the API serializers' own fields, without
DRF's per-object machinery): it must give exactly what the serializers give, for any order and fill."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.payloads import fast_renderer
from trading.api.orders import FillOutputSerializer, OrderOutputSerializer

AMOUNTS = st.one_of(st.none(), st.decimals(min_value=0, max_value=10**12, places=12, allow_nan=False))
TIMES = st.one_of(st.none(), st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                                          timezones=st.just(UTC)))


@settings(max_examples=200, deadline=None)
@given(quantity=AMOUNTS, price=AMOUNTS, filled=st.decimals(min_value=0, max_value=10**6, places=12),
       status=st.sampled_from(["new", "partially_filled", "filled", "cancelled", "rejected", "expired", "triggered"]),
       coid=st.one_of(st.none(), st.text(min_size=1, max_size=20)), created=TIMES, closed=TIMES,
       post_only=st.booleans())
def test_orders_render_exactly_as_the_api_serializer(quantity, price, filled, status, coid, created, closed,
                                                     post_only):
    data = {"id": str(uuid.uuid4()), "wallet_id": str(uuid.uuid4()), "client_order_id": coid, "symbol": "BTCUSDT",
            "side": "buy", "type": "limit", "status": status, "time_in_force": "gtc", "quantity": quantity,
            "quote_quantity": None, "price": price, "trigger_price": None, "post_only": post_only,
            "reduce_only": False, "filled_quantity": filled, "filled_quote": filled * 3, "avg_fill_price":
            Decimal(3) if filled else None, "fees_paid": Decimal("0.1"), "quote_asset": "USDT", "base_asset": "BTC",
            "locked_asset": "USDT", "locked_amount": Decimal("12.5"), "reject_code": "", "status_reason": "",
            "created_at": created or datetime(2025, 1, 1, tzinfo=UTC), "updated_at": datetime(2025, 1, 2, tzinfo=UTC),
            "triggered_at": None, "closed_at": closed, "needs_execution": False}
    expected = dict(OrderOutputSerializer(SimpleNamespace(**data)).data)
    assert fast_renderer(OrderOutputSerializer)(data) == expected


@settings(max_examples=100, deadline=None)
@given(price=st.decimals(min_value=Decimal("0.00000001"), max_value=10**9, places=8),
       slippage=st.one_of(st.none(), st.decimals(min_value=-50, max_value=50, places=6)),
       pnl=AMOUNTS, coid=st.one_of(st.none(), st.text(max_size=10)), created=TIMES)
def test_fills_render_exactly_as_the_api_serializer(price, slippage, pnl, coid, created):
    data = {"id": 42, "order_id": str(uuid.uuid4()), "seq": 1, "symbol": "BTCUSDT", "side": "sell", "price": price,
            "quantity": Decimal("0.5"), "quote_amount": price / 2, "fee": Decimal("0.001"), "fee_asset": "USDT",
            "liquidity": "taker", "slippage_pct": slippage, "realized_pnl": pnl, "created_at": created}
    obj = SimpleNamespace(order=SimpleNamespace(client_order_id=coid), **data)
    expected = dict(FillOutputSerializer(obj).data)
    assert fast_renderer(FillOutputSerializer)({**data, "order": {"client_order_id": coid}}) == expected


@settings(max_examples=100, deadline=None)
@given(quantity=st.decimals(min_value=0, max_value=10**6, places=8),
       entry=st.decimals(min_value=Decimal("0.01"), max_value=10**6, places=8),
       mark=st.one_of(st.none(), st.decimals(min_value=Decimal("0.01"), max_value=10**6, places=8)),
       updated=TIMES)
def test_positions_render_exactly_as_the_api_serializer(quantity, entry, mark, updated):
    from trading.api.positions import PositionSerializer
    from trading.engine.types import PositionState
    from trading.services.positions import position_view

    state = PositionState(quantity=quantity, avg_entry_price=entry, cost_basis=quantity * entry,
                          realized_pnl=Decimal("-1.5"), fees_paid=Decimal("0.25"))
    view = position_view(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", state=state,
                         mark=mark if quantity > 0 else None, updated_at=updated)
    assert fast_renderer(PositionSerializer)(view) == dict(PositionSerializer(view).data)
