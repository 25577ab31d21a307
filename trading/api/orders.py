"""The Trading section of API.md: place, preview, read, cancel orders; bulk quotes; close positions; fills.

Thin views: an InputSerializer parses, one service or selector does the work, an OutputSerializer renders. Errors
are raised by the services (``common.errors``) and rendered by the one exception handler.
"""

from functools import lru_cache

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.fastparse import fast_parser
from common.fastrender import fast_renderer
from common.fields import DecimalString
from common.money import MAX_INPUT
from common.pagination import PAGE_PARAMETERS, paginate, paginated
from common.permissions import IsAgent, agent_context
from trading import selectors_orders as sel
from trading.engine.types import OrderIntent
from trading.models import Order
from trading.selectors import wallet_current
from trading.services import notify
from trading.services import orders as order_services

AGENT_KEY = [{"AgentKey": []}]
CLIENT_ORDER_ID = serializers.RegexField(
    r"^[A-Za-z0-9._:\-]{1,64}$", required=False, allow_null=True,
    help_text="Your id for the order (1-64 of A-Z a-z 0-9 . _ : -). Retrying with the same body returns the "
              "original order; another body -> 409 DUPLICATE_CLIENT_ORDER_ID.")
WAIT_MS = OpenApiParameter(
    "wait_ms", OpenApiTypes.INT, description="Wait up to this long (ms) for a worker to execute an order that "
    "executes at once (market, marketable limit), so the response shows its fills. 0 returns at once.")


def _symbol(value: str) -> str:
    return value.strip().upper()


def _query_symbol(request) -> str | None:
    """``?symbol=`` normalised, None when absent; 400 for anything that cannot be a pair's symbol, 422
    ``UNKNOWN_SYMBOL`` for a pair that is not listed."""
    raw = request.query_params.get("symbol")
    if not raw:
        return None
    return sel.symbol_parse(raw)


def _notional_in_range(attrs: dict) -> dict:
    """quantity x price (and x trigger_price) at most ``MAX_INPUT``: each number alone may be in range while their
    product overflows the engine's decimal arithmetic (a 500 before this check)."""
    quantity = attrs.get("quantity")
    if quantity is not None:
        for field in ("price", "trigger_price"):
            price = attrs.get(field)
            if price is not None and quantity * price > MAX_INPUT:
                raise serializers.ValidationError(
                    {field: [f"quantity x {field} must be at most {MAX_INPUT} (the largest order notional)."]})
    return attrs


class OrderInputSerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=20)
    side = serializers.ChoiceField(choices=Order.Side.choices)
    type = serializers.ChoiceField(choices=Order.Type.choices)
    quantity = DecimalString(positive=True, required=False, allow_null=True, help_text="Base quantity")
    quote_quantity = DecimalString(positive=True, required=False, allow_null=True,
                                   help_text="Quote amount to spend/receive (market orders), instead of quantity")
    price = DecimalString(positive=True, required=False, allow_null=True,
                          help_text="Limit price (limit, stop_limit, take_profit_limit)")
    trigger_price = DecimalString(positive=True, required=False, allow_null=True,
                                  help_text="Trigger price (stop_loss, take_profit, stop_limit, "
                                            "take_profit_limit)")
    time_in_force = serializers.ChoiceField(choices=Order.TimeInForce.choices, default="gtc")
    post_only = serializers.BooleanField(default=False)
    reduce_only = serializers.BooleanField(default=False)
    client_order_id = CLIENT_ORDER_ID

    def validate(self, attrs):
        return _notional_in_range(attrs)

    def to_intent(self) -> OrderIntent:
        return order_intent(self.validated_data)


def order_intent(d: dict) -> OrderIntent:
    """The engine's intent from validated order input."""
    return OrderIntent(symbol=_symbol(d["symbol"]), side=d["side"], type=d["type"], quantity=d.get("quantity"),
                       quote_quantity=d.get("quote_quantity"), price=d.get("price"),
                       trigger_price=d.get("trigger_price"), time_in_force=d["time_in_force"],
                       post_only=d["post_only"], reduce_only=d["reduce_only"])


class FillOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_id = serializers.UUIDField()
    client_order_id = serializers.CharField(source="order.client_order_id", allow_null=True)
    seq = serializers.IntegerField()
    symbol = serializers.CharField()
    side = serializers.CharField()
    price = DecimalString()
    quantity = DecimalString()
    quote_amount = DecimalString()
    fee = DecimalString()
    fee_asset = serializers.CharField()
    liquidity = serializers.ChoiceField(choices=["maker", "taker"])
    slippage_pct = DecimalString(places=6, allow_null=True)
    realized_pnl = DecimalString(allow_null=True)
    created_at = serializers.DateTimeField()


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    order_id = serializers.UUIDField(source="id", help_text="Alias of id (the name fills and the seed API use).")
    client_order_id = serializers.CharField(allow_null=True)
    symbol = serializers.CharField()
    side = serializers.CharField()
    type = serializers.CharField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    time_in_force = serializers.CharField()
    quantity = DecimalString(allow_null=True)
    quote_quantity = DecimalString(allow_null=True)
    price = DecimalString(allow_null=True)
    trigger_price = DecimalString(allow_null=True)
    post_only = serializers.BooleanField()
    reduce_only = serializers.BooleanField()
    filled_quantity = DecimalString()
    filled_quote = DecimalString(help_text="Cumulative quote amount of the fills")
    avg_fill_price = DecimalString(allow_null=True)
    fees_paid = DecimalString()
    fee_asset = serializers.CharField(source="quote_asset")
    locked_asset = serializers.CharField()
    locked_amount = DecimalString(help_text="Still held in the wallet by this order")
    reject_code = serializers.CharField(allow_blank=True)
    status_reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    triggered_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


class OrderWithFillsSerializer(OrderOutputSerializer):
    fills = serializers.SerializerMethodField()

    def get_fills(self, order) -> list[dict]:
        if not order.fill_count:
            return []
        return FillOutputSerializer(sel.fills_of(order=order), many=True).data


@lru_cache(maxsize=1)
def _order_parser():
    """``OrderInputSerializer``'s validation for valid input, its fields bound once per process (common.fastparse)."""
    return fast_parser(OrderInputSerializer)


@lru_cache(maxsize=1)
def _renderers():
    """The order and fill renderers of the output serializers above, built once per process."""
    return fast_renderer(OrderOutputSerializer), fast_renderer(FillOutputSerializer)


def order_with_fills_data(order) -> dict:
    """``OrderWithFillsSerializer(order).data``, field for field, through the serializers' own fields but without
    DRF's per-object machinery (the order path renders one per request; a test compares the two)."""
    render_order, render_fill = _renderers()
    out = render_order(order)
    out["fills"] = [render_fill(f) for f in sel.fills_of(order=order)] if order.fill_count else []
    return out


def _wait_ms(request) -> int:
    raw = request.query_params.get("wait_ms")
    if raw is None or raw == "":
        return settings.ORDER_WAIT_DEFAULT_MS
    try:
        value = int(raw)
    except ValueError:
        raise serializers.ValidationError({"wait_ms": ["must be an integer number of milliseconds"]}) from None
    if value < 0:
        raise serializers.ValidationError({"wait_ms": ["must be >= 0"]})
    return min(value, settings.ORDER_WAIT_MAX_MS)


def _wallet(request):
    return wallet_current(agent=agent_context(request).agent)


def _placed_response(placement, wait_ms: int) -> Response:
    """201 for a new order, 200 for a replayed client_order_id; after a bounded wait for its execution."""
    order = placement.order
    if placement.awaits_execution and wait_ms > 0:
        notify.order_done_wait(order_id=order.pk, timeout_ms=wait_ms,
                               is_done=lambda: not order_services.order_awaits_execution(order_id=order.pk))
        order.refresh_from_db()  # otherwise the order is as the placing transaction left it
    code = status.HTTP_201_CREATED if placement.created else status.HTTP_200_OK
    return Response(order_with_fills_data(order), status=code)


class OrderCreateView(APIView):
    permission_classes = [IsAgent]

    @extend_schema(operation_id="trade_order_create", tags=["trading"], auth=AGENT_KEY, parameters=[WAIT_MS],
                   request=OrderInputSerializer, responses={201: OrderWithFillsSerializer, 200: OrderWithFillsSerializer})
    def post(self, request):
        wait_ms = _wait_ms(request)
        data = _order_parser()(request.data)
        if data is None:  # invalid (or not a JSON object): the serializer raises its own errors
            s = OrderInputSerializer(data=request.data)
            s.is_valid(raise_exception=True)
            data = s.validated_data
        agent = agent_context(request).agent
        placement = order_services.order_place(agent=agent, wallet=_wallet(request), intent=order_intent(data),
                                               client_order_id=data.get("client_order_id"))
        return _placed_response(placement, wait_ms)


class OrderPreviewView(APIView):
    permission_classes = [IsAgent]

    class OutputSerializer(serializers.Serializer):
        class CheckSerializer(serializers.Serializer):
            rule = serializers.CharField()
            passed = serializers.BooleanField()
            code = serializers.CharField(allow_null=True)
            message = serializers.CharField(allow_blank=True)
            limit = serializers.CharField(allow_null=True)
            value = serializers.CharField(allow_null=True)

        approved = serializers.BooleanField()
        reason = serializers.CharField(allow_null=True)
        reason_code = serializers.CharField(allow_null=True)
        symbol = serializers.CharField()
        side = serializers.CharField()
        type = serializers.CharField()
        quantity = DecimalString(allow_null=True)
        notional = DecimalString(allow_null=True)
        est_fee = DecimalString(allow_null=True)
        fee_bps = DecimalString(places=4, allow_null=True)
        fee_role = serializers.CharField(allow_null=True)
        est_price = DecimalString(allow_null=True)
        est_slippage_pct = serializers.CharField(allow_null=True)
        balance_required = DecimalString(allow_null=True)
        balance_asset = serializers.CharField(allow_null=True)
        lock_amount = DecimalString(allow_null=True, help_text="What placing it would lock (market buys include "
                                                                "the slippage buffer)")
        status = serializers.CharField(allow_null=True, help_text="The status it would have right after placement")
        checks = CheckSerializer(many=True)

    @extend_schema(operation_id="trade_order_preview", tags=["trading"], auth=AGENT_KEY,
                   request=OrderInputSerializer, responses={200: OutputSerializer})
    def post(self, request):
        s = OrderInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        result = order_services.order_preview(agent=agent_context(request).agent, wallet=_wallet(request),
                                              intent=s.to_intent())
        return Response(self.OutputSerializer(result).data)


class OrderDetailView(APIView):
    permission_classes = [IsAgent]

    @extend_schema(operation_id="trade_order_get", tags=["trading"], auth=AGENT_KEY,
                   responses={200: OrderWithFillsSerializer})
    def get(self, request, ref: str):
        return Response(OrderWithFillsSerializer(sel.order_get(wallet=_wallet(request), ref=ref)).data)

    @extend_schema(operation_id="trade_order_cancel", tags=["trading"], auth=AGENT_KEY,
                   responses={200: OrderWithFillsSerializer})
    def delete(self, request, ref: str):
        order = order_services.order_cancel(wallet=_wallet(request), ref=ref)
        return Response(OrderWithFillsSerializer(order).data)


class OrderListView(APIView):
    permission_classes = [IsAgent]

    @extend_schema(operation_id="trade_orders_list", tags=["trading"], auth=AGENT_KEY,
                   parameters=[OpenApiParameter("status", str, description="new, partially_filled, filled, "
                                                "cancelled, rejected, expired, triggered, open; comma separated"),
                               OpenApiParameter("symbol", str), OpenApiParameter("side", str),
                               OpenApiParameter("type", str),
                               OpenApiParameter("since", OpenApiTypes.DATETIME),
                               OpenApiParameter("until", OpenApiTypes.DATETIME), *PAGE_PARAMETERS],
                   responses={200: paginated(OrderOutputSerializer, "PaginatedOrders")})
    def get(self, request):
        qs = sel.order_list(wallet=_wallet(request), filters=request.query_params)
        return paginate(request=request, queryset=qs, serializer_class=OrderOutputSerializer, view=self)


class OpenOrdersView(APIView):
    permission_classes = [IsAgent]

    class CancelAllOutputSerializer(serializers.Serializer):
        cancelled = serializers.IntegerField()
        symbol = serializers.CharField(allow_null=True)
        orders = OrderOutputSerializer(many=True)

    @extend_schema(operation_id="trade_orders_open", tags=["trading"], auth=AGENT_KEY,
                   parameters=[OpenApiParameter("symbol", str)], responses={200: OrderOutputSerializer(many=True)})
    def get(self, request):
        orders = sel.orders_open(wallet=_wallet(request), symbol=_query_symbol(request))
        return Response(OrderOutputSerializer(orders, many=True).data)

    @extend_schema(operation_id="trade_orders_cancel_all", tags=["trading"], auth=AGENT_KEY,
                   parameters=[OpenApiParameter("symbol", str, description="Only this pair; omit for all")],
                   responses={200: CancelAllOutputSerializer})
    def delete(self, request):
        symbol = _query_symbol(request)
        cancelled = order_services.order_cancel_all(wallet=_wallet(request), symbol=symbol,
                                                    reason="cancel-all requested by the agent")
        return Response(self.CancelAllOutputSerializer(
            {"cancelled": len(cancelled), "symbol": symbol, "orders": cancelled}).data)


class QuotesBulkView(APIView):
    permission_classes = [IsAgent]

    class InputSerializer(serializers.Serializer):
        class QuoteSerializer(serializers.Serializer):
            side = serializers.ChoiceField(choices=Order.Side.choices)
            price = DecimalString(positive=True)
            quantity = DecimalString(positive=True)
            post_only = serializers.BooleanField(default=False)
            client_order_id = CLIENT_ORDER_ID

            def validate(self, attrs):
                return _notional_in_range(attrs)

        symbol = serializers.CharField(max_length=20)
        cancel_all = serializers.BooleanField(default=True)
        quotes = QuoteSerializer(many=True, allow_empty=True, max_length=200)

        def validate_quotes(self, quotes):
            ids = [q["client_order_id"] for q in quotes if q.get("client_order_id")]
            if len(ids) != len(set(ids)):
                raise serializers.ValidationError("client_order_id values must be distinct within one request")
            return quotes

    class OutputSerializer(serializers.Serializer):
        symbol = serializers.CharField()
        cancelled = OrderOutputSerializer(many=True)
        orders = OrderOutputSerializer(many=True)

    @extend_schema(operation_id="trade_quotes_bulk", tags=["trading"], auth=AGENT_KEY, request=InputSerializer,
                   responses={200: OutputSerializer})
    def post(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        result = order_services.quotes_replace(agent=agent_context(request).agent, wallet=_wallet(request),
                                               symbol=_symbol(d["symbol"]), quotes=d["quotes"],
                                               cancel_all=d["cancel_all"])
        return Response(self.OutputSerializer(result).data)


class PositionCloseView(APIView):
    permission_classes = [IsAgent]

    class InputSerializer(serializers.Serializer):
        symbol = serializers.CharField(max_length=20)
        quantity = DecimalString(positive=True, required=False, allow_null=True,
                                 help_text="Base quantity to sell; omit to close the whole position")
        client_order_id = CLIENT_ORDER_ID

    @extend_schema(operation_id="trade_position_close", tags=["trading"], auth=AGENT_KEY, parameters=[WAIT_MS],
                   request=InputSerializer, responses={201: OrderWithFillsSerializer})
    def post(self, request):
        wait_ms = _wait_ms(request)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        placement = order_services.position_close(agent=agent_context(request).agent, wallet=_wallet(request),
                                                  symbol=_symbol(d["symbol"]), quantity=d.get("quantity"),
                                                  client_order_id=d.get("client_order_id"))
        return _placed_response(placement, wait_ms)


class TradeHistoryView(APIView):
    permission_classes = [IsAgent]

    @extend_schema(operation_id="trade_history", tags=["trading"], auth=AGENT_KEY,
                   parameters=[OpenApiParameter("symbol", str), OpenApiParameter("side", str),
                               OpenApiParameter("order_id", OpenApiTypes.UUID),
                               OpenApiParameter("since", OpenApiTypes.DATETIME),
                               OpenApiParameter("until", OpenApiTypes.DATETIME), *PAGE_PARAMETERS],
                   responses={200: paginated(FillOutputSerializer, "PaginatedFills")})
    def get(self, request):
        qs = sel.fill_list(wallet=_wallet(request), filters=request.query_params)
        return paginate(request=request, queryset=qs, serializer_class=FillOutputSerializer, view=self)
