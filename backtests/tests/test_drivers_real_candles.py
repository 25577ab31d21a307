"""The live driver (Django services on PostgreSQL + Redis) and the in-memory driver that backtests run on agree on the
same orders over REAL candles (consecutive BTCUSDT minutes from ../shared/data/candles, with their 24 h quote volume
feeding the slippage model): same refusals, fills, balances, positions and order states. Extends
trading/tests/test_drivers_agree.py, whose ticks are synthetic."""

from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from backtests.tests.conftest import DAY0, read_real
from trading.engine.memory import MemoryExchange
from trading.engine.types import EngineRejection, OrderIntent
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import set_market

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

D = Decimal
SYMBOL = "BTCUSDT"
ROWS = read_real(start=DAY0, days=0.25)
STEP_USD = D("15")

ACTIONS = st.one_of(
    st.tuples(st.just("market"), st.sampled_from(["buy", "sell"]), st.integers(1, 30), st.just(0)),
    st.tuples(st.just("market_quote"), st.just("buy"), st.integers(10, 900), st.just(0)),
    st.tuples(st.sampled_from(["limit", "stop_loss", "take_profit", "stop_limit", "take_profit_limit"]),
              st.sampled_from(["buy", "sell"]),
              st.integers(1, 30), st.integers(-20, 20)),
    st.tuples(st.just("candle"), st.integers(1, 8), st.just(0), st.just(0)),
    st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0), st.just(0)),
)


@hsettings(max_examples=25, deadline=None, derandomize=True,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(start=st.integers(0, len(ROWS) - 200), steps=st.lists(ACTIONS, min_size=1, max_size=12))
def test_drivers_agree_over_real_candles(start, steps, trader, settings):
    from trading.models import Balance, Fill, Order, Position
    from trading.services.market import instrument_spec
    from trading.services.orders import order_cancel, order_place
    from trading.services.sweep import sweep_symbol

    settings.ORDER_FILL_ON_PLACEMENT = True
    agent, _, wallet = trader()
    wallet_id = str(wallet.pk)
    ex = MemoryExchange([instrument_spec(SYMBOL)])
    ex.create_wallet({"USDT": wallet.starting_balance}, t=wallet.created_at, wallet_id=wallet_id)
    i = start
    volume = sum((r.volume * r.close).quantize(D("1e-8")) for r in ROWS[max(0, i - 1440):i + 1])
    price = ROWS[i].close
    set_market(SYMBOL, str(price), quote_volume=str(volume))
    ex.set_price(SYMBOL, price, t=timezone.now(), volume_24h_quote=volume)
    order_ids: list[str] = []
    fills_seen = 0
    for kind, a, b, c in steps:
        t = timezone.now()
        live_error = mem_error = None
        if kind == "candle":
            for _ in range(a):  # the next real minutes, each swept over its low..high
                i += 1
                row = ROWS[i]
                volume = sum((r.volume * r.close).quantize(D("1e-8")) for r in ROWS[max(0, i - 1440):i + 1])
                set_market(SYMBOL, str(row.close), quote_volume=str(volume))
                sweep_symbol(symbol=SYMBOL, price=row.close, low=row.low, high=row.high)
                ex.set_price(SYMBOL, row.close, t=t, volume_24h_quote=volume)
                ex.sweep(SYMBOL, t=t, low=row.low, high=row.high)
                price = row.close
        elif kind == "cancel":
            if not order_ids:
                continue
            oid = order_ids[a % len(order_ids)]
            try:
                order_cancel(wallet=wallet, ref=oid)
            except Exception as exc:  # noqa: BLE001 - compared below
                live_error = getattr(exc, "code", type(exc).__name__)
            try:
                ex.cancel(wallet_id, oid, t=t)
            except EngineRejection as exc:
                mem_error = exc.code
        else:
            size = {"quantity": D(b) * D("0.001")}
            if kind == "market_quote":
                kind, size = "market", {"quote_quantity": D(b)}
            extra = {}
            if kind in ("limit", "stop_limit", "take_profit_limit"):
                extra["price"] = price + D(c) * STEP_USD
            if kind in ("stop_loss", "take_profit", "stop_limit", "take_profit_limit"):
                extra["trigger_price"] = price + D(c + (1 if c >= 0 else -1)) * STEP_USD
            intent = OrderIntent(symbol=SYMBOL, side=a, type=kind, **size, **extra)
            placed = None
            try:
                placed = order_place(agent=agent, wallet=wallet, intent=intent).order
            except Exception as exc:  # noqa: BLE001 - compared below
                live_error = getattr(exc, "code", type(exc).__name__)
            try:
                ex.place(wallet_id, t=t, symbol=SYMBOL, side=a, type=kind, **size, **extra,
                         order_id=str(placed.pk) if placed is not None else None)
            except EngineRejection as exc:
                mem_error = exc.code
            if placed is not None:
                order_ids.append(str(placed.pk))
        assert str(live_error) == str(mem_error), (kind, live_error, mem_error)

    live_bal = {b.asset: (b.available, b.locked) for b in Balance.objects.filter(wallet=wallet)
                if b.available or b.locked}
    mem_bal = {a: (b.available, b.locked) for a, b in ex.balances(wallet_id).items() if b.available or b.locked}
    assert live_bal == mem_bal
    live_fills = sorted((str(f.order_id), f.seq, f.price, f.quantity, f.quote_amount, f.fee, f.liquidity,
                         f.slippage_pct, f.realized_pnl) for f in Fill.objects.filter(wallet=wallet))
    mem_fills = sorted((f.order_id, f.seq, f.price, f.quantity, f.quote_amount, f.fee, str(f.liquidity),
                        f.slippage_pct, f.realized_pnl) for f in ex.fills)
    assert live_fills == mem_fills
    fills_seen += len(mem_fills)
    pos = Position.objects.filter(wallet=wallet, symbol=SYMBOL).first()
    mpos = ex.position(wallet_id, SYMBOL)
    if pos is not None:
        assert (pos.quantity, pos.cost_basis, pos.realized_pnl, pos.fees_paid) == \
            (mpos.quantity, mpos.cost, mpos.realized_pnl, mpos.fees_paid)
    live_orders = {str(o.pk): (o.status, o.filled_quantity, o.locked_amount) for o in Order.objects.filter(wallet=wallet)}
    mem_orders = {o.id: (str(o.status), o.filled_quantity, o.locked_amount) for o in ex.orders.values()}
    assert live_orders == mem_orders
