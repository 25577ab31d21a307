"""A small in-process bus for domain events, delivered after the transaction that caused them commits.

The trading core publishes the events its engine returns (``trading.engine.events.Event``: plain data) and knows
nothing of who listens; the streams and webhooks subscribe in their ``AppConfig.ready()``. So a lower layer never
imports a higher one, and nothing a subscriber does (rendering, webhook rows, Redis) runs inside, or can undo, the
trade's transaction.

    subscribe(handler)            handler(events: list) is called once per committed batch, in publish order
    publish_on_commit(events)     deliver ``events`` when the current transaction commits (now, outside one)

Delivery is at most once per commit (a process killed between the commit and the handler loses that batch; the
streams re-sync by snapshot, and webhook deliveries are recorded by the subscriber). A handler that raises is
logged and does not stop the others.
"""

import logging
from collections.abc import Callable, Iterable

from django.db import transaction

logger = logging.getLogger(__name__)

_handlers: list[Callable[[list], None]] = []


def subscribe(handler: Callable[[list], None]) -> Callable[[list], None]:
    """Register ``handler`` (idempotent: registering the same function twice keeps one). Usable as a decorator."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def unsubscribe(handler: Callable[[list], None]) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def publish_on_commit(events: Iterable, *, using: str | None = None) -> None:
    """Hand ``events`` to every subscriber once the current transaction commits (at once outside one)."""
    events = list(events)
    if not events or not _handlers:
        return
    transaction.on_commit(lambda: deliver(events), using=using)


def deliver(events: list) -> None:
    for handler in list(_handlers):
        try:
            handler(events)
        except Exception:  # noqa: BLE001 - a subscriber's failure must never reach the trade that caused it
            logger.exception("event handler %r failed", handler)
