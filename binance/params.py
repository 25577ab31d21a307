"""Binance request parameters: ``application/x-www-form-urlencoded`` in the query string and/or the body.

Binance reads both (the query string wins when a name is in both) and signs their raw text, so the raw strings are
kept for the signature check (``binance.auth``) and the parsed values for the views. Typed getters raise Binance's
errors: -1102 for a missing mandatory parameter, -1100 for one that does not parse.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from binance.errors import BinanceError, illegal, missing

_DECIMAL = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_INT = re.compile(r"-?[0-9]{1,19}")
SYMBOL_RE = re.compile(r"[A-Z0-9]{2,32}")
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
MAX_PARAMS = 64


def _pairs(raw: str) -> list[tuple[str, str]]:
    pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_PARAMS)
    return pairs


class Params:
    """The parameters of one request (parsed once, kept on the Django request as ``binance_params``)."""

    def __init__(self, query: str, body: str):
        self.raw_query = query
        self.raw_body = body
        try:
            pairs = _pairs(body) + _pairs(query)  # later wins: the query string over the body, as Binance does
        except ValueError:
            raise BinanceError(-1101, f"Too many parameters; expected at most {MAX_PARAMS}.") from None
        self.values = dict(pairs)

    @classmethod
    def of(cls, request) -> "Params":
        django_request = getattr(request, "_request", request)
        cached = getattr(django_request, "binance_params", None)
        if cached is not None:
            return cached
        try:
            body = django_request.body.decode("utf-8") if django_request.method in ("POST", "PUT", "DELETE") else ""
            query = django_request.META.get("QUERY_STRING", "")
            if isinstance(query, bytes):
                query = query.decode("utf-8")
        except UnicodeDecodeError:
            raise BinanceError(-1100, "Illegal characters found in a parameter: not UTF-8.") from None
        if body.lstrip().startswith("{"):
            raise BinanceError(-1100, "Illegal characters found in a parameter: send parameters as "
                                      "application/x-www-form-urlencoded, not JSON.")
        params = cls(query, body)
        django_request.binance_params = params
        return params

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value not in (None, "") else None

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.get(name)
        if value is None and required:
            raise missing(name)
        return value

    def symbol(self, *, required: bool = True, name: str = "symbol") -> str | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        value = value.strip().upper()
        if not SYMBOL_RE.fullmatch(value):
            raise BinanceError(-1121, "Invalid symbol.")
        return value

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not _DECIMAL.fullmatch(value):
            raise illegal(name)
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise illegal(name) from None
        if number <= 0:
            raise BinanceError(-1013, f"Invalid {name}: must be greater than zero.")
        return number

    def integer(self, name: str, *, required: bool = False, default: int | None = None, lo: int | None = None,
                hi: int | None = None) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return default
        if not _INT.fullmatch(value):
            raise illegal(name)
        number = int(value)
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is "
                                      f"'{lo if lo is not None else ''}..{hi if hi is not None else ''}'.")
        return number

    def millis(self, name: str) -> datetime | None:
        value = self.integer(name, lo=0, hi=32_503_680_000_000)  # up to year 3000
        return None if value is None else datetime.fromtimestamp(value / 1000, UTC)

    def choice(self, name: str, choices, *, required: bool = False, error: tuple[int, str] | None = None,
               default=None):
        value = self.text(name, required=required)
        if value is None:
            return default
        value = value.upper()
        if value not in choices:
            raise BinanceError(*error) if error else illegal(name)
        return value

    def client_id(self, name: str) -> str | None:
        value = self.get(name)
        if value is None:
            return None
        if not CLIENT_ID_RE.fullmatch(value):
            raise illegal(name)
        return value
