"""Live battles under load: a standings round, ``/battles/{id}/live`` under concurrent readers, and what the wallet
routing costs the order path.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_battles REDIS_URL=redis://127.0.0.1:6379/7 \
        .venv/bin/python bench/battles.py [--agents 50] [--seconds 60] [--live-clients 16] [--live-seconds 15]

Production-style: uvicorn as ``bin/run`` serves (``--server gthread`` for gunicorn's threads; DEBUG off;
``bench/_server.py``), one Celery worker filling the orders,
PostgreSQL and Redis, a price kept fresh for BTCUSDT with a deep book. Each run creates its own account, agents and
battle (use a database of its own).

1. Order load: ``--agents`` agents in a live battle and as many agents outside any battle, at the SAME time, each
   placing one market order per second (alternating buy and sell, ``wait_ms=0``: the placement path, where the
   wallet is resolved) for ``--seconds``. Reported: p50/p99 of each group and the ratio in-battle / outside (the
   routing must cost almost nothing: target <= 1.1). Running both groups at once gives them the same machine.
2. Standings rounds: while the load runs, ``battles.services.standings_round`` (what the beat task runs every
   BATTLE_SNAPSHOT_SECONDS) every 5 s in this process, each timed: median and worst (target < 200 ms).
3. ``GET /battles/{id}/live`` by ``--live-clients`` concurrent keep-alive clients for ``--live-seconds`` (owner's
   JWT), after the load: p50/p99 (target p99 < 25 ms) and requests/s.
"""

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import CpuMeter, ProductionServer, migrate, service_env  # noqa: E402
from bench.orders import make_agents, pct, set_market, setup_django, start_worker, stop  # noqa: E402

TARGET_ROUND_MS = 200
TARGET_LIVE_P99_MS = 25
TARGET_RATIO = 1.1


async def _exchange(reader, writer, raw: bytes) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    data = await reader.readexactly(length) if length else b""
    return int(head[9:12]), data


def _order(host, port, key, side) -> bytes:
    body = json.dumps({"symbol": "BTCUSDT", "side": side, "type": "market", "quantity": "0.001"}).encode()
    return (f"POST /api/v1/trade/order?wait_ms=0 HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _agent(host, port, key, group, seconds, offset, out):
    """One agent: one order per second (first one at ``offset`` s, to spread the agents over the second)."""
    reader, writer = await asyncio.open_connection(host, port)
    await asyncio.sleep(offset)
    side = "buy"
    start = time.perf_counter()
    tick = 0
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        status, data = await _exchange(reader, writer, _order(host, port, key, side))
        out.append((group, time.perf_counter() - t0, status))
        if status == 201:
            side = "sell" if side == "buy" else "buy"
        tick += 1
        await asyncio.sleep(max(0.0, start + tick - time.perf_counter()))
    writer.close()


def _order_load(host, port, groups, seconds, queue):
    async def main():
        out = []
        tasks = []
        # Interleave the groups over the second (battle, outside, battle, outside, ...) so that each group meets the
        # same moments of load. Laid out group after group, the battle agents took the first half of every second
        # and the outside ones the second half, where the worker's fills of the first half (and anything periodic)
        # fell on them: runs of the same code gave ratios from 0.45 to 1.48.
        lanes = [[(group, key) for key in keys] for group, keys in groups.items()]
        order = [pair for row in itertools.zip_longest(*lanes) for pair in row if pair is not None]
        n = len(order)
        for i, (group, key) in enumerate(order):
            tasks.append(_agent(host, port, key, group, seconds, i / n, out))
        await asyncio.gather(*tasks)
        return out

    queue.put(asyncio.run(main()))


async def _reader(host, port, path, token, deadline, out):
    reader, writer = await asyncio.open_connection(host, port)
    raw = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        status, _ = await _exchange(reader, writer, raw)
        out.append((time.perf_counter() - t0, status))
    writer.close()


def _live_load(host, port, path, token, clients, seconds, queue):
    async def main():
        out = []
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(_reader(host, port, path, token, deadline, out) for _ in range(clients)))
        return out

    queue.put(asyncio.run(main()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--live-clients", type=int, default=16)
    parser.add_argument("--live-seconds", type=int, default=15)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "gthread"],
                        help="uvicorn: as bin/run serves (config/asgi.py); gthread: gunicorn's threaded workers")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    env = service_env({"MARKET_KEY_PREFIX": f"bench{tag}-mkt", "TRADING_KEY_PREFIX": f"bench{tag}-trd",
                       "CELERY_TASK_DEFAULT_QUEUE": f"bench-{tag}"})
    migrate(env)
    setup_django(env)
    from django.db import connection
    from rest_framework_simplejwt.tokens import RefreshToken

    from battles.models import Battle
    from battles.services import battle_create, battle_start, battle_stop, participant_add, standings_round
    from market.services import ensure_default_pairs

    print(f"database {connection.settings_dict['NAME']}, redis {env['REDIS_URL']}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    ensure_default_pairs()
    set_market("BTCUSDT", "60000")
    in_battle = make_agents(args.agents, starting_balance="10000", tag=f"{tag}-in")
    outside = make_agents(args.agents, starting_balance="10000", tag=f"{tag}-out")
    owner = in_battle[0][0].account
    battle = battle_create(owner=owner, name=f"bench {tag}", preset="quick_1h")
    for agent, _, _ in in_battle:
        participant_add(battle=battle, agent=agent, actor=owner)
    battle_start(battle=battle)
    token = str(RefreshToken.for_user(owner).access_token)

    feeding = threading.Event()
    threading.Thread(target=lambda: [set_market("BTCUSDT", "60000") for _ in iter(lambda: feeding.wait(1.0), True)],
                     daemon=True).start()
    server_env = {k: env[k] for k in ("MARKET_KEY_PREFIX", "TRADING_KEY_PREFIX", "CELERY_TASK_DEFAULT_QUEUE")}
    server_env.update(RATE_LIMIT_PER_KEY="1000000000", RATE_LIMIT_PER_ACCOUNT="1000000000",
                      RATE_LIMIT_ANONYMOUS="1000000000")
    worker = start_worker(env)
    try:
        with ProductionServer(kind=args.server, workers=args.web_workers, threads=args.threads, env=server_env) as srv:
            # 1 + 2: the order load, with standings rounds every 5 s meanwhile
            queue = multiprocessing.Queue()
            load = multiprocessing.Process(target=_order_load, args=(srv.host, srv.port, {
                "battle": [k for _, k, _ in in_battle], "outside": [k for _, k, _ in outside]}, args.seconds, queue))
            load.start()
            rounds, round_cpu = [], []
            ends = time.monotonic() + args.seconds
            time.sleep(2)
            while time.monotonic() < ends - 1:
                t0, c0 = time.perf_counter(), time.process_time()
                standings_round(battle_id=battle.pk)
                rounds.append((time.perf_counter() - t0) * 1000)
                round_cpu.append((time.process_time() - c0) * 1000)
                time.sleep(max(0.0, 5 - (time.perf_counter() - t0)))
            results = queue.get(timeout=args.seconds + 120)
            load.join()
            by_group = {g: [t * 1000 for grp, t, s in results if grp == g and s in (201, 422)]
                        for g in ("battle", "outside")}
            statuses = {g: sorted({s for grp, _, s in results if grp == g}) for g in ("battle", "outside")}
            print(f"\n1. order path, {args.agents} agents in a battle + {args.agents} outside, 1 order/s each, "
                  f"{args.seconds} s (POST /trade/order?wait_ms=0; statuses {statuses})")
            for g in ("battle", "outside"):
                v = by_group[g]
                print(f"   {g:<8} n={len(v):5d}  p50 {pct(v, 50):6.1f} ms  p99 {pct(v, 99):6.1f} ms")
            ratio = pct(by_group["battle"], 99) / pct(by_group["outside"], 99)
            ratio50 = pct(by_group["battle"], 50) / pct(by_group["outside"], 50)
            print(f"   p99 ratio in battle / outside: {ratio:.3f} (target <= {TARGET_RATIO})   "
                  f"p50 ratio {ratio50:.3f}")
            print(f"\n2. standings round ({args.agents} participants, during the load): n={len(rounds)}  "
                  f"median {statistics.median(rounds):.1f} ms  worst {max(rounds):.1f} ms "
                  f"(target < {TARGET_ROUND_MS} ms); CPU of this process per round: median "
                  f"{statistics.median(round_cpu):.1f} ms")

            # 3: /live under concurrent readers
            path = f"/api/v1/battles/{battle.pk}/live"
            print(f"\n3. GET /battles/{{id}}/live ({args.agents} rows)")
            # the same clients against /health/live on the same server right after: the floor this machine
            # allows at that moment (wall p99 depends on the neighbours; CPU per request does not)
            runs = [(path, 1), (path, args.live_clients), ("/api/v1/health/live", args.live_clients)]
            for run_path, clients in runs:
                queue = multiprocessing.Queue()
                meter = CpuMeter(srv)
                meter.start()
                live = multiprocessing.Process(target=_live_load, args=(srv.host, srv.port, run_path, token, clients,
                                                                        args.live_seconds, queue))
                live.start()
                out = queue.get(timeout=args.live_seconds + 60)
                live.join()
                cpu = meter.stop()
                ok = [t * 1000 for t, s in out if s == 200]
                per = {k: v * 1000 / max(1, len(out)) for k, v in cpu.items()}
                label = "" if run_path == path else " baseline GET /health/live,"
                print(f"  {label} {clients:2d} client(s), {args.live_seconds} s: n={len(out)} ok={len(ok)}  "
                      f"{len(out) / args.live_seconds:.0f} req/s  p50 {pct(ok, 50):.1f} ms  p99 {pct(ok, 99):.1f} ms"
                      + (f" (target p99 < {TARGET_LIVE_P99_MS} ms)" if clients > 1 and run_path == path else "")
                      + f"; CPU per request: server {per['server']:.2f} ms + postgres {per['postgres']:.2f} ms")
    finally:
        feeding.set()
        stop(worker)
        battle_stop(battle=Battle.objects.get(pk=battle.pk))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
