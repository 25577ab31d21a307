"""Orders end to end: market orders placed-and-filled per second, the tick sweep, and pgbench as the yardstick.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h5_bench REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/orders.py [--seconds 20] [--clients 16] [--agents 20] [--resting 100000]
            [--server uvicorn|gthread] [--web-workers 1] [--fill placement|worker|both] [--rate 300]

Runs what production runs: one uvicorn worker process by default (``--server gthread`` for gunicorn threads, DEBUG
off) from ``bench/_server.py``, one Celery worker (prefork, concurrency 2), PostgreSQL and Redis. ``--fill``
chooses where a market order is filled (``ORDER_FILL_ON_PLACEMENT``): in the placing transaction, by the worker,
or both one after the other in the same run (the measurement behind docs/decisions.md). The database is migrated if needed; each run adds its own agents and pairs
(use a database of its own). Three parts, each printing its numbers next to the target:

1. Market orders: ``--agents`` agents, ``--clients`` concurrent keep-alive clients (a separate asyncio process,
   so the load generator takes little CPU), each request ``POST /trade/order?wait_ms=2000`` alternating buys and
   sells of each agent. Reported: orders/s placed AND filled (the response carries the fill), p50/p99/max of
   request to filled response, p50/p99 of placement to fill as the database records them, and CPU per order.
   Two loads on the same server, one after the other:
   a. closed loop: each client sends its next order as soon as the last is answered. The throughput at
      saturation; its latency is queueing by construction (Little's law: mean latency = clients / throughput,
      so 16 clients at 300/s wait 53 ms on average whatever the server);
   b. open loop at ``--rate`` orders/s offered (default: the target, 300; 0 skips it): each client sends on a
      fixed schedule whatever the responses, and a request's latency runs from its scheduled send, so a server
      that falls behind is charged for the wait (no coordinated omission, as wrk2 measures). The latency at that
      throughput; orders/s counts the filled responses received inside the measured window.
2. The tick sweep over ``--resting`` resting limit orders spread over 20 pairs: the time of a tick that crosses
   none, and of one that crosses 1,000 (``trading.services.sweep.sweep_symbol``, in this process, on the same
   database; plus one 1,000-order sweep through the Celery worker, dispatch included).
3. pgbench (TPC-B-like, same server, same database, ``--clients`` connections) as the physical reference:
   part 1's orders/s divided by pgbench's TPS.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import PYTHON, ProductionServer, migrate, service_env  # noqa: E402

TARGET_ORDERS_PER_S = 300
TARGET_P99_MS = 50
TARGET_NO_CROSS_MS = 5
TARGET_CROSS_1000_MS = 1000
D = Decimal


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# --- the load generator (its own process) -------------------------------------------------------------------------
def _request(host: str, port: int, key: str, body: dict) -> bytes:
    payload = json.dumps(body).encode()
    return (f"POST /api/v1/trade/order?wait_ms=2000 HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload


async def _client(host, port, agents, symbol, qty, deadline, warmup_until, out, period=None, first_send=None):
    """One keep-alive connection sending orders one after the other.

    Closed loop (``period`` None): the next request goes as soon as the last response is in; latency is request to
    response. Open loop: the k-th request is due at ``first_send + k * period`` whatever the responses do, and its
    latency runs from that due time (a late response delays the next send, and that delay counts: no coordinated
    omission, as wrk2 measures)."""
    reader, writer = await asyncio.open_connection(host, port)
    side = {key: "buy" for key in agents}
    i = 0
    while True:
        due = None if period is None else first_send + i * period
        if (due if due is not None else time.perf_counter()) >= deadline:
            break
        if due is not None and due > time.perf_counter():
            await asyncio.sleep(due - time.perf_counter())
        key = agents[i % len(agents)]
        i += 1
        body = {"symbol": symbol, "side": side[key], "type": "market", "quantity": qty}
        started = time.perf_counter() if due is None else due
        writer.write(_request(host, port, key, body))
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = await reader.readexactly(length) if length else b""
        elapsed = time.perf_counter() - started
        status = int(head[9:12])
        filled = status == 201 and b'"status":"filled"' in data
        if filled:
            side[key] = "sell" if side[key] == "buy" else "buy"
        if started >= warmup_until:
            code = None
            if status != 201:
                try:
                    code = json.loads(data)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = "?"
            out.append((elapsed, status, filled, code, time.perf_counter() <= deadline))
    writer.close()


def _load(host, port, keys_per_client, symbol, qty, seconds, warmup, queue, rate=None):
    """The load: closed loop, or open loop at ``rate`` orders/s in all (each client sends every
    ``len(clients) / rate`` seconds, the clients' schedules evenly staggered)."""
    async def main():
        out = []
        start = time.perf_counter()
        n = len(keys_per_client)
        period = None if not rate else n / rate
        await asyncio.gather(*(_client(host, port, keys, symbol, qty, start + warmup + seconds, start + warmup, out,
                                       period=period, first_send=None if period is None else start + c * period / n)
                               for c, keys in enumerate(keys_per_client)))
        return out

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    queue.put(asyncio.run(main()))


# --- CPU accounting: where a placed-and-filled order spends its CPU -------------------------------------------------
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                continue
    return out


def _cpu(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            continue
    return total


def cpu_snapshot(groups: dict) -> dict:
    return {name: _cpu(pids) for name, pids in groups.items()}


def process_groups(server_pid: int, worker_pid: int, load_pid: int) -> dict:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        backends = [r[0] for r in cur.fetchall()]
    return {"gunicorn (web)": [server_pid, *_children(server_pid)],
            "celery worker": [worker_pid, *_children(worker_pid)],
            "postgres backends": backends, "load generator": [load_pid]}


# --- setup ---------------------------------------------------------------------------------------------------------
def setup_django(env: dict):
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "MARKET_KEY_PREFIX", "TRADING_KEY_PREFIX",
                                           "CELERY_TASK_DEFAULT_QUEUE", "DJANGO_DEBUG", "LOG_LEVEL", "DJANGO_SECRET_KEY",
                                           "FIELD_ENCRYPTION_KEY")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def make_agents(n: int, *, starting_balance: str, tag: str):
    from django.conf import settings

    from accounts.services import account_register
    from agents.services import agent_create
    from trading.wallet import current_wallet

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # setup speed only
    loose = {"order_rate_limit": 10000, "max_open_orders": 1000, "max_order_size_pct": "100",
             "max_position_size_pct": "100"}
    account = account_register(email=f"bench-{tag}@example.com", password="bench-password-123",
                               display_name="bench").account
    out = []
    for i in range(n):
        agent, issued = agent_create(account=account, name=f"bench-{i}", starting_balance=D(starting_balance),
                                     risk_config=loose)
        out.append((agent, issued.api_key, current_wallet(agent)))
    return out


def bench_pairs(n: int, tag: str) -> list[str]:
    """The default pairs plus bench pairs up to ``n`` (tick 0.01, step 0.001, price 100)."""
    from market.models import Instrument
    from market.prices import instruments_cache_clear
    from market.services import ensure_default_pairs

    ensure_default_pairs()
    symbols = list(Instrument.objects.order_by("symbol").values_list("symbol", flat=True))[:5]
    extra = []
    for i in range(n - len(symbols)):
        base = f"B{tag[:4].upper()}{i:02d}"
        extra.append(Instrument(symbol=f"{base}USDT", base=base, quote="USDT", tick_size=D("0.01"),
                                step_size=D("0.001"), min_qty=D("0.001"), min_notional=D("5")))
    Instrument.objects.bulk_create(extra, ignore_conflicts=True)
    instruments_cache_clear()
    return symbols + [i.symbol for i in extra]


def set_market(symbol, last, *, depth_levels=20, tick=D("0.01"), level_qty=D("1000")):
    from trading.tests.orders_support import set_market as write

    last = D(last)
    bids = [(last - tick * (i + 1), level_qty) for i in range(depth_levels)]
    asks = [(last + tick * (i + 1), level_qty) for i in range(depth_levels)]
    write(symbol, last, bids=bids, asks=asks)


def start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "celery", "-A", "config", "worker", "-P", "prefork", "-c", "2", "-Q",
                             env["CELERY_TASK_DEFAULT_QUEUE"], "-n", f"bench-{uuid.uuid4().hex[:6]}@localhost",
                             "--without-gossip", "--without-mingle", "-l", "WARNING"],
                            cwd=ROOT, env=env, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(5)


# --- part 1 ----------------------------------------------------------------------------------------------------------
def part_market_orders(args, env, tag, fill: str = "placement") -> float:
    """Part 1 on one server: the closed loop (throughput at saturation), then, with ``--rate``, the open loop at that
    offered rate (latency at a given throughput). Returns the closed loop's orders/s."""
    agents = make_agents(args.agents, starting_balance="1000000", tag=f"{tag}-m")
    symbol = "BTCUSDT"
    set_market(symbol, "60000")
    keys = [key for _, key, _ in agents]
    keys_per_client = [keys[c::args.clients] for c in range(args.clients) if keys[c::args.clients]]
    if len(keys_per_client) < args.clients:  # more clients than agents: clients share agents
        keys_per_client = [keys[c % len(keys):c % len(keys) + 1] for c in range(args.clients)]
    server_env = {k: env[k] for k in ("MARKET_KEY_PREFIX", "TRADING_KEY_PREFIX", "CELERY_TASK_DEFAULT_QUEUE")}
    server_env.update(RATE_LIMIT_PER_KEY="1000000000", RATE_LIMIT_PER_ACCOUNT="1000000000",
                      ORDER_FILL_ON_PLACEMENT="1" if fill == "placement" else "0")
    worker = start_worker(env)
    # the feed: keep the price fresh (a price older than FEED_STALE_SECONDS closes the market to market orders)
    import threading

    feeding = threading.Event()

    def feed():
        while not feeding.wait(1.0):
            set_market(symbol, "60000")

    threading.Thread(target=feed, daemon=True).start()
    where = "in the placing transaction" if fill == "placement" else "by the worker"
    setup = (f"{args.agents} agents, {args.clients} keep-alive clients, {args.seconds} s (+{args.warmup} s warm-up), "
             f"{args.server} x{args.web_workers}" + (f"x{args.threads} threads" if args.server == "gthread" else "")
             + ", 1 Celery worker (2 procs)")
    try:
        with ProductionServer(kind=args.server, workers=args.web_workers, threads=args.threads,
                              env=server_env) as server:
            print(f"\n1. market orders filled {where}: {setup}")
            rate = _run_load(args, server, worker, agents, keys_per_client, symbol, rate=None,
                             title="1a. closed loop (each client sends its next order when the last is answered): "
                                   "throughput at saturation")
            if args.rate:
                _run_load(args, server, worker, agents, keys_per_client, symbol, rate=args.rate,
                          title=f"1b. open loop at {args.rate:g} orders/s offered (each client sends every "
                                f"{len(keys_per_client) / args.rate * 1000:.1f} ms whatever the responses; latency "
                                f"from the scheduled send): latency at the target throughput")
    finally:
        feeding.set()
        stop(worker)
    return rate


def _run_load(args, server, worker, agents, keys_per_client, symbol, *, rate, title) -> float:
    from datetime import datetime, timezone

    from django.db.models import F

    from trading.models import Order

    queue = multiprocessing.Queue()
    since = time.time()
    proc = multiprocessing.Process(target=_load, args=(server.host, server.port, keys_per_client, symbol, "0.001",
                                                       args.seconds, args.warmup, queue, rate))
    proc.start()
    time.sleep(args.warmup)
    groups = process_groups(server.process.pid, worker.pid, proc.pid)
    cpu_before = cpu_snapshot(groups)
    results = queue.get(timeout=args.seconds + args.warmup + 120)
    groups = {k: v for k, v in process_groups(server.process.pid, worker.pid, proc.pid).items()}
    cpu_after = cpu_snapshot({k: sorted(set(v) | set(groups[k])) for k, v in groups.items()})
    proc.join()
    latencies = [e * 1000 for e, _, filled, _, _ in results if filled]
    statuses = {}
    for _, status, filled, code, _ in results:
        key = (status, "filled" if filled else code or "not filled")
        statuses[key] = statuses.get(key, 0) + 1
    # filled responses received inside the measured window (an open loop that falls behind answers some after it)
    done = sum(1 for _, _, filled, _, in_window in results if filled and in_window) / args.seconds
    wallets = [w for _, _, w in agents]
    window = datetime.fromtimestamp(since + args.warmup, timezone.utc)
    lags = [(f - o).total_seconds() * 1000 for o, f in Order.objects.filter(
        wallet__in=wallets, status="filled", created_at__gte=window).annotate(
        first_fill=F("fills__created_at")).values_list("created_at", "first_fill") if f is not None]
    print(f"\n   {title}")
    print(f"   responses: {sum(statuses.values())}  by (status, outcome): {statuses}")
    print(f"   placed-and-filled: {done:8.1f} orders/s        (target >= {TARGET_ORDERS_PER_S})")
    print(f"   request -> filled response: p50 {pct(latencies, 50):6.1f} ms  p99 {pct(latencies, 99):6.1f} ms  "
          f"max {max(latencies, default=float('nan')):6.1f} ms  (target p99 < {TARGET_P99_MS} ms)")
    print(f"   placement -> fill (database clocks): p50 {pct(lags, 50):6.1f} ms  p99 {pct(lags, 99):6.1f} ms "
          f"over {len(lags)} orders")
    if latencies:
        used = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
        per_order = ", ".join(f"{k} {v * 1000 / len(latencies):.1f}" for k, v in used.items())
        print(f"   CPU per placed-and-filled order (ms): {per_order}; total "
              f"{sum(used.values()) * 1000 / len(latencies):.1f} ms of {os.cpu_count()} CPUs "
              f"-> ceiling ~{len(latencies) / sum(used.values()) * os.cpu_count():.0f} orders/s if nothing else ran")
    return done


# --- part 2 ----------------------------------------------------------------------------------------------------------
def cancel_open_orders() -> int:
    """Cancel every open order in the database through the kill switch (locks released through the ledger), so
    that a run's counts are its own."""
    from trading.models import OPEN_ORDER_STATUSES, Order, Wallet
    from trading.services.orders import order_cancel_all

    wallet_ids = list(Order.objects.filter(status__in=OPEN_ORDER_STATUSES).order_by()
                      .values_list("wallet_id", flat=True).distinct())
    return sum(len(order_cancel_all(wallet=Wallet.objects.get(pk=w), reason="benchmark clean-up"))
               for w in wallet_ids)


def part_sweep(args, env, tag) -> None:
    from django.db import connection

    from trading.models import Order
    from trading.services.sweep import sweep_symbol
    from trading.tests.orders_support import seed_resting_orders

    left = cancel_open_orders()
    if left:
        print(f"\n   (cancelled {left} open orders left in the database by earlier runs)")
    pairs = bench_pairs(20, tag)
    per_pair = args.resting // len(pairs)
    agents = make_agents(20, starting_balance="100000000", tag=f"{tag}-s")
    wallets = [w for _, _, w in agents]
    from market.prices import get_instrument

    top = {}
    t0 = time.perf_counter()
    for symbol in pairs:
        spec = get_instrument(symbol)
        last = D("60000") if symbol == "BTCUSDT" else D("100")
        set_market(symbol, last, tick=spec.tick_size)
        # resting buys below the market, one tick apart; a quantity worth ~10 USDT (above min_notional)
        prices = [last - spec.tick_size * (i + 1) for i in range(per_pair)]
        qty = max(spec.min_qty, (D("10") / last).quantize(spec.step_size))
        qty = (qty / spec.step_size).to_integral_value() * spec.step_size
        if qty * prices[-1] < spec.min_notional:
            qty += spec.step_size * ((spec.min_notional - qty * prices[-1]) / (spec.step_size * prices[-1]) + 1)
            qty = (qty / spec.step_size).to_integral_value() * spec.step_size
        seed_resting_orders(wallets=wallets, symbol=symbol, side="buy", prices=prices, quantity=qty)
        top[symbol] = (last, prices)
    with connection.cursor() as cur:
        cur.execute("ANALYZE trading_order")
    seeded = time.perf_counter() - t0
    open_orders = Order.objects.filter(status="new", sweep_price__isnull=False).count()
    print(f"\n2. tick sweep: {open_orders} resting orders in the database ({per_pair} per pair x {len(pairs)} pairs "
          f"seeded in {seeded:.0f} s)")

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = [cur.fetchone()[0]]

    def timed(fn):
        """(wall ms, this process's CPU ms, its PostgreSQL backend's CPU ms) of ``fn()``."""
        t, cpu, pg = time.perf_counter(), time.process_time(), _cpu(backend)
        out = fn()
        return out, ((time.perf_counter() - t) * 1000, (time.process_time() - cpu) * 1000,
                     (_cpu(backend) - pg) * 1000)

    no_cross, no_cross_cpu, no_cross_pg = [], 0.0, 0.0
    for i in range(args.sweeps):
        symbol = pairs[i % len(pairs)]
        last, _ = top[symbol]
        stats, (wall, cpu, pg) = timed(lambda: sweep_symbol(symbol=symbol, price=last))
        no_cross.append(wall)
        no_cross_cpu += cpu
        no_cross_pg += pg
        assert stats.candidates == 0, stats
    print(f"   tick crossing none:  p50 {pct(no_cross, 50):6.2f} ms  p99 {pct(no_cross, 99):6.2f} ms over "
          f"{len(no_cross)} ticks   (target < {TARGET_NO_CROSS_MS} ms); CPU per tick: this process "
          f"{no_cross_cpu / len(no_cross):.2f} ms, PostgreSQL {no_cross_pg / len(no_cross):.2f} ms "
          f"(/proc, {1000 / CLK_TCK:.0f} ms ticks: a mean over the run)")

    cross, cross_cpu, cross_pg = [], [], []
    for n, symbol in enumerate(pairs[1:6]):
        last, prices = top[symbol]
        tick_price = prices[999]  # the 1,000 highest bids are at or above it
        if args.profile and n == 0:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            stats = prof.runcall(sweep_symbol, symbol=symbol, price=tick_price)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
            continue
        stats, (wall, cpu, pg) = timed(lambda: sweep_symbol(symbol=symbol, price=tick_price))
        cross.append(wall)
        cross_cpu.append(cpu)
        cross_pg.append(pg)
        assert stats.filled == 1000, stats
    print(f"   tick crossing 1,000: p50 {pct(cross, 50):6.0f} ms  max {max(cross):6.0f} ms over {len(cross)} pairs "
          f"(in-process)   (target < {TARGET_CROSS_1000_MS} ms); CPU: this process p50 {pct(cross_cpu, 50):.0f} ms, "
          f"PostgreSQL backend p50 {pct(cross_pg, 50):.0f} ms")

    symbol = pairs[6]
    last, prices = top[symbol]
    worker = start_worker(env)
    try:
        from config.celery_app import app
        from trading.tasks import sweep_symbol as sweep_task

        deadline = time.time() + 30
        while not app.control.ping(timeout=0.5) and time.time() < deadline:
            pass
        t = time.perf_counter()
        sweep_task.delay(symbol, str(prices[999]))
        while Order.objects.filter(symbol=symbol, status="filled").count() < 1000:
            time.sleep(0.005)
        via_worker = (time.perf_counter() - t) * 1000
    finally:
        stop(worker)
    print(f"   tick crossing 1,000 through the Celery worker (enqueue to last fill committed): {via_worker:6.0f} ms")
    cancel_open_orders()


# --- part 3 ----------------------------------------------------------------------------------------------------------
def part_pgbench(args, env, orders_per_s) -> None:
    from django.db import connection

    db = connection.settings_dict
    conn = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"] or "postgres"]
    name = db["NAME"]
    pg_env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    subprocess.run(["pgbench", *conn, "-i", "-q", "-s", str(args.pgbench_scale), name], env=pg_env, check=True,
                   capture_output=True)
    try:
        out = subprocess.run(["pgbench", *conn, "-c", str(args.clients), "-j", "2", "-T", str(args.pgbench_seconds),
                              name], env=pg_env, check=True, capture_output=True, text=True).stdout
    finally:
        subprocess.run(["pgbench", *conn, "-i", "-I", "d", name], env=pg_env, capture_output=True)
    tps = next(float(line.split("=")[1].split()[0]) for line in out.splitlines() if line.startswith("tps"))
    print(f"\n3. pgbench (TPC-B-like, scale {args.pgbench_scale}, {args.clients} clients, {args.pgbench_seconds} s, "
          f"same server and database): {tps:8.1f} TPS")
    if orders_per_s:
        print(f"   market orders placed-and-filled per pgbench transaction: {orders_per_s / tps:.3f} "
              f"({orders_per_s:.1f} orders/s / {tps:.1f} TPS)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "gthread"])
    parser.add_argument("--fill", default="placement", choices=["placement", "worker", "both"])
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--resting", type=int, default=100_000)
    parser.add_argument("--sweeps", type=int, default=200)
    parser.add_argument("--pgbench-scale", type=int, default=10)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--rate", type=float, default=TARGET_ORDERS_PER_S,
                        help="part 1b: the open loop's offered orders/s (0: closed loop only)")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, e.g. 1,3")
    parser.add_argument("--profile", action="store_true", help="part 2: cProfile the first 1,000-order sweep")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    env = service_env({"MARKET_KEY_PREFIX": f"bench{tag}-mkt", "TRADING_KEY_PREFIX": f"bench{tag}-trd",
                       "CELERY_TASK_DEFAULT_QUEUE": f"bench-{tag}"})
    migrate(env)
    setup_django(env)
    from django.db import connection

    print(f"database {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']}, "
          f"redis {env['REDIS_URL']}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    parts = {p.strip() for p in args.parts.split(",")}
    rate = None
    if "1" in parts:
        for fill in (["placement", "worker"] if args.fill == "both" else [args.fill]):
            measured = part_market_orders(args, env, f"{tag}{fill[0]}", fill)
            rate = measured if rate is None else rate  # pgbench compares the first (the chosen default)
    if "2" in parts:
        part_sweep(args, env, tag)
    if "3" in parts:
        part_pgbench(args, env, rate)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (other processes on this machine share its CPUs)")


if __name__ == "__main__":
    main()
