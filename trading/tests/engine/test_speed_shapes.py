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


# --- session 16: the cheaper forms must give the very same numbers (value AND exponent: a Decimal's repr is what
# a renderer prints) as the forms they replaced ---------------------------------------------------------------------

from hypothesis import given, settings as hsettings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from trading.engine import types as engine_types  # noqa: E402
from trading.engine.fees import fee_for  # noqa: E402
from trading.engine.matching import NO_FEE  # noqa: E402
from trading.engine.types import Execution, FeeRate, Liquidity, OrderStatus, OrderType, TimeInForce  # noqa: E402

AMOUNTS = st.decimals(min_value=D("-50"), max_value=D("50"), places=8, allow_nan=False, allow_infinity=False)


def _fits_reference(balances, movements):
    """The former ``_fits``: every movement applied and checked in turn, a new BalanceState each time."""
    out = dict(balances)
    for m in movements:
        b = out.get(m.asset)
        a, lk = (b.available, b.locked) if b is not None else (D(0), D(0))
        a, lk = a + m.available, lk + m.locked
        if a < 0 or lk < 0:
            return None
        out[m.asset] = lc.BalanceState(a, lk)
    return out


@hsettings(max_examples=300, deadline=None)
@given(start=st.dictionaries(st.sampled_from(["USDT", "BTC"]), st.tuples(AMOUNTS, AMOUNTS), max_size=2),
       postings=st.lists(st.lists(st.tuples(st.sampled_from(["USDT", "BTC", "ETH"]), AMOUNTS, AMOUNTS),
                                  min_size=1, max_size=3), max_size=4))
def test_fits_is_the_movement_by_movement_check(start, postings):
    balances = {a: lc.BalanceState(abs(x), abs(y)) for a, (x, y) in start.items()}
    ps = [lc.Posting("w", tuple(lc.Movement(a, x, y) for a, x, y in mv), lc.FILL_REASON, "fill", "o1")
          for mv in postings]
    got = lc._fits(balances, ps)
    want = _fits_reference(balances, [m for p in ps for m in p.movements])
    assert (got is None) == (want is None)
    if got is not None:
        assert list(got) == list(want)  # same keys in the same order
        assert [(repr(b.available), repr(b.locked)) for b in got.values()] == [
            (repr(b.available), repr(b.locked)) for b in want.values()]


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(AMOUNTS, AMOUNTS), max_size=4))
def test_match_result_sums_are_sum_from_decimal_zero(pairs):
    executions = tuple(Execution(D(1), D(1), abs(q), abs(f), "USDT", Liquidity.TAKER, D(0)) for q, f in pairs)
    result = MatchResult(executions=executions)
    assert repr(result.quote_amount) == repr(sum((e.quote_amount for e in executions), D(0)))
    assert repr(result.fee) == repr(sum((e.fee for e in executions), D(0)))


@pytest.mark.parametrize("rate", [FeeRate(D(8), D(10)), FeeRate(D(0), D(0)), FeeRate(D("2.5"), D("7.125")),
                                  FeeRate(D("1E+1"), D("1E+1"))])
def test_the_fee_of_nothing_is_one_constant(rate):
    for role in (Liquidity.MAKER, Liquidity.TAKER):
        fee = fee_for(D(0), rate, role)
        assert repr(fee) == repr(NO_FEE) and fee.is_signed() == NO_FEE.is_signed()


def test_module_names_are_the_enum_members():
    for cls in (Side, OrderType, TimeInForce, OrderStatus, Liquidity):
        for member in cls:
            assert getattr(engine_types, member.name) is member
