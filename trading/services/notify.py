"""Telling a waiting API request that a worker has executed its order, through Redis.

The worker, once its fill transaction has committed, pushes each order's status onto a short-lived Redis list; the
request that placed the order blocks on that list (``BLPOP``) for at most ``wait_ms``. No database polling. A waiter
that takes the token pushes it back, so a retried request waiting on the same order is woken too.

In embedded mode (no Redis) the wait falls back to polling the order's row a few times with back-off: that mode is
for a laptop, not for load.
"""

import time

from django.conf import settings

from common.redis import get_redis

DONE_TTL_SECONDS = 30


def _done_key(order_id) -> str:
    return f"{settings.TRADING_KEY_PREFIX}:order-done:{order_id}"


def orders_done_signal(*, signals: list[tuple]) -> None:
    """Wake whoever waits on these orders: ``signals`` = [(order_id, status)], one pipelined round trip. Call after
    commit. (Order, fill and position events for the streams and webhooks go through ``common.events``.)"""
    redis = get_redis()
    if redis is None or not signals:
        return
    pipe = redis.pipeline(transaction=False)
    for order_id, status in signals:
        key = _done_key(order_id)
        pipe.delete(key)
        pipe.rpush(key, status)
        pipe.expire(key, DONE_TTL_SECONDS)
    pipe.execute()


def order_done_wait(*, order_id, timeout_ms: int, is_done=None) -> bool:
    """Block until a worker has executed ``order_id`` or ``timeout_ms`` passes. True when the signal came."""
    if timeout_ms <= 0:
        return False
    redis = get_redis()
    if redis is None:
        return _poll(is_done, timeout_ms)
    key = _done_key(order_id)
    got = redis.blpop([key], timeout=timeout_ms / 1000)
    if got is None:
        return False
    pipe = redis.pipeline(transaction=False)
    pipe.rpush(key, got[1])  # put the token back for any other waiter on the same order
    pipe.expire(key, DONE_TTL_SECONDS)
    pipe.execute()
    return True


def _poll(is_done, timeout_ms: int) -> bool:
    if is_done is None:
        return False
    deadline = time.monotonic() + timeout_ms / 1000
    delay = 0.01
    while time.monotonic() < deadline:
        if is_done():
            return True
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.2)
    return is_done()
