"""The in-memory driver: whole sequences of orders and candles over the engine's lifecycle functions, no database."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trading.engine import events as ev
from trading.engine.memory import MemoryExchange
from trading.engine.types import EngineRejection, InstrumentSpec, OrderStatus

from .builders import BTC, NOW

D = Decimal
ETH = InstrumentSpec(symbol="ETHUSDT", base="ETH", quote="USDT", tick_size=D("0.01"), step_size=D("0.0001"),
                     min_qty=D("0.0001"), min_notional=D("5"))


def exchange(usdt="10000", **kw):
    ex = MemoryExchange([BTC, ETH], **kw)
    w = ex.create_wallet({"USDT": D(usdt)}, t=NOW)
    ex.set_price("BTCUSDT", D("50000"), t=NOW)
    ex.set_price("ETHUSDT", D("3029.65"), t=NOW)
    return ex, w


def test_market_buy_fills_at_once_and_releases_the_unused_lock():
    ex, w = exchange()
    o = ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.01"))
    assert o.status == OrderStatus.FILLED and o.locked_amount == 0
    (f,) = ex.fills
    # no book: last price moved by the min slippage (0.01 %), rounded up to the tick
    assert f.price == D("50005.00") and f.quote_amount == D("500.05") and f.fee == D("0.50005")
    b = ex.balances(w)
    assert b["BTC"].available == D("0.01") and b["USDT"].locked == 0
    assert b["USDT"].available == D("10000") - D("500.05") - D("0.50005")
    pos = ex.position(w, "BTCUSDT")
    assert pos.quantity == D("0.01") and pos.cost == D("500.05") and pos.fees_paid == D("0.50005")
    kinds = [e.type for e in ex.events]
    assert kinds[:2] == [ev.ORDER_ACCEPTED, ev.BALANCE_MOVED]
    assert ev.ORDER_FILLED in kinds and ev.FILL in kinds and ev.POSITION_CHANGED in kinds
    # the lock, the fill, the fee and the release of what the fill did not use
    reasons = [e.data["reason"] for e in ex.events if e.type == ev.BALANCE_MOVED]
    assert reasons == ["order_lock", "fill", "fee", "order_release"]


def test_resting_limit_fills_whole_at_its_limit_when_a_candle_trades_through_it():
    ex, w = exchange()
    o = ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.02"), price=D("49000"))
    assert o.status == OrderStatus.NEW and o.locked_amount == D("980") + D("0.98")  # notional + the higher fee
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(minutes=1), open=D("50000"), high=D("50100"), low=D("49500"),
                      close=D("49600"))
    assert o.status == OrderStatus.NEW  # the low did not reach the limit
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(minutes=2), open=D("49600"), high=D("49700"), low=D("48000"),
                      close=D("48500"))
    assert o.status == OrderStatus.FILLED
    f = ex.fills[-1]
    assert (f.price, f.liquidity, f.fee) == (D("49000"), "maker", D("0.784"))
    assert ex.balances(w)["USDT"].locked == 0
    assert ex.balances(w)["USDT"].available == D("10000") - D("980") - D("0.784")
    assert not ex.open_orders(w)


def test_a_gap_through_a_stop_fills_at_the_candle_open_plus_slippage():
    ex, w = exchange()
    ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.01"))
    stop = ex.place(w, t=NOW, symbol="BTCUSDT", side="sell", type="stop_loss", quantity=D("0.01"),
                    trigger_price=D("49000"))
    assert stop.status == OrderStatus.NEW and stop.locked_asset == "BTC"
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(hours=1), open=D("45000"), high=D("45500"), low=D("44000"),
                      close=D("44500"))
    assert stop.status == OrderStatus.FILLED and stop.triggered_at is not None
    f = ex.fills[-1]
    assert f.price == D("44995.50")  # the open, 0.01 % worse, down to the tick: not the 49000 trigger
    assert ex.position(w, "BTCUSDT").quantity == 0
    # a stop the candle reaches without a gap fires at its trigger
    ex2, w2 = exchange()
    ex2.place(w2, t=NOW, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.01"))
    ex2.place(w2, t=NOW, symbol="BTCUSDT", side="sell", type="stop_loss", quantity=D("0.01"),
              trigger_price=D("49000"))
    ex2.advance_candle("BTCUSDT", t=NOW + timedelta(hours=1), open=D("49900"), high=D("50000"), low=D("48000"),
                       close=D("48500"))
    assert ex2.fills[-1].price == D("48995.10")


def test_take_profit_limit_fires_on_a_rising_candle_then_rests_as_a_limit():
    ex, w = exchange()
    ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.01"))
    # sell 0.01 when the price rises to 52000, at no less than 52500
    tp = ex.place(w, t=NOW, symbol="BTCUSDT", side="sell", type="take_profit_limit", quantity=D("0.01"),
                  price=D("52500"), trigger_price=D("52000"))
    assert tp.status == OrderStatus.NEW and tp.locked_asset == "BTC" and tp.locked_amount == D("0.01")
    # a falling candle is the stop direction: nothing happens
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(minutes=1), open=D("50000"), high=D("50100"), low=D("47000"),
                      close=D("48000"))
    assert tp.status == OrderStatus.NEW and tp.triggered_at is None
    # the rise reaches the trigger: it fires at 52000 (slipped to 51994.80, below its 52500 limit) and rests
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(minutes=2), open=D("48000"), high=D("52100"), low=D("48000"),
                      close=D("52000"))
    assert tp.status == OrderStatus.TRIGGERED and tp.triggered_at == NOW + timedelta(minutes=2)
    assert tp.filled_quantity == 0 and ex.open_orders(w) == [tp]
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(minutes=3), open=D("52000"), high=D("52400"), low=D("51500"),
                      close=D("52300"))
    assert tp.status == OrderStatus.TRIGGERED  # the high stayed under the limit
    # a candle trading through the limit fills it whole, at the limit, as maker
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(minutes=4), open=D("52300"), high=D("52800"), low=D("52200"),
                      close=D("52700"))
    assert tp.status == OrderStatus.FILLED
    f = ex.fills[-1]
    assert (f.price, f.quantity, f.liquidity) == (D("52500"), D("0.01"), "maker")
    assert ex.position(w, "BTCUSDT").quantity == 0 and ex.balances(w)["BTC"].locked == 0


def test_take_profit_limit_buy_fires_on_a_falling_candle():
    ex, w = exchange()
    tp = ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="take_profit_limit", quantity=D("0.01"),
                  price=D("48100"), trigger_price=D("48000"))
    assert tp.locked_asset == "USDT" and tp.locked_amount == D("481") + D("0.481")  # notional + the higher fee
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(minutes=1), open=D("50000"), high=D("53000"), low=D("49000"),
                      close=D("52000"))
    assert tp.status == OrderStatus.NEW
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(minutes=2), open=D("49000"), high=D("49000"), low=D("47500"),
                      close=D("47800"))
    assert tp.status == OrderStatus.FILLED and tp.triggered_at is not None
    assert ex.fills[-1].price == D("48004.80")  # fired at the trigger, 0.01 % worse, inside the 48100 limit
    assert ex.position(w, "BTCUSDT").quantity == D("0.01") and ex.balances(w)["USDT"].locked == 0


def test_cancel_releases_the_lock_and_a_done_order_cannot_be_cancelled():
    ex, w = exchange()
    o = ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.01"), price=D("40000"))
    assert ex.balances(w)["USDT"].locked == o.locked_amount > 0
    ex.cancel(w, o.id, t=NOW)
    assert o.status == OrderStatus.CANCELLED and ex.balances(w)["USDT"] .locked == 0
    assert ex.balances(w)["USDT"].available == D("10000")
    m = ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.001"))
    with pytest.raises(EngineRejection) as exc:
        ex.cancel(w, m.id, t=NOW)
    assert exc.value.code == "ORDER_NOT_OPEN"


def test_a_risk_refusal_raises_stores_nothing_and_records_a_breach_event():
    ex, w = exchange()
    with pytest.raises(EngineRejection) as exc:
        ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.15"))  # 7,500 > 50 %
    assert exc.value.code == "RISK_MAX_ORDER_SIZE"
    assert not ex.orders and ex.balances(w)["USDT"].available == D("10000")
    assert [e.type for e in ex.events] == [ev.RISK_BREACH]


@pytest.mark.parametrize("size", [{"quote_quantity": D("5")}, {"quantity": D("0.0016")}])
def test_quote_quantity_meets_min_notional_like_quantity(size):
    """Issue 8 item 12: 5 USDT of ETH at 3029.65 buys 0.0016 ETH = 4.84744 USDT, under the 5 USDT minimum:
    refused in both forms, with the same code."""
    ex, w = exchange()
    with pytest.raises(EngineRejection) as exc:
        ex.place(w, t=NOW, symbol="ETHUSDT", side="buy", type="market", **size)
    assert exc.value.code == "INVALID_QUANTITY"
    assert not ex.orders


def test_quote_quantity_finer_than_the_quote_precision_is_refused_not_truncated():
    ex, w = exchange()
    with pytest.raises(EngineRejection) as exc:
        ex.place(w, t=NOW, symbol="ETHUSDT", side="buy", type="market", quote_quantity=D("5.000000000001"))
    assert exc.value.code == "INVALID_STEP_SIZE" and exc.value.details["field"] == "quote_quantity"
    o = ex.place(w, t=NOW, symbol="ETHUSDT", side="buy", type="market", quote_quantity=D("10.5"))
    assert o.status == OrderStatus.FILLED and o.filled_quote <= D("10.5")


def test_valuation_is_the_engines_one_function():
    ex, w = exchange()
    ex.place(w, t=NOW, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.01"))
    ex.advance_candle("BTCUSDT", t=NOW + timedelta(minutes=1), open=D("50000"), high=D("51000"), low=D("50000"),
                      close=D("51000"))
    v = ex.valuation(w)
    assert v.positions_value == D("510.00")
    assert v.equity == v.cash + v.positions_value
    assert v.unrealized_pnl == D("510.00") - D("500.05")
    assert v.total_pnl == v.equity - D("10000") and v.roi_pct == (v.total_pnl / 100).quantize(D("0.0001"))


ORDERS = st.one_of(
    st.tuples(st.just("market"), st.sampled_from(["buy", "sell"]), st.integers(1, 400), st.just(0)),
    st.tuples(st.just("limit"), st.sampled_from(["buy", "sell"]), st.integers(1, 400), st.integers(-300, 300)),
    st.tuples(st.just("stop_loss"), st.sampled_from(["buy", "sell"]), st.integers(1, 400), st.integers(-300, 300)),
    st.tuples(st.just("candle"), st.integers(-400, 400), st.integers(0, 300), st.integers(0, 300)),
    st.tuples(st.just("cancel"), st.integers(0, 50), st.just(0), st.just(0)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ORDERS, max_size=30))
def test_any_sequence_keeps_the_books_balanced(steps):
    """Whatever happens: no balance below zero, the base held equals the position, locks equal the open orders'
    locks, and cash + fees + cost basis - realized PnL add up to what the wallet started with."""
    ex, w = exchange()
    price = D("50000")
    t = NOW
    for kind, a, b, c in steps:
        t += timedelta(seconds=1)
        try:
            if kind == "candle":
                o = price + D(a) * 10
                low, high = o - D(b) * 10, o + D(c) * 10
                close = (low + high) / 2
                ex.advance_candle("BTCUSDT", t=t, open=o, high=high, low=low, close=close.quantize(D("0.01")))
                price = close.quantize(D("0.01"))
            elif kind == "cancel":
                opens = ex.open_orders(w)
                if opens:
                    ex.cancel(w, opens[a % len(opens)].id, t=t)
            else:
                qty = D(b) * D("0.0001")
                extra = {}
                if kind == "limit":
                    extra["price"] = price + D(c) * 10
                elif kind == "stop_loss":
                    extra["trigger_price"] = price + D(c) * 10
                ex.place(w, t=t, symbol="BTCUSDT", side=a, type=kind, quantity=qty, **extra)
        except EngineRejection:
            pass
    bal = ex.balances(w)
    usdt, btc = bal["USDT"], bal.get("BTC")
    assert usdt.available >= 0 and usdt.locked >= 0
    pos = ex.position(w, "BTCUSDT")
    assert (btc.total if btc else 0) == pos.quantity
    open_locks = {}
    for o in ex.open_orders(w):
        open_locks[o.locked_asset] = open_locks.get(o.locked_asset, 0) + o.locked_amount
    assert usdt.locked == open_locks.get("USDT", 0)
    assert (btc.locked if btc else 0) == open_locks.get("BTC", 0)
    assert usdt.total + pos.fees_paid + pos.cost - pos.realized_pnl == D("10000")
