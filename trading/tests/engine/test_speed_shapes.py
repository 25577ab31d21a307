"""What the speed work must not change: frozen dataclasses with the fast ``__init__`` behave as before, lazy event
payloads equal an eager build taken at the same moment, and the cached fee schedule picks the same tier."""

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from trading.engine import events as ev
from trading.engine import lifecycle as lc
from trading.engine._fast import fast_init
from trading.engine.fees import DEFAULT_FEE_TIERS, FeeTier, fee_rate_for
from trading.engine.memory import MemoryExchange
from trading.engine.types import MatchResult, OrderIntent, Side

from .builders import BTC, NOW

D = Decimal


@fast_init
@dataclass(frozen=True)
class _Plain:
    a: int
    d: int = 4  # a field named like the generated code's locals must not clash
    tags: list = field(default_factory=list)
    hidden: int = field(default=9, init=False)


@fast_init
@dataclass(frozen=True, slots=True)
class _Slotted:
    a: int
    b: Decimal = D(1)


@pytest.mark.parametrize("cls", [_Plain, _Slotted])
def test_fast_init_keeps_frozen_dataclass_semantics(cls):
    one, two = cls(1), cls(1)
    assert one == two and one is not two
    if cls is _Slotted:  # (_Plain holds a list: unhashable, as with the stock __init__)
        assert hash(one) == hash(two)
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.a = 2
    assert dataclasses.replace(one, a=3).a == 3
    with pytest.raises(TypeError):
        cls()  # the required field is still required


def test_fast_init_defaults_and_factories():
    x, y = _Plain(1), _Plain(1, d=7)
    assert (x.d, y.d, x.hidden) == (4, 7, 9)
    assert x.tags == [] and x.tags is not _Plain(1).tags
    assert repr(x) == "_Plain(a=1, d=4, tags=[], hidden=9)"


def test_engine_types_keep_their_defaults():
    intent = OrderIntent("BTCUSDT", Side.BUY, "market", quantity=D("0.1"))
    assert intent.time_in_force == "gtc" and intent.post_only is False
    assert MatchResult().reject_details == {} and MatchResult().reject_details is not MatchResult().reject_details


def test_lazy_order_event_is_the_order_as_it_stood_when_the_event_was_made():
    ex = MemoryExchange([BTC])
    w = ex.create_wallet({"USDT": D("10000")}, t=NOW)
    ex.set_price("BTCUSDT", D("50000"), t=NOW)
    order = ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.01"), price=D("49000"))
    accepted = next(e for e in ex.events if e.type == ev.ORDER_ACCEPTED)
    eager_then = lc.order_data(order)
    ex.cancel(w, order.id, t=NOW)  # the order changes after its event was made
    assert accepted.data == eager_then
    assert accepted.data["status"] == "new" and lc.order_data(order)["status"] == "cancelled"
    cancelled = next(e for e in ex.events if e.type == ev.ORDER_CANCELLED)
    assert cancelled == ev.Event(ev.ORDER_CANCELLED, w, "BTCUSDT", lc.order_data(order))
    assert "order.accepted" in repr(accepted)


def test_event_data_is_a_mutable_dict_read_once():
    e = ev.Event.lazy(ev.FILL, "w", "BTCUSDT", dict, [("seq", 1)])
    e.data["id"] = 5  # the live driver adds a fill's row id after its insert
    assert e.data == {"seq": 1, "id": 5}
    assert ev.Event("x", "w", "s").data == {}


@pytest.mark.parametrize("volume", ["-1", "0", "999999.99", "1000000", "4999999", "5000000", "25000000", "1e12"])
def test_cached_fee_schedule_picks_the_same_tier_as_the_table(volume):
    volume = D(volume)
    rate = fee_rate_for(volume)
    ordered = sorted(DEFAULT_FEE_TIERS, key=lambda t: t.min_volume_30d)
    index = max([i for i, t in enumerate(ordered) if volume >= t.min_volume_30d], default=0)
    assert (rate.tier, rate.maker_bps, rate.taker_bps) == (index, ordered[index].maker_bps, ordered[index].taker_bps)
    as_list = [FeeTier(D(0), D(1), D(2)), FeeTier(D(10), D(0), D(1))]  # a list is read afresh every call
    assert fee_rate_for(D(10), as_list).taker_bps == D(1)
    as_list[1] = FeeTier(D(10), D(0), D(3))
    assert fee_rate_for(D(10), as_list).taker_bps == D(3)
