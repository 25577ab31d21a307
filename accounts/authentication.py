import time

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.settings import api_settings


# Validated access tokens, per process: {raw token: (its exp, the validated token)}. A client polls with the same
# token until it expires, and decoding and verifying it again (base64, JSON, HMAC-SHA256, the claims) was ~15 % of
# a /battles/{id}/live request. What validation decides depends only on the token's bytes, the signing key (fixed
# for the process) and the clock, so a token that passed is reused until its exp, and then validated again (and
# refused). Access tokens are never checked against the blacklist (settings, SIMPLE_JWT), so nothing else can
# revoke one before its exp.
_validated: dict = {}
_VALIDATED_MAX = 10_000


class AccountJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <JWT>`` of an account (a person). ``request.auth`` is the validated token."""

    def get_validated_token(self, raw_token):
        hit = _validated.get(raw_token)
        if hit is not None and hit[0] > time.time():
            return hit[1]
        token = super().get_validated_token(raw_token)
        exp = token.payload.get("exp")
        if isinstance(exp, (int, float)):
            if len(_validated) >= _VALIDATED_MAX:
                _validated.clear()
            _validated[raw_token] = (exp, token)
        return token


class AccountJWTDeferredAuthentication(AccountJWTAuthentication):
    """The same token check without loading the account: ``request.user`` is a ``TokenUser`` (its ``pk`` from the
    token, ``is_staff`` False). For a hot read whose ONE query also checks that the account exists and is active
    (answering 401 otherwise, as this class's parent would) and reads ``is_staff`` from the database
    (``battles.selectors.battle_live_body``). Never for a view that trusts ``request.user`` beyond its pk."""

    def get_user(self, validated_token):
        if api_settings.USER_ID_CLAIM not in validated_token:
            raise InvalidToken("Token contained no recognizable user identification")
        return TokenUser(validated_token)


# drf-spectacular: document this authenticator as the bearer-JWT scheme (the built-in one matches only the exact
# simplejwt class, not subclasses).
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme  # noqa: E402


class AccountJWTScheme(SimpleJWTScheme):
    target_class = AccountJWTAuthentication
    name = "jwtAuth"
