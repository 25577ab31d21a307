"""The one domain exception family. Services raise these; the DRF exception handler renders the envelope."""

from rest_framework import status
from rest_framework.exceptions import APIException


class ApplicationError(APIException):
    """An error with a stable ``code`` (UPPER_SNAKE), a human ``message`` and structured ``details``.

    Subclasses of APIException so that DRF's authentication machinery treats it as an expected failure.
    """

    status_code = status.HTTP_400_BAD_REQUEST
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None,
                 status_code: int | None = None):
        super().__init__(detail=message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or {}


class ValidationFailed(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "VALIDATION_ERROR"


class AuthenticationFailed(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "AUTHENTICATION_FAILED"


class PermissionDenied(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "PERMISSION_DENIED"


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "NOT_FOUND"


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "CONFLICT"


class BusinessRejection(ApplicationError):
    """422: the request was well formed but the business rules refuse it (risk, balance, market state...)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "REJECTED"


class RateLimited(ApplicationError):
    """429 with ``Retry-After`` (seconds) for a limit a service enforces itself (e.g. failed logins of one account)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int, details: dict | None = None):
        super().__init__(message, details={"retry_after": retry_after, **(details or {})})
        self.retry_after = retry_after
