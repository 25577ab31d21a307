from rest_framework_simplejwt.authentication import JWTAuthentication


class AccountJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <JWT>`` of an account (a person). ``request.auth`` is the validated token."""


# drf-spectacular: document this authenticator as the bearer-JWT scheme (the built-in one matches only the exact
# simplejwt class, not subclasses).
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme  # noqa: E402


class AccountJWTScheme(SimpleJWTScheme):
    target_class = AccountJWTAuthentication
    name = "jwtAuth"
