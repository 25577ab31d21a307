"""Precision in one place: the apps' name for the engine's precision module (``trading.engine.money``).

The engine is a standalone pure-Python library below every app (see docs/decisions.md, "Layers"), so the constants
and quantize helpers live there and the engine needs nothing of ``common``; everything else keeps importing them
from here.
"""

from trading.engine.money import (  # noqa: F401 - re-exported
    AMOUNT_PLACES,
    AMOUNT_QUANTUM,
    DECIMAL_PLACES,
    MAX_DIGITS,
    MAX_INPUT,
    ZERO,
    fmt,
    is_multiple,
    quantize_amount,
    quantize_down,
    quantize_up,
    to_decimal,
)
