"""A per-process cache of resolved agent keys, so that an agent's request does not need a database query to say who
it is. (Written for the hot read path measured by bench/auth_read.py.)

Correctness rests on :mod:`common.generation`: every entry remembers the ``agent-auth`` generation read before it was
loaded, and is used only while that generation has not moved. Any save or delete of a key, an agent or an account
moves it (the receivers below, connected in every process by ``common.apps``), and so must any code that changes
those rows behind the ORM's back (``QuerySet.update``): call :func:`invalidate`, as ``agent_key_revoke`` does. A
revoked, regenerated or archived key therefore stops working at once in every process. Entries also expire after
``settings.AGENT_KEY_CACHE_SECONDS`` (0 turns the cache off), a backstop for a change made outside the application
(SQL by hand, or a test editing rows with ``update()``: the test suite runs with the cache off by default).

What varies with time alone (``expires_at``) is checked on every request by the caller, as before. Each request gets
its own copies of the cached instances, so nothing a view does to ``request.auth.agent`` leaks into the cache.
"""

import copy
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models.base import ModelState
from django.db.models.signals import post_delete, post_save

from agents.models import Agent, AgentKey
from common import generation, keys

GENERATION = "agent-auth"
MAX_ENTRIES = 10_000

_entries: dict[str, tuple[str, float, AgentKey]] = {}  # key digest -> (generation, loaded at, key with agent, account)
_digest_of: dict = {}  # key pk -> digest, to keep last_used_* of a cached key current


def _clone(instance):
    """A shallow copy of a model instance with a state of its own (copy.copy would go through pickling hooks)."""
    clone = instance.__class__.__new__(instance.__class__)
    clone.__dict__.update(instance.__dict__)
    clone._state = ModelState()
    clone._state.db, clone._state.adding = instance._state.db, False
    return clone


def _private_copy(key: AgentKey) -> AgentKey:
    account = _clone(key.agent.account)
    agent = _clone(key.agent)
    agent.risk_config = copy.deepcopy(agent.risk_config)
    agent.account = account
    clone = _clone(key)
    clone.allowed_ips = list(clone.allowed_ips or [])
    clone.agent = agent
    return clone


def resolve(plaintext: str, load: Callable[[], AgentKey | None],
            read_generation: Callable[[AgentKey], str | None] | None = None) -> AgentKey | None:
    """The key row for ``plaintext`` (with ``.agent`` and ``.agent.account``) from the cache, else from ``load()``.

    ``read_generation(cached key)``: when the cache holds an entry for this key, a way to read the generation that
    shares a round trip with other work (the request's rate-limit count, ``agents.authentication``); None from it
    (or no entry) and the generation is read on its own."""
    ttl = settings.AGENT_KEY_CACHE_SECONDS
    if not ttl:
        return load()
    digest = keys.hash_key(plaintext)
    hit = _entries.get(digest)
    current = read_generation(hit[2]) if read_generation is not None and hit is not None else None
    if current is None:
        current = generation.current(GENERATION)  # read BEFORE loading: see common.generation
    if current is not None:
        if hit is not None and hit[0] == current and time.monotonic() - hit[1] < ttl:
            return _private_copy(hit[2])
    key = load()
    if key is not None and current is not None:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
            _digest_of.clear()
        _entries[digest] = (current, time.monotonic(), _private_copy(key))
        _digest_of[key.pk] = digest
    return key


def note_use(key: AgentKey, when, ip) -> None:
    """``last_used_at/ip`` were just written: the cached copy must know, or every request would write again."""
    hit = _entries.get(_digest_of.get(key.pk, ""))
    if hit is not None:
        hit[2].last_used_at, hit[2].last_used_ip = when, ip


def invalidate(**_) -> None:
    generation.bump(GENERATION)


def connect_receivers() -> None:
    for model in (AgentKey, Agent, "accounts.Account"):
        post_save.connect(invalidate, sender=model, dispatch_uid=f"keycache-save-{model}")
        post_delete.connect(invalidate, sender=model, dispatch_uid=f"keycache-delete-{model}")
