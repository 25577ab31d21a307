"""Backtests on 30 days of real 1-minute BTCUSDT candles (../shared/data/candles, imported into the bench database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<bench db> REDIS_URL=redis://127.0.0.1:6379/<n> \
        .venv/bin/python bench/backtests.py [--http-steps 5000] [--server uvicorn|gthread] [--fast 10 --slow 30]

Three parts, each printing its numbers next to the target:

1. Agent-driven over HTTP: a production server (``bench/_server.py``, one uvicorn worker process as ``bin/run``
   serves, DEBUG off), one keep-alive connection (``http.client``; httpx's own CPU per request printed beside),
   ``POST /backtest/{id}/step`` one step per request, a market order (``POST .../trade/order``, alternating buy
   and sell) every 50 steps. Steps per second (target >= 500; the peer platform measured ~46), and
   the p50/p99 of a step request.
2. ``POST /backtest/{id}/step/batch {"steps": 10000, "snapshots": false}`` without orders, over the whole 30 days
   (43,200 steps): candle-steps per second measured by the client around each call (target >= 50,000), and the
   engine's share (the session's ``run_seconds``).
3. In process: an SMA-cross strategy (long only; buy 0.02 BTC when the fast SMA of the closes crosses above the slow,
   sell it all when it crosses below) through ``backtests.research`` (the full engine: fees, slippage, risk rules)
   against backtesting.py (PyPI ``backtesting``, ``trade_on_close=True`` so a signal on a candle fills at that
   candle's close, like our market order at T) on the same candles in the same run: the wall time of each (median of
   3), the ratio (target: ours no slower), and the trades, which must be the same: same entry and exit candles. Prices
   differ only by the documented rules: ours = close + the no-book slippage model, fees 10 bps taker; backtesting.py
   = close, commission 10 bps.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import ProductionServer, migrate, service_env  # noqa: E402
from bench.orders import pct  # noqa: E402

CANDLES = ROOT.parent / "shared" / "data" / "candles" / "BTCUSDT-1m.csv.gz"
START = datetime(2026, 3, 24, tzinfo=UTC)  # first whole UTC day of the file; 29 days to 2026-04-22
DAYS = 29
D = Decimal


def setup(env):
    # the throwaway signing keys too: production settings (DEBUG off) refuse to start without them
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "LOG_LEVEL",
                                           "DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from accounts.services import account_register
    from agents.services import agent_create
    from market.prices import instruments_cache_clear
    from market.services import candles_import, ensure_default_pairs

    ensure_default_pairs()
    instruments_cache_clear()
    t0 = time.perf_counter()
    [res] = candles_import(path=CANDLES)
    print(f"candles: {res.rows} BTCUSDT 1m rows in the store ({res.inserted} new) in {time.perf_counter() - t0:.1f} s")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # setup speed only
    tag = uuid.uuid4().hex[:8]
    account = account_register(email=f"bench-bt-{tag}@example.com", password="bench-password-123",
                               display_name="bench").account
    agent, issued = agent_create(account=account, name=f"bench-bt-{tag}", starting_balance=D("10000"))
    return agent, issued.api_key


class Agent:
    """The agent's HTTP client: one keep-alive connection (the standard library's ``http.client``, what ``urllib``
    and ``requests`` sit on). httpx, measured in the same run (part 1's last line), spends ~0.5 ms of its own CPU per
    request on this machine: a quarter of a step's round trip, and not the platform's cost."""

    def __init__(self, url: str, key: str):
        import http.client
        from urllib.parse import urlsplit

        u = urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port)
        self.headers = {"X-API-Key": key, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        r = self.conn.getresponse()
        return r.status, json.loads(r.read() or b"null")

    def close(self):
        self.conn.close()


def http_part(url, key, steps):
    h = Agent(url, key)
    status, body = h.call("POST", "/api/v1/backtest/create", {
        "start_time": START.isoformat(), "end_time": (START + timedelta(days=DAYS)).isoformat(), "interval": "1m",
        "pairs": ["BTCUSDT"], "starting_balance": "10000", "strategy_label": "bench-http"})
    assert status == 201, body
    sid = body["session_id"]
    base = f"/api/v1/backtest/{sid}"
    h.call("POST", base + "/step")  # the first call builds the session's state in the server process (candles loaded)
    lat, orders, side = [], 0, "buy"
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        s = time.perf_counter()
        status, body = h.call("POST", base + "/step")
        lat.append(time.perf_counter() - s)
        assert status == 200, body
        if i % 50 == 0:
            status, body = h.call("POST", base + "/trade/order", {"symbol": "BTCUSDT", "side": side, "type": "market",
                                                                  "quantity": "0.01"})
            assert status == 201, body
            orders += 1
            side = "sell" if side == "buy" else "buy"
    wall = time.perf_counter() - t0
    fills = len(h.call("GET", base + "/results/trades")[1]["results"])
    # the yardstick, same server, same connection, same run: the cheapest agent request (GET /account/info: the
    # key check, the rate limiter, one row) -- what any agent request costs before it does anything
    base_lat = []
    t1 = time.perf_counter()
    for _ in range(min(steps, 2000)):
        s = time.perf_counter()
        assert h.call("GET", "/api/v1/account/info")[0] == 200
        base_lat.append(time.perf_counter() - s)
    base_rate = len(base_lat) / (time.perf_counter() - t1)
    h.close()
    return (steps / wall, statistics.median(lat) * 1000, pct(lat, 99) * 1000, orders, fills, base_rate,
            statistics.median(base_lat) * 1000)


def httpx_cost(url, key, n=1000) -> tuple[float, float]:
    """CPU ms per request spent in this process by httpx and by http.client on the same cheap request."""
    import http.client
    from urllib.parse import urlsplit

    import httpx

    out = []
    with httpx.Client(base_url=url, headers={"X-API-Key": key}) as h:
        h.get("/api/v1/account/info")
        c0 = time.process_time()
        for _ in range(n):
            h.get("/api/v1/account/info")
        out.append((time.process_time() - c0) / n * 1000)
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    c0 = time.process_time()
    for _ in range(n):
        conn.request("GET", "/api/v1/account/info", headers={"X-API-Key": key})
        conn.getresponse().read()
    out.append((time.process_time() - c0) / n * 1000)
    conn.close()
    return out[0], out[1]


def batch_part(url, key):
    import httpx

    h = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120)
    r = h.post("/api/v1/backtest/create", json={
        "start_time": START.isoformat(), "end_time": (START + timedelta(days=DAYS)).isoformat(), "interval": "1m",
        "pairs": ["BTCUSDT"], "starting_balance": "10000", "strategy_label": "bench-batch"})
    sid = r.json()["session_id"]
    base = f"/api/v1/backtest/{sid}"
    h.post(base + "/start")  # builds the session's state (loads the candles) in the server process
    rates = []
    total = 0
    t_all = time.perf_counter()
    while True:
        s = time.perf_counter()
        r = h.post(base + "/step/batch", json={"steps": 10_000, "snapshots": False})
        dt = time.perf_counter() - s
        body = r.json()
        n = body["step"] - total
        total = body["step"]
        rates.append(n / dt)
        if body["is_complete"]:
            break
    wall = time.perf_counter() - t_all
    from backtests.models import BacktestSession

    engine = BacktestSession.objects.get(pk=sid).run_seconds
    h.close()
    return total, total / wall, statistics.median(rates), total / engine


def sma_ours(fast, slow):
    from backtests.research import run, session_from_store

    cfg, series = session_from_store(pairs=["BTCUSDT"], start=START, end=START + timedelta(days=DAYS))

    state = {"n": 0, "f": D(0), "s": D(0), "pf": None, "ps": None}  # running sums of the last fast / slow closes

    def strategy(view):
        c = view.closes("BTCUSDT")
        n = len(c)
        if n == state["n"]:
            return
        state["n"] = n
        x = c[-1]
        state["f"] += x - (c[-fast - 1] if n > fast else 0)
        state["s"] += x - (c[-slow - 1] if n > slow else 0)
        if n < slow:
            return
        f, s = state["f"] / fast, state["s"] / slow
        pf, ps = state["pf"], state["ps"]
        state["pf"], state["ps"] = f, s
        if pf is None:
            return
        q = view.position("BTCUSDT").quantity
        if pf <= ps and f > s and not q:
            view.place(symbol="BTCUSDT", side="buy", type="market", quantity="0.02")
        elif pf >= ps and f < s and q:
            view.place(symbol="BTCUSDT", side="sell", type="market", quantity=str(q))

    t0 = time.perf_counter()
    res = run(strategy, cfg, series)
    dt = time.perf_counter() - t0
    seed = 1 if series[0].seed is not None else 0
    trades, entry = [], None
    for step, side, f in res.fill_steps():
        if side == "buy":
            entry = (step, f.price)
        else:
            trades.append((entry[0], step, entry[1], f.price))
    return dt, trades, res, seed, series


def frame_from(series):
    import pandas as pd

    rows = [c for c in series.slots if c is not None]
    idx = pd.DatetimeIndex([c.open_time for c in rows])
    return pd.DataFrame({"Open": [float(c.open) for c in rows], "High": [float(c.high) for c in rows],
                         "Low": [float(c.low) for c in rows], "Close": [float(c.close) for c in rows],
                         "Volume": [float(c.volume) for c in rows]}, index=idx)


def sma_reference(df, fast, slow, seed_close):
    import warnings

    import numpy as np
    import pandas as pd
    from backtesting import Backtest, Strategy

    warnings.filterwarnings("ignore")

    def sma(values, n):
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(Strategy):
        def init(self):
            close = self.data.Close
            self.f = self.I(sma, close, fast)
            self.s = self.I(sma, close, slow)

        def next(self):
            f, s = self.f, self.s
            if len(f) < 2 or np.isnan(s[-2]):
                return
            if f[-2] <= s[-2] and f[-1] > s[-1] and not self.position:
                self.buy(size=0.02)
            elif f[-2] >= s[-2] and f[-1] < s[-1] and self.position:
                self.position.close()

    bt = Backtest(df, SmaCross, cash=10_000_000, commission=0.001, trade_on_close=True, exclusive_orders=False,
                  finalize_trades=False)
    t0 = time.perf_counter()
    stats = bt.run()
    dt = time.perf_counter() - t0
    tr = stats["_trades"]
    return dt, [(int(a), int(b), p, q) for a, b, p, q in zip(tr["EntryBar"], tr["ExitBar"], tr["EntryPrice"],
                                                                   tr["ExitPrice"])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--http-steps", type=int, default=5000)
    ap.add_argument("--server", default="uvicorn", choices=["gthread", "uvicorn"])
    ap.add_argument("--fast", type=int, default=10)
    ap.add_argument("--slow", type=int, default=30)
    ap.add_argument("--skip-http", action="store_true")
    args = ap.parse_args()
    env = service_env({"RATE_LIMIT_PER_KEY": "1000000000"})
    migrate(env)
    agent, key = setup(env)

    if not args.skip_http:
        with ProductionServer(kind=args.server, workers=1, threads=4, env=env) as server:
            rate, p50, p99, orders, fills, base_rate, base_p50 = http_part(server.url, key, args.http_steps)
            print(f"1. agent-driven HTTP ({args.server}, 1 worker, keep-alive): {rate:.0f} steps/s over "
                  f"{args.http_steps} steps (target >= 500; peer ~46), step p50 {p50:.2f} ms p99 {p99:.2f} ms, "
                  f"{orders} orders -> {fills} fills; yardstick GET /account/info on the same connection: "
                  f"{base_rate:.0f} req/s (p50 {base_p50:.2f} ms) -> a step costs {base_rate / rate:.2f}x the "
                  f"cheapest agent request")
            hx, hc = httpx_cost(server.url, key)
            print(f"   client CPU per request (this process): httpx {hx:.2f} ms, http.client {hc:.2f} ms (the "
                  f"bench's agent uses http.client)")
            total, wall_rate, med_rate, engine_rate = batch_part(server.url, key)
            print(f"2. step/batch 10,000 without snapshots, {total} steps: {wall_rate:,.0f} candle-steps/s end to "
                  f"end (median call {med_rate:,.0f}/s; target >= 50,000), engine alone {engine_rate:,.0f}/s")

    ours, ref = [], []
    for _ in range(3):
        dt, trades, res, seed, series = sma_ours(args.fast, args.slow)
        ours.append(dt)
    df = frame_from(series[0])
    for _ in range(3):
        rdt, rtrades = sma_reference(df, args.fast, args.slow, series[0].seed)
        ref.append(rdt)
    # backtesting.py bar i = our candle slot i; our fill at step k happened after slot k-1 closed -> bar k-1
    ours_bars = [(a - 1, b - 1) for a, b, _, _ in trades]
    ref_bars = [(a, b) for a, b, _, _ in rtrades]
    same = ours_bars == ref_bars
    t_ours, t_ref = statistics.median(ours), statistics.median(ref)
    print(f"3. in-process SMA({args.fast}/{args.slow}) cross over {len(series[0].slots)} candles: ours "
          f"{t_ours:.3f} s, backtesting.py {t_ref:.3f} s, ratio ours/theirs {t_ours / t_ref:.2f} (target <= 1.00); "
          f"trades: ours {len(trades)}, backtesting.py {len(rtrades)}, same entry and exit candles: {same}")
    if not same:
        diff = next(i for i, (x, y) in enumerate(zip(ours_bars, ref_bars)) if x != y) if ours_bars and ref_bars else 0
        print(f"   first difference at trade {diff}: ours {ours_bars[diff:diff + 3]} vs {ref_bars[diff:diff + 3]}")
    else:
        dev = [abs(float(p) - q) / q * 100 for (_, _, p, _), (_, _, q, _) in zip(trades, rtrades)]
        print(f"   entry prices: ours = close + slippage (model min 0.01 %): mean deviation "
              f"{statistics.mean(dev) if dev else 0:.4f} %, max {max(dev) if dev else 0:.4f} %")
    perf = res.performance
    print(f"   our result: ROI {perf.roi_pct} %, {perf.total_trades} trades, fees {res.runner.valuation().fees_paid}")


if __name__ == "__main__":
    main()
