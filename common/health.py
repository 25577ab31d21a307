"""Readiness checks behind ``GET /api/v1/health``: database, Redis, Celery broker, price-feed freshness and the
heartbeats of the platform's processes (worker, beat, feed, sweeper; ``common/heartbeat.py``).

Each check returns a small dict with a ``status`` and never raises: reporting a failure is its whole job. A check
is healthy when its status is ``ok`` (or ``embedded`` for Redis, which embedded mode does not use).

The overall status is ``ok`` (all healthy), ``degraded`` (something other than the database is not: Redis or the
broker down, the feed stale, a process silent; still HTTP 200, so a load balancer keeps the API up for reads and
the kill switch) or ``down`` (the database is unreachable; HTTP 503). A platform that is starting is ``degraded``.
"""

import importlib
import logging
import time
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)

HEALTHY = frozenset({"ok", "embedded", "unknown"})
TIMEOUT_SECONDS = 1.0  # a probe that takes longer than this is as good as down


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _failure(started: float, exc: Exception) -> dict:
    logger.warning("health check failed: %s: %s", type(exc).__name__, exc)
    return {"status": "down", "latency_ms": _ms(started), "error": f"{type(exc).__name__}: {exc}"[:300]}


def check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is "down"
        return _failure(started, exc)
    return {"status": "ok", "latency_ms": _ms(started), "vendor": connection.vendor}


@lru_cache(maxsize=1)
def _health_redis():
    """A client of its own with short timeouts (the shared one waits 5 s, too long for a probe)."""
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=TIMEOUT_SECONDS,
                                socket_connect_timeout=TIMEOUT_SECONDS)


def check_redis() -> dict:
    if not settings.REDIS_URL:
        return {"status": "embedded", "detail": "No REDIS_URL: cache and rate limits use the file system."}
    started = time.perf_counter()
    try:
        _health_redis().ping()
    except Exception as exc:  # noqa: BLE001
        return _failure(started, exc)
    return {"status": "ok", "latency_ms": _ms(started)}


def check_broker() -> dict:
    from celery import current_app as app  # the project's app (config.celery_app), without importing config

    started = time.perf_counter()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=TIMEOUT_SECONDS)
            transport = conn.transport_cls
    except Exception as exc:  # noqa: BLE001
        return _failure(started, exc)
    return {"status": "ok", "latency_ms": _ms(started), "transport": str(transport)}


def _feed_status_function():
    try:
        module = importlib.import_module("market.selectors")
    except ImportError:
        return None
    return getattr(module, "feed_status", None)


def _is_stale(pair_status) -> bool:
    if isinstance(pair_status, dict):
        if "stale" in pair_status:
            return bool(pair_status["stale"])
        return pair_status.get("status") not in (None, "ok", "fresh")
    return bool(getattr(pair_status, "stale", False))


def _plain(value):
    """feed_status() may hand back dataclasses, datetimes or Decimals: make them JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def check_price_feed() -> dict:
    """Freshness of the last price of each pair, from ``market.selectors.feed_status()``.

    Expected shape: ``{symbol: {... "stale": bool, "age_seconds": ...}}`` (a dict per pair or an object with a
    ``stale`` attribute). Until the market app provides it, the check says ``unknown`` and does not fail health.
    """
    feed_status = _feed_status_function()
    if feed_status is None:
        return {"status": "unknown", "detail": "market.selectors.feed_status() is not available yet."}
    started = time.perf_counter()
    try:
        pairs = feed_status()
    except Exception as exc:  # noqa: BLE001
        return _failure(started, exc)
    pairs = pairs if isinstance(pairs, dict) else {getattr(p, "symbol", str(i)): p for i, p in enumerate(pairs)}
    stale = sorted(symbol for symbol, status in pairs.items() if _is_stale(status))
    if not pairs:
        status = "stale"  # no pair has a price at all: nothing can be traded
    else:
        status = "stale" if stale else "ok"
    return {"status": status, "stale_pairs": stale, "pairs": _plain(pairs)}


def check_processes() -> dict:
    """Each process role's last heartbeat: ``ok`` while it beats, ``silent`` once its key expired (dead, hung,
    or not started yet). ``status`` is ``ok`` when every role beats, else ``degraded``."""
    from common import heartbeat

    started = time.perf_counter()
    now = time.time()
    roles = {}
    try:
        for role in heartbeat.ROLES:
            last = heartbeat.read(role)
            if last is None:
                roles[role] = {"status": "silent", "silent_after_seconds": settings.HEARTBEAT_TTL_SECONDS}
            else:
                roles[role] = {"status": "ok", "pid": last.get("pid"), "host": last.get("host"),
                               "age_seconds": round(max(0.0, now - float(last.get("at") or 0)), 3)}
    except Exception as exc:  # noqa: BLE001 - the heartbeat store (Redis) is down: no process can be seen
        return _failure(started, exc)
    status = "ok" if all(r["status"] == "ok" for r in roles.values()) else "degraded"
    return {"status": status, "silent": sorted(r for r, v in roles.items() if v["status"] != "ok"), **roles}


CHECKS = {
    "database": check_database,
    "redis": check_redis,
    "broker": check_broker,
    "price_feed": check_price_feed,
    "processes": check_processes,
}


def health_report() -> tuple[str, dict]:
    """(status, body): every check's result and the overall status, ``ok``, ``degraded`` or ``down`` (the
    database is unreachable: nothing can be served)."""
    results = {name: check() for name, check in CHECKS.items()}
    if results["database"]["status"] not in HEALTHY:
        status = "down"
    elif all(r["status"] in HEALTHY for r in results.values()):
        status = "ok"
    else:
        status = "degraded"
    return status, {"status": status, "time": timezone.now().isoformat(), "checks": results}
