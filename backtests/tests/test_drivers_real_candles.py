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
from trading.tests.drivers_support import assert_same_state, cancel_on_both, order_on_both
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
    from trading.services.market import instrument_spec
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
            live_error, mem_error = cancel_on_both(wallet=wallet, ex=ex, t=t, order_id=order_ids[a % len(order_ids)])
        else:
            live_error, mem_error = order_on_both(agent=agent, wallet=wallet, ex=ex, t=t, symbol=SYMBOL, kind=kind,
                                                  side=a, size=b, offset=c, price=price, step=STEP_USD,
                                                  order_ids=order_ids)
        assert str(live_error) == str(mem_error), (kind, live_error, mem_error)

    fills_seen += assert_same_state(wallet=wallet, ex=ex, symbol=SYMBOL)
