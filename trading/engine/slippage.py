"""Slippage: the no-book price model and how slippage is reported.

No order book known for the side an order takes from -> the order fills at the last price moved against it:

    slippage_pct = clamp(k * 100 * notional / volume_24h_quote, min_pct, max_pct)      (in percent)
    buy price    = last * (1 + slippage_pct / 100), rounded UP to the tick   (a buyer pays up)
    sell price   = last * (1 - slippage_pct / 100), rounded DOWN to the tick (a seller gets less)

``notional`` is quantity * last (or the quote_quantity of a quote order). With k = 1 an order worth 1 % of the
pair's 24 h quote volume slips 1 %. Missing or zero volume -> ``min_pct``.

Reported slippage (every taker execution, and the order's average): how much worse than the last price the fill
was, in percent, positive = worse for the trader: buy ``(price - last) / last * 100``, sell
``(last - price) / last * 100``, 6 places. A fill better than the last price reports a negative number.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from ._fast import fast_init
from .money import quantize_down, quantize_up

from .types import BUY

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
HUNDRED: Final = Decimal(100)
SLIPPAGE_QUANTUM: Final = Decimal("0.000001")


@dataclass(frozen=True)
class SlippageModel:
    k: Decimal = Decimal("1")
    min_pct: Decimal = Decimal("0.01")
    max_pct: Decimal = Decimal("10")

    def pct_for(self, notional: Decimal, volume_24h_quote: Decimal | None) -> Decimal:
        """``clamp(k * 100 * notional / volume_24h_quote, min_pct, max_pct)``; no volume -> ``min_pct``."""
        if not volume_24h_quote or volume_24h_quote <= ZERO:
            return self.min_pct
        raw = self.k * HUNDRED * notional / volume_24h_quote
        return min(max(raw, self.min_pct), self.max_pct)


fast_init(SlippageModel)


DEFAULT_SLIPPAGE: Final = SlippageModel()


def slipped_price(side: str, last_price: Decimal, pct: Decimal, tick_size: Decimal) -> Decimal:
    """The last price moved ``pct`` percent against the trader, on the tick grid (never below one tick)."""
    if side == BUY:
        return quantize_up(last_price * (ONE + pct / HUNDRED), tick_size)
    return max(quantize_down(last_price * (ONE - pct / HUNDRED), tick_size), tick_size)


def slippage_pct(side: str, price: Decimal, reference: Decimal) -> Decimal:
    """How much worse than ``reference`` the fill ``price`` is, in percent (positive = worse for the trader)."""
    worse_by = price - reference if side == BUY else reference - price
    return (worse_by / reference * HUNDRED).quantize(SLIPPAGE_QUANTUM, ROUND_HALF_EVEN)  # (positional: see money.py)
