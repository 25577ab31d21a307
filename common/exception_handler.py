"""One exception handler: every error leaves the API as ``{"error": {"code", "message", "details"}}``."""

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from common.errors import ApplicationError
from common.ratelimit import count_refused

logger = logging.getLogger(__name__)

# DRF exception class -> (our code, default message)
_DRF_CODES: list[tuple[type, str]] = [
    (drf.ValidationError, "VALIDATION_ERROR"),
    (drf.ParseError, "VALIDATION_ERROR"),
    (drf.NotAuthenticated, "AUTHENTICATION_FAILED"),
    (drf.AuthenticationFailed, "AUTHENTICATION_FAILED"),
    (drf.PermissionDenied, "PERMISSION_DENIED"),
    (drf.NotFound, "NOT_FOUND"),
    (drf.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (drf.NotAcceptable, "NOT_ACCEPTABLE"),
    (drf.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (drf.Throttled, "RATE_LIMITED"),
]


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _first_message(detail) -> str:
    """A human sentence out of DRF's nested ``detail`` structure."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def _plain(detail):
    """ErrorDetail trees -> plain JSON (strings, lists, dicts)."""
    if isinstance(detail, dict):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_plain(v) for v in detail]
    return str(detail)


def _over_limit(exc, context):
    """A request DRF refused before its throttles ran still counts; past the limit it becomes a 429."""
    request = context.get("request") if context else None
    if request is None or isinstance(exc, drf.Throttled):
        return exc
    state = count_refused(request)
    if state is not None and not state.allowed:
        return drf.Throttled(wait=state.retry_after)
    return exc


def _dependency_errors() -> tuple[type, ...]:
    """What a dependency that is down raises: Redis (cache, rate limits, prices, pub/sub), the Celery broker
    (kombu wraps the transport's error once its publish retries are spent) and the database (Django's wrappers
    and psycopg's own, e.g. a pool timeout). A deadlock or lock timeout is an OperationalError too: retrying is
    the right advice for those as well."""
    import psycopg
    import redis.exceptions
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, BrokerError, OperationalError,
            InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def dependency_unavailable(exc: BaseException) -> ApplicationError | None:
    """503 ``SERVICE_UNAVAILABLE`` (with ``Retry-After``) for an exception that says a dependency is down, else None.

    The one place that decides it, for DRF views (:func:`envelope_exception_handler`) and for everything outside
    DRF (:func:`json_500`: middleware, admin). The request's transaction has been rolled back by then (the
    exception left every ``atomic`` block), so nothing was written.
    """
    if not isinstance(exc, _dependency_errors()):
        return None
    logger.warning("dependency unavailable: %s: %s", type(exc).__name__, exc)
    retry_after = settings.DEPENDENCY_RETRY_AFTER_SECONDS
    return ApplicationError("A service the platform depends on is unavailable; retry shortly.",
                            code="SERVICE_UNAVAILABLE", status_code=503, details={"retry_after": retry_after})


def envelope_exception_handler(exc, context):
    exc = dependency_unavailable(exc) or exc
    if not (isinstance(exc, ApplicationError) and exc.code == "SERVICE_UNAVAILABLE"):
        exc = _over_limit(exc, context)  # counting the refusal needs Redis, which may be the thing that is down
    if isinstance(exc, RequestDataTooBig):
        exc = ApplicationError("The request body is too large.", code="PAYLOAD_TOO_LARGE", status_code=413,
                               details={"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    headers = {}
    if isinstance(exc, ApplicationError):
        body = error_body(exc.code, exc.message, exc.details)
        retry_after = getattr(exc, "retry_after", None) or (
            exc.details.get("retry_after") if exc.status_code == 503 else None)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
    elif isinstance(exc, drf.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "ERROR")
        if isinstance(exc, drf.ValidationError):
            details = _plain(exc.detail)
            if not isinstance(details, dict):
                details = {"non_field_errors": details}
            body = error_body(code, _first_message(exc.detail), {"fields": details})
        else:
            body = error_body(code, _first_message(exc.detail))
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
            body["error"]["message"] = f"Rate limit exceeded; retry in {headers['Retry-After']} s."
            body["error"]["details"] = {"retry_after": int(headers["Retry-After"])}
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
    else:
        return None  # unexpected: let Django log it; handler500 renders the envelope

    if isinstance(exc, drf.NotAuthenticated) or getattr(exc, "status_code", 0) == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    set_rollback()
    response = Response(body, status=exc.status_code, headers=headers)
    if exc.status_code == 503:
        response._has_been_logged = True  # logged once at WARNING above, not as an ERROR line per request
    return response


def json_404(request, exception=None):
    return JsonResponse(error_body("NOT_FOUND", "No such resource."), status=404)


def json_400(request, exception=None):
    return JsonResponse(error_body("BAD_REQUEST", "Bad request."), status=400)


def json_403(request, exception=None):
    return JsonResponse(error_body("PERMISSION_DENIED", "Permission denied."), status=403)


def json_500(request):
    """Django's handler500: called while the exception is being handled, so ``sys.exc_info()`` is it. A dependency
    that is down is a 503 here too (a middleware, the admin: paths DRF's handler never sees)."""
    unavailable = dependency_unavailable(sys.exc_info()[1]) if sys.exc_info()[1] is not None else None
    if unavailable is not None:
        response = JsonResponse(error_body(unavailable.code, unavailable.message, unavailable.details), status=503)
        response["Retry-After"] = str(unavailable.details["retry_after"])
        return response
    return JsonResponse(error_body("INTERNAL_ERROR", "Internal error; it has been logged."), status=500)
