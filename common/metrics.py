"""Prometheus metrics: requests by route and status, and request latency, exposed at ``GET /api/v1/metrics``.

prometheus-client earns its place here: the exposition format, histogram buckets and, above all, aggregation across
the worker processes of one server (set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory, writable by every
worker, before they start; without it each worker reports only its own requests).

Labels use the URL *route* (``api/v1/agents/<uuid:agent_id>``), never the raw path: one time series per endpoint,
not one per agent id or per probe of a scanner.
"""

import os
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered, by method, route and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds", "Time from the first middleware to the response, by method and route.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
UNMATCHED = "<unmatched>"  # 404s outside any route: one label value, however many paths a scanner tries


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else UNMATCHED


class MetricsMiddleware:
    """Counts and times every request. Kept outermost-but-one so it sees the final status of every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        return response


def exposition() -> tuple[bytes, str]:
    """The metrics of this process, or of every process sharing ``PROMETHEUS_MULTIPROC_DIR``."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = DEFAULT_REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
