"""What an authenticated, rate-limited read costs, next to the cheapest endpoint of the same server.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/auth_read.py [--kind gthread]

Starts a production-style server (``bench/_server.py``: gunicorn, DEBUG off, PostgreSQL + Redis), creates its own
account and agent, then drives ``GET /api/v1/account/balance`` (agent key: key lookup, wallet read, Redis rate
limit) and ``GET /api/v1/health/live`` (no checks; still through DRF, the middleware and the rate limiter) with
the same number of concurrent keep-alive clients, alternating rounds so that drift hits both alike. Prints
requests per second, p50/p90/p99 latency, the CPU time per request of the server's processes and of its PostgreSQL
backends (from /proc: unlike wall-clock numbers it hardly depends on what else the machine runs), and the cost
ratios balance/live, next to the targets.

Why gthread is the default kind: gunicorn's threaded WSGI workers keep connections alive and keep one persistent
database connection per thread, and Django's sync stack runs without a thread hop; uvicorn workers (ASGI) hop to a
thread for every sync view and cannot keep database connections (``config/asgi.py``), and sync workers close the
connection after every response. ``--kind uvicorn|sync`` measures the others.

The load generator is a separate process: plain asyncio (uvloop when present) over raw HTTP/1.1 keep-alive
sockets, a few microseconds of client work per request, so that on a 2-core machine it takes as little CPU from
the server as a load generator can. Rate limits are raised for the run (through the environment) so that the
limiter is exercised on every request without refusing any.
"""

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import CpuMeter, ProductionServer, service_env  # noqa: E402

TARGET_RATIO = 2.0
TARGET_P99_MS = 25.0
BALANCE, LIVE = "/api/v1/account/balance", "/api/v1/health/live"


# --- the load generator (runs in its own process) ------------------------------------------------------------------
async def _client(host: str, port: int, request: bytes, deadline: float, latencies: list, statuses: dict):
    reader = writer = None
    while time.perf_counter() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
        if close:  # a server without keep-alive: the next request pays for a new connection, as a client would
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def _load(host: str, port: int, path: str, headers: dict, clients: int, seconds: float, out) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: application/json", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies, statuses = [], {}

    async def run():
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(_client(host, port, request, deadline, latencies, statuses) for _ in range(clients)))

    started = time.perf_counter()
    asyncio.run(run())
    out.send({"latencies": latencies, "statuses": statuses, "elapsed": time.perf_counter() - started})
    out.close()


def drive(server, path: str, headers: dict, clients: int, seconds: float) -> dict:
    """Run the load generator in a fresh process and summarise what it measured, and what the server spent."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_load, args=(server.host, server.port, path, headers, clients, seconds, send))
    meter = CpuMeter(server)
    meter.start()
    process.start()
    result = receive.recv()
    cpu = meter.stop()
    process.join()
    lat = sorted(result["latencies"])
    if not lat:
        raise RuntimeError(f"no response from {path}")

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000

    return {"requests": len(lat), "rps": len(lat) / result["elapsed"], "p50": pct(50), "p90": pct(90),
            "p99": pct(99), "mean": statistics.fmean(lat) * 1000, "statuses": result["statuses"],
            "cpu_us": (cpu["server"] + cpu["postgres"]) / len(lat) * 1e6, "app_cpu_us": cpu["server"] / len(lat) * 1e6}


# --- set-up: an account and an agent of the bench's own -----------------------------------------------------------
def create_agent(env: dict) -> str:
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from accounts.services import account_register
    from agents.services import agent_create

    account = account_register(email=f"bench-{uuid.uuid4().hex[:12]}@example.com",
                               password="bench-password-123", display_name="Bench").account
    _, issued = agent_create(account=account, name="bench")
    return issued.api_key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", default="gthread", choices=["gthread", "uvicorn", "sync"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measured round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the server (e.g. DB_CONN_HEALTH_CHECKS=false)")
    args = parser.parse_args()

    huge = str(10**9)
    env = service_env({"RATE_LIMIT_PER_KEY": huge, "RATE_LIMIT_ANONYMOUS": huge, "RATE_LIMIT_PER_ACCOUNT": huge,
                       **dict(item.split("=", 1) for item in args.set)})
    with ProductionServer(kind=args.kind, workers=args.workers, threads=args.threads, env=env) as server:
        key = create_agent(env)
        targets = {"live": (LIVE, {}), "balance": (BALANCE, {"X-API-Key": key})}
        for path, headers in targets.values():
            drive(server, path, headers, args.clients, args.warmup)
        runs = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (path, headers) in targets.items():
                runs[name].append(drive(server, path, headers, args.clients, args.seconds))

    print(f"\nserver: gunicorn {args.kind}, {args.workers} workers"
          + (f" x {args.threads} threads" if args.kind == "gthread" else "")
          + f"; {args.clients} keep-alive clients; {args.rounds} rounds of {args.seconds:g} s per endpoint"
          + f"; {os.cpu_count()} CPUs shared with the load generator"
          + (f"; server env: {' '.join(args.set)}" if args.set else ""))
    print(f"{'endpoint':<26}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
          f"{'cpu us/req':>12}{'(app)':>8}  statuses")
    summary = {}
    for name, (path, _) in targets.items():
        rounds = runs[name]
        statuses = {}
        for r in rounds:
            for code, n in r["statuses"].items():
                statuses[code] = statuses.get(code, 0) + n
        med = {m: statistics.median(r[m] for r in rounds)
               for m in ("rps", "p50", "p90", "p99", "mean", "cpu_us", "app_cpu_us")}
        summary[name] = med
        print(f"{path:<26}{med['rps']:>9.0f}{med['p50']:>9.2f}{med['p90']:>9.2f}{med['p99']:>9.2f}"
              f"{med['mean']:>9.2f}{med['cpu_us']:>12.0f}{med['app_cpu_us']:>8.0f}  {statuses}")
        if set(statuses) != {200}:
            print(f"  !! {path} answered something else than 200: the numbers above are not the endpoint's")
    cpu_ratio = summary["balance"]["cpu_us"] / summary["live"]["cpu_us"]
    cost_ratio = summary["live"]["rps"] / summary["balance"]["rps"]
    p50_ratio = summary["balance"]["p50"] / summary["live"]["p50"]
    p99 = summary["balance"]["p99"]
    print(f"\ncost ratio balance/live (CPU per request, server + PostgreSQL): {cpu_ratio:.2f}x   "
          f"target <= {TARGET_RATIO:g}x   {'OK' if cpu_ratio <= TARGET_RATIO else 'MISSED'}")
    print(f"cost ratio balance/live (throughput): {cost_ratio:.2f}x   target <= {TARGET_RATIO:g}x   "
          f"{'OK' if cost_ratio <= TARGET_RATIO else 'MISSED'}")
    print(f"latency ratio balance/live (p50):    {p50_ratio:.2f}x   target <= {TARGET_RATIO:g}x   "
          f"{'OK' if p50_ratio <= TARGET_RATIO else 'MISSED'}")
    print(f"balance p99: {p99:.2f} ms   target < {TARGET_P99_MS:g} ms   {'OK' if p99 < TARGET_P99_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
