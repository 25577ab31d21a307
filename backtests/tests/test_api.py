"""Every Backtests endpoint of API.md and its errors, over HTTP with an agent key, on real BTCUSDT candles."""

from datetime import timedelta
from decimal import Decimal

import pytest

from backtests.tests.conftest import DAY0, create, read_real

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def session(btc, bt_agent):
    agent, client = bt_agent()
    r = create(client)
    assert r.status_code == 201, r.json()
    return agent, client, r.json()["session_id"]


def url(sid, path):
    return f"/api/v1/backtest/{sid}/{path}"


def test_create_counts_steps_and_status_starts_at_zero(session):
    agent, client, sid = session
    st = client.get(url(sid, "status")).json()
    assert st["total_steps"] == 360 and st["step"] == 0 and st["status"] == "created"
    assert st["virtual_time"] == "2026-03-24T00:00:00Z" and st["progress_pct"] == "0.00"


def test_step_reveals_only_closed_candles_and_fills_at_last_close(session):
    agent, client, sid = session
    rows = read_real(days=1)
    # before the first step the price is the close of the candle that closed at the start (23:59 the day before? no
    # data before DAY0 in the store: no price yet -> a market order is MARKET_CLOSED)
    r = client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                               "quantity": "0.01"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "MARKET_CLOSED"
    r = client.post(url(sid, "start"))
    assert r.status_code == 200 and r.json()["step"] == 0
    r = client.post(url(sid, "step"))
    body = r.json()
    assert r.status_code == 200, body
    first = rows[0]
    assert first.open_time == DAY0
    assert body["step"] == 1 and body["virtual_time"] == "2026-03-24T00:01:00Z"
    assert D(body["prices"]["BTCUSDT"]) == first.close
    assert body["is_complete"] is False and body["progress_pct"] == "0.28"
    c = client.get(url(sid, "market/candles/BTCUSDT")).json()["candles"]
    assert [x["open_time"] for x in c] == ["2026-03-24T00:00:00Z"]
    # market buy at T fills at the last close plus slippage (the engine's no-book model, min 0.01 %)
    r = client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                               "quantity": "0.01"}, format="json")
    assert r.status_code == 201, r.json()
    o = r.json()
    assert o["status"] == "filled" and len(o["fills"]) == 1
    price = D(o["fills"][0]["price"])
    # the 24 h quote volume the model reads is that of the candles closed by T (one here: the store starts at DAY0)
    from trading.engine.slippage import DEFAULT_SLIPPAGE, slipped_price
    from trading.engine.types import Side
    pct = DEFAULT_SLIPPAGE.pct_for(D("0.01") * first.close, (first.volume * first.close).quantize(D("1e-8")))
    assert price == slipped_price(Side.BUY, first.close, pct, D("0.01")) and price > first.close
    assert o["fills"][0]["created_at"] == "2026-03-24T00:01:00Z"
    pos = client.get(url(sid, "account/positions")).json()["positions"]
    assert pos[0]["quantity"] == "0.01000000" and D(pos[0]["mark_price"]) == first.close
    bal = client.get(url(sid, "account/balance")).json()
    usdt = next(b for b in bal["balances"] if b["asset"] == "USDT")
    assert D(usdt["available"]) == D("10000") - D(o["fills"][0]["quote_amount"]) - D(o["fills"][0]["fee"])


def test_resting_limit_fills_when_a_later_candle_reaches_it(session):
    agent, client, sid = session
    rows = read_real(days=1)
    client.post(url(sid, "step"))
    limit = (min(r.low for r in rows[1:60]) + D("0.01")).quantize(D("0.01"))
    r = client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                               "quantity": "0.01", "price": str(limit)}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "new", r.json()
    hit = next(i for i, r_ in enumerate(rows[1:60], start=1) if r_.low <= limit)
    r = client.post(url(sid, "step/batch"), {"steps": 59, "snapshots": True}, format="json").json()
    assert len(r["snapshots"]) == 59 and r["step"] == 60
    [f] = r["fills"]
    assert D(f["price"]) == limit and f["liquidity"] == "maker"
    assert f["created_at"] == (DAY0 + timedelta(minutes=hit + 1)).isoformat().replace("+00:00", "Z")
    orders = client.get(url(sid, "trade/orders")).json()["results"]
    assert orders[0]["status"] == "filled"


def test_batch_without_snapshots_and_completion_results(session):
    agent, client, sid = session
    client.post(url(sid, "step"))
    client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                          "quantity": "0.02"}, format="json")
    r = client.post(url(sid, "step/batch?snapshots=false"), {"steps": 100}, format="json").json()
    assert "snapshots" not in r and r["step"] == 101
    client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "sell", "type": "market",
                                          "quantity": "0.02"}, format="json")
    r = client.post(url(sid, "step/batch"), {"steps": 10_000, "snapshots": False}, format="json").json()
    assert r["is_complete"] and r["step"] == 360 and r["status"] == "completed" and r["progress_pct"] == "100.00"
    assert client.post(url(sid, "step")).json()["error"]["code"] == "BACKTEST_STATE"
    res = client.get(url(sid, "results")).json()
    assert res["final"] is True and res["metrics"]["total_trades"] == 1 and res["fills"] == 2
    curve = client.get(url(sid, "results/equity-curve")).json()["points"]
    assert len(curve) == 361 and curve[-1]["equity"] == res["final_equity"]
    assert len(client.get(url(sid, "results/equity-curve?max_points=50")).json()["points"]) <= 51
    trades = client.get(url(sid, "results/trades")).json()
    assert trades["count"] == 2 and trades["results"][1]["side"] == "sell"
    st = client.get(url(sid, "status")).json()
    assert st["status"] == "completed" and st["eta_seconds"] == 0.0


def test_cancel_order_and_session(session):
    agent, client, sid = session
    client.post(url(sid, "step"))
    o = client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                              "quantity": "0.01", "price": "1000.00"}, format="json").json()
    bal = client.get(url(sid, "account/balance")).json()["balances"]
    assert D(next(b for b in bal if b["asset"] == "USDT")["locked"]) > 0
    r = client.delete(url(sid, f"trade/order/{o['id']}"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.delete(url(sid, "trade/order/o999")).status_code == 404
    r = client.post(url(sid, "cancel"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(url(sid, "cancel")).status_code == 200  # idempotent
    r = client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                              "quantity": "0.01"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "BACKTEST_STATE"
    assert client.get(url(sid, "results")).json()["final"] is True


def test_errors(session, bt_agent):
    agent, client, sid = session
    # no data for the range
    r = create(client, start_time="2020-01-01T00:00:00Z", end_time="2020-01-02T00:00:00Z")
    assert r.status_code == 422 and r.json()["error"]["code"] == "NO_CANDLE_DATA"
    assert "no BTCUSDT data" in r.json()["error"]["message"]
    assert create(client, pairs=["NOPEUSDT"]).json()["error"]["code"] == "UNKNOWN_SYMBOL"
    assert create(client, interval="3m").status_code == 400
    assert create(client, start_time="2026-03-24T00:00:30Z").status_code == 400
    assert create(client, end_time="2026-03-23T00:00:00Z").status_code == 400
    # another agent's session is 404 everywhere
    _, other = bt_agent(name="other")
    for path in ("status", "results", "market/prices", "account/balance", "trade/orders"):
        assert other.get(url(sid, path)).status_code == 404
    assert other.post(url(sid, "step")).status_code == 404
    assert other.get(f"/api/v1/backtest/compare?ids={sid}").status_code == 404
    assert client.get(url("not-a-uuid", "status")).status_code == 404
    # orders: body rules are /trade/order's
    r = client.post(url(sid, "trade/order"), {"symbol": "ETHUSDT", "side": "buy", "type": "market",
                                              "quantity": "0.01"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "UNKNOWN_SYMBOL"
    client.post(url(sid, "step"))
    r = client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                              "quantity": "0.01", "price": "1000.001"}, format="json")
    assert r.json()["error"]["code"] == "INVALID_TICK_SIZE"
    r = client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                              "quantity": "1"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "RISK_MAX_ORDER_SIZE"
    r = client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "sell", "type": "market",
                                              "quantity": "0.01"}, format="json")
    assert r.json()["error"]["code"] == "INSUFFICIENT_BALANCE"
    r = client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "market"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert client.post(url(sid, "step/batch"), {"steps": 10_001}, format="json").status_code == 400
    assert client.post(url(sid, "step/batch"), {"steps": 0}, format="json").status_code == 400
    assert client.get(url(sid, "market/candles/ETHUSDT")).status_code == 404
    assert client.get("/api/v1/backtest/best?metric=nope").status_code == 400
    assert client.get("/api/v1/backtest/compare?ids=zz").status_code == 400
    # client_order_id: same body replays, another body is 409
    body = {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "1000.00",
            "client_order_id": "c1"}
    assert client.post(url(sid, "trade/order"), body, format="json").status_code == 201
    assert client.post(url(sid, "trade/order"), body, format="json").status_code == 200
    r = client.post(url(sid, "trade/order"), {**body, "price": "1001.00"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "DUPLICATE_CLIENT_ORDER_ID"
    # without a key
    from rest_framework.test import APIClient
    assert APIClient().get(url(sid, "status")).status_code == 401


def test_list_compare_best(btc, bt_agent):
    agent, client = bt_agent()
    ids = []
    for qty in ("0.01", "0.03"):
        sid = create(client, end_time="2026-03-24T02:00:00Z").json()["session_id"]
        client.post(url(sid, "step"))
        client.post(url(sid, "trade/order"), {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                              "quantity": qty}, format="json")
        client.post(url(sid, "step/batch"), {"steps": 200, "snapshots": False}, format="json")
        ids.append(sid)
    open_sid = create(client).json()["session_id"]
    rows = client.get("/api/v1/backtest/list").json()
    assert rows["count"] == 3 and {r["session_id"] for r in rows["results"]} == {*ids, open_sid}
    assert client.get("/api/v1/backtest/list?status=completed").json()["count"] == 2
    cmp_ = client.get(f"/api/v1/backtest/compare?ids={ids[0]},{ids[1]},{open_sid}").json()["sessions"]
    assert [c["session_id"] for c in cmp_] == [ids[0], ids[1], open_sid]
    assert all(c["metrics"] is not None for c in cmp_)
    best = client.get("/api/v1/backtest/best?metric=roi_pct").json()
    rois = {c["session_id"]: D(c["roi_pct"]) for c in cmp_[:2]}
    assert best["session"]["session_id"] == max(rois, key=rois.get)
    assert client.get("/api/v1/backtest/best?metric=sharpe_ratio").status_code == 200


def test_intervals_aggregate_the_store(btc, bt_agent):
    agent, client = bt_agent()
    r = create(client, interval="1h", end_time="2026-03-25T00:00:00Z")
    assert r.json()["total_steps"] == 24
    sid = r.json()["session_id"]
    rows = read_real(days=1)
    b = client.post(url(sid, "step")).json()
    assert D(b["prices"]["BTCUSDT"]) == rows[59].close and b["virtual_time"] == "2026-03-24T01:00:00Z"
    c = client.get(url(sid, "market/candles/BTCUSDT")).json()["candles"]
    assert len(c) == 1 and D(c[0]["high"]) == max(r.high for r in rows[:60])
    # the 1-minute view at T shows the 60 minutes that closed, not the one opening at T
    c1 = client.get(url(sid, "market/candles/BTCUSDT?interval=1m&limit=1000")).json()["candles"]
    assert len(c1) == 60 and c1[-1]["open_time"] == "2026-03-24T00:59:00Z"
    assert create(client, interval="1d", end_time="2026-03-26T00:00:00Z").json()["total_steps"] == 2
