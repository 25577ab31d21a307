"""Binance's request authentication on top of the platform's agent keys.

``X-MBX-APIKEY`` is an agent key (``ak_live_...``). Every check a key gets on the native API (revoked, expired,
archived agent, IP pin) is ``agents.authentication.key_authenticate``'s, called here too; only the signature scheme
is Binance's: ``signature`` = hex HMAC-SHA256(key's signing secret, query string + body, without the ``signature``
parameter), with ``timestamp`` (ms) inside ``recvWindow`` (default 5000, at most 60000) and not more than 1 s
ahead of the server. A key created without ``signing: true`` has no secret to sign with: -2015, saying so.

``request.auth`` is the same :class:`~agents.authentication.AgentContext` as on the native door, so rate limits
count in the same per-key bucket, and the wallet a request acts on is chosen the same way (the gateway).
"""

import hashlib
import hmac
import re
import time

from django.core.cache import cache
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission

from agents.authentication import AgentContext, key_authenticate, record_use, signing_secret
from binance.errors import MSG_BAD_KEY, MSG_BAD_SIGNATURE, MSG_KEY_FORMAT, BinanceError, missing
from binance.params import Params
from common import keys
from common.ratelimit import client_ip

_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,16}(\.[0-9]{1,6})?")
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
MAX_AHEAD_MS = 1000


def _unauthorized(msg: str, code: int = -2015) -> BinanceError:
    return BinanceError(code, msg, http_status=status.HTTP_401_UNAUTHORIZED)


def _without_signature(raw: str) -> str:
    """The raw parameter string minus its ``signature=...`` part(s), every other byte as sent."""
    if "signature=" not in raw:
        return raw
    return "&".join(part for part in raw.split("&") if part.partition("=")[0] != "signature")


def _check_timestamp(params: Params) -> None:
    ts = params.text("timestamp", required=True)
    if not _TIMESTAMP.fullmatch(ts):
        raise BinanceError(-1100, "Illegal characters found in parameter 'timestamp'; legal range is "
                                  "milliseconds since the epoch.")
    window = params.text("recvWindow") or str(DEFAULT_RECV_WINDOW_MS)
    if not _TIMESTAMP.fullmatch(window):
        raise BinanceError(-1100, "Illegal characters found in parameter 'recvWindow'.")
    window_ms = float(window)
    if window_ms > MAX_RECV_WINDOW_MS:
        raise BinanceError(-1131, f"recvWindow must be less than {MAX_RECV_WINDOW_MS}.")
    now_ms = time.time() * 1000
    ts_ms = float(ts)
    if ts_ms >= now_ms + MAX_AHEAD_MS:
        raise BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now_ms - ts_ms > window_ms:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def verify_signature(request, key, params: Params) -> None:
    signature = params.text("signature")
    if signature is None:
        raise missing("signature")
    if not _SIGNATURE.fullmatch(signature):
        raise BinanceError(-1022, MSG_BAD_SIGNATURE)
    _check_timestamp(params)
    payload = _without_signature(params.raw_query) + _without_signature(params.raw_body)
    expected = hmac.new(signing_secret(key), payload.encode(), hashlib.sha256).hexdigest()
    signature = signature.lower()
    if not hmac.compare_digest(expected, signature):
        raise BinanceError(-1022, MSG_BAD_SIGNATURE)
    if request.method not in SAFE_METHODS:
        # A write is accepted once per signature (like the native door's replay guard); reads are idempotent and
        # Binance does not refuse a repeated read, so a poller that repeats one within a millisecond is fine.
        window = (MAX_RECV_WINDOW_MS + MAX_AHEAD_MS) // 1000 + 1
        if not cache.add(f"bnsig:{key.pk}:{signature}", 1, timeout=window):
            raise BinanceError(-1022, "Signature for this request was already used (replayed request).")


class BinanceKeyAuthentication(BaseAuthentication):
    """``X-MBX-APIKEY`` + ``signature``: the Binance door's agent authentication (signed endpoints)."""

    def authenticate(self, request):
        plaintext = request.META.get("HTTP_X_MBX_APIKEY")
        if not plaintext:
            return None  # the permission says -2014
        if keys.lookup_of(plaintext) is None:
            raise _unauthorized(MSG_KEY_FORMAT, -2014)
        ip = client_ip(request)
        key = key_authenticate(plaintext, ip=ip)  # platform errors are translated to -2015 by the handler
        if not key.requires_signature:
            raise _unauthorized(
                f"{MSG_BAD_KEY} This key has no signing secret: create a key with \"signing\": true "
                f"(POST /api/v1/agents/{{id}}/keys) and use its signing_secret as the Binance API secret.")
        verify_signature(request, key, Params.of(request))
        record_use(key, ip)
        return key.agent.account, AgentContext(key=key, agent=key.agent)

    def authenticate_header(self, request):
        return 'X-MBX-APIKEY realm="binance"'


class IsSignedAgent(BasePermission):
    """A signed agent request; writes need a key with scope ``trade`` (-2015 otherwise, as Binance answers a key
    without trading permission)."""

    def has_permission(self, request, view):
        ctx = request.auth if isinstance(request.auth, AgentContext) else None
        if ctx is None:
            raise _unauthorized(MSG_KEY_FORMAT + " Send your agent key in the X-MBX-APIKEY header.", -2014)
        if request.method not in SAFE_METHODS and ctx.scope != "trade":
            raise _unauthorized(f"{MSG_BAD_KEY} This key has scope 'read'; trading needs scope 'trade'.")
        return True

