"""The Analytics API (API.md "Analytics"): thin views over ``analytics.selectors``.

Numbers are strings at the edge: ratios (Sharpe, Sortino, Calmar, profit factor, deflated Sharpe) at 4 places,
percentages (ROI, max drawdown, win rate) at 4 places, money (PnL, expectancy, trades) at 8 places; an undefined
metric is ``null``, counts and durations are integers.
"""

import json
from decimal import ROUND_HALF_EVEN, Context, Decimal

from django.http import HttpResponse

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import error_responses
from analytics import selectors
from analytics.metrics import RANKING_METRICS
from analytics.services import PERIODS
from common.fields import DecimalString
from common.money import fmt
from common.permissions import IsAgent, agent_context
from market.views import TimestampField
from trading.selectors import wallet_current

AGENT_KEY = [{"AgentKey": []}]
TAG = "analytics"
RATIO_FIELDS = ("sharpe_ratio", "sortino_ratio", "calmar_ratio", "profit_factor", "deflated_sharpe")
PCT_FIELDS = ("max_drawdown_pct", "win_rate", "roi_pct")
MONEY_FIELDS = ("expectancy", "avg_win", "avg_loss", "best_trade", "worst_trade", "total_pnl")
LEADERBOARD_MAX_LIMIT = 500


def ratio(value) -> str | None:
    if value is None:
        return None
    value = Decimal(value)
    # a Calmar ratio over one day can be 1e40: quantize with the digits it needs, never an exponent on the wire
    ctx = Context(prec=max(28, value.adjusted() + 8), rounding=ROUND_HALF_EVEN)
    return f"{value.quantize(Decimal('0.0001'), context=ctx):f}"


def wire(name: str, value):
    if name in RATIO_FIELDS or name in PCT_FIELDS:
        return ratio(value)
    if name in MONEY_FIELDS:
        return fmt(None if value is None else Decimal(value))
    return value


class PerformanceView(APIView):
    permission_classes = [IsAgent]

    class InputSerializer(serializers.Serializer):
        period = serializers.ChoiceField(choices=list(PERIODS), default="all")

    class OutputSerializer(serializers.Serializer):
        period = serializers.ChoiceField(choices=list(PERIODS))
        as_of = serializers.DateTimeField()
        sharpe_ratio = DecimalString(allow_null=True)
        sortino_ratio = DecimalString(allow_null=True)
        calmar_ratio = DecimalString(allow_null=True)
        max_drawdown_pct = DecimalString(allow_null=True)
        max_drawdown_duration = serializers.IntegerField(allow_null=True, help_text="seconds")
        win_rate = DecimalString(allow_null=True)
        profit_factor = DecimalString(allow_null=True)
        expectancy = DecimalString(allow_null=True)
        avg_win = DecimalString(allow_null=True)
        avg_loss = DecimalString(allow_null=True)
        best_trade = DecimalString(allow_null=True)
        worst_trade = DecimalString(allow_null=True)
        total_trades = serializers.IntegerField()
        roi_pct = DecimalString(allow_null=True)
        total_pnl = DecimalString(allow_null=True)

    @extend_schema(operation_id="analytics_performance", tags=[TAG], auth=AGENT_KEY,
                   parameters=[OpenApiParameter("period", str, enum=list(PERIODS), default="all")],
                   responses={200: OutputSerializer, **error_responses(400, 401, 404)},
                   summary="The agent's metrics over a period (its current wallet)")
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        wallet = wallet_current(agent=agent_context(request).agent)
        result = selectors.wallet_performance(wallet=wallet, period=params.validated_data["period"])
        perf = result.performance
        body = {"period": result.period, "as_of": result.as_of.isoformat().replace("+00:00", "Z")}
        for name in perf.API_FIELDS:
            body[name] = wire(name, getattr(perf, name))
        return Response(body)


class PortfolioHistoryView(APIView):
    permission_classes = [IsAgent]

    class InputSerializer(serializers.Serializer):
        interval = serializers.ChoiceField(choices=list(selectors.INTERVAL_SECONDS), default="1h")
        start = TimestampField(required=False)
        end = TimestampField(required=False)

        def validate(self, attrs):
            start, end = attrs.get("start"), attrs.get("end")
            if start and end and start >= end:
                raise serializers.ValidationError({"end": "Must be after start."})
            if start and end:
                buckets = (end - start).total_seconds() / selectors.INTERVAL_SECONDS[attrs["interval"]]
                if buckets > selectors.HISTORY_MAX_POINTS:
                    raise serializers.ValidationError(
                        {"start": f"At most {selectors.HISTORY_MAX_POINTS} {attrs['interval']} buckets per request;"
                                  " narrow the range or use a longer interval."})
            return attrs

    class PointSerializer(serializers.Serializer):
        ts = serializers.DateTimeField(help_text="Start of the bucket; the values are its last point")
        equity = DecimalString()
        cash = DecimalString()
        positions_value = DecimalString()

    @extend_schema(operation_id="analytics_portfolio_history", tags=[TAG], auth=AGENT_KEY,
                   parameters=[OpenApiParameter("interval", str, enum=list(selectors.INTERVAL_SECONDS), default="1h"),
                               OpenApiParameter("start", str, description="ISO-8601 or epoch ms (default: end "
                                                "minus 1 day / 7 days / 30 days / 365 days by interval)"),
                               OpenApiParameter("end", str, description="ISO-8601 or epoch ms (default: now)")],
                   responses={200: PointSerializer(many=True), **error_responses(400, 401, 404)},
                   summary="The equity curve of the agent's current wallet, oldest first")
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        wallet = wallet_current(agent=agent_context(request).agent)
        v = params.validated_data
        points = selectors.equity_history(wallet=wallet, interval=v["interval"], start=v.get("start"),
                                          end=v.get("end"))
        return Response([{"ts": p.ts.isoformat().replace("+00:00", "Z"), "equity": fmt(p.equity),
                          "cash": fmt(p.cash), "positions_value": fmt(p.positions_value)} for p in points])


class LeaderboardApiView(APIView):
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        metric = serializers.ChoiceField(choices=list(RANKING_METRICS), default="roi_pct")
        period = serializers.ChoiceField(choices=list(PERIODS), default="all")
        limit = serializers.IntegerField(min_value=1, max_value=LEADERBOARD_MAX_LIMIT, default=100)

    class RowSerializer(serializers.Serializer):
        rank = serializers.IntegerField()
        agent_id = serializers.UUIDField()
        agent_name = serializers.CharField()
        owner = serializers.CharField(help_text="The owner's display name")
        value = DecimalString(allow_null=True, help_text="The ranking metric (null: undefined; a profit factor "
                                                          "with profit and no loss is null and ranks first)")
        roi_pct = DecimalString(allow_null=True)
        sharpe_ratio = DecimalString(allow_null=True)
        max_drawdown_pct = DecimalString(allow_null=True)
        total_trades = serializers.IntegerField()
        deflated_sharpe = DecimalString(allow_null=True, help_text="Deflated Sharpe ratio across this board")

    @extend_schema(operation_id="analytics_leaderboard", tags=[TAG], auth=[],
                   parameters=[OpenApiParameter("metric", str, enum=list(RANKING_METRICS), default="roi_pct"),
                               OpenApiParameter("period", str, enum=list(PERIODS), default="all"),
                               OpenApiParameter("limit", int, description=f"1..{LEADERBOARD_MAX_LIMIT}",
                                                default=100)],
                   responses={200: inline_serializer("Leaderboard", {
                       "metric": serializers.CharField(), "period": serializers.CharField(),
                       "as_of": serializers.DateTimeField(allow_null=True), "rows": RowSerializer(many=True)}),
                       **error_responses(400)},
                   summary="Public leaderboard (agents hidden by their owner never appear)")
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        v = params.validated_data
        body = selectors.leaderboard_cached(metric=v["metric"], period=v["period"], limit=v["limit"],
                                            render=_render_leaderboard)
        return HttpResponse(body, content_type="application/json")


def _render_leaderboard(board) -> bytes:
    """The response body, rendered once per board build (the selector caches it)."""
    metric = board.metric
    rows = [{**r, "value": wire(metric, r["value"]), "roi_pct": ratio(r["roi_pct"]),
             "sharpe_ratio": ratio(r["sharpe_ratio"]), "max_drawdown_pct": ratio(r["max_drawdown_pct"]),
             "deflated_sharpe": ratio(r["deflated_sharpe"])} for r in board.rows]
    return json.dumps({"metric": metric, "period": board.period,
                       "as_of": board.as_of.isoformat().replace("+00:00", "Z") if board.as_of else None,
                       "rows": rows}, separators=(",", ":")).encode()
