"""Generation numbers in Redis: a cheap way to tell every process that its in-process cache of something is stale.

A cache stores, with each entry, the generation it read *before* loading the entry from the database; an entry is
used only while the generation is still the same. Whoever changes the underlying rows calls :func:`bump`, which
increments the generation at once and again when the transaction commits:

* at once, so that the same connection (a test, or the rest of the request) never reads the old entry again;
* after the commit, so that a process that reloaded between the first bump and the commit (and so saw the old,
  still uncommitted-over rows) drops what it loaded.

Without Redis (embedded mode) or when Redis does not answer, :func:`current` returns ``None`` and callers must not
use their cache at all: no generation, no caching.
"""

import logging

from django.conf import settings
from django.db import transaction

from common.redis import get_redis

logger = logging.getLogger(__name__)


def _key(name: str) -> str:
    return f"{settings.GENERATION_KEY_PREFIX}:{name}"


def current(name: str) -> int | None:
    """The generation of ``name`` (0 if never bumped), or None when it cannot be known. One Redis round trip."""
    redis = get_redis()
    if redis is None:
        return None
    try:
        value = redis.get(_key(name))
    except Exception:  # noqa: BLE001 - unknown generation: the caller falls back to the database
        logger.warning("generation %s unreadable; caches bypassed", name, exc_info=True)
        return None
    return int(value or 0)


def _incr(name: str) -> None:
    redis = get_redis()
    if redis is None:
        return
    try:
        redis.incr(_key(name))
    except Exception:  # noqa: BLE001
        # Readers that cannot reach Redis bypass their caches, and entries also expire on their own.
        logger.error("generation %s could not be bumped", name, exc_info=True)


def bump(name: str) -> None:
    """Invalidate every process's cache of ``name``: now, and again once the current transaction commits."""
    _incr(name)
    transaction.on_commit(lambda: _incr(name))


def current_many(names: list[str]) -> list[int] | None:
    """The generations of several names in one round trip (MGET), or None when they cannot be known."""
    redis = get_redis()
    if redis is None:
        return None
    try:
        values = redis.mget([_key(n) for n in names])
    except Exception:  # noqa: BLE001
        logger.warning("generations %s unreadable; caches bypassed", names, exc_info=True)
        return None
    return [int(v or 0) for v in values]
