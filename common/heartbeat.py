"""Process heartbeats: each long-running process (worker, beat, feed, sweeper) says "alive" every few seconds.

A heartbeat is one key per process role, ``<HEARTBEAT_KEY_PREFIX>:<role>``, holding ``{"pid", "host", "at"}`` and
expiring after ``HEARTBEAT_TTL_SECONDS``: in Redis (``SET ... EX``) or, in embedded mode, the Django cache (the
file cache every process shares). A process that dies stops beating and its key expires; ``/api/v1/health``
(``common.health.check_processes``) reports it ``silent`` and the platform ``degraded``. Several processes of one
role (two workers) share the key: the role is alive while any of them beats.

Writing a heartbeat never raises: a Redis outage must not take the process down with it (health reports Redis).
"""

import json
import logging
import os
import socket
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

ROLES = ("worker", "beat", "feed", "sweeper")


def _key(role: str) -> str:
    return f"{settings.HEARTBEAT_KEY_PREFIX}:{role}"


def beat(role: str) -> bool:
    """Record that this process of ``role`` is alive. False (logged at DEBUG) when the store is unreachable."""
    from common.redis import get_redis

    value = {"pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}
    ttl = settings.HEARTBEAT_TTL_SECONDS
    try:
        redis = get_redis()
        if redis is None:
            from django.core.cache import cache

            cache.set(_key(role), value, timeout=ttl)
        else:
            redis.set(_key(role), json.dumps(value), ex=max(1, int(ttl + 0.999)))
    except Exception as exc:  # noqa: BLE001 - a heartbeat must never stop the process it reports on
        logger.debug("heartbeat of %s not written: %s", role, exc)
        return False
    return True


def read(role: str) -> dict | None:
    """The last heartbeat of ``role`` still within its TTL, or None. Raises if the store is unreachable."""
    from common.redis import get_redis

    redis = get_redis()
    if redis is None:
        from django.core.cache import cache

        return cache.get(_key(role))
    raw = redis.get(_key(role))
    return json.loads(raw) if raw else None


class Heartbeat:
    """A daemon thread beating for ``role`` every ``HEARTBEAT_SECONDS`` (for processes whose main loop is not
    ours: the Celery worker and beat). It dies with the process, which is the point."""

    def __init__(self, role: str):
        self.role = role
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{role}", daemon=True)

    def start(self) -> "Heartbeat":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            beat(self.role)
            self.stop_event.wait(settings.HEARTBEAT_SECONDS)


class Pacer:
    """For a process's own loop: ``pacer.tick()`` every iteration beats at most once per ``HEARTBEAT_SECONDS``."""

    def __init__(self, role: str):
        self.role = role
        self.next_at = 0.0

    def tick(self) -> None:
        now = time.monotonic()
        if now >= self.next_at:
            beat(self.role)
            self.next_at = now + settings.HEARTBEAT_SECONDS
