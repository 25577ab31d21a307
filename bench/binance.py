"""The Binance door's cost: ccxt ``create_order`` round trips against the native ``POST /trade/order``, same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wt_binance REDIS_URL=redis://127.0.0.1:6379/8 \
        .venv/bin/python bench/binance.py [--orders 400] [--market-orders 100]

One production-style server (gunicorn gthread, DEBUG off, ``bench/_server.py``), one Celery worker, PostgreSQL and
Redis; one agent with a signing key. One client at a time (round-trip latency, not throughput), the variants
interleaved order by order so that they share whatever else the machine is doing:

* ``native``: ``POST /api/v1/trade/order`` (JSON, ``X-API-Key``) with httpx, keep-alive;
* ``ccxt``: ``ccxt.binance.create_order`` configured as docs/bring-your-bot.md says (requests, keep-alive), which
  includes ccxt's own client-side work (signing, building the request, parsing the response);
* ``façade raw``: the same Binance request signed by hand and sent with httpx, to tell the server-side cost of the
  door from ccxt's client-side cost.

Part 1: resting limit buys (placement only, no worker involved). Part 2: market buys that the worker fills, native
``?wait_ms=2000`` against Binance's ``newOrderRespType=FULL`` (both answer once the fill is committed).
Target: the façade adds at most 20 % to the native round trip (p50).
"""

import argparse
import hashlib
import hmac
import os
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import ProductionServer, migrate, service_env  # noqa: E402
from bench.orders import pct, set_market, setup_django, start_worker, stop  # noqa: E402

TARGET_OVERHEAD = 0.20
D = Decimal


def make_agent(tag: str):
    from django.conf import settings

    from accounts.services import account_register
    from agents.services import agent_create, agent_key_issue

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # setup speed only
    loose = {"order_rate_limit": 10000, "max_open_orders": 1000, "max_order_size_pct": "100",
             "max_position_size_pct": "100"}
    account = account_register(email=f"bench-binance-{tag}@example.com", password="bench-password-123",
                               display_name="bench").account
    agent, issued = agent_create(account=account, name="bench-binance", starting_balance=D("100000000"),
                                 risk_config=loose)
    signing = agent_key_issue(agent=agent, signing=True, name="binance")
    return issued.api_key, signing.api_key, signing.signing_secret


def report(name: str, samples: dict) -> None:
    cpu = samples.pop("_cpu")
    base = pct(samples["native"], 50)
    print(f"\n{name}")
    print(f"  {'variant':<12} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'p50 vs native':>14}")
    for variant, values in samples.items():
        p50, p99 = pct(values, 50), pct(values, 99)
        ratio = p50 / base - 1
        print(f"  {variant:<12} {len(values):>5} {p50 * 1000:9.2f} {p99 * 1000:9.2f} {ratio:+13.1%}")
    overhead = pct(samples["ccxt"], 50) / base - 1
    raw = pct(samples["façade raw"], 50) / base - 1
    verdict = "met" if overhead <= TARGET_OVERHEAD else "NOT met"
    print(f"  ccxt through the façade adds {overhead:+.1%} to the native p50 (target <= +{TARGET_OVERHEAD:.0%}: "
          f"{verdict}); the façade itself (raw signed request) {raw:+.1%}")
    print("  client-side CPU per call (building, signing, sending, parsing): "
          + ", ".join(f"{k} {v * 1000:.2f} ms" for k, v in cpu.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=400, help="limit orders per variant")
    parser.add_argument("--market-orders", type=int, default=100, help="market orders per variant")
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    env = service_env({"MARKET_KEY_PREFIX": f"bench{tag}-mkt", "TRADING_KEY_PREFIX": f"bench{tag}-trd",
                       "CELERY_TASK_DEFAULT_QUEUE": f"bench-{tag}"})
    migrate(env)
    setup_django(env)
    import ccxt
    import httpx
    from django.db import connection

    from market.services import ensure_default_pairs

    print(f"database {connection.settings_dict['NAME']}, redis {env['REDIS_URL']}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; ccxt {ccxt.__version__}")
    ensure_default_pairs()
    native_key, binance_key, secret = make_agent(tag)
    symbol = "BTCUSDT"
    set_market(symbol, "60000")
    feeding = threading.Event()
    threading.Thread(target=lambda: [set_market(symbol, "60000") for _ in iter(lambda: feeding.wait(1.0), True)],
                     daemon=True).start()
    server_env = {k: env[k] for k in ("MARKET_KEY_PREFIX", "TRADING_KEY_PREFIX", "CELERY_TASK_DEFAULT_QUEUE")}
    server_env.update(RATE_LIMIT_PER_KEY="1000000000", RATE_LIMIT_ANONYMOUS="1000000000")
    worker = start_worker(env)
    try:
        with ProductionServer(kind="gthread", workers=1, threads=4, env=server_env) as server:
            api = f"{server.url}/binance/api/v3"
            exchange = ccxt.binance({"apiKey": binance_key, "secret": secret, "enableRateLimit": False,
                                     "urls": {"api": {"public": api, "private": api}},
                                     "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                                                 "fetchMargins": False}})
            exchange.load_markets()
            native = httpx.Client(base_url=server.url, headers={"X-API-Key": native_key}, timeout=10)
            raw = httpx.Client(base_url=api, headers={"X-MBX-APIKEY": binance_key}, timeout=10)

            def raw_order(params: dict):
                query = urlencode({**params, "timestamp": int(time.time() * 1000)})
                body = f"{query}&signature={hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()}"
                r = raw.post("/order", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
                assert r.status_code == 200, r.text

            def native_order(body: dict, wait: str = ""):
                r = native.post(f"/api/v1/trade/order{wait}", json=body)
                assert r.status_code == 201, r.text
                return r.json()

            # Every variant sends a client order id, as ccxt always does (the placement service then looks for an
            # earlier order with that id: idempotency costs the same through either door).
            def cid() -> str:
                return "b" + uuid.uuid4().hex[:20]

            limit = {"native": lambda: native_order({"symbol": symbol, "side": "buy", "type": "limit",
                                                     "quantity": "0.001", "price": "30000",
                                                     "client_order_id": cid()}),
                     "ccxt": lambda: exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 30000),
                     "façade raw": lambda: raw_order({"symbol": symbol, "side": "BUY", "type": "LIMIT",
                                                      "timeInForce": "GTC", "quantity": "0.001", "price": "30000",
                                                      "newOrderRespType": "FULL", "newClientOrderId": cid()})}
            market = {"native": lambda: _filled(native_order({"symbol": symbol, "side": "buy", "type": "market",
                                                              "quantity": "0.001", "client_order_id": cid()},
                                                             "?wait_ms=2000")),
                      "ccxt": lambda: _closed(exchange.create_order("BTC/USDT", "market", "buy", 0.001)),
                      "façade raw": lambda: raw_order({"symbol": symbol, "side": "BUY", "type": "MARKET",
                                                       "quantity": "0.001", "newOrderRespType": "FULL",
                                                       "newClientOrderId": cid()})}

            requests_made = []
            fetch = exchange.fetch

            def counting_fetch(*a, **kw):
                requests_made.append(a[0])
                return fetch(*a, **kw)

            exchange.fetch = counting_fetch  # to show that create_order is one HTTP request

            def run(variants: dict, n: int) -> dict[str, list[float]]:
                samples = {name: [] for name in variants}
                client_cpu = {name: 0.0 for name in variants}
                for i in range(n + args.warmup):
                    if i and i % 100 == 0:
                        native.delete("/api/v1/trade/orders/open")  # keep the open-order count flat (untimed)
                    for name, call in variants.items():
                        c0, t0 = time.process_time(), time.perf_counter()
                        call()
                        if i >= args.warmup:
                            samples[name].append(time.perf_counter() - t0)
                            client_cpu[name] += time.process_time() - c0
                samples["_cpu"] = {k: v / n for k, v in client_cpu.items()}
                return samples

            requests_made.clear()
            exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 30000)
            print(f"ccxt create_order makes {len(requests_made)} HTTP request(s): {requests_made}")
            report(f"1. resting limit orders: create_order round trip, {args.orders} per variant, interleaved",
                   run(limit, args.orders))
            native.delete("/api/v1/trade/orders/open")
            report(f"2. market orders filled by the worker: round trip to the filled response, {args.market_orders} "
                   "per variant", run(market, args.market_orders))
    finally:
        feeding.set()
        stop(worker)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (other processes on this machine share its CPUs)")


def _filled(order: dict):
    assert order["status"] == "filled", order["status"]


def _closed(order: dict):
    assert order["status"] == "closed", order["status"]


if __name__ == "__main__":
    main()
