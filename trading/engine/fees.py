"""Trading fees: a tiered maker/taker schedule by rolling 30-day quote volume, charged in the quote asset.

Rules:
- The tier is the highest one whose ``min_volume_30d`` the wallet's rolling 30-day quote volume has reached.
- A fill pays ``quote_amount * bps / 10_000``, maker bps when it rested on the book, taker bps when it took
  liquidity, rounded UP to 8 places: the platform never under-charges, and a fee is never negative.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal, InvalidOperation
from typing import Final

from ._fast import fast_init
from .money import quantize_amount

from .types import FeeRate
from .types import MAKER

BPS_DIVISOR: Final = Decimal(10_000)
ZERO: Final = Decimal(0)


@dataclass(frozen=True)
class FeeTier:
    min_volume_30d: Decimal  # rolling 30-day quote volume (USDT) from which this tier applies
    maker_bps: Decimal
    taker_bps: Decimal

    def as_config(self) -> dict:
        """The settings / wire form: decimal strings."""
        return {"min_volume_30d": str(self.min_volume_30d), "maker_bps": str(self.maker_bps),
                "taker_bps": str(self.taker_bps)}


fast_init(FeeTier)


# The settings shape of ``FEE_TIERS``: a list of dicts of decimal strings, lowest volume first.
DEFAULT_FEE_TIERS_CONFIG: Final[list[dict[str, str]]] = [
    {"min_volume_30d": "0", "maker_bps": "8", "taker_bps": "10"},
    {"min_volume_30d": "1000000", "maker_bps": "6", "taker_bps": "8"},
    {"min_volume_30d": "5000000", "maker_bps": "4", "taker_bps": "6"},
    {"min_volume_30d": "25000000", "maker_bps": "2", "taker_bps": "4"},
]


def parse_fee_tiers(config: Iterable[Mapping]) -> tuple[FeeTier, ...]:
    """Settings ``FEE_TIERS`` -> tiers sorted by volume. Refuses a table a fee could not be read from.

    The first tier must start at volume 0 (every wallet has a tier), volumes must be distinct and bps >= 0.
    """
    tiers = []
    for i, row in enumerate(config):
        try:
            tier = FeeTier(**{k: Decimal(str(row[k])) for k in ("min_volume_30d", "maker_bps", "taker_bps")})
        except (KeyError, InvalidOperation, TypeError) as exc:
            raise ValueError(f"FEE_TIERS[{i}] needs decimal min_volume_30d, maker_bps, taker_bps: {row!r}") from exc
        if not all(v.is_finite() and v >= 0 for v in (tier.min_volume_30d, tier.maker_bps, tier.taker_bps)):
            raise ValueError(f"FEE_TIERS[{i}] has a negative or non-finite value: {row!r}")
        tiers.append(tier)
    tiers.sort(key=lambda t: t.min_volume_30d)
    if not tiers or tiers[0].min_volume_30d != 0:
        raise ValueError("FEE_TIERS must have a tier starting at min_volume_30d 0")
    volumes = [t.min_volume_30d for t in tiers]
    if len(set(volumes)) != len(volumes):
        raise ValueError("FEE_TIERS has two tiers with the same min_volume_30d")
    return tuple(tiers)


DEFAULT_FEE_TIERS: Final[tuple[FeeTier, ...]] = parse_fee_tiers(DEFAULT_FEE_TIERS_CONFIG)


def _build_schedule(tiers: tuple[FeeTier, ...]) -> tuple[tuple[Decimal, FeeRate], ...]:
    """(min_volume_30d, FeeRate) of each tier, highest volume first."""
    ordered = sorted(tiers, key=lambda t: t.min_volume_30d)
    rates = [(t.min_volume_30d, FeeRate(maker_bps=t.maker_bps, taker_bps=t.taker_bps, tier=i))
             for i, t in enumerate(ordered)]
    return tuple(reversed(rates))


# id(tiers) -> (tiers, schedule): a fee table is read on every order, and a tuple of tiers is hashed in O(tiers)
_SCHEDULES: dict[int, tuple] = {}


def _schedule(tiers) -> tuple[tuple[Decimal, FeeRate], ...]:
    entry = _SCHEDULES.get(id(tiers))
    if entry is not None and entry[0] is tiers:
        return entry[1]
    schedule = _build_schedule(tuple(tiers))
    if isinstance(tiers, tuple):  # immutable: safe to keep (held here, so its id is not reused)
        if len(_SCHEDULES) > 64:
            _SCHEDULES.clear()
        _SCHEDULES[id(tiers)] = (tiers, schedule)
    return schedule


def fee_rate_for(volume_30d: Decimal, tiers: Iterable[FeeTier] = DEFAULT_FEE_TIERS) -> FeeRate:
    """The rate of the highest tier whose ``min_volume_30d`` <= ``volume_30d``; ``FeeRate.tier`` is its index."""
    schedule = _schedule(tiers)
    for min_volume, rate in schedule:
        if volume_30d >= min_volume:
            return rate
    return schedule[-1][1]  # below every tier (a negative volume): the first one, as before


def highest_fee_rate(tiers: Iterable[FeeTier] = DEFAULT_FEE_TIERS) -> FeeRate:
    """The highest maker and taker bps of the table: what to lock fees at. A wallet's tier can rise while its
    order rests (its rolling 30-day volume falls), and the lock must still cover the fill."""
    ordered = sorted(tiers, key=lambda t: t.min_volume_30d)
    return FeeRate(maker_bps=max(t.maker_bps for t in ordered), taker_bps=max(t.taker_bps for t in ordered), tier=0)


def bps_for(rate: FeeRate, liquidity: str) -> Decimal:
    return rate.maker_bps if liquidity == MAKER else rate.taker_bps


def fee_for(quote_amount: Decimal, rate: FeeRate, liquidity: str) -> Decimal:
    """``quote_amount * bps / 10_000`` in the quote asset, rounded UP to 8 places (never under-charged)."""
    if quote_amount < ZERO:
        raise ValueError(f"quote_amount must be >= 0, got {quote_amount}")
    return quantize_amount(quote_amount * bps_for(rate, liquidity) / BPS_DIVISOR, rounding=ROUND_UP)
