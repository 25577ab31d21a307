"""Risk limits: the defaults of API.md and how per-agent overrides merge into them. Pure Python, no Django."""

from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal
from typing import Any

from ._fast import fast_init


@dataclass(frozen=True)
class RiskLimits:
    max_order_size_pct: Decimal = Decimal("50")  # % of available quote balance one order may use
    max_position_size_pct: Decimal = Decimal("25")  # % of equity one position may reach
    daily_loss_limit_pct: Decimal = Decimal("20")  # % of starting balance lost since 00:00 UTC trips the breaker
    max_open_orders: int = 50
    min_order_size_usd: Decimal = Decimal("1")
    order_rate_limit: int = 100  # orders per minute

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def merged(self, overrides: dict) -> "RiskLimits":
        """These limits with ``overrides`` (a dict of already-validated values) applied."""
        known = {k: v for k, v in overrides.items() if k in self.field_names() and v is not None}
        cast: dict[str, Any] = {k: (int(v) if isinstance(getattr(self, k), int) else Decimal(str(v)))
                                for k, v in known.items()}
        return replace(self, **cast)

    def as_dict(self) -> dict:
        return asdict(self)


fast_init(RiskLimits)
