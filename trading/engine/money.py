"""Precision in one place (Saleor style). Every amount is a Decimal; floats never touch a money path.

It lives in the engine, which imports nothing but the standard library, so that the engine (and a backtest using
it) is complete on its own; ``common.money`` re-exports it for the apps."""

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation
from typing import Final

# Storage: enough digits for BTC-sized prices times large quantities, and 12 places for average prices.
MAX_DIGITS: Final = 32
DECIMAL_PLACES: Final = 12
# Amounts (balances, fees, PnL, quantities) are settled at 8 places, like Binance's asset precision.
AMOUNT_PLACES: Final = 8
AMOUNT_QUANTUM: Final = Decimal(1).scaleb(-AMOUNT_PLACES)
ZERO: Final = Decimal(0)  # compared against rather than 0: an int operand is converted to a Decimal each time
# The largest amount, price or quantity the API accepts (and the largest notional, price x quantity, of an order).
# Decimal arithmetic runs at 28 significant digits: a number with 12 integer digits still quantizes at 12 places
# (24 digits), and so does any product of in-range numbers once the notional is bounded too. NUMERIC(32, 12)
# (20 integer digits) holds all of them with room to spare.
MAX_INPUT: Final = Decimal(10) ** 12


def to_decimal(value) -> Decimal:
    """Anything from the edge (str, int, a ccxt float) -> Decimal, via ``str`` so floats keep their shortest repr."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


# ``rounding`` goes to Decimal's methods positionally: a keyword argument to a C method costs a dict built and parsed
# per call, which shows in the compiled engine (_native.py). Same method, same argument.
def quantize_amount(value: Decimal, rounding=ROUND_HALF_EVEN) -> Decimal:
    return value.quantize(AMOUNT_QUANTUM, rounding)


def quantize_down(value: Decimal, step: Decimal) -> Decimal:
    """Round down to a multiple of ``step`` (what an exchange does to a quantity)."""
    return (value / step).to_integral_value(ROUND_DOWN) * step


def quantize_up(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_UP) * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step == ZERO or (value % step) == ZERO


def fmt(value: Decimal | None, places: int = AMOUNT_PLACES) -> str | None:
    """The wire form: a fixed-point string, never exponent notation."""
    if value is None:
        return None
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):f}"
