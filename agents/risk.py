"""Per-agent risk overrides: which fields exist, their bounds, and how an update merges into the stored overrides.

``Agent.risk_config`` holds only the limits the owner overrides, JSON-ready: decimals as normalized strings
(``"25"``, ``"12.5"``), integers as integers. The effective profile is ``RiskLimits().merged(agent.risk_config)``.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from common.errors import ValidationFailed
from trading.engine.limits import RiskLimits


@dataclass(frozen=True)
class Rule:
    kind: type  # Decimal or int
    minimum: Decimal
    maximum: Decimal
    exclusive_minimum: bool = False
    places: int = 8  # decimals only: most places accepted
    help: str = ""


_PCT = dict(kind=Decimal, minimum=Decimal(0), maximum=Decimal(100), exclusive_minimum=True, places=4)

RULES: dict[str, Rule] = {
    "max_order_size_pct": Rule(**_PCT, help="% of available USDT one order may use, in (0, 100]."),
    "max_position_size_pct": Rule(**_PCT, help="% of equity one position may reach, in (0, 100]."),
    "daily_loss_limit_pct": Rule(**_PCT, help="% of starting balance lost since 00:00 UTC that stops trading, "
                                              "in (0, 100]."),
    "max_open_orders": Rule(kind=int, minimum=Decimal(1), maximum=Decimal(1000),
                            help="Resting orders at once, 1..1000."),
    "min_order_size_usd": Rule(kind=Decimal, minimum=Decimal(0), maximum=Decimal(1_000_000), places=8,
                               help="Smallest order notional in USDT, 0..1000000."),
    "order_rate_limit": Rule(kind=int, minimum=Decimal(1), maximum=Decimal(10_000),
                             help="Orders per minute, 1..10000."),
}
assert set(RULES) == set(RiskLimits.field_names()), "every RiskLimits field needs a validation rule"


def plain_decimal(value: Decimal) -> str:
    """``Decimal("25.000")`` -> ``"25"``; never exponent notation."""
    return format(value.normalize(), "f")


def _clean_value(field: str, value, rule: Rule):
    """One override value -> its stored form, or a message saying what is wrong."""
    if isinstance(value, bool) or isinstance(value, float):
        return None, ("Send decimals as strings (e.g. \"25\"), not floats." if rule.kind is Decimal
                      else "Must be an integer.")
    if rule.kind is int:
        if not isinstance(value, int):
            return None, "Must be an integer."
        number = Decimal(value)
    else:
        if not isinstance(value, (str, int, Decimal)) or (isinstance(value, str) and len(value) > 40):
            return None, "Must be a decimal number written as a string, e.g. \"25\"."
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None, "Must be a decimal number written as a string, e.g. \"25\"."
        if not number.is_finite():
            return None, "Must be a finite number."
        if number.as_tuple().exponent < -rule.places:
            return None, f"At most {rule.places} decimal places."
    low_ok = number > rule.minimum if rule.exclusive_minimum else number >= rule.minimum
    if not low_ok or number > rule.maximum:
        low = "(" if rule.exclusive_minimum else "["
        return None, f"Must be in {low}{plain_decimal(rule.minimum)}, {plain_decimal(rule.maximum)}]."
    return (int(number) if rule.kind is int else plain_decimal(number)), None


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
        value, problem = _clean_value(field, value, rule)
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
