"""No look-ahead, as a property: two pairs whose candles are identical up to a cut C and different after it must give
identical answers from every endpoint at every virtual time T <= C, whatever the agent does. Any value computed from a
candle that had not closed by T (a price, a candle, a fill, a position, an equity point, a metric) would tell them
apart."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from backtests.tests.conftest import DAY0, read_real

pytestmark = pytest.mark.django_db
D = Decimal
STEPS = 120  # a two-hour 1-minute session
WALL = ("session_id", "created_at", "started_at", "finished_at", "eta_seconds", "steps_per_second", "id")


def _make_pairs():
    """AAAUSDT and BBBUSDT: BTCUSDT's filters; the same real candles up to ``cut`` (set per example)."""
    from market.models import Instrument
    from market.prices import instruments_cache_clear

    btc = Instrument.objects.get(symbol="BTCUSDT")
    for sym in ("AAAUSDT", "BBBUSDT"):
        Instrument.objects.update_or_create(symbol=sym, defaults={
            "base": sym[:3], "quote": "USDT", "tick_size": btc.tick_size, "step_size": btc.step_size,
            "min_qty": btc.min_qty, "min_notional": btc.min_notional})
    instruments_cache_clear()


def _load(cut_minute: int, factor: Decimal):
    from dataclasses import replace
    from market.models import Candle
    from market.services import candles_upsert

    rows = read_real(start=DAY0 - timedelta(days=1), days=1 + STEPS / 1440 + 0.01)
    cut_ms = int((DAY0 + timedelta(minutes=cut_minute)).timestamp() * 1000)
    Candle.objects.filter(symbol__in=("AAAUSDT", "BBBUSDT")).delete()
    candles_upsert(symbol="AAAUSDT", rows=rows)
    other = [r if r.open_ms < cut_ms else replace(r, open=(r.open * factor).quantize(D("0.01")),
                                                       high=(r.high * factor).quantize(D("0.01")),
                                                       low=(r.low * factor).quantize(D("0.01")),
                                                       close=(r.close * factor).quantize(D("0.01")),
                                                       volume=r.volume * 3) for r in rows]
    candles_upsert(symbol="BBBUSDT", rows=other)


def _scrub(obj, sym):
    """The response with wall-clock fields dropped and the pair's name made neutral."""
    if isinstance(obj, dict):
        return {k.replace(sym, "PAIR").replace(sym[:3], "BASE"): _scrub(v, sym) for k, v in obj.items() if k not in WALL}
    if isinstance(obj, list):
        return [_scrub(v, sym) for v in obj]
    if isinstance(obj, str):
        return obj.replace(sym, "PAIR").replace(sym[:3], "BASE")
    return obj


def _views(client, sid, sym):
    base = f"/api/v1/backtest/{sid}/"
    out = {}
    for path in ("status", "market/prices", "account/balance", "account/positions", "trade/orders", "results",
                 "results/equity-curve", "results/trades", f"market/candles/{sym}?limit=1000",
                 f"market/candles/{sym}?interval=5m&limit=1000", f"market/candles/{sym}?interval=1h",
                 f"market/candles/{sym}?interval=1d"):
        r = client.get(base + path)
        assert r.status_code == 200, (path, r.json())
        out[path.replace(sym, "PAIR")] = _scrub(r.json(), sym)
    return out


ACTION = st.one_of(
    st.tuples(st.just("step"), st.integers(1, 7)),
    st.tuples(st.just("market"), st.sampled_from(["buy", "sell"]), st.sampled_from(["0.001", "0.01", "0.02"])),
    st.tuples(st.just("limit"), st.sampled_from(["buy", "sell"]), st.integers(-40, 40)),
    st.tuples(st.just("stop"), st.sampled_from(["stop_loss", "take_profit", "stop_limit"]),
              st.sampled_from(["buy", "sell"]), st.integers(-40, 40)),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
)


def _do(client, sid, sym, action, last_price):
    base = f"/api/v1/backtest/{sid}/"
    kind = action[0]
    if kind == "step":
        return client.post(base + "step/batch", {"steps": action[1]}, format="json")
    if kind == "market":
        return client.post(base + "trade/order", {"symbol": sym, "side": action[1], "type": "market",
                                                  "quantity": action[2]}, format="json")
    # prices relative to the last price both pairs share (T <= C)
    if kind == "limit":
        price = (last_price * (1 + D(action[2]) / 10_000)).quantize(D("0.01"))
        return client.post(base + "trade/order", {"symbol": sym, "side": action[1], "type": "limit",
                                                  "quantity": "0.01", "price": str(price)}, format="json")
    if kind == "stop":
        trig = (last_price * (1 + D(action[3]) / 10_000)).quantize(D("0.01"))
        body = {"symbol": sym, "side": action[2], "type": action[1], "quantity": "0.01", "trigger_price": str(trig)}
        if action[1] == "stop_limit":
            body["price"] = str(trig)
        return client.post(base + "trade/order", body, format="json")
    orders = client.get(base + "trade/orders?status=open").json()["results"]
    if orders:
        return client.delete(base + f"trade/order/{orders[action[1] % len(orders)]['id']}")
    return None


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(cut=st.integers(1, STEPS - 1), factor=st.sampled_from([D("0.9"), D("1.1"), D("0.97")]),
       actions=st.lists(ACTION, min_size=1, max_size=25))
def test_no_endpoint_reveals_anything_after_t(pairs, bt_agent, cut, factor, actions):
    _make_pairs()
    _load(cut, factor)
    from backtests.services import cache_drop
    cache_drop()
    _, client = bt_agent()
    sessions = {}
    for sym in ("AAAUSDT", "BBBUSDT"):
        r = client.post("/api/v1/backtest/create", {
            "start_time": DAY0.isoformat(), "end_time": (DAY0 + timedelta(minutes=STEPS)).isoformat(),
            "interval": "1m", "pairs": [sym], "starting_balance": "10000"}, format="json")
        assert r.status_code == 201, r.json()
        sessions[sym] = r.json()["session_id"]
    step = 0
    checked = 0
    for action in actions + [("step", 1)]:
        if action[0] == "step" and step + action[1] > cut:
            action = ("step", cut - step)
            if action[1] == 0:
                break
        answers = {}
        for sym, sid in sessions.items():
            last = D(client.get(f"/api/v1/backtest/{sid}/market/prices").json()["prices"].get(sym, "70000"))
            r = _do(client, sid, sym, action, last)
            answers[sym] = None if r is None else (r.status_code, _scrub(r.json(), sym))
            answers[sym + "views"] = _views(client, sid, sym)
        assert answers["AAAUSDT"] == answers["BBBUSDT"], action
        assert answers["AAAUSDTviews"] == answers["BBBUSDTviews"], action
        checked += 1
        if action[0] == "step":
            step += action[1]
            if step >= cut:
                break
    assert checked >= 1
    # and the future does differ: one more step tells the pairs apart (so the comparison above could fail)
    after = {}
    for sym, sid in sessions.items():
        client.post(f"/api/v1/backtest/{sid}/step/batch", {"steps": STEPS - step}, format="json")
        after[sym] = client.get(f"/api/v1/backtest/{sid}/market/prices").json()["prices"][sym]
    assert after["AAAUSDT"] != after["BBBUSDT"]
