"""Rate limits per agent key, per account and per anonymous IP, counted in Redis (fixed windows).

One Redis round trip per request: ``INCR`` and ``EXPIRE`` in a pipeline. In embedded mode the Django cache counts
instead. The outcome is left on the request so that :class:`RateLimitHeadersMiddleware` can put the
``X-RateLimit-*`` headers on every response, refusals included.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from common.redis import get_redis


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends
    allowed: bool

    @property
    def retry_after(self) -> int:
        return max(1, self.reset - int(time.time()))


def client_ip(request) -> str:
    # Behind a proxy set REMOTE_ADDR correctly (e.g. gunicorn --forwarded-allow-ips); we do not trust
    # X-Forwarded-For from clients, or anyone could dodge a per-IP limit or an allowed_ips list.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _identity(request) -> tuple[str, int]:
    auth = request.auth
    key_id = getattr(auth, "rate_limit_key", None)
    if key_id:
        return key_id, getattr(auth, "rate_limit", None) or settings.RATE_LIMIT_PER_KEY
    if request.user is not None and getattr(request.user, "is_authenticated", False):
        return f"acct:{request.user.pk}", settings.RATE_LIMIT_PER_ACCOUNT
    return f"ip:{client_ip(request)}", settings.RATE_LIMIT_ANONYMOUS


def hit(identity: str, limit: int, window: int | None = None) -> RateLimitState:
    """Count one request for ``identity`` and return the window's state."""
    window = window or settings.RATE_LIMIT_WINDOW_SECONDS
    now = int(time.time())
    window_start = now - now % window
    reset = window_start + window
    bucket = f"rl:{identity}:{window_start}"
    redis = get_redis()
    if redis is not None:
        pipe = redis.pipeline(transaction=False)
        pipe.incr(bucket)
        pipe.expire(bucket, window + 1)
        count = pipe.execute()[0]
    else:
        cache.add(bucket, 0, timeout=window + 1)
        try:
            count = cache.incr(bucket)
        except ValueError:  # expired between add and incr
            cache.set(bucket, 1, timeout=window + 1)
            count = 1
    return RateLimitState(limit=limit, remaining=max(0, limit - count), reset=reset, allowed=count <= limit)


class RedisRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        if not settings.RATE_LIMIT_ENABLED:
            return True
        identity, limit = _identity(request)
        state = hit(identity, limit)
        request._request.rate_limit_state = state
        self._state = state
        return state.allowed

    def wait(self):
        return self._state.retry_after


class RateLimitHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        state = getattr(request, "rate_limit_state", None)
        if state is not None:
            response["X-RateLimit-Limit"] = str(state.limit)
            response["X-RateLimit-Remaining"] = str(state.remaining)
            response["X-RateLimit-Reset"] = str(state.reset)
            if response.status_code == 429:
                response["Retry-After"] = str(state.retry_after)
        return response
