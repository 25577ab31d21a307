"""The two drivers of the engine's lifecycle agree: the live one (Django services on PostgreSQL and Redis) and the
in-memory one (``trading.engine.memory``), given the same orders and ticks, produce the same fills, balances,
positions, order statuses, refusals and domain events (hypothesis draws the sequences)."""

from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings as hsettings
from hypothesis import strategies as st

from common import events as bus
from trading.engine.memory import MemoryExchange
from trading.tests.drivers_support import assert_same_state, cancel_on_both, order_on_both
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import set_market

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

D = Decimal
SYMBOL = "BTCUSDT"
START = D("50000")
TICK = D("10")
VOLATILE = {"created_at", "updated_at", "triggered_at", "closed_at"}

ACTIONS = st.one_of(
    st.tuples(st.just("market"), st.sampled_from(["buy", "sell"]), st.integers(1, 40), st.just(0)),
    st.tuples(st.just("market_quote"), st.just("buy"), st.integers(6, 900), st.just(0)),
    st.tuples(st.sampled_from(["limit", "stop_loss", "take_profit", "stop_limit", "take_profit_limit"]),
              st.sampled_from(["buy", "sell"]),
              st.integers(1, 40), st.integers(-30, 30)),
    st.tuples(st.just("tick"), st.integers(-40, 40), st.integers(0, 30), st.integers(0, 30)),
    st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0), st.just(0)),
)


def _norm(events) -> dict:
    """Events grouped by order (in order within each), timestamps and database ids left out."""
    out: dict = {}
    for e in events:
        data = {k: v for k, v in e.data.items() if k not in VOLATILE and not (e.type == "fill" and k == "id")}
        key = data.get("order_id") or data.get("id") or data.get("symbol") or e.type
        out.setdefault(str(key), []).append((e.type, e.wallet_id, e.symbol, data))
    return out


@pytest.fixture
def collected():
    got: list = []

    def collect(events):
        got.extend(events)

    bus.subscribe(collect)
    yield got
    bus.unsubscribe(collect)


@hsettings(max_examples=40, deadline=None, derandomize=True,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(ACTIONS, min_size=1, max_size=10))
def test_live_and_in_memory_drivers_produce_the_same_trades_and_events(steps, trader, collected, settings):
    from market.prices import get_instrument
    from trading.services.sweep import sweep_symbol

    settings.ORDER_FILL_ON_PLACEMENT = True
    agent, _, wallet = trader()
    wallet_id = str(wallet.pk)
    inst = get_instrument(SYMBOL)
    from trading.services.market import instrument_spec

    ex = MemoryExchange([instrument_spec(SYMBOL)])
    ex.create_wallet({"USDT": wallet.starting_balance}, t=wallet.created_at, wallet_id=wallet_id)
    price = START
    set_market(SYMBOL, str(price))
    ex.set_price(SYMBOL, price, t=timezone.now())
    collected.clear()
    order_ids: list[str] = []
    refusals = 0
    for kind, a, b, c in steps:
        t = timezone.now()
        live_error = mem_error = None
        if kind == "tick":
            low = price + D(a - b) * TICK
            high = price + D(a + c) * TICK
            low = max(low, TICK)
            close = price + D(a) * TICK if low <= price + D(a) * TICK <= high else low
            set_market(SYMBOL, str(close))
            sweep_symbol(symbol=SYMBOL, price=close, low=low, high=high)
            ex.set_price(SYMBOL, close, t=t)
            ex.sweep(SYMBOL, t=t, low=low, high=high)
            price = close
        elif kind == "cancel":
            if not order_ids:
                continue
            live_error, mem_error = cancel_on_both(wallet=wallet, ex=ex, t=t, order_id=order_ids[a % len(order_ids)])
        else:
            live_error, mem_error = order_on_both(agent=agent, wallet=wallet, ex=ex, t=t, symbol=SYMBOL, kind=kind,
                                                  side=a, size=b, offset=c, price=price, step=TICK,
                                                  order_ids=order_ids)
        assert str(live_error) == str(mem_error), (kind, live_error, mem_error)
        refusals += live_error is not None
        # (orders of earlier examples' wallets are still in the database: a live sweep fills them too)
        live_events, mem_events = [e for e in collected if e.wallet_id == wallet_id], ex.drain_events()
        collected.clear()
        if mem_error is not None:  # a refused order has no id in memory: compare the shape only
            assert [e.type for e in live_events] == [e.type for e in mem_events]
        else:
            assert _norm(live_events) == _norm(mem_events), (kind, a, b, c)

    # the end state, row by row
    fills = assert_same_state(wallet=wallet, ex=ex, symbol=SYMBOL)
    assert inst is not None
    event(f"fills: {min(fills, 3)}+, refusals seen: {'yes' if refusals else 'no'}")
