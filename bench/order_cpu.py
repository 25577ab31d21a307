"""CPU of one placed-and-filled market order, in process: Django's WSGI application called directly (no HTTP).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \
        .venv/bin/python bench/order_cpu.py [--orders 2000] [--agents 20] [--profile out.prof] [--queries]

Builds the WSGI environ of ``POST /api/v1/trade/order?wait_ms=2000`` with an agent's ``X-API-Key`` by hand and
calls ``config.wsgi.application`` for each order, alternating buys and sells of each agent (as part 1 of
``bench/orders.py`` does over HTTP). Reports this process's CPU (``time.process_time``) and its PostgreSQL
backend's CPU (/proc) per order, SQL statements and Redis round trips per order. ``--profile`` writes a cProfile
of the timed loop; ``--queries`` prints the SQL of one order. Wrap timing runs in ``flock /tmp/bench.lock``.
"""

import argparse
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import process_cpu_seconds, service_env  # noqa: E402


def environ_for(key: str, body: dict) -> dict:
    payload = json.dumps(body).encode()
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/trade/order", "QUERY_STRING": "wait_ms=2000",
            "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "HTTP_X_API_KEY": key,
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(payload)), "wsgi.input": io.BytesIO(payload),
            "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False}


# (module where the name is looked up, name): the steps of a placement, timed with time.process_time
BLOCKS = [
    ("django.core.handlers.base.BaseHandler", "get_response"),
    ("rest_framework.views.APIView", "dispatch"),
    ("rest_framework.views.APIView", "initial"),
    ("common.ratelimit.RateLimitHeadersMiddleware", "__call__"),
    ("trading.api.orders.OrderCreateView", "post"),
    ("trading.api.orders", "_wallet"),
    ("trading.api.orders", "_order_parser"),
    ("trading.api.orders.order_services", "order_place"),
    ("trading.services.orders", "prepare"),
    ("trading.services.orders.locks", "lock_wallet"),
    ("trading.services.orders", "_accept"),
    ("trading.services.orders", "risk_account"),
    ("trading.services.orders.lc", "accept"),
    ("trading.services.orders.lc", "execute"),
    ("trading.services.orders.settlement", "new_order"),
    ("trading.services.orders.settlement", "apply_plans"),
    ("trading.services.settlement", "_persist"),
    ("trading.services.settlement.locks", "lock_positions"),
    ("trading.services.settlement.lc", "settle"),
    ("trading.services.settlement", "wallet_post_many"),
    ("trading.services.settlement", "insert_rows"),
    ("trading.wallet", "update_then_insert"),
    ("django.db.backends.base.base.BaseDatabaseWrapper", "commit"),
    ("django.db.backends.base.base.BaseDatabaseWrapper", "run_and_clear_commit_hooks"),
    ("streams.subscribers", "_publish"),
    ("streams.subscribers", "_marks"),
    ("streams.subscribers", "_webhooks"),
    ("trading.api.orders", "_placed_response"),
    ("trading.api.orders", "order_with_fills_data"),
]


def timed_blocks() -> dict:
    import importlib

    out = {}
    for where, name in BLOCKS:
        parts = where.split(".")
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for attr in parts[i:]:
                obj = getattr(obj, attr)
            break
        real = getattr(obj, name, None)
        if real is None:  # not on this version of the order path
            continue
        key = f"{where.rsplit('.', 1)[-1]}.{name}"
        out[key] = [0, 0.0]

        def wrapper(*a, _real=real, _slot=out[key], **kw):
            t = time.process_time()
            try:
                return _real(*a, **kw)
            finally:
                _slot[0] += 1
                _slot[1] += time.process_time() - t

        setattr(obj, name, wrapper)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--profile", help="write a cProfile of the timed loop here")
    parser.add_argument("--queries", action="store_true", help="print the SQL and Redis commands of one order")
    parser.add_argument("--blocks", action="store_true", help="CPU per order inside the main steps (wrappers)")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    env = service_env({"MARKET_KEY_PREFIX": f"cpu{tag}-mkt", "TRADING_KEY_PREFIX": f"cpu{tag}-trd",
                       "RATE_LIMIT_PER_KEY": "1000000000", "RATE_LIMIT_PER_ACCOUNT": "1000000000",
                       "ORDER_FILL_ON_PLACEMENT": "1"})
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from bench._server import migrate

    migrate(env)
    import django

    django.setup()
    from django.db import connection
    from redis.connection import Connection

    from bench.orders import make_agents, set_market
    from config.wsgi import application

    agents = make_agents(args.agents, starting_balance="1000000", tag=f"cpu-{tag}")
    keys = [key for _, key, _ in agents]
    symbol = "BTCUSDT"
    set_market(symbol, "60000")
    side = {k: "buy" for k in keys}
    statuses = {}
    counts = {"sql": 0, "redis": 0}
    log = []

    def count_sql(execute, sql, params, many, context):
        counts["sql"] += 1
        if args.queries:
            log.append(("sql", f"[{len(params or ())} params] {sql}"))
        return execute(sql, params, many, context)

    real_send = Connection.send_packed_command

    def count_redis(self, command, check_health=True):
        counts["redis"] += 1
        if args.queries:
            log.append(("redis", command if isinstance(command, bytes) else b"".join(command)))
        return real_send(self, command, check_health)

    def one(i):
        key = keys[i % len(keys)]
        body = {"symbol": symbol, "side": side[key], "type": "market", "quantity": "0.001"}
        out = {}

        def start_response(status, headers, exc_info=None):
            out["status"] = status

        result = application(environ_for(key, body), start_response)
        data = b"".join(result)
        result.close()
        filled = out["status"].startswith("201") and b'"status":"filled"' in data
        if filled:
            side[key] = "sell" if side[key] == "buy" else "buy"
        statuses[(out["status"], filled)] = statuses.get((out["status"], filled), 0) + 1
        if not filled and len(statuses) < 5:
            print(out["status"], data[:300])

    for i in range(args.warmup):
        one(i)
    set_market(symbol, "60000")
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
    Connection.send_packed_command = count_redis
    if args.queries:
        with connection.execute_wrapper(count_sql):
            one(0)
        for kind, text in log:
            print(f"{kind:5s} {text if kind == 'sql' else text[:200]!s}")
        print(f"one order: {counts['sql']} SQL statements, {counts['redis']} Redis round trips")
        return
    statuses.clear()
    blocks = timed_blocks() if args.blocks else {}
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile(time.process_time)  # CPU, not waiting on PostgreSQL or Redis
    pg0, cpu0, t0, times0 = process_cpu_seconds(backend), time.process_time(), time.perf_counter(), os.times()
    with connection.execute_wrapper(count_sql):
        if prof:
            prof.enable()
        for i in range(args.orders):
            if i % 500 == 0:
                set_market(symbol, "60000")  # keep the price fresh (an old price closes the market)
            one(i)
        if prof:
            prof.disable()
    cpu, wall, pg = time.process_time() - cpu0, time.perf_counter() - t0, process_cpu_seconds(backend) - pg0
    times = os.times()
    user, system = times.user - times0.user, times.system - times0.system
    Connection.send_packed_command = real_send
    n = args.orders
    print(f"{n} orders: {statuses}")
    print(f"per order: web CPU {cpu / n * 1000:.3f} ms (user {user / n * 1000:.3f}, system {system / n * 1000:.3f}), "
          f"PostgreSQL CPU {pg / n * 1000:.3f} ms, wall {wall / n * 1000:.3f} ms; SQL {counts['sql'] / n:.2f}, "
          f"Redis round trips {counts['redis'] / n:.2f}")
    for name, (calls, spent) in blocks.items():
        print(f"   {name:55s} {spent / n * 1000:7.3f} ms/order  ({calls / n:.1f} calls)")
    if prof:
        prof.dump_stats(args.profile)


if __name__ == "__main__":
    main()
