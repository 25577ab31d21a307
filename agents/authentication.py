"""``X-API-Key`` authentication: the key alone identifies the agent and scopes the request to it."""

import hashlib
import hmac
import ipaddress
import logging
import re
import time
from datetime import timedelta

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from agents import keycache
from agents.models import Agent, AgentKey
from common import keys, ratelimit
from common.crypto import decrypt
from common.errors import AuthenticationFailed, PermissionDenied
from common.permissions import AgentContext  # defined in common (below agents), so every app may check it
from common.ratelimit import client_ip
from common.rowloader import RowLoader

logger = logging.getLogger(__name__)

# Writing last_used_at on every request would turn every read into a write; once a minute per key is enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def _ip_allowed(ip: str, allowed: list[str]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if addr in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


_TIMESTAMP = re.compile(r"[0-9]{1,16}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


def signing_secret(key: AgentKey) -> bytes:
    """The key's HMAC secret (decrypted), for a door that verifies signatures of its own (``binance``)."""
    try:
        return decrypt(key.signing_secret_encrypted).encode()
    except InvalidToken:
        # Only if the key that encrypted it was dropped from FIELD_ENCRYPTION_KEY: the secret is lost.
        logger.error("signing secret of key %s cannot be decrypted (encryption key changed?)", key.pk)
        raise AuthenticationFailed("This key's signing secret is unreadable; issue a new key.",
                                   details={"reason": "signing_secret_unreadable"}) from None


def _verify_signature(request, key: AgentKey) -> None:
    """HMAC-SHA256(secret, timestamp + METHOD + path_with_query + body), within the window, never replayed."""
    ts = request.META.get("HTTP_X_TIMESTAMP", "")
    signature = request.META.get("HTTP_X_SIGNATURE", "")
    if not ts or not signature:
        raise AuthenticationFailed("This key requires signed requests: send X-Timestamp and X-Signature.",
                                   details={"reason": "signature_required"})
    if not _TIMESTAMP.fullmatch(ts):
        raise AuthenticationFailed("X-Timestamp must be milliseconds since the epoch.",
                                   details={"reason": "bad_timestamp"})
    # Checked before comparing: hmac.compare_digest raises TypeError on non-ASCII text (a header can hold any).
    if not _SIGNATURE.fullmatch(signature):
        raise AuthenticationFailed("X-Signature must be 64 hex characters.", details={"reason": "bad_signature"})
    window_ms = settings.SIGNATURE_WINDOW_SECONDS * 1000
    if abs(time.time() * 1000 - int(ts)) > window_ms:
        raise AuthenticationFailed(f"X-Timestamp is outside the {settings.SIGNATURE_WINDOW_SECONDS} s window.",
                                   details={"reason": "timestamp_outside_window"})
    # The exact bytes the client sent (decoding and re-encoding would change a body that is not valid UTF-8).
    message = (f"{ts}{request.method.upper()}{request._request.get_full_path()}".encode()
               + request._request.body)
    expected = hmac.new(signing_secret(key), message, hashlib.sha256).hexdigest()
    signature = signature.lower()
    if not hmac.compare_digest(expected, signature):
        raise AuthenticationFailed("Bad request signature.", details={"reason": "bad_signature"})
    # A signature is accepted once: remembered for twice the window, longer than it could be valid.
    if not cache.add(f"sig:{key.pk}:{signature}", 1, timeout=2 * settings.SIGNATURE_WINDOW_SECONDS):
        raise AuthenticationFailed("Replayed request signature.", details={"reason": "replayed_signature"})


def record_use(key: AgentKey, ip: str) -> None:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        ip = None  # e.g. "unknown": stored as NULL, and compared as NULL so it does not write every time
    now = timezone.now()
    if key.last_used_at and now - key.last_used_at < LAST_USED_RESOLUTION and key.last_used_ip == ip:
        return
    AgentKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
    keycache.note_use(key, now, ip)


# AgentKey.objects.select_related("agent", "agent__account").filter(lookup=...), with its SQL compiled once:
# this runs on every agent request, and compiling the ORM query cost more than running it (bench/auth_read.py).
_KEYS_WITH_AGENT = RowLoader(AgentKey, "agent", "agent__account")


def resolve_key(plaintext: str, *, read_generation=None) -> AgentKey:
    """The live key row for ``plaintext`` (with its agent and account), or AuthenticationFailed.
    ``read_generation``: see ``keycache.resolve``."""
    lookup = keys.lookup_of(plaintext)
    if lookup is None:
        raise AuthenticationFailed("Invalid API key.")
    key = keycache.resolve(plaintext, lambda: next((k for k in _KEYS_WITH_AGENT.fetch("lookup", lookup)
                                                    if keys.digest_matches(plaintext, k.key_hash)), None),
                           read_generation)
    if key is None or key.revoked_at is not None:
        raise AuthenticationFailed("Invalid API key.")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise AuthenticationFailed("This API key has expired.", details={"reason": "key_expired"})
    if key.agent.status == Agent.Status.ARCHIVED or not key.agent.account.is_active:
        raise AuthenticationFailed("This agent is archived.", details={"reason": "agent_archived"})
    return key


def key_authenticate(plaintext: str, *, ip: str, read_generation=None) -> AgentKey:
    """Every check of a key except its signature scheme: live, unexpired, agent not archived, IP allowed.

    The native ``X-API-Key`` door and the Binance door (``binance.auth``) both call it, then verify the signature
    their protocol defines and call :func:`record_use`.
    """
    key = resolve_key(plaintext, read_generation=read_generation)
    if key.allowed_ips and not _ip_allowed(ip, key.allowed_ips):
        raise PermissionDenied(f"This key may not be used from {ip}.", code="IP_NOT_ALLOWED", details={"ip": ip})
    return key


def _counted_generation_reader(request):
    """The key cache's generation read in the same Redis round trip as the request's rate-limit count (which the
    throttle would make right after authentication, against the same ``key:<id>`` bucket): one round trip fewer
    on every agent request whose key is cached. Only for keys that need nothing more than the key to pass (no IP
    allow-list, no signature), so a request refused by those checks is still counted as before (by IP). The view's
    own ``prefetch_generations`` ride along, as the throttle would have read them."""

    def read(cached: AgentKey) -> str | None:
        django_request = request._request
        if cached.allowed_ips or cached.requires_signature or hasattr(django_request, "rate_limit_state"):
            return None
        view = (getattr(request, "parser_context", None) or {}).get("view")
        extra = tuple(getattr(view, "prefetch_generations", ()) or ())
        ratelimit.count(django_request, auth=AgentContext(key=cached, agent=cached.agent),
                        generations=(keycache.GENERATION, *extra))
        generations = django_request.__dict__.pop("prefetched_generations", None)
        if generations is None:  # limits off, or Redis unreachable: the cache reads its generation itself
            return None
        if extra:
            django_request.prefetched_generations = generations[1:]
        return generations[0]

    return read


class AgentKeyAuthentication(BaseAuthentication):
    header = "HTTP_X_API_KEY"

    def authenticate(self, request):
        plaintext = request.META.get(self.header)
        if not plaintext and request.method == "GET" and "/stream/" in request.path:
            # Browsers' EventSource cannot set headers; streams alone accept the key as a query parameter.
            plaintext = request.query_params.get("api_key")
        if not plaintext:
            return None
        ip = client_ip(request)
        key = key_authenticate(plaintext, ip=ip, read_generation=_counted_generation_reader(request))
        if key.requires_signature:
            _verify_signature(request, key)
        record_use(key, ip)
        return key.agent.account, AgentContext(key=key, agent=key.agent)

    def authenticate_header(self, request):
        return 'X-API-Key realm="api"'


# drf-spectacular: document X-API-Key (and that signing keys also send X-Timestamp / X-Signature).
from drf_spectacular.extensions import OpenApiAuthenticationExtension  # noqa: E402


class AgentKeyScheme(OpenApiAuthenticationExtension):
    target_class = AgentKeyAuthentication
    name = "AgentKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key",
                "description": "An agent's ak_live_ key. Keys created with signing also need X-Timestamp (ms) and "
                               "X-Signature = hex HMAC-SHA256(secret, timestamp + METHOD + path_with_query + body)."}
