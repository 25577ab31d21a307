"""Who the client is: proxy headers (``X-Forwarded-For``/``-Proto``) are believed only from TRUSTED_PROXIES.

The ASGI application (config/asgi.py) is wrapped in :class:`ClientAddressMiddleware`, so the rule holds whatever
server runs it. The address it settles (``scope["client"]``, Django's ``REMOTE_ADDR``) is what the per-IP rate limit,
a key's ``allowed_ips`` and ``last_used_ip`` see.

* ``TRUSTED_PROXIES`` set (addresses or networks): uvicorn's own ``ProxyHeadersMiddleware`` does the work, with that
  list (the client is the right-most ``X-Forwarded-For`` entry that is not a trusted proxy).
* ``TRUSTED_PROXIES`` empty (the default): no proxy header is believed. A server that believes them itself (uvicorn
  trusts ``X-Forwarded-For`` from 127.0.0.1 unless run with ``--no-proxy-headers``, as bin/run and docker-compose do)
  has already replaced the peer with a header value before the application sees the request; that shows as a peer
  address that is one of the request's ``X-Forwarded-For`` entries. Such a request gets no client address at all
  (``REMOTE_ADDR`` empty: rate-limited in one shared "unknown" bucket, refused by every ``allowed_ips``) rather than
  the one it claims.
"""

import logging

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

logger = logging.getLogger(__name__)


def _forwarded_hosts(headers) -> list[str] | None:
    values = [value for name, value in headers if name == b"x-forwarded-for"]
    if not values:
        return None
    return [entry.strip() for entry in b",".join(values).decode("latin1").split(",")]


def _names(entry: str, host: str) -> bool:
    return entry == host or entry.startswith(f"{host}:") or entry.startswith(f"[{host}]")


class ClientAddressMiddleware:
    def __init__(self, app, trusted_proxies: list[str]):
        self.trusted = [p.strip() for p in trusted_proxies if p.strip()]
        self.app = ProxyHeadersMiddleware(app, trusted_hosts=self.trusted) if self.trusted else app
        self._warned = False

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and not self.trusted:
            client = scope.get("client")
            forwarded = _forwarded_hosts(scope.get("headers", ()))
            if client and forwarded and any(_names(entry, client[0]) for entry in forwarded):
                if not self._warned:
                    self._warned = True
                    logger.warning("the server in front of the application applied X-Forwarded-For, but "
                                   "TRUSTED_PROXIES is empty: such requests get no client address (run uvicorn with "
                                   "--no-proxy-headers, or list the proxy in TRUSTED_PROXIES)")
                scope = {**scope, "client": None}
        await self.app(scope, receive, send)
