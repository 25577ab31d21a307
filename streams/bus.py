"""The event bus: how a committed change leaves the process that made it and reaches every web process.

Producers (the API, the Celery worker, the feed; all synchronous) call :func:`send` with a *bus message*, a JSON-able
dict. Two transports, picked by ``STREAMS_BUS``:

- ``redis``: the message is PUBLISHed on one channel (``<prefix>:events``) once the caller's transaction commits
  (``transaction.on_commit(robust=True)``: a Redis hiccup never fails the trade that produced the event). Each web
  process holds ONE subscription (``streams.hub``) and fans out to its connections.
- ``outbox``: the message is INSERTed as an :class:`~streams.models.OutboxEvent` row inside the caller's transaction,
  and each web process polls the table. No Redis needed (embedded mode).

A bus message::

    {"ts": 1712000000.123,            # when it was committed/published (epoch seconds)
     "src": 1712000000.120,           # when its source happened, if known (a fill's created_at, a book's ts)
     "agent": "<uuid>", "wallet": "<uuid>", "main": true,   # whose it is (absent for public data)
     "symbol": "BTCUSDT",
     "orders":    [{"id": "<uuid>", "v": <updated_at epoch>, "data": {...order as the API renders it}}],
     "fills":     [{"id": 123, "data": {...fill as GET /trade/history renders it}}],
     "positions": [{"id": "BTCUSDT", "v": <updated_at epoch>, "open": true, "data": {...}}],
     "book":      {"bids": [["64000.00", "0.5"], ...], "asks": [...], "ts": "..."}}
"""

import logging
import time
from functools import lru_cache, partial
from urllib.parse import urlparse

import orjson
from django.conf import settings
from django.db import transaction

from common.redis import get_redis

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _prefix(configured: str, redis_url: str) -> str:
    if configured:
        return configured
    # Pub/sub channels are global to a Redis server (not per db), so derive the prefix from the db number to keep
    # runs on different dbs (parallel test runs, several deployments on one Redis) apart, as their keys are.
    path = urlparse(redis_url).path.strip("/") if redis_url else ""
    return f"streams:db{path or '0'}"


def events_channel() -> str:
    return f"{_prefix(settings.STREAMS_CHANNEL_PREFIX, settings.REDIS_URL)}:events"


def encode(message: dict) -> bytes:
    return orjson.dumps(message)


def decode(raw: bytes | str) -> dict:
    return orjson.loads(raw)


def send(message: dict) -> None:
    """Hand ``message`` to the bus so that it is delivered if, and once, the current transaction commits."""
    if settings.STREAMS_BUS == "outbox":
        from streams.models import OutboxEvent

        message["ts"] = time.time()
        OutboxEvent.objects.create(message=message)  # part of the caller's transaction, if any
        return
    transaction.on_commit(partial(_publish, message), robust=True)


def send_many(messages: list[dict]) -> None:
    """``send`` for a batch (a sweep's wallets): on the Redis bus, one pipelined round trip after commit instead of
    one PUBLISH each; same messages, same order, same channel."""
    if not messages:
        return
    if settings.STREAMS_BUS == "outbox":
        for message in messages:
            send(message)
        return
    transaction.on_commit(partial(_publish_many, list(messages)), robust=True)


def _publish(message: dict) -> None:
    _publish_many([message])


def _publish_many(messages: list[dict]) -> None:
    redis = get_redis()
    if redis is None:
        logger.warning("STREAMS_BUS=redis but REDIS_URL is unset: %d stream event(s) dropped", len(messages))
        return
    channel = events_channel()
    try:
        if len(messages) == 1:
            messages[0]["ts"] = time.time()
            redis.publish(channel, encode(messages[0]))
            return
        pipe = redis.pipeline(transaction=False)
        now = time.time()
        for message in messages:
            message["ts"] = now
            pipe.publish(channel, encode(message))
        pipe.execute()
    except Exception:  # noqa: BLE001 - a lost stream event must not break the caller; clients re-sync by snapshot
        logger.exception("could not publish %d stream event(s)", len(messages))
