"""SSE streams under load: N concurrent clients on ONE uvicorn worker process while orders fill.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/streams.py \
        [--clients 500] [--baseline-clients 50] [--rate 20] [--seconds 30] [--streams user,events]

What runs (all real, as ``bin/run`` runs them): one ``uvicorn config.asgi:application`` process (the server under
test), one Celery worker (``-c 2``) that fills the market orders, a generator process that places market orders
through the trading service (``order_place``) at ``--rate`` per second, and the clients: plain asyncio sockets
(cheap, so that on a 2-core machine the load generator leaves the server as much CPU as it can) reading
``text/event-stream``.

For each phase it prints, from the fills the clients saw:

- delay from a fill's commit to its arrival at the client, p50/p90/p99/max. The commit time of each fill is taken
  from the bus itself: the bench subscribes to the bus channel like a web process does and notes the ``ts`` each
  fill's message carries (stamped by the worker's ``on_commit`` hook, right after its commit). So a fill batched
  into a delta with later ones is measured from its own commit, not from the delta's ``engine_ts``;
- events (deltas) and fills/trades delivered per second, and fills delivered vs fills made;
- the server process's RSS (``/proc/<pid>/status`` VmRSS) idle, with the clients connected and its peak under load,
  and its thread count (one thread per client would show here).

Phases: a baseline with ``--baseline-clients`` user streams, then ``--clients`` user streams (each agent its own
fills: the 1:1 path), then ``--clients`` events streams on one pair (every fill reaches every client as a public
trade: the fan-out path). The same order rate in all, so the ratios to the baseline show what the connections cost.
Targets (issue 5): p99 < 250 ms with the default cadence, < 150 MB for the process.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import free_port, migrate, service_env  # noqa: E402

TARGET_P99_MS = 250.0
TARGET_RSS_MB = 150.0
SYMBOL = "BTCUSDT"
ORDER_QTY = Decimal("0.001")


def django_setup(env: dict) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def set_market() -> None:
    """A deep book, so every market order of the run fills at once."""
    from market.feed.store import PriceWriter
    from market.feed.types import Book, MarketUpdate
    from trading.engine.types import BookLevel

    now = time.time()
    book = Book(bids=tuple(BookLevel(Decimal(59990 - i), Decimal(1000)) for i in range(25)),
                asks=tuple(BookLevel(Decimal(60000 + i), Decimal(1000)) for i in range(25)))
    PriceWriter().write([MarketUpdate(symbol=SYMBOL, price=Decimal(60000), ts_ms=int(now * 1000), received_at=now,
                                      book=book)], source="synthetic")


# --- the order generator (its own process) -----------------------------------------------------------------------
def generate(agent_ids: list[str], rate: float, seconds: float) -> dict:
    from agents.models import Agent
    from trading.engine.types import OrderIntent, OrderType, Side
    from trading.selectors import wallet_current
    from trading.services.orders import order_place

    agents = [(a, wallet_current(agent=a)) for a in Agent.objects.filter(pk__in=agent_ids)]
    holding = {}
    placed = errors = 0
    started = time.perf_counter()
    for i in range(int(rate * seconds)):
        target = started + i / rate
        pause = target - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        agent, wallet = agents[i % len(agents)]
        side = Side.SELL if holding.get(agent.pk) else Side.BUY  # buy, then sell it back: balances stay put
        try:
            order_place(agent=agent, wallet=wallet,
                        intent=OrderIntent(symbol=SYMBOL, side=side, type=OrderType.MARKET, quantity=ORDER_QTY))
            holding[agent.pk] = side == Side.BUY
            placed += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
            errors += 1
            if errors <= 3:
                print(f"  order refused: {exc}", file=sys.stderr)
    return {"placed": placed, "errors": errors, "seconds": time.perf_counter() - started}


# --- the SSE clients ---------------------------------------------------------------------------------------------
class CommitClock:
    """Subscribes to the bus channel and notes when each fill's message was published (right after its commit)."""

    def __init__(self):
        import threading

        from common.redis import get_redis
        from streams.bus import decode, events_channel

        self.at: dict = {}
        self._pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(events_channel())
        self._decode = decode
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        for message in self._pubsub.listen():
            data = self._decode(message["data"])
            for fill in data.get("fills", ()):
                self.at[fill["id"]] = data["ts"]


class Stats:
    def __init__(self):
        self.arrivals: list[tuple] = []  # (fill id, arrival time)
        self.deltas = self.items = self.heartbeats = self.snapshots = self.errors = 0
        self.fill_ids: set = set()

    def delays(self, clock: CommitClock) -> list[float]:
        return [at - clock.at[fid] for fid, at in self.arrivals if fid in clock.at]

    def event(self, raw: bytes, now: float, kind: str) -> None:
        import orjson

        if raw.startswith(b":"):
            self.heartbeats += 1
            return
        name = data = None
        for line in raw.split(b"\n"):
            if line.startswith(b"event: "):
                name = line[7:]
            elif line.startswith(b"data: "):
                data = line[6:]
        if name == b"snapshot":
            self.snapshots += 1
        elif name == b"error":
            self.errors += 1
        elif name == b"delta":
            self.deltas += 1
            payload = orjson.loads(data)
            for f in payload["payload"]["fills"] if kind == "user" else payload["payload"]["trades"]:
                self.arrivals.append((f["id"], now))
                self.fill_ids.add(f["id"])
                self.items += 1


async def sse_client(port: int, path: str, key: str, stats: Stats, kind: str, connected: list, stop: asyncio.Event):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                 f"X-API-Key: {key}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"stream refused: {head[:200]!r}")
    buffer = b""
    counted = False
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            reading = asyncio.ensure_future(reader.readuntil(b"\r\n"))
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                break
            size = int(reading.result().strip(), 16)
            if size == 0:
                break
            buffer += (await reader.readexactly(size + 2))[:-2]
            now = time.time()
            while b"\n\n" in buffer:
                raw, buffer = buffer.split(b"\n\n", 1)
                if raw.startswith(b"retry:"):
                    continue
                stats.event(raw, now, kind)
                if not counted and stats.snapshots:
                    counted = True
                    connected.append(1)
    finally:
        stopping.cancel()
        writer.close()


# --- the run -----------------------------------------------------------------------------------------------------
def rss_mb(pid: int) -> tuple[float, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


async def phase(name: str, *, kind: str, port: int, pid: int, keys: list[tuple[str, str]], rate: float,
                seconds: float, env: dict) -> dict:
    from trading.models import Fill

    stats, connected, stop = Stats(), [], asyncio.Event()
    lag: list[float] = []
    path = "/api/v1/stream/user" if kind == "user" else f"/api/v1/stream/events?symbol={SYMBOL}"
    t0 = time.perf_counter()
    tasks = []
    for i in range(0, len(keys), 50):  # connect in waves, as a fleet of agents coming up would
        tasks += [asyncio.create_task(sse_client(port, path, key, stats, kind, connected, stop))
                  for _, key in keys[i:i + 50]]
        await asyncio.sleep(0.05)
    while len(connected) < len(keys):
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise failed[0].exception()
        await asyncio.sleep(0.05)
    connect_s = time.perf_counter() - t0
    await asyncio.sleep(1.0)
    rss_connected, threads = rss_mb(pid)
    agent_ids = [a for a, _ in keys] if kind == "user" else [a for a, _ in keys][:50]
    started = datetime.now().astimezone()
    cpu_before, own_before = cpu_seconds(pid), cpu_seconds(os.getpid())
    generator = subprocess.Popen([sys.executable, __file__, "--generate", "--rate", str(rate), "--seconds",
                                  str(seconds), "--agents", ",".join(agent_ids)],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    peak = rss_connected
    while generator.poll() is None:
        # How late this (the clients') event loop wakes up: a delay measured at the clients includes this.
        asked = time.perf_counter()
        await asyncio.sleep(0.05)
        lag.append(time.perf_counter() - asked - 0.05)
        peak = max(peak, rss_mb(pid)[0])
    generated = json.loads(generator.stdout.read().strip().splitlines()[-1])
    await asyncio.sleep(2.0)  # let the last deltas arrive
    peak = max(peak, rss_mb(pid)[0])
    cpu, own_cpu = cpu_seconds(pid) - cpu_before, cpu_seconds(os.getpid()) - own_before
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    # user: the fills of the streaming agents; events: every fill of the pair (each is a public trade)
    made = Fill.objects.filter(created_at__gte=started)
    made = made.filter(agent_id__in=agent_ids) if kind == "user" else made.filter(symbol=SYMBOL)
    fills_made = await asyncio.to_thread(made.count)
    return {"name": name, "kind": kind, "clients": len(keys), "connect_s": connect_s, "stats": stats,
            "rss_connected": rss_connected, "rss_peak": peak, "threads": threads, "generated": generated,
            "fills_made": fills_made, "seconds": generated["seconds"], "cpu": cpu, "client_cpu": own_cpu,
            "client_lag": lag}


def report(r: dict, baseline: dict | None, clock: CommitClock) -> None:
    s: Stats = r["stats"]
    secs = r["seconds"]
    delays = s.delays(clock)
    print(f"\n== {r['name']}: {r['clients']} x /stream/{r['kind']} "
          f"(connected in {r['connect_s']:.1f} s; {r['generated']['placed']} orders in {secs:.1f} s, "
          f"{r['generated']['errors']} refused) ==")
    print(f"  delay commit->client: p50 {pct(delays, .5):6.1f} ms  p90 {pct(delays, .9):6.1f} ms  "
          f"p99 {pct(delays, .99):6.1f} ms  max {pct(delays, 1):6.1f} ms  ({len(delays)} arrivals)")
    what = "fills" if r["kind"] == "user" else "public trades"
    print(f"  delivered: {s.deltas / secs:8.1f} deltas/s, {s.items / secs:8.1f} {what}/s "
          f"({s.items} in all; {len(s.fill_ids)} distinct of {r['fills_made']} fills made); "
          f"heartbeats {s.heartbeats}, snapshots {s.snapshots} (1 per client unless re-synced), errors {s.errors}")
    print(f"  server RSS: {r['rss_connected']:.1f} MB connected, {r['rss_peak']:.1f} MB peak; "
          f"threads {r['threads']}; server CPU {100 * r['cpu'] / secs:.0f} % of a core "
          f"(the clients' process: {100 * r['client_cpu'] / secs:.0f} %)")
    print(f"  the clients' own event-loop lag (part of every delay above): p50 {pct(r['client_lag'], .5):.1f} ms, "
          f"p99 {pct(r['client_lag'], .99):.1f} ms, max {pct(r['client_lag'], 1):.1f} ms; "
          f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    p99 = pct(delays, .99)
    print(f"  target p99 < {TARGET_P99_MS:.0f} ms: {'PASS' if p99 < TARGET_P99_MS else 'FAIL'} ({p99:.1f});  "
          f"RSS < {TARGET_RSS_MB:.0f} MB: {'PASS' if r['rss_peak'] < TARGET_RSS_MB else 'FAIL'}")
    if baseline is not None and baseline["stats"].arrivals:
        b = baseline["stats"].delays(clock)
        per_connection_kb = ((r["rss_connected"] - baseline["rss_connected"]) * 1024
                             / max(1, r["clients"] - baseline["clients"]))
        print(f"  vs baseline ({baseline['clients']} clients): p50 x{pct(delays, .5) / pct(b, .5):.2f}"
              f", p99 x{p99 / pct(b, .99):.2f}, RSS +{r['rss_peak'] - baseline['rss_peak']:.1f} MB "
              f"({per_connection_kb:.0f} KB per extra connection)")


def wait_http(url: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--baseline-clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="market orders per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--streams", default="user,events")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--agents", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.generate:
        django_setup({})
        print(json.dumps(generate(args.agents.split(","), args.rate, args.seconds)))
        return

    tag = uuid.uuid4().hex[:6]
    env = service_env({"RATE_LIMIT_PER_KEY": "1000000000", "MARKET_KEY_PREFIX": f"bench-{tag}-mkt",
                       "TRADING_KEY_PREFIX": f"bench-{tag}-trd", "FEED_STALE_SECONDS": "3600",
                       "PYTHONUNBUFFERED": "1"})
    migrate(env)
    django_setup(env)
    from accounts.services import account_register
    from agents.services import agent_create
    from config.celery_app import app

    print(f"setting up {args.clients} agents ...", flush=True)
    account = account_register(email=f"bench-{tag}@example.com", password=uuid.uuid4().hex,
                               display_name="streams bench").account
    keys = []
    for i in range(args.clients):
        agent, issued = agent_create(account=account, name=f"bench-{tag}-{i}")
        keys.append((str(agent.pk), issued.api_key))
    set_market()

    port = free_port()
    processes = []
    try:
        worker_name = f"bench-{tag}@localhost"
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "2", "-Q", "celery", "-n", worker_name,
             "--without-gossip", "--without-mingle", "-l", "WARNING"], cwd=ROOT, env=env, start_new_session=True))
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "2"],
            cwd=ROOT, env=env, start_new_session=True)
        processes.append(server)
        wait_http(f"http://127.0.0.1:{port}/api/v1/health/live")
        deadline = time.monotonic() + 30
        while not app.control.ping(destination=[worker_name], timeout=0.5):
            if time.monotonic() > deadline:
                raise RuntimeError("the celery worker did not start")

        clock = CommitClock()

        async def run():
            # Warm the server up (imports, connection pools) before measuring its idle memory.
            warm = await phase("warm-up", kind="user", port=port, pid=server.pid, keys=keys[:5], rate=5,
                               seconds=2, env=env)
            idle, threads = rss_mb(server.pid)
            print(f"server pid {server.pid}: RSS {idle:.1f} MB after warm-up (5 streams), {threads} threads; "
                  f"{os.cpu_count()} CPUs on this machine", flush=True)
            if not warm["stats"].items:
                print("NO fill reached a stream during the warm-up: the trading core does not publish to the "
                      "streams (see docs/streams.md, 'Wiring'). Stopping.")
                return
            base = await phase("baseline", kind="user", port=port, pid=server.pid,
                               keys=keys[:args.baseline_clients], rate=args.rate, seconds=args.seconds, env=env)
            report(base, None, clock)
            for kind in args.streams.split(","):
                result = await phase(f"{args.clients} clients", kind=kind, port=port, pid=server.pid, keys=keys,
                                     rate=args.rate, seconds=args.seconds, env=env)
                report(result, base, clock)

        asyncio.run(run())
    finally:
        for p in processes:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    main()
