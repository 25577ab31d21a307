"""One action on both drivers of the engine's lifecycle, and the end states compared: the live driver (Django
services on PostgreSQL and Redis) and the in-memory one (``trading.engine.memory``). Used by
trading/tests/test_drivers_agree.py (synthetic ticks) and backtests/tests/test_drivers_real_candles.py (real candles).
"""

from decimal import Decimal

from trading.engine.types import EngineRejection, OrderIntent

D = Decimal
LIMIT_PRICED = ("limit", "stop_limit", "take_profit_limit")
TRIGGERED = ("stop_loss", "take_profit", "stop_limit", "take_profit_limit")


def _code(exc) -> str:
    return getattr(exc, "code", type(exc).__name__)


def order_on_both(*, agent, wallet, ex, t, symbol, kind, side, size, offset, price, step, order_ids) -> tuple:
    """Place the same order on both drivers: ``size`` thousandths of the base (or quote units for
    ``market_quote``), a limit/trigger ``offset`` steps from ``price``. Returns (live error, memory error)."""
    from trading.services.orders import order_place

    live_error = mem_error = None
    amount = {"quantity": D(size) * D("0.001")}
    if kind == "market_quote":
        kind, amount = "market", {"quote_quantity": D(size)}
    extra = {}
    if kind in LIMIT_PRICED:
        extra["price"] = price + D(offset) * step
    if kind in TRIGGERED:
        extra["trigger_price"] = price + D(offset + (1 if offset >= 0 else -1)) * step
    placed = None
    try:
        placed = order_place(agent=agent, wallet=wallet,
                             intent=OrderIntent(symbol=symbol, side=side, type=kind, **amount, **extra)).order
    except Exception as exc:  # noqa: BLE001 - compared by the caller
        live_error = _code(exc)
    try:
        ex.place(str(wallet.pk), t=t, symbol=symbol, side=side, type=kind, **amount, **extra,
                 order_id=str(placed.pk) if placed is not None else None)
    except EngineRejection as exc:
        mem_error = exc.code
    if placed is not None:
        order_ids.append(str(placed.pk))
    return live_error, mem_error


def cancel_on_both(*, wallet, ex, t, order_id) -> tuple:
    """Cancel the same order on both drivers. Returns (live error, memory error)."""
    from trading.services.orders import order_cancel

    live_error = mem_error = None
    try:
        order_cancel(wallet=wallet, ref=order_id)
    except Exception as exc:  # noqa: BLE001 - compared by the caller
        live_error = _code(exc)
    try:
        ex.cancel(str(wallet.pk), order_id, t=t)
    except EngineRejection as exc:
        mem_error = exc.code
    return live_error, mem_error


def assert_same_state(*, wallet, ex, symbol) -> int:
    """Balances, fills, the position and every order's state are the same in both drivers. Returns the fills."""
    from trading.models import Balance, Fill, Order, Position

    wallet_id = str(wallet.pk)
    live_bal = {b.asset: (b.available, b.locked) for b in Balance.objects.filter(wallet=wallet)
                if b.available or b.locked}
    mem_bal = {a: (b.available, b.locked) for a, b in ex.balances(wallet_id).items() if b.available or b.locked}
    assert live_bal == mem_bal
    live_fills = sorted((str(f.order_id), f.seq, f.price, f.quantity, f.quote_amount, f.fee, f.liquidity,
                         f.slippage_pct, f.realized_pnl) for f in Fill.objects.filter(wallet=wallet))
    mem_fills = sorted((f.order_id, f.seq, f.price, f.quantity, f.quote_amount, f.fee, str(f.liquidity),
                        f.slippage_pct, f.realized_pnl) for f in ex.fills)
    assert live_fills == mem_fills
    pos = Position.objects.filter(wallet=wallet, symbol=symbol).first()
    mpos = ex.position(wallet_id, symbol)
    if pos is not None:
        assert (pos.quantity, pos.cost_basis, pos.realized_pnl, pos.fees_paid) == \
            (mpos.quantity, mpos.cost, mpos.realized_pnl, mpos.fees_paid)
    else:
        assert mpos.quantity == 0 and mpos.fees_paid == 0
    live_orders = {str(o.pk): (o.status, o.filled_quantity, o.locked_amount)
                   for o in Order.objects.filter(wallet=wallet)}
    mem_orders = {o.id: (str(o.status), o.filled_quantity, o.locked_amount) for o in ex.orders.values()}
    assert live_orders == mem_orders
    return len(mem_fills)
