"""``X-API-Key`` authentication: the key alone identifies the agent and scopes the request to it."""

import hashlib
import hmac
import ipaddress
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from agents.models import Agent, AgentKey
from common import keys
from common.crypto import decrypt
from common.errors import AuthenticationFailed, PermissionDenied
from common.ratelimit import client_ip

# Writing last_used_at on every request would turn every read into a write; once a minute per key is enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class AgentContext:
    """``request.auth`` of a request made with an agent key."""

    key: AgentKey
    agent: Agent

    @property
    def scope(self) -> str:
        return self.key.scope

    @property
    def rate_limit_key(self) -> str:
        return f"key:{self.key.pk}"


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


def _verify_signature(request, key: AgentKey) -> None:
    """HMAC-SHA256(secret, timestamp + METHOD + path_with_query + body), within the window, never replayed."""
    ts = request.META.get("HTTP_X_TIMESTAMP", "")
    signature = request.META.get("HTTP_X_SIGNATURE", "")
    if not ts or not signature:
        raise AuthenticationFailed("This key requires signed requests: send X-Timestamp and X-Signature.",
                                   details={"reason": "signature_required"})
    try:
        ts_ms = int(ts)
    except ValueError:
        raise AuthenticationFailed("X-Timestamp must be milliseconds since the epoch.",
                                   details={"reason": "bad_timestamp"}) from None
    window_ms = settings.SIGNATURE_WINDOW_SECONDS * 1000
    if abs(time.time() * 1000 - ts_ms) > window_ms:
        raise AuthenticationFailed(f"X-Timestamp is outside the {settings.SIGNATURE_WINDOW_SECONDS} s window.",
                                   details={"reason": "timestamp_outside_window"})
    body = request._request.body.decode("utf-8", errors="replace")
    message = f"{ts}{request.method.upper()}{request._request.get_full_path()}{body}"
    expected = hmac.new(decrypt(key.signing_secret_encrypted).encode(), message.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise AuthenticationFailed("Bad request signature.", details={"reason": "bad_signature"})
    # A signature is accepted once: remembered for twice the window, longer than it could be valid.
    if not cache.add(f"sig:{key.pk}:{signature.lower()}", 1, timeout=2 * settings.SIGNATURE_WINDOW_SECONDS):
        raise AuthenticationFailed("Replayed request signature.", details={"reason": "replayed_signature"})


def _record_use(key: AgentKey, ip: str) -> None:
    now = timezone.now()
    if key.last_used_at and now - key.last_used_at < LAST_USED_RESOLUTION and key.last_used_ip == ip:
        return
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        ip = None
    AgentKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)


def resolve_key(plaintext: str) -> AgentKey:
    """The live key row for ``plaintext`` (with its agent and account), or AuthenticationFailed."""
    lookup = keys.lookup_of(plaintext)
    if lookup is None:
        raise AuthenticationFailed("Invalid API key.")
    candidates = AgentKey.objects.select_related("agent", "agent__account").filter(lookup=lookup)
    key = next((k for k in candidates if keys.digest_matches(plaintext, k.key_hash)), None)
    if key is None or key.revoked_at is not None:
        raise AuthenticationFailed("Invalid API key.")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise AuthenticationFailed("This API key has expired.", details={"reason": "key_expired"})
    if key.agent.status == Agent.Status.ARCHIVED or not key.agent.account.is_active:
        raise AuthenticationFailed("This agent is archived.", details={"reason": "agent_archived"})
    return key


class AgentKeyAuthentication(BaseAuthentication):
    header = "HTTP_X_API_KEY"

    def authenticate(self, request):
        plaintext = request.META.get(self.header)
        if not plaintext and request.method == "GET" and "/stream/" in request.path:
            # Browsers' EventSource cannot set headers; streams alone accept the key as a query parameter.
            plaintext = request.query_params.get("api_key")
        if not plaintext:
            return None
        key = resolve_key(plaintext)
        ip = client_ip(request)
        if key.allowed_ips and not _ip_allowed(ip, key.allowed_ips):
            raise PermissionDenied(f"This key may not be used from {ip}.", code="IP_NOT_ALLOWED",
                                   details={"ip": ip})
        if key.requires_signature:
            _verify_signature(request, key)
        _record_use(key, ip)
        return key.agent.account, AgentContext(key=key, agent=key.agent)

    def authenticate_header(self, request):
        return 'X-API-Key realm="api"'
