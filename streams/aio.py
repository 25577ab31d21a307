"""Running blocking work (ORM, sync Redis) from the streams' async code without a thread per client.

``sync_to_async`` with its default ``thread_sensitive=True`` would run each request's blocking calls on a thread of
that request's own (Django's ASGI handler opens one ``ThreadSensitiveContext`` per request), and that thread would
live as long as the stream: one thread per client. Instead every blocking call of the streams goes to ONE small
pool per process (``STREAMS_DB_THREADS``), so 500 connections share a handful of threads and database connections.
"""

import functools
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.STREAMS_DB_THREADS, thread_name_prefix="streams-db")
    return _executor


def _fresh_connection(fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        # Pool threads never see request_started/finished, so drop connections that broke or outlived
        # CONN_MAX_AGE here, as Django does around each request.
        close_old_connections()
        return fn(*args, **kwargs)

    return run


async def run_sync(fn, /, *args, **kwargs):
    """``await run_sync(fn, ...)``: ``fn(...)`` on the streams' thread pool."""
    return await sync_to_async(_fresh_connection(fn), thread_sensitive=False, executor=_pool())(*args, **kwargs)
