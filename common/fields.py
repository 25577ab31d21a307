"""Serializer fields for money on the wire: fixed-point decimal strings in, fixed-point decimal strings out."""

from decimal import Decimal, InvalidOperation

from rest_framework import serializers

from common.money import AMOUNT_PLACES, DECIMAL_PLACES, MAX_DIGITS, fmt

# Anything beyond this is absurd for a paper-trading amount and would overflow the database column.
MAX_AMOUNT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES) - 1


class DecimalString(serializers.Field):
    """A decimal sent and rendered as a JSON string (``"64000.00"``).

    JSON numbers that are integers are tolerated on input; JSON floats are refused, because a float has already
    lost the exact value the client meant.
    """

    default_error_messages = {
        "invalid": "Must be a decimal number written as a string, e.g. \"64000.00\".",
        "float": "Send decimals as JSON strings, not floats (floats are not exact).",
        "not_finite": "Must be a finite number.",
        "negative": "Must not be negative.",
        "not_positive": "Must be greater than zero.",
        "too_large": "Must be at most {max}.",
        "too_precise": "At most {places} decimal places.",
    }

    def __init__(self, *, positive: bool = False, allow_zero: bool = True, places: int = AMOUNT_PLACES,
                 max_value: Decimal = MAX_AMOUNT, input_places: int = DECIMAL_PLACES, **kwargs):
        self.positive = positive
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
        try:
            value = Decimal(str(data).strip())
        except (InvalidOperation, ValueError):
            self.fail("invalid")
        if not value.is_finite():
            self.fail("not_finite")
        if value < 0:
            self.fail("negative")
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
            return {"type": "string", "format": "decimal", "pattern": r"^\d{1,20}(\.\d{1,12})?$",
                    "example": "10000.00"}
except ImportError:  # pragma: no cover
    pass
