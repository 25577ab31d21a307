"""Rate limits per agent key, per account and per anonymous IP, counted in Redis (fixed windows).

One Redis round trip per request: ``INCR`` and ``EXPIRE`` in a pipeline. In embedded mode the Django cache counts
instead. Every request under ``/api/`` is counted exactly once, in the bucket of whoever made it:

* normally by :class:`RedisRateThrottle`, DRF's throttle, once authentication has said who the caller is;
* when DRF refuses the request before its throttles run (bad key, missing credentials, wrong scope, unacceptable
  ``Accept``), by the exception handler through :func:`count_refused` (a failed key counts against the IP, which
  is what stops key guessing);
* when no DRF view is involved at all (an unknown URL, a body too large), by :class:`RateLimitHeadersMiddleware`,
  against the IP.

The outcome is left on the Django request as ``rate_limit_state``, and the middleware writes the
``X-RateLimit-Limit/Remaining/Reset`` headers (and ``Retry-After`` on 429) on every response from it.

If Redis cannot be reached the limiter fails open (logs, lets the request through, sends no headers): a rate
limiter must not turn a Redis hiccup into an outage; ``/api/v1/health`` reports Redis down meanwhile.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from common import generation
from common.redis import get_redis

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


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


def identity_of(*, auth, user, ip: str) -> tuple[str, int]:
    """(bucket name, limit) for a caller: its agent key, else its account, else its IP."""
    key_id = getattr(auth, "rate_limit_key", None)
    if key_id:
        return key_id, getattr(auth, "rate_limit", None) or settings.RATE_LIMIT_PER_KEY
    if user is not None and getattr(user, "is_authenticated", False):
        return f"acct:{user.pk}", settings.RATE_LIMIT_PER_ACCOUNT
    return f"ip:{ip}", settings.RATE_LIMIT_ANONYMOUS


def _bucket(identity: str, window: int | None) -> tuple[str, int, int]:
    """(store key, window length, reset epoch) of the current fixed window of ``identity``."""
    window = window or settings.RATE_LIMIT_WINDOW_SECONDS
    now = int(time.time())
    window_start = now - now % window
    # The prefix is a setting so that each test can count in buckets of its own.
    bucket = f"{getattr(settings, 'RATE_LIMIT_KEY_PREFIX', 'rl')}:{identity}:{window_start}"
    return bucket, window, window_start + window


def peek(identity: str, limit: int, window: int | None = None) -> RateLimitState:
    """The window's state for ``identity`` without counting anything. Raises if the store is unreachable.

    ``allowed`` says whether one more may be counted (``count < limit``)."""
    bucket, window, reset = _bucket(identity, window)
    redis = get_redis()
    count = int((redis.get(bucket) if redis is not None else cache.get(bucket)) or 0)
    return RateLimitState(limit=limit, remaining=max(0, limit - count), reset=reset, allowed=count < limit)


def hit(identity: str, limit: int, window: int | None = None, *, generations=(), into: dict | None = None
        ) -> RateLimitState:
    """Count one request for ``identity`` and return the window's state. Raises if the store is unreachable.

    ``generations``: names whose generations (common/generation.py) to read in the same round trip, stored into
    ``into`` (a hot cached read then needs no round trip of its own)."""
    bucket, window, reset = _bucket(identity, window)
    redis = get_redis()
    if redis is not None:
        pipe = redis.pipeline(transaction=False)
        pipe.incr(bucket)
        pipe.expire(bucket, window + 1)
        generation.queue_reads(pipe, list(generations))
        replies = pipe.execute()
        count = replies[0]
        if generations and into is not None:
            into["prefetched_generations"] = generation.from_replies(list(generations), replies[2:])
    else:
        cache.add(bucket, 0, timeout=window + 1)
        try:
            count = cache.incr(bucket)
        except ValueError:  # expired between add and incr
            cache.set(bucket, 1, timeout=window + 1)
            count = 1
    return RateLimitState(limit=limit, remaining=max(0, limit - count), reset=reset, allowed=count <= limit)


def count(django_request, *, auth=None, user=None, generations=()) -> RateLimitState | None:
    """Count this request once (idempotent per request) and remember the state for the headers.

    ``None`` when limits are off or the store is down (fail open).
    """
    if hasattr(django_request, "rate_limit_state"):
        return django_request.rate_limit_state
    state = None
    if settings.RATE_LIMIT_ENABLED:
        identity, limit = identity_of(auth=auth, user=user, ip=client_ip(django_request))
        try:
            state = hit(identity, limit, generations=generations, into=django_request.__dict__)
        except Exception:  # noqa: BLE001 - any store failure: let the request through
            logger.exception("rate limiter store unreachable; request let through uncounted")
    django_request.rate_limit_state = state
    return state


def count_refused(drf_request) -> RateLimitState | None:
    """For the exception handler: count a request DRF refused before its throttles ran.

    Reads what authentication already settled without running it again (it may be what failed).
    """
    django_request = drf_request._request
    return count(django_request, auth=drf_request.__dict__.get("_auth"), user=drf_request.__dict__.get("_user"))


class RedisRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        self._state = count(request._request, auth=request.auth, user=request.user,
                            generations=getattr(view, "prefetch_generations", ()))
        return self._state is None or self._state.allowed

    def wait(self):
        return self._state.retry_after if self._state is not None else None


def _too_many(state: RateLimitState):
    from django.http import JsonResponse

    from common.exception_handler import error_body

    return JsonResponse(error_body("RATE_LIMITED", f"Rate limit exceeded; retry in {state.retry_after} s.",
                                   {"retry_after": state.retry_after}), status=429)


class RateLimitHeadersMiddleware:
    """``X-RateLimit-*`` on every API response; counts (against the IP) what no DRF view counted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not hasattr(request, "rate_limit_state"):
            if not request.path.startswith(API_PREFIX):
                return response  # the admin and static files are not part of the rate-limited API
            state = count(request)
            if state is not None and not state.allowed:
                response = _too_many(state)
        state = request.rate_limit_state
        if state is not None:
            response["X-RateLimit-Limit"] = str(state.limit)
            response["X-RateLimit-Remaining"] = str(state.remaining)
            response["X-RateLimit-Reset"] = str(state.reset)
            if response.status_code == 429 and "Retry-After" not in response:  # a login lockout sets its own
                response["Retry-After"] = str(state.retry_after)
        return response
