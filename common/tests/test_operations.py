"""GET /health, /health/live and /metrics against the real PostgreSQL, Redis and Celery broker."""

import re

import pytest

from common import health
from config.celery_app import app as celery_app

pytestmark = pytest.mark.django_db


def test_live_answers_without_touching_anything(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        r = api.get("/api/v1/health/live")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert "X-RateLimit-Limit" in r  # through DRF and the same middleware as every endpoint


def test_health_reports_each_dependency(api, settings):
    r = api.get("/api/v1/health")
    body = r.json()
    checks = body["checks"]
    assert set(checks) == {"database", "redis", "broker", "price_feed", "processes"}
    embedded = not settings.REDIS_URL
    assert checks["database"]["status"] == "ok" and checks["database"]["latency_ms"] >= 0
    assert checks["database"]["vendor"] == ("sqlite" if "sqlite" in settings.DATABASES["default"]["ENGINE"]
                                            else "postgresql")
    assert checks["redis"]["status"] == ("embedded" if embedded else "ok")
    assert checks["broker"]["status"] == "ok"
    assert checks["broker"]["transport"] == ("filesystem" if embedded else "redis")
    assert checks["price_feed"]["status"] in {"ok", "stale", "unknown"}
    healthy = all(c["status"] in {"ok", "embedded", "unknown"} for c in checks.values())
    assert (r.status_code, body["status"]) == ((200, "ok") if healthy else (200, "degraded"))


def test_health_is_public_and_ignores_credentials(api):
    r = api.get("/api/v1/health", HTTP_X_API_KEY="ak_live_not-a-key", HTTP_AUTHORIZATION="Bearer junk")
    assert r.status_code in (200, 503) and "checks" in r.json()


@pytest.fixture
def feed_ok(monkeypatch):
    """Keeps the price feed out of the picture for the tests about the other dependencies."""
    monkeypatch.setitem(health.CHECKS, "price_feed", lambda: {"status": "unknown"})


def test_redis_down_is_degraded_not_down(api, settings, feed_ok):
    """Redis down: reads from the database and the kill switch still work, so a load balancer must keep the API."""
    health._health_redis.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        r = api.get("/api/v1/health")
    finally:
        health._health_redis.cache_clear()
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded" and body["checks"]["redis"]["status"] == "down"
    assert "Connection" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["status"] == "ok"


def test_broker_down_is_degraded(api, feed_ok):
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        r = api.get("/api/v1/health")
    finally:
        celery_app.conf.broker_url = previous
    assert r.status_code == 200 and r.json()["status"] == "degraded"
    assert r.json()["checks"]["broker"]["status"] == "down"


def test_embedded_mode_reports_redis_as_embedded(settings):
    settings.REDIS_URL = ""
    assert health.check_redis()["status"] == "embedded"


def test_price_feed_freshness_comes_from_the_market_app(monkeypatch):
    class FakeSelectors:  # the shape market.selectors.feed_status() returns: one entry per pair
        @staticmethod
        def feed_status():
            return {"BTCUSDT": {"stale": False, "age_seconds": 1.5}, "ETHUSDT": {"stale": True, "age_seconds": 900}}

    monkeypatch.setattr(health, "_feed_status_function", lambda: FakeSelectors.feed_status)
    result = health.check_price_feed()
    assert result["status"] == "stale" and result["stale_pairs"] == ["ETHUSDT"]
    assert result["pairs"]["BTCUSDT"] == {"stale": False, "age_seconds": 1.5}


def test_a_failing_feed_status_is_reported_not_raised(monkeypatch):
    def broken():
        raise RuntimeError("feed store unreachable")

    monkeypatch.setattr(health, "_feed_status_function", lambda: broken)
    result = health.check_price_feed()
    assert result["status"] == "down" and "feed store unreachable" in result["error"]


def _sample(text: str, route: str, status: str) -> float:
    pattern = (r'^http_requests_total\{method="GET",route="' + re.escape(route) + r'",status="' + status
               + r'"\} (\S+)$')
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_requests_by_route_and_status_in_prometheus_format(api):
    before = _sample(api.get("/api/v1/metrics").content.decode(), "api/v1/health/live", "200")
    for _ in range(3):
        api.get("/api/v1/health/live")
    api.get("/api/v1/no-such-page")
    r = api.get("/api/v1/metrics", HTTP_ACCEPT="text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    text = r.content.decode()
    assert _sample(text, "api/v1/health/live", "200") == before + 3
    assert _sample(text, "<unmatched>", "404") >= 1  # unknown paths share one label value
    assert re.search(r'^http_request_duration_seconds_bucket\{le="0.005",method="GET",route="api/v1/health/live"\}'
                     r" \S+$", text, re.M)
    assert "# TYPE http_requests_total counter" in text


def test_paginated_documents_the_page_envelope():
    from django.urls import path
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.utils import extend_schema
    from rest_framework import serializers
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from common.pagination import paginated

    class ThingView(APIView):
        class OutputSerializer(serializers.Serializer):
            name = serializers.CharField()

        @extend_schema(responses={200: paginated(OutputSerializer)})
        def get(self, request):
            return Response()

    schema = SchemaGenerator(patterns=[path("things", ThingView.as_view())]).get_schema(request=None, public=True)
    ref = schema["paths"]["/things"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    assert page["properties"]["results"]["type"] == "array"
