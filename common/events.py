"""Domain events, handed on after commit: how a lower layer tells the layers above it what happened.

The trading core must not import streams (or webhooks, analytics, battles...), which sit above it. So it publishes
plain event objects here, and whoever wants them subscribes a handler when its app is ready
(``StreamsConfig.ready`` subscribes the streams and webhooks). Handlers run only if and when the publishing
transaction commits (``transaction.on_commit``; at once outside a transaction), in subscription order, each with the
whole batch; a rolled-back transaction publishes nothing. A failing handler is logged and never reaches the
publisher or the other handlers: an event consumer's problem must not undo or fail the trade that caused it.

Events are whatever the publishing layer defines (e.g. ``trading.events``); handlers pick the types they know.
"""

import logging
from collections.abc import Callable, Iterable
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[[list], None]

_handlers: list[Handler] = []


def subscribe(handler: Handler) -> Handler:
    """Call ``handler(events)`` with every committed batch from now on. Idempotent; usable as a decorator."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def unsubscribe(handler: Handler) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def publish_on_commit(events: Iterable) -> None:
    """Hand ``events`` to every subscriber once the current transaction commits (at once outside one)."""
    events = list(events)
    if events and _handlers:
        transaction.on_commit(partial(_deliver, events))


def _deliver(events: list) -> None:
    for handler in list(_handlers):
        try:
            handler(events)
        except Exception:  # noqa: BLE001 - see the module docstring
            logger.exception("event handler %r failed", handler)
