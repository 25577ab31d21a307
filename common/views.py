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
