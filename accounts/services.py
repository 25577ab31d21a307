"""Accounts: registration, the two logins, and the JWT pair (issue, refresh, logout)."""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Account
from common import keys, ratelimit
from common.errors import AuthenticationFailed, Conflict, RateLimited, ValidationFailed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisteredAccount:
    account: Account
    api_key: str  # shown once
    api_secret: str  # shown once


@dataclass(frozen=True)
class IssuedTokens:
    token: str  # access token (the Bearer)
    refresh: str | None
    expires_in: int  # seconds the access token lives


def _access_lifetime_seconds() -> int:
    return int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())


@transaction.atomic
def account_register(*, email: str, password: str, display_name: str) -> RegisteredAccount:
    email = Account.objects.normalize_email(email).lower()
    try:
        # The configured AUTH_PASSWORD_VALIDATORS; the unsaved account lets similarity validators compare.
        validate_password(password, user=Account(email=email, display_name=display_name))
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.messages[0], details={"fields": {"password": exc.messages}}) from None
    key = keys.new_key()
    secret = keys.new_secret()
    try:
        with transaction.atomic():
            account = Account.objects.create_user(
                email=email, password=password, display_name=display_name,
                api_key_lookup=key.lookup, api_key_hash=key.digest, api_secret_hash=make_password(secret),
            )
    except IntegrityError:
        raise Conflict("An account with this email already exists.", code="EMAIL_TAKEN",
                       details={"email": email}) from None
    return RegisteredAccount(account=account, api_key=key.plaintext, api_secret=secret)


# --- Failed-login throttling ----------------------------------------------------------------------------------------
# Failed logins are counted per account (whichever login was used, from whatever address), in fixed windows of the
# rate limiter's store (common/ratelimit.py). Past LOGIN_FAILURE_LIMIT in a window every login of that account, right
# or wrong, is a 429 until the window ends: guessing gets LOGIN_FAILURE_LIMIT tries per window, whatever the number
# of client addresses. An identifier that names no account is counted under its own name, so that the answers do
# not tell which accounts exist.

def _login_identity(account_id, identifier: str) -> str:
    if account_id is not None:
        return f"login-fail:acct:{account_id}"
    return "login-fail:id:" + hashlib.sha256(identifier.encode()).hexdigest()[:32]


def _login_guard(identity: str) -> None:
    """429 if this account is locked out for now. Fails open if the store is unreachable (logged)."""
    if not settings.LOGIN_FAILURE_LIMIT:
        return
    try:
        state = ratelimit.peek(identity, settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_FAILURE_WINDOW_SECONDS)
    except Exception:  # noqa: BLE001 - the store is down: do not lock everyone out
        logger.warning("failed-login counter unreachable; login let through unthrottled", exc_info=True)
        return
    if not state.allowed:
        raise RateLimited(f"Too many failed logins for this account; retry in {state.retry_after} s.",
                          retry_after=state.retry_after)


def _login_failed(identity: str) -> None:
    if not settings.LOGIN_FAILURE_LIMIT:
        return
    try:
        ratelimit.hit(identity, settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_FAILURE_WINDOW_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("failed-login counter unreachable; failure not counted", exc_info=True)


def account_by_api_credentials(*, api_key: str, api_secret: str) -> Account:
    lookup = keys.lookup_of(api_key)
    if lookup is None:
        raise AuthenticationFailed("Invalid API key or secret.")  # not a key at all: nothing to guess against
    account = next((a for a in Account.objects.filter(api_key_lookup=lookup)
                    if keys.digest_matches(api_key, a.api_key_hash)), None)
    identity = _login_identity(account.pk if account is not None else None, lookup)
    _login_guard(identity)
    if account is None or not account.is_active or not check_password(api_secret, account.api_secret_hash):
        _login_failed(identity)
        raise AuthenticationFailed("Invalid API key or secret.")
    return account


def account_by_password(*, email: str, password: str) -> Account:
    email = Account.objects.normalize_email(email).lower()
    identity = _login_identity(Account.objects.filter(email=email).values_list("pk", flat=True).first(), email)
    _login_guard(identity)
    # ModelBackend runs the password hasher even for an unknown email, so timing does not reveal which exist,
    # and refuses inactive accounts.
    account = authenticate(request=None, email=email, password=password)
    if account is None:
        _login_failed(identity)
        raise AuthenticationFailed("Invalid email or password.")
    return account


def account_tokens_issue(*, account: Account) -> IssuedTokens:
    """A fresh access + refresh pair (the refresh is recorded as outstanding so that logout can blacklist it)."""
    refresh = RefreshToken.for_user(account)
    update_last_login(None, account)
    return IssuedTokens(token=str(refresh.access_token), refresh=str(refresh), expires_in=_access_lifetime_seconds())


def _valid_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # checks signature, expiry, type and the blacklist
    except TokenError:
        raise AuthenticationFailed("Invalid, expired or revoked refresh token.",
                                   details={"reason": "invalid_refresh_token"}) from None


def account_token_refresh(*, refresh: str) -> IssuedTokens:
    token = _valid_refresh(refresh)
    account_id = token.payload.get(jwt_settings.USER_ID_CLAIM)
    if not Account.objects.filter(pk=account_id, is_active=True).exists():
        raise AuthenticationFailed("This account no longer exists or is disabled.",
                                   details={"reason": "account_inactive"})
    return IssuedTokens(token=str(token.access_token), refresh=None, expires_in=_access_lifetime_seconds())


def account_logout(*, refresh: str) -> None:
    """Blacklist the refresh token: it can no longer mint access tokens. The access token in hand is not revoked:
    it ends with its short life (JWT_ACCESS_SECONDS, 15 min by default; docs/decisions.md)."""
    _valid_refresh(refresh).blacklist()
