"""Average-cost positions (spot, long only).

- A buy of q at p adds q and its quote amount ``a = q * p`` (8 places) to the cost basis; the average entry price
  is ``cost_basis / quantity`` (12 places). Fees are NOT in the entry price: they add up in ``fees_paid``.
- A sell of q realizes ``a - cost of q`` = ``(p - avg_entry) * q``, where the cost of q is its share of the cost
  basis at 8 places (the whole basis when the position closes, so nothing is left behind). The average entry is
  recomputed from what remains, so a sell moves it only by that 8-place rounding — and ``quantity * avg_entry``
  never drifts from the cost basis. A closed position has quantity 0 and entry 0 and keeps its PnL and fees.
- Selling more than is held raises ``INSUFFICIENT_BALANCE`` (no shorting).

With these rules, for any sequence of fills of one wallet in one pair:
``cash_spent = cost_basis + fees_paid - realized_pnl`` exactly (cash_spent = quote paid for buys + all fees - quote
received for sells), and ``quantity * avg_entry_price`` equals ``cost_basis`` to within the 12-place rounding.
"""

from decimal import Decimal
from typing import Final

from .money import quantize_amount

from ._text import plain
from .types import PRICE_QUANTUM, EngineRejection, Execution, PositionState, RejectCode
from .types import BUY

ZERO: Final = Decimal(0)


def apply_fill(state: PositionState, side: str, quantity: Decimal, price: Decimal, fee: Decimal, *,
               quote_amount: Decimal | None = None) -> tuple[PositionState, Decimal]:
    """The position after one fill, and the PnL it realized (0 for buys). ``quote_amount`` is what the wallet
    moved for the fill (``Execution.quote_amount``); by default ``quantity * price`` at 8 places."""
    if quantity <= ZERO or price <= ZERO or fee < ZERO:
        raise ValueError(f"fill needs quantity > 0, price > 0, fee >= 0; got {quantity}, {price}, {fee}")
    amount = quantize_amount(price * quantity) if quote_amount is None else quote_amount
    if side == BUY:
        quantity_now, cost_now, realized = state.quantity + quantity, state.cost + amount, ZERO
    else:
        if quantity > state.quantity:
            raise EngineRejection(RejectCode.INSUFFICIENT_BALANCE,
                                  f"cannot sell {plain(quantity)}: the position holds {plain(state.quantity)}",
                                  {"quantity": str(quantity), "position": str(state.quantity)})
        quantity_now = state.quantity - quantity
        cost_sold = state.cost if quantity_now == ZERO else quantize_amount(state.cost * quantity / state.quantity)
        cost_now, realized = state.cost - cost_sold, amount - cost_sold
    avg_now = (cost_now / quantity_now).quantize(PRICE_QUANTUM) if quantity_now else ZERO
    return PositionState(quantity=quantity_now, avg_entry_price=avg_now, realized_pnl=state.realized_pnl + realized,
                         fees_paid=state.fees_paid + fee, cost_basis=cost_now), realized


def apply_execution(state: PositionState, side: str, execution: Execution) -> tuple[PositionState, Decimal]:
    """``apply_fill`` for an engine ``Execution`` (its settled quote amount and fee)."""
    return apply_fill(state, side, execution.quantity, execution.price, execution.fee,
                      quote_amount=execution.quote_amount)


def unrealized_pnl(state: PositionState, mark_price: Decimal) -> Decimal:
    """``quantity * mark - cost basis`` at 8 places (fees excluded, as in realized PnL)."""
    return quantize_amount(state.quantity * mark_price) - state.cost


def market_value(state: PositionState, mark_price: Decimal) -> Decimal:
    return quantize_amount(state.quantity * mark_price)
