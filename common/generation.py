"""Generation numbers in Redis: a cheap way to tell every process that its in-process cache of something is stale.

A cache stores, with each entry, the generation it read *before* loading the entry from the database; an entry is
used only while the generation is still the same. Whoever changes the underlying rows calls :func:`bump`, which
increments the generation at once and again when the transaction commits:

* at once, so that the same connection (a test, or the rest of the request) never reads the old entry again;
* after the commit, so that a process that reloaded between the first bump and the commit (and so saw the old,
  still uncommitted-over rows) drops what it loaded.

Without Redis (embedded mode) or when Redis does not answer, :func:`current` returns ``None`` and callers must not
use their cache at all: no generation, no caching.

A generation never repeats, even across a Redis restart (or a flush, or an eviction). A counter alone would: it
restarts at 0 and climbs back to the value a process's stale cache holds, and that cache would be trusted again.
So a generation is ``"<epoch>:<counter>"``, both in one Redis hash (they disappear together): the epoch is a random
value set by whoever first finds it missing (``HSETNX``, so all processes agree on one), and a new epoch makes
every generation read before it a stranger.
"""

import logging
import secrets

from django.conf import settings
from django.db import transaction

from common.redis import get_redis

logger = logging.getLogger(__name__)


def _key(name: str) -> str:
    return f"{settings.GENERATION_KEY_PREFIX}:{name}:gen"  # a hash: {"epoch": random hex, "n": counter}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def current(name: str) -> str | None:
    """The generation of ``name`` (an opaque token: compare with ``==``), or None when it cannot be known.

    One Redis round trip, two the first time after Redis lost the key."""
    redis = get_redis()
    if redis is None:
        return None
    key = _key(name)
    try:
        epoch, counter = redis.hmget(key, "epoch", "n")
        if epoch is None:
            redis.hsetnx(key, "epoch", secrets.token_hex(8))
            epoch, counter = redis.hmget(key, "epoch", "n")
            if epoch is None:  # lost again at once: do not guess
                return None
    except Exception:  # noqa: BLE001 - unknown generation: the caller falls back to the database
        logger.warning("generation %s unreadable; caches bypassed", name, exc_info=True)
        return None
    return f"{_text(epoch)}:{int(counter or 0)}"


def _incr(name: str) -> None:
    redis = get_redis()
    if redis is None:
        return
    try:
        redis.hincrby(_key(name), "n", 1)
    except Exception:  # noqa: BLE001
        # Readers that cannot reach Redis bypass their caches, and entries also expire on their own.
        logger.error("generation %s could not be bumped", name, exc_info=True)


def bump(name: str) -> None:
    """Invalidate every process's cache of ``name``: now, and again once the current transaction commits."""
    _incr(name)
    transaction.on_commit(lambda: _incr(name))


def queue_reads(pipe, names: list[str]) -> None:
    """Queue the reads of ``names``' generations on a Redis pipeline (to share a round trip with other commands);
    pass the pipeline's replies for them to :func:`from_replies`."""
    for name in names:
        pipe.hmget(_key(name), "epoch", "n")


def from_replies(names: list[str], replies: list) -> list[str] | None:
    """The generations from the replies of :func:`queue_reads` (a name whose hash is missing: read with
    :func:`current`, which sets its epoch), or None when one cannot be known."""
    out = []
    for name, (epoch, counter) in zip(names, replies):
        if epoch is None:
            token = current(name)
            if token is None:
                return None
            out.append(token)
        else:
            out.append(f"{_text(epoch)}:{int(counter or 0)}")
    return out


def current_many(names: list[str]) -> list[str] | None:
    """The generations of several names in one round trip, or None when they cannot be known."""
    redis = get_redis()
    if redis is None:
        return None
    try:
        pipe = redis.pipeline(transaction=False)
        queue_reads(pipe, names)
        replies = pipe.execute()
    except Exception:  # noqa: BLE001
        logger.warning("generations %s unreadable; caches bypassed", names, exc_info=True)
        return None
    return from_replies(names, replies)
