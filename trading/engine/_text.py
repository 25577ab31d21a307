"""How numbers read in rejection messages (the wire form of amounts is ``money.fmt``)."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

CENT: Final = Decimal("0.01")


def plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: ``Decimal('1E+2')`` -> ``'100'``, ``0.50000`` -> ``'0.5'``."""
    return f"{value.normalize():f}"


def money(value: Decimal) -> str:
    """A quote amount in a sentence: two places, ``6000.00``."""
    return f"{value.quantize(CENT, rounding=ROUND_HALF_EVEN):f}"


def pct(value: Decimal) -> str:
    """A percentage limit: ``50``, ``12.5``."""
    return plain(value)
