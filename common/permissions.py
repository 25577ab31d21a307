"""Who may call a view: an agent (by key), an account (by JWT), and what scope a write needs."""

from dataclasses import dataclass

from rest_framework.permissions import SAFE_METHODS, BasePermission

from common.errors import AuthenticationFailed, PermissionDenied


@dataclass(frozen=True)
class AgentContext:
    """``request.auth`` of a request made with an agent key (created by ``agents.authentication``).

    Defined here, below the agents app, so that the permissions every app uses need not import agents."""

    key: object  # agents.models.AgentKey
    agent: object  # agents.models.Agent

    @property
    def scope(self) -> str:
        return self.key.scope

    @property
    def rate_limit_key(self) -> str:
        return f"key:{self.key.pk}"


def agent_context(request) -> AgentContext | None:
    return request.auth if isinstance(request.auth, AgentContext) else None


class IsAgent(BasePermission):
    """Authenticated by an agent key; writes need a key with scope ``trade``."""

    def has_permission(self, request, view):
        ctx = agent_context(request)
        if ctx is None:
            raise AuthenticationFailed("This endpoint needs an agent key: send X-API-Key.")
        if request.method not in SAFE_METHODS and ctx.scope != "trade":
            raise PermissionDenied("This key has scope 'read'; this request needs scope 'trade'.",
                                   code="KEY_SCOPE", details={"scope": ctx.scope, "required": "trade"})
        return True


class IsAccount(BasePermission):
    """Authenticated by an account's JWT (not an agent key)."""

    def has_permission(self, request, view):
        if request.user is None or not request.user.is_authenticated or agent_context(request) is not None:
            raise AuthenticationFailed("This endpoint needs an account token: send Authorization: Bearer <JWT>.")
        return True


class IsAgentOrAccount(BasePermission):
    def has_permission(self, request, view):
        if request.user is None or not request.user.is_authenticated:
            raise AuthenticationFailed("Authentication credentials were not provided.")
        return True
