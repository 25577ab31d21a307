"""Binance's error bodies: ``{"code": -2010, "msg": "..."}`` with Binance's HTTP statuses.

Views and the gateway raise :class:`BinanceError` for what the Binance protocol itself refuses (a missing parameter,
a bad signature); everything the platform's services raise (``common.errors``: risk, balance, filters, unknown
order...) is translated here, in one table, by the native error code. The exception handler of the Binance views
(:func:`binance_exception_handler`) renders both, and counts a request refused before its throttle ran, exactly as
the native handler does.
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from common.errors import ApplicationError
from common.ratelimit import count_refused

logger = logging.getLogger(__name__)

# Binance's messages, word for word where a client matches on them (ccxt maps some exact messages to its
# exception classes: InsufficientFunds, OrderImmediatelyFillable, MarketClosed).
MSG_INSUFFICIENT = "Account has insufficient balance for requested action."
MSG_WOULD_TAKE = "Order would immediately match and take."
MSG_MARKET_CLOSED = "Market is closed."
MSG_UNKNOWN_ORDER = "Unknown order sent."
MSG_NO_ORDER = "Order does not exist."
MSG_BAD_KEY = "Invalid API-key, IP, or permissions for action."
MSG_KEY_FORMAT = "API-key format invalid."
MSG_BAD_SIGNATURE = "Signature for this request is not valid."
MSG_INVALID_SYMBOL = "Invalid symbol."
MSG_INTERNAL = "Internal error; unable to process your request. Please try again."
MSG_DUPLICATE = "Duplicate order sent."


class BinanceError(drf.APIException):
    """An error in Binance's terms: a negative ``code``, a ``msg``, an HTTP status (400 unless said)."""

    def __init__(self, code: int, msg: str, *, http_status: int = status.HTTP_400_BAD_REQUEST,
                 headers: dict | None = None):
        super().__init__(detail=msg)
        self.code = code
        self.msg = msg
        self.status_code = http_status
        self.headers = headers or {}


def missing(param: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{param}' was not sent, was empty/null, or malformed.")


def illegal(param: str) -> BinanceError:
    return BinanceError(-1100, f"Illegal characters found in parameter '{param}'; "
                               f"legal range is '{_LEGAL.get(param, 'see the API documentation')}'.")


def not_required(param: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{param}' sent when not required.")


_LEGAL = {"quantity": r"^([0-9]{1,20})(\.[0-9]{1,20})?$", "price": r"^([0-9]{1,20})(\.[0-9]{1,20})?$",
          "stopPrice": r"^([0-9]{1,20})(\.[0-9]{1,20})?$", "quoteOrderQty": r"^([0-9]{1,20})(\.[0-9]{1,20})?$",
          "newClientOrderId": r"^[a-zA-Z0-9._:-]{1,64}$", "origClientOrderId": r"^[a-zA-Z0-9._:-]{1,64}$",
          "symbol": "^[A-Z0-9-_.]{1,32}$"}

# Native field names (engine/services) -> Binance parameter names, for messages that name a parameter.
PARAM_OF_FIELD = {"quantity": "quantity", "quote_quantity": "quoteOrderQty", "price": "price",
                  "trigger_price": "stopPrice", "time_in_force": "timeInForce", "post_only": "type",
                  "symbol": "symbol", "side": "side", "type": "type", "client_order_id": "newClientOrderId"}

# Native business codes -> (Binance code, message); None: the native message, prefixed by the code.
_BUSINESS = {
    "INSUFFICIENT_BALANCE": (-2010, MSG_INSUFFICIENT),
    "POST_ONLY_WOULD_TAKE": (-2010, MSG_WOULD_TAKE),
    "MARKET_CLOSED": (-1013, MSG_MARKET_CLOSED),
    "INVALID_TICK_SIZE": (-1013, "Filter failure: PRICE_FILTER"),
    "INVALID_STEP_SIZE": (-1013, "Filter failure: LOT_SIZE"),
    "UNKNOWN_SYMBOL": (-1121, MSG_INVALID_SYMBOL),
    "DUPLICATE_CLIENT_ORDER_ID": (-2010, MSG_DUPLICATE),
    "RISK_ORDER_RATE": (-1015, None),
}


def translate(exc: ApplicationError, *, not_found: tuple[int, str] = (-2013, MSG_NO_ORDER)) -> BinanceError:
    """A platform error (``common.errors``) as the Binance error a Binance client expects.

    ``not_found``: what NOT_FOUND means where it was raised (-2013 on a query, -2011 on a cancel).
    """
    code, message, details = exc.code, exc.message, exc.details or {}
    if code in _BUSINESS:
        b_code, msg = _BUSINESS[code]
        return BinanceError(b_code, msg or f"{message} ({code})")
    if code == "INVALID_QUANTITY":
        # below min_qty -> LOT_SIZE; below min_notional -> NOTIONAL (Binance's names of the two filters)
        return BinanceError(-1013, "Filter failure: NOTIONAL" if "min_notional" in details
                            else "Filter failure: LOT_SIZE")
    if code == "ORDER_NOT_OPEN":  # cancelling a filled/cancelled/expired order: Binance says it does not know it
        return BinanceError(-2011, MSG_UNKNOWN_ORDER)
    if code in ("AUTHENTICATION_FAILED", "PERMISSION_DENIED", "KEY_SCOPE", "IP_NOT_ALLOWED"):
        return BinanceError(-2015, f"{MSG_BAD_KEY} {message}", http_status=status.HTTP_401_UNAUTHORIZED)
    if code == "VALIDATION_ERROR":
        return _validation(exc)
    if code == "NOT_FOUND":
        return BinanceError(*not_found)
    if exc.status_code >= 500:
        return BinanceError(-1001, f"{MSG_INTERNAL} ({message})", http_status=exc.status_code)
    if exc.status_code == status.HTTP_422_UNPROCESSABLE_ENTITY or code.startswith("RISK_"):
        return BinanceError(-2010, f"{message} ({code})")  # NEW_ORDER_REJECTED: risk, battle state, inactive agent
    return BinanceError(-1000, f"{message} ({code})", http_status=exc.status_code)


def _validation(exc: ApplicationError) -> BinanceError:
    """The engine's shape errors name a field: a required one is -1102, a forbidden one -1106."""
    fields = (exc.details or {}).get("fields") or {}
    field = next(iter(fields), None)
    param = PARAM_OF_FIELD.get(field, field)
    text = exc.message.lower()
    if param and "required" in text:
        return missing(param)
    if param and ("not allowed" in text or "only market orders take" in text):
        return not_required(param)
    return BinanceError(-1013, exc.message)


def _rate_limited(wait: int | None) -> BinanceError:
    wait = max(1, int((wait or 1) + 0.999))
    return BinanceError(-1003, f"Too many requests; current limit is exceeded. Retry after {wait} s.",
                        http_status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait)})


def as_binance(exc, *, not_found=(-2013, MSG_NO_ORDER)) -> BinanceError | None:
    if isinstance(exc, BinanceError):
        return exc
    if isinstance(exc, drf.Throttled):
        return _rate_limited(exc.wait)
    if isinstance(exc, ApplicationError):
        return translate(exc, not_found=not_found)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed, drf.PermissionDenied)):
        return BinanceError(-2015, MSG_BAD_KEY, http_status=status.HTTP_401_UNAUTHORIZED)
    if isinstance(exc, drf.MethodNotAllowed):
        return BinanceError(-1000, f"Method {exc.detail}", http_status=status.HTTP_405_METHOD_NOT_ALLOWED)
    if isinstance(exc, drf.ValidationError):
        return BinanceError(-1100, f"Illegal characters found in a parameter: {exc.detail}")
    if isinstance(exc, Http404):
        return BinanceError(-1000, "No such endpoint.", http_status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, RequestDataTooBig):
        return BinanceError(-1101, "Too many parameters: the request body is too large.",
                            http_status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, drf.APIException):
        return BinanceError(-1000, str(exc.detail), http_status=exc.status_code)
    return None


def binance_exception_handler(exc, context):
    """The Binance views' DRF exception handler (see ``views.BinanceView.get_exception_handler``)."""
    request = context.get("request") if context else None
    if request is not None and not isinstance(exc, drf.Throttled):
        state = count_refused(request)  # refused before the throttle: still one request of its caller
        if state is not None and not state.allowed:
            exc = drf.Throttled(wait=state.retry_after)
    view = context.get("view") if context else None
    err = as_binance(exc, not_found=getattr(view, "not_found", (-2013, MSG_NO_ORDER)))
    if err is None:
        logger.exception("unexpected error in a Binance view", exc_info=exc)
        err = BinanceError(-1000, "An unknown error occurred while processing the request.",
                           http_status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    set_rollback()
    return Response({"code": err.code, "msg": err.msg}, status=err.status_code, headers=err.headers)
