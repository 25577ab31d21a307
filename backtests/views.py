"""API.md's Backtests section (agent key). Thin views: parse, call one service or selector, render."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import error_responses

from common.fields import DecimalString
from common.permissions import IsAgent, agent_context
from trading.api.orders import OrderInputSerializer

from . import selectors, services
from .models import BacktestSession

TAGS = ["backtests"]
AGENT_KEY = [{"AgentKey": []}]


def schema(operation_id: str, *, codes=(200,), **kwargs):
    """The OpenAPI description of a Backtests operation: agent key, a JSON object, the error envelope."""
    responses = {**{c: OpenApiTypes.OBJECT for c in codes}, **error_responses(400, 401, 403, 404, 409, 422)}
    return extend_schema(operation_id=operation_id, tags=TAGS, auth=AGENT_KEY, responses=responses, **kwargs)


def _agent(request):
    return agent_context(request).agent


def _bool(raw, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise serializers.ValidationError({"snapshots": ["must be true or false"]})


def _int(request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise serializers.ValidationError({name: ["must be an integer"]}) from None
    if not lo <= value <= hi:
        raise serializers.ValidationError({name: [f"must be between {lo} and {hi}"]})
    return value


class CreateView(APIView):
    permission_classes = [IsAgent]

    class InputSerializer(serializers.Serializer):
        start_time = serializers.DateTimeField()
        end_time = serializers.DateTimeField()
        interval = serializers.ChoiceField(choices=list(services.INTERVALS))
        pairs = serializers.ListField(child=serializers.RegexField(r"^[A-Za-z0-9]{2,32}$"), min_length=1,
                                      max_length=20)
        starting_balance = DecimalString(positive=True, required=False)
        strategy_label = serializers.CharField(max_length=120, required=False, allow_blank=True)

    @schema("backtest_create", codes=(201,), request=InputSerializer)
    def post(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        from decimal import Decimal

        session = services.session_create(
            agent=_agent(request), start_time=d["start_time"], end_time=d["end_time"], interval=d["interval"],
            pairs=d["pairs"], starting_balance=d.get("starting_balance") or Decimal(settings.DEFAULT_STARTING_BALANCE),
            strategy_label=d.get("strategy_label", ""))
        return Response({**services.session_status(session), "session_id": str(session.pk),
                         "total_steps": session.total_steps}, status=status.HTTP_201_CREATED)


class StartView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_start", request=None)
    def post(self, request, session_id):
        return Response(services.session_advance(session_id=session_id, agent=_agent(request), start_only=True))


class StepView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_step", request=None)
    def post(self, request, session_id):
        return Response(services.session_advance(session_id=session_id, agent=_agent(request), steps=1))


class StepBatchView(APIView):
    """``{steps: 1..10000, snapshots: true|false}``: ``snapshots`` (default true) lists a light snapshot of every
    intermediate step (step, virtual_time, prices, equity); ``false`` (or ``?snapshots=false``) skips them — the fast
    path. The fills of every step of the batch are always returned."""

    permission_classes = [IsAgent]

    class InputSerializer(serializers.Serializer):
        steps = serializers.IntegerField(min_value=1, max_value=services.MAX_BATCH_STEPS)
        snapshots = serializers.BooleanField(required=False, allow_null=True, default=None)

    @schema("backtest_step_batch", request=InputSerializer)
    def post(self, request, session_id):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        snaps = s.validated_data.get("snapshots")
        if snaps is None:
            snaps = _bool(request.query_params.get("snapshots"), True)
        return Response(services.session_advance(session_id=session_id, agent=_agent(request),
                                                  steps=s.validated_data["steps"], snapshots=snaps))


class CancelView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_cancel", request=None)
    def post(self, request, session_id):
        return Response(services.session_cancel(session_id=session_id, agent=_agent(request)))


class OrderView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_order_create", codes=(201, 200), request=OrderInputSerializer)
    def post(self, request, session_id):
        s = OrderInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        placed = services.order_place(session_id=session_id, agent=_agent(request), body=dict(s.validated_data))
        return Response(placed.order, status=status.HTTP_201_CREATED if placed.created else status.HTTP_200_OK)


class OrderCancelView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_order_cancel")
    def delete(self, request, session_id, order_id):
        return Response(services.order_cancel(session_id=session_id, agent=_agent(request), order_id=order_id))


class OrdersView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_orders")
    def get(self, request, session_id):
        st = request.query_params.get("status") or None
        valid = {"open", *(c for c, _ in (("new", 0), ("partially_filled", 0), ("filled", 0), ("cancelled", 0),
                                             ("rejected", 0), ("expired", 0), ("triggered", 0)))}
        if st is not None and st not in valid:
            raise serializers.ValidationError({"status": [f"one of {', '.join(sorted(valid))}"]})
        symbol = (request.query_params.get("symbol") or "").strip().upper() or None
        return Response(selectors.orders(session_id=session_id, agent=_agent(request), status=st, symbol=symbol))


class PricesView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_prices")
    def get(self, request, session_id):
        return Response(selectors.prices(session_id=session_id, agent=_agent(request)))


class CandlesView(APIView):
    permission_classes = [IsAgent]

    class QuerySerializer(serializers.Serializer):
        interval = serializers.ChoiceField(choices=list(selectors.CANDLE_INTERVALS), required=False)
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=500)
        start = serializers.DateTimeField(required=False)
        end = serializers.DateTimeField(required=False)

    @schema("backtest_candles", parameters=[QuerySerializer])
    def get(self, request, session_id, symbol):
        q = self.QuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        return Response(selectors.candles(session_id=session_id, agent=_agent(request), symbol=symbol.upper(),
                                          interval=d.get("interval"), limit=d["limit"], start=d.get("start"),
                                          end=d.get("end")))


class BalanceView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_balance")
    def get(self, request, session_id):
        return Response(selectors.balance(session_id=session_id, agent=_agent(request)))


class PositionsView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_positions")
    def get(self, request, session_id):
        return Response(selectors.positions(session_id=session_id, agent=_agent(request)))


class StatusView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_status")
    def get(self, request, session_id):
        return Response(selectors.status(session_id=session_id, agent=_agent(request)))


class ResultsView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_results")
    def get(self, request, session_id):
        return Response(services.session_results(session_id=session_id, agent=_agent(request)))


class EquityCurveView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_equity_curve")
    def get(self, request, session_id):
        n = _int(request, "max_points", 0, 0, 1_000_000)
        return Response({"session_id": str(session_id), "points": services.equity_curve(
            session_id=session_id, agent=_agent(request), max_points=n or None)})


class TradesView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_trades")
    def get(self, request, session_id):
        rows = services.trades(session_id=session_id, agent=_agent(request))
        return Response({"session_id": str(session_id), "count": len(rows), "results": rows})


class ListView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_list")
    def get(self, request):
        st = request.query_params.get("status") or None
        if st is not None and st not in BacktestSession.Status.values:
            raise serializers.ValidationError({"status": [f"one of {', '.join(BacktestSession.Status.values)}"]})
        limit = _int(request, "limit", 100, 1, 500)
        rows = selectors.session_list(agent=_agent(request), status=st, limit=limit)
        return Response({"count": len(rows), "results": rows})


class CompareView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_compare")
    def get(self, request):
        import uuid

        raw = [x.strip() for x in (request.query_params.get("ids") or "").split(",") if x.strip()]
        if not raw or len(raw) > 20:
            raise serializers.ValidationError({"ids": ["1 to 20 session ids, comma separated"]})
        try:
            ids = [uuid.UUID(x) for x in raw]
        except ValueError:
            raise serializers.ValidationError({"ids": ["not a session id"]}) from None
        return Response(selectors.compare(agent=_agent(request), ids=ids))


class BestView(APIView):
    permission_classes = [IsAgent]

    @schema("backtest_best")
    def get(self, request):
        return Response(selectors.best(agent=_agent(request), metric=request.query_params.get("metric") or "roi_pct"))
