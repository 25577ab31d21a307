"""Serializer fields for money on the wire: fixed-point decimal strings in, fixed-point decimal strings out."""

import re
from decimal import Decimal, InvalidOperation

from rest_framework import serializers

from common.money import AMOUNT_PLACES, DECIMAL_PLACES, MAX_INPUT, fmt

# Anything beyond this is absurd for a paper-trading amount, and bigger numbers overflow the 28-digit decimal
# arithmetic once quantized at 12 places (see common.money.MAX_INPUT).
MAX_AMOUNT = MAX_INPUT

# The one grammar of a decimal on the wire: ASCII digits, at most one point with digits on both sides, a leading
# minus only where the field allows negatives. No exponent, no "+", no spaces, no other scripts' digits
# (``str.isdigit`` and ``Decimal()`` accept "١" and "１"), no "1." or ".5".
DECIMAL_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class DecimalString(serializers.Field):
    """A decimal sent and rendered as a JSON string (``"64000.00"``).

    JSON numbers that are integers are tolerated on input; JSON floats are refused, because a float has already
    lost the exact value the client meant.
    """

    default_error_messages = {
        "invalid": "Must be a decimal number written as a string of ASCII digits with an optional point, "
                   "e.g. \"64000.00\" (no exponent, sign, spaces or thousands separators).",
        "float": "Send decimals as JSON strings, not floats (floats are not exact).",
        "not_finite": "Must be a finite number.",
        "negative": "Must not be negative.",
        "not_positive": "Must be greater than zero.",
        "too_large": "Must be at most {max}.",
        "too_precise": "At most {places} decimal places.",
    }

    def __init__(self, *, positive: bool = False, allow_zero: bool = True, places: int = AMOUNT_PLACES,
                 max_value: Decimal = MAX_AMOUNT, input_places: int = DECIMAL_PLACES, allow_negative: bool = False,
                 **kwargs):
        self.positive = positive
        self.allow_negative = allow_negative
        self.allow_zero = allow_zero
        self.places = places
        self.max_value = max_value
        self.input_places = input_places
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, float):
            self.fail("float")
        if not isinstance(data, (str, int)) or (isinstance(data, str) and len(data) > 64):
            self.fail("invalid")
        text = str(data)
        if not DECIMAL_RE.fullmatch(text):  # fullmatch: "$" would let a trailing newline through
            self.fail("invalid")
        try:
            value = Decimal(text)
        except (InvalidOperation, ValueError):  # pragma: no cover - the grammar admits only finite decimals
            self.fail("invalid")
        if not value.is_finite():  # pragma: no cover
            self.fail("not_finite")
        if value < 0 and not self.allow_negative:
            self.fail("negative")
        if value < -self.max_value:
            self.fail("too_large", max=self.max_value)
        if (self.positive or not self.allow_zero) and value == 0:
            self.fail("not_positive")
        if value > self.max_value:
            self.fail("too_large", max=self.max_value)
        if value.as_tuple().exponent < -self.input_places:
            self.fail("too_precise", places=self.input_places)
        return value

    def to_representation(self, value) -> str | None:
        return fmt(Decimal(value), self.places) if value is not None else None


# drf-spectacular: document DecimalString as a string with a decimal pattern.
try:
    from drf_spectacular.extensions import OpenApiSerializerFieldExtension

    class DecimalStringExtension(OpenApiSerializerFieldExtension):
        target_class = DecimalString

        def map_serializer_field(self, auto_schema, direction):
            sign = "-?" if getattr(self.target, "allow_negative", False) else ""
            digits = len(str(int(getattr(self.target, "max_value", MAX_AMOUNT))))
            places = getattr(self.target, "input_places", DECIMAL_PLACES)
            schema = {"type": "string", "format": "decimal", "example": "10000.00",
                      "pattern": rf"^{sign}[0-9]{{1,{digits}}}(\.[0-9]{{1,{places}}})?$"}
            if direction == "response":  # output may carry other signs (PnL), never exponents
                schema["pattern"] = r"^-?[0-9]+(\.[0-9]+)?$"
            return schema
except ImportError:  # pragma: no cover
    pass
