"""Per-agent risk overrides: which fields exist, their bounds, and how an update merges into the stored overrides.

``Agent.risk_config`` holds only the limits the owner overrides, JSON-ready: decimals as normalized strings
(``"25"``, ``"12.5"``), integers as integers. The effective profile is ``RiskLimits().merged(agent.risk_config)``.

Each rule's accepted input is exactly what its OpenAPI schema says (``input_schema``): a decimal string matching
``pattern`` (which encodes the range and the places), or a JSON integer within the bounds. One definition serves
validation and documentation, so the two cannot drift apart.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from common.errors import ValidationFailed
from trading.engine.limits import RiskLimits


def decimal_pattern(*, maximum: int, places: int, allow_zero: bool) -> str:
    """A regex for decimal strings in [0, maximum] (or (0, maximum]) with at most ``places`` decimals.

    ``maximum`` is a power of ten. No sign, no exponent, no leading zeros: ``"25"``, ``"0.5"``, ``"100.00"``.
    """
    digits = len(str(maximum)) - 1
    top = rf"{maximum}(?:\.0{{1,{places}}})?"
    middle = rf"[1-9][0-9]{{0,{digits - 1}}}(?:\.[0-9]{{1,{places}}})?"
    if allow_zero:
        small = rf"0(?:\.[0-9]{{1,{places}}})?"
    else:  # 0.x with at least one non-zero digit among the first ``places``
        small = r"0\.(?:" + "|".join(rf"0{{{k}}}[1-9][0-9]{{0,{places - 1 - k}}}" for k in range(places)) + ")"
    return rf"^(?:{top}|{middle}|{small})$"


@dataclass(frozen=True)
class Rule:
    kind: type  # Decimal or int
    minimum: int  # integers: the smallest allowed; decimals: 0 (allowed or not per ``allow_zero``)
    maximum: int
    allow_zero: bool = True
    places: int = 0  # decimals only
    help: str = ""

    @property
    def pattern(self) -> str:
        return decimal_pattern(maximum=self.maximum, places=self.places, allow_zero=self.allow_zero)

    @property
    def int_minimum(self) -> int:
        """The smallest JSON integer accepted."""
        return self.minimum if self.kind is int else (0 if self.allow_zero else 1)

    def input_schema(self) -> dict:
        integer = {"type": "integer", "minimum": self.int_minimum, "maximum": self.maximum}
        if self.kind is int:
            return {**integer, "description": self.help}
        text = {"type": "string", "format": "decimal", "pattern": self.pattern, "example": str(self.maximum // 4)}
        return {"oneOf": [text, integer], "description": self.help}

    def output_schema(self) -> dict:
        if self.kind is int:
            return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum, "description": self.help}
        return {"type": "string", "format": "decimal", "pattern": self.pattern, "description": self.help}


def _pct(help_text: str) -> Rule:
    return Rule(kind=Decimal, minimum=0, maximum=100, allow_zero=False, places=4, help=help_text)


RULES: dict[str, Rule] = {
    "max_order_size_pct": _pct("% of available USDT one order may use, in (0, 100]."),
    "max_position_size_pct": _pct("% of equity one position may reach, in (0, 100]."),
    "daily_loss_limit_pct": _pct("% of starting balance lost since 00:00 UTC that stops new orders, in (0, 100]."),
    "max_open_orders": Rule(kind=int, minimum=1, maximum=1000, help="Resting orders at once, 1..1000."),
    "min_order_size_usd": Rule(kind=Decimal, minimum=0, maximum=1_000_000, places=8,
                               help="Smallest order notional in USDT, 0..1000000."),
    "order_rate_limit": Rule(kind=int, minimum=1, maximum=10_000, help="Orders per minute, 1..10000."),
}
assert set(RULES) == set(RiskLimits.field_names()), "every RiskLimits field needs a validation rule"


def plain_decimal(value: Decimal) -> str:
    """``Decimal("25.000")`` -> ``"25"``; never exponent notation."""
    return format(value.normalize(), "f")


def _as_integer(value) -> int | None:
    """A JSON integer (JSON Schema counts ``5.0`` as one too), never a boolean."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _clean_value(value, rule: Rule):
    """One override value -> (its stored form, None) or (None, what is wrong)."""
    integer = _as_integer(value)
    if integer is not None:
        if not rule.int_minimum <= integer <= rule.maximum:
            return None, f"Must be between {rule.int_minimum} and {rule.maximum}."
        return (integer if rule.kind is int else str(integer)), None
    if rule.kind is int:
        return None, "Must be an integer."
    # fullmatch: "$" alone would let a trailing newline through (the same strict grammar as common.fields).
    if not isinstance(value, str) or len(value) > 40 or not re.fullmatch(rule.pattern, value):
        low = "[0" if rule.allow_zero else "(0"
        return None, (f"Must be a decimal string in {low}, {rule.maximum}] with at most {rule.places} decimal "
                      f"places, e.g. \"{rule.maximum // 4}\" (JSON floats are not exact, so not accepted).")
    return plain_decimal(Decimal(value.strip())), None


def risk_changes_clean(changes) -> dict:
    """Validate an update of overrides: each value cleaned to its stored form, ``None`` kept (it removes one).

    Raises ValidationFailed (details.fields, like every validation error) for unknown fields and bad values.
    """
    if not isinstance(changes, dict):
        raise ValidationFailed("risk_config must be an object.",
                               details={"fields": {"non_field_errors": ["Must be an object."]}})
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    for field, value in changes.items():
        rule = RULES.get(field)
        if rule is None:
            errors[str(field)[:100]] = [f"Unknown risk field; known: {', '.join(RULES)}."]
            continue
        if value is None:
            cleaned[field] = None
            continue
        value, problem = _clean_value(value, rule)
        if problem:
            errors[field] = [problem]
        else:
            cleaned[field] = value
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"{first}: {errors[first][0]}", details={"fields": errors})
    return cleaned


def risk_overrides_merge(*, current: dict, changes: dict) -> dict:
    """``current`` overrides with ``changes`` applied: a value sets an override, ``None`` removes it."""
    merged = {k: v for k, v in (current or {}).items() if k in RULES}
    for field, value in risk_changes_clean(changes).items():
        if value is None:
            merged.pop(field, None)
        else:
            merged[field] = value
    return merged


def effective_limits(overrides: dict) -> RiskLimits:
    return RiskLimits().merged(overrides or {})
