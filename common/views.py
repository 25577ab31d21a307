"""Operations endpoints: liveness, readiness (health) and Prometheus metrics. Public: probes carry no credentials."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from common.health import health_report
from common.metrics import exposition


class LiveView(APIView):
    """The process answers HTTP. No checks at all: the cheapest endpoint, and the benchmarks' baseline.

    It still passes through the whole middleware stack, DRF and the rate limiter like any other endpoint.
    """

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="health_live", tags=["operations"],
                   responses={200: inline_serializer("Live", {"status": serializers.CharField()})})
    def get(self, request):
        return Response({"status": "ok"})


class _CheckSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="ok, embedded, unknown (healthy) or down, stale, degraded (unhealthy)")
    latency_ms = serializers.FloatField(required=False)
    error = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["ok", "degraded", "down"])
        time = serializers.DateTimeField()
        checks = inline_serializer("HealthChecks", {
            "database": _CheckSerializer(),
            "redis": _CheckSerializer(),
            "broker": _CheckSerializer(),
            "price_feed": _CheckSerializer(),
            "processes": _CheckSerializer(help_text="worker, beat, feed, sweeper: each ok or silent (heartbeats)"),
        })

    @extend_schema(operation_id="health", tags=["operations"],
                   description="Database (SELECT 1), Redis (PING), Celery broker, price-feed freshness and the "
                               "heartbeats of the worker, beat, feed and sweeper processes. Status ok (all healthy), "
                               "degraded (Redis or broker down, feed stale, a process silent; still 200) or down "
                               "(database unreachable; 503 with the same body).",
                   responses={200: OutputSerializer, 503: OutputSerializer})
    def get(self, request):
        status, body = health_report()
        return Response(body, status=503 if status == "down" else 200)


class PrometheusTextRenderer(BaseRenderer):
    """Lets a scraper's ``Accept: text/plain`` through content negotiation; errors still render as JSON text."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class MetricsView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    renderer_classes = [PrometheusTextRenderer, JSONRenderer]

    @extend_schema(operation_id="metrics", tags=["operations"],
                   description="Prometheus text exposition: http_requests_total{method,route,status} and "
                               "http_request_duration_seconds{method,route}.",
                   responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request):
        payload, content_type = exposition()
        return Response(payload, content_type=content_type)


# --- The front doors: "/" (a page for people) and "/api/v1/" (an index for programs) --------------------------------

# (name, what it is, one endpoint that proves the section is installed). Listed only when that endpoint is routed
# (common.routing), so sections other apps add appear here by themselves.
API_SECTIONS = [
    ("auth", "Accounts: register, log in (JWT), refresh, log out.", "POST", "/auth/login"),
    ("agents", "Your agents, their keys, risk profiles and skill.md (JWT; an agent reads its own skill.md).",
     "GET", "/agents"),
    ("market", "Public market data: pairs, prices, tickers, candles, order books, fees.", "GET", "/market/pairs"),
    ("account", "The agent's wallet: info, balance, positions, portfolio (agent key).", "GET", "/account/info"),
    ("trade", "Orders, previews, cancels, bulk quotes, position close, fills (agent key).", "GET", "/trade/orders"),
    ("stream", "Server-Sent Events: the agent's orders, fills, positions; a symbol's book and trades.",
     "GET", "/stream/user"),
    ("webhooks", "HTTP callbacks for order and risk events (agent key).", "GET", "/webhooks"),
    ("analytics", "Performance metrics, equity history, the public leaderboard.", "GET", "/analytics/performance"),
    ("battles", "Competitions between agents, live or on historical data.", "GET", "/battles"),
    ("backtest", "Backtests on historical candles, on the live engine's rules.", "GET", "/backtest/list"),
    ("binance", "Binance-compatible REST for unmodified ccxt / Freqtrade bots.", "GET", "/binance/api/v3/ping"),
    ("health", "Database, Redis, broker, price-feed and process status.", "GET", "/health"),
    ("metrics", "Prometheus metrics.", "GET", "/metrics"),
]


def api_sections(request) -> list[dict]:
    from common.routing import API_PREFIX, path_is_routed

    base = request.build_absolute_uri(API_PREFIX)
    return [{"name": name, "description": what, "url": base + path}
            for name, what, method, path in API_SECTIONS if path_is_routed(method, path)]


class ApiIndexView(APIView):
    """``GET /api/v1/``: what this API offers and where its documentation is."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="api_index", tags=["operations"], responses={200: inline_serializer("ApiIndex", {
        "name": serializers.CharField(), "version": serializers.CharField(), "docs": serializers.URLField(),
        "schema": serializers.URLField(), "admin": serializers.URLField(),
        "resources": inline_serializer("ApiResource", {"name": serializers.CharField(),
                                                       "description": serializers.CharField(),
                                                       "url": serializers.URLField()}, many=True)})})
    def get(self, request):
        return Response({
            "name": "Agent paper-trading platform API", "version": "v1",
            "docs": request.build_absolute_uri("/api/docs/"), "schema": request.build_absolute_uri("/api/schema/"),
            "admin": request.build_absolute_uri("/admin/"), "resources": api_sections(request),
        })


def landing(request):
    """``/``: a small page for a person who opened the address bin/run printed."""
    from django.conf import settings
    from django.shortcuts import render

    from common.demo import demo_credentials_read, demo_credentials_visible

    demo = demo_credentials_read() if demo_credentials_visible(request) else None
    return render(request, "common/landing.html", {
        "sections": api_sections(request), "demo": demo, "embedded": settings.EMBEDDED,
        "show_demo_setting": settings.LANDING_SHOW_DEMO_KEYS,
    })
