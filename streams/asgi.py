"""Serving the SSE paths without a thread per connection.

Django's ASGI handler opens a ``ThreadSensitiveContext`` per request, and the first thread-sensitive call of the
request (the ``request_started`` signal's sync receivers, any sync-only middleware) starts a thread that belongs to
that context until the request ends. For a stream the request ends when the client leaves, so every open stream
would hold an idle thread: measured, 50 streams -> 50 more threads in the process.

So ``/api/v1/stream/`` is routed to a second Django handler that

- does not open a per-request context: the little thread-sensitive work of a stream request (signal receivers,
  ``process_view`` of the CSRF middleware) runs on asgiref's one shared sync thread, and
- runs only the async-capable part of ``MIDDLEWARE`` (sync-only middleware would park that shared thread for as
  long as the view runs). Today that leaves out WhiteNoise (static files), the metrics middleware and the rate-limit
  headers middleware; the stream views count the request and set the ``X-RateLimit-*`` headers themselves.

Everything else (the URLconf, the views, settings) is the same Django.
"""

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.utils.module_loading import import_string

STREAM_PATH_PREFIX = "/api/v1/stream/"


def _async_capable(path: str) -> bool:
    return bool(getattr(import_string(path), "async_capable", False))


class StreamsASGIHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        # BaseHandler reads settings.MIDDLEWARE; swap in the async-capable subset for the time of the build
        # (called once, at start-up, before any request is served).
        everything = settings.MIDDLEWARE
        settings.MIDDLEWARE = [path for path in everything if _async_capable(path)]
        try:
            super().load_middleware(is_async=is_async)
        finally:
            settings.MIDDLEWARE = everything

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


def with_streams(django_application):
    """The ASGI application: stream paths to :class:`StreamsASGIHandler`, everything else to Django as usual."""
    streams_application = StreamsASGIHandler()

    async def application(scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(STREAM_PATH_PREFIX):
            await streams_application(scope, receive, send)
        else:
            await django_application(scope, receive, send)

    return application
