from rest_framework_simplejwt.authentication import JWTAuthentication


class AccountJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <JWT>`` of an account (a person). ``request.auth`` is the validated token."""
