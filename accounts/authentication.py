from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.settings import api_settings


class AccountJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <JWT>`` of an account (a person). ``request.auth`` is the validated token."""


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
