"""Analytics at scale: full recompute, one incremental update, leaderboard latency, storage.

    REDIS_URL=redis://... .venv/bin/python bench/analytics.py [--agents 1000] [--database-url postgres://.../db]

Builds (once; ``--fresh`` rebuilds) a database of ``--agents`` agents, each with 7 days of one-minute equity
snapshots and the 30 days before them downsampled the way ``analytics.equity_downsample`` stores them (5-minute tier,
1-hour tier beyond 32 days: the same ``keep_mask``), and 200 closed trades (sell fills) each. Then measures:

1. the full build of every wallet's four metric states from that data (``metrics_build``) and the full recompute
   that verifies them (``metrics_recompute``) — target < 30 s;
2. one incremental update of all agents after a minute's new snapshots (``metrics_update``), five times — target
   < 1 s — and the leaderboards' rebuild beside it;
3. ``GET /api/v1/analytics/leaderboard`` under 16 keep-alive clients against a production-style server
   (bench/_server.py, gunicorn gthread) — target p99 < 25 ms;
4. storage: bytes per stored point of each tier and per agent-month.

The database is its own (default ``wt_analytics_bench`` on the DATABASE_URL server), never the tests'.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_FULL_S, TARGET_INCREMENTAL_S, TARGET_P99_MS = 30.0, 1.0, 25.0
DAYS_1M, DAYS_DOWN = 7, 30
TRADES_PER_AGENT = 200


def _setup(database_url: str) -> None:
    import psycopg

    base, _, name = database_url.rpartition("/")
    with psycopg.connect(base.replace("postgres://", "postgresql://", 1) + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def _binary_copy(cur, table: str, columns: str, arrays: list[tuple[str, np.ndarray]]) -> None:
    """COPY ``arrays`` into ``table`` in PostgreSQL's binary format, built with numpy (int4/float8/timestamptz)."""
    n = len(arrays[0][1])
    fields = [("n", ">i2")]
    for i, (kind, _) in enumerate(arrays):
        size = {"int4": 4, "float8": 8, "ts": 8}[kind]
        fields += [(f"l{i}", ">i4"), (f"v{i}", {"int4": ">i4", "float8": ">f8", "ts": ">i8"}[kind])]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["n"] = len(arrays)
    for i, (kind, values) in enumerate(arrays):
        rows[f"l{i}"] = {"int4": 4, "float8": 8, "ts": 8}[kind]
        rows[f"v{i}"] = values
    payload = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00" + rows.tobytes() + b"\xff\xff"
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(payload)


def _pg_ts(epoch_seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds -> PostgreSQL's binary timestamptz (microseconds since 2000-01-01)."""
    return np.round((epoch_seconds - 946684800.0) * 1e6).astype(np.int64)


def generate(n_agents: int, now) -> dict:
    from django.db import connection, transaction

    from accounts.models import Account
    from agents.models import Agent
    from analytics.metrics.downsample import keep_mask
    from trading.models import Wallet

    rng = np.random.default_rng(2026)
    t_end = now.timestamp()
    t_1m = t_end - DAYS_1M * 86400
    t_start = t_1m - DAYS_DOWN * 86400
    minutes = np.arange(t_start, t_end + 1, 60.0)
    counts = {"1m": 0, "5m": 0, "1h": 0, "trades": 0}
    started = time.perf_counter()
    with transaction.atomic():
        owners = Account.objects.bulk_create([
            Account(email=f"bench-{uuid.uuid4().hex[:10]}@example.com", display_name=f"Owner {i}",
                    password="!") for i in range(max(1, n_agents // 20))])
        agents = Agent.objects.bulk_create([
            Agent(account=owners[i % len(owners)], name=f"bench-agent-{i:04d}", starting_balance=10000)
            for i in range(n_agents)])
        wallets = Wallet.objects.bulk_create([Wallet(agent=a, starting_balance=10000) for a in agents])
        Wallet.objects.filter(pk__in=[w.pk for w in wallets]).update(
            created_at=now - timedelta(days=DAYS_1M + DAYS_DOWN, minutes=1))
    with connection.cursor() as c:
        c.execute("CREATE TEMP TABLE bench_map (ord int4 PRIMARY KEY, wallet_id uuid, agent_id uuid)")
        c.execute("INSERT INTO bench_map SELECT * FROM unnest(%s::int4[], %s::uuid[], %s::uuid[])",
                  [list(range(n_agents)), [str(w.pk) for w in wallets], [str(a.pk) for a in agents]])
        c.execute("CREATE TEMP TABLE bench_pts (ord int4, ts timestamptz, eq float8, tier int4)")
    raw = connection.connection
    batch = 50
    for b0 in range(0, n_agents, batch):
        ords, tss, eqs, tiers = [], [], [], []
        for k in range(b0, min(n_agents, b0 + batch)):
            drift, vol = rng.normal(0, 2e-6), rng.uniform(3e-4, 1.5e-3)
            eq = np.round(10000 * np.exp(np.cumsum(rng.normal(drift, vol, len(minutes)))), 8)
            recent = minutes >= t_1m
            old_ts, old_eq = minutes[~recent], eq[~recent]
            keep5 = keep_mask(old_ts, old_eq, bucket_seconds=300)
            ts5, eq5 = old_ts[keep5], old_eq[keep5]
            hourly = ts5 < t_end - 32 * 86400
            keep1h = keep_mask(ts5[hourly], eq5[hourly], bucket_seconds=3600)
            parts = [(ts5[hourly][keep1h], eq5[hourly][keep1h], 2), (ts5[~hourly], eq5[~hourly], 1),
                     (minutes[recent], eq[recent], 0)]
            for ts, e, tier in parts:
                ords.append(np.full(len(ts), k, dtype=np.int32))
                tss.append(ts)
                eqs.append(e)
                tiers.append(np.full(len(ts), tier, dtype=np.int32))
                counts[("1m", "5m", "1h")[tier]] += len(ts)
        with raw.cursor() as cur:
            _binary_copy(cur, "bench_pts", "ord, ts, eq, tier",
                         [("int4", np.concatenate(ords)), ("ts", _pg_ts(np.concatenate(tss))),
                          ("float8", np.concatenate(eqs)), ("int4", np.concatenate(tiers))])
    with connection.cursor() as c:
        c.execute("""INSERT INTO trading_equitysnapshot (wallet_id, agent_id, ts, cash, positions_value, equity,
                                                          realized_pnl, unrealized_pnl)
                     SELECT m.wallet_id, m.agent_id, p.ts, round(p.eq::numeric * 0.4, 8),
                            round(p.eq::numeric, 8) - round(p.eq::numeric * 0.4, 8), round(p.eq::numeric, 8), 0, 0
                       FROM bench_pts p JOIN bench_map m USING (ord) WHERE p.tier = 0 ORDER BY p.ts, p.ord""")
        c.execute("""INSERT INTO analytics_equitypoint (wallet_id, agent_id, ts, equity, cash, positions_value,
                                                         resolution)
                     SELECT m.wallet_id, m.agent_id, p.ts, round(p.eq::numeric, 8), round(p.eq::numeric * 0.4, 8),
                            round(p.eq::numeric, 8) - round(p.eq::numeric * 0.4, 8),
                            CASE p.tier WHEN 1 THEN '5m' ELSE '1h' END
                       FROM bench_pts p JOIN bench_map m USING (ord) WHERE p.tier > 0""")
        # 200 closed trades per agent: a filled sell order and its fill, spread over the 37 days
        c.execute("SELECT setseed(0.42)")
        c.execute("""
            WITH t AS (
                SELECT m.wallet_id, m.agent_id, gen_random_uuid() AS order_id,
                       to_timestamp(%s + random() * (%s - %s)) AS at,
                       round(((random() - 0.45) * 40)::numeric, 8) AS pnl
                  FROM bench_map m CROSS JOIN generate_series(1, %s)
            ), o AS (
                INSERT INTO trading_order (id, wallet_id, agent_id, symbol, base_asset, quote_asset, side, type,
                    time_in_force, status, quantity, post_only, reduce_only, body_hash, filled_quantity, filled_quote,
                    fees_paid, fill_count, locked_asset, locked_amount, maker_fee_bps, taker_fee_bps,
                    needs_execution, fires, reject_code, status_reason, created_at, updated_at, closed_at)
                SELECT order_id, wallet_id, agent_id, 'BTCUSDT', 'BTC', 'USDT', 'sell', 'market', 'gtc', 'filled',
                       0.01, false, false, 'bench', 0.01, 600, 0.6, 1, 'BTC', 0, 8, 10, false, '', '', '', at, at, at
                  FROM t RETURNING id)
            INSERT INTO trading_fill (order_id, seq, wallet_id, agent_id, symbol, side, price, quantity, quote_amount,
                                      fee, fee_asset, liquidity, slippage_pct, realized_pnl, created_at)
            SELECT order_id, 1, wallet_id, agent_id, 'BTCUSDT', 'sell', 60000, 0.01, 600, 0.6, 'USDT', 'taker', 0,
                   pnl, at FROM t ORDER BY at""", [t_start, t_end - 60, t_start, TRADES_PER_AGENT])
        counts["trades"] = n_agents * TRADES_PER_AGENT
        c.execute("DROP TABLE bench_pts")
        c.execute("DROP TABLE bench_map")
    counts["seconds"] = time.perf_counter() - started
    return counts


def _size(table: str) -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(f"SELECT pg_total_relation_size('{table}'), (SELECT count(*) FROM {table})")
        return c.fetchone()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--database-url", default=None,
                        help="default: the DATABASE_URL server, database wt_analytics_bench")
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the data")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/platform")
    database_url = args.database_url or base.rpartition("/")[0] + "/wt_analytics_bench"
    if args.fresh:
        import psycopg

        server, _, name = database_url.rpartition("/")
        with psycopg.connect(server.replace("postgres://", "postgresql://", 1) + "/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _setup(database_url)

    from django.db import connection
    from django.utils import timezone

    from agents.models import Agent
    from analytics.models import MetricState
    from analytics.services import leaderboards_build, metrics_build, metrics_recompute, metrics_update
    from trading.models import EquitySnapshot, Wallet

    now = timezone.now().replace(second=0, microsecond=0)
    have = Agent.objects.filter(name__startswith="bench-agent-").count()
    if have != args.agents:
        if have:
            print(f"database has {have} bench agents, not {args.agents}: use --fresh")
            return 2
        print(f"generating {args.agents} agents x ({DAYS_1M} d of 1-minute equity + {DAYS_DOWN} d downsampled, "
              f"{TRADES_PER_AGENT} trades) ...", flush=True)
        counts = generate(args.agents, now)
        print(f"  {counts['1m']:,} one-minute snapshots, {counts['5m']:,} 5-minute points, {counts['1h']:,} 1-hour "
              f"points, {counts['trades']:,} trades in {counts['seconds']:.0f} s", flush=True)
        with connection.cursor() as c:
            c.execute("ANALYZE")
    else:
        # continue from the newest stored minute
        now = EquitySnapshot.objects.order_by("-ts").values_list("ts", flat=True).first() + timedelta(minutes=1)
        print(f"reusing the {have} bench agents already in {database_url.rpartition('/')[2]}", flush=True)

    if args.generate_only:
        return 0
    # 1. full build and full recompute
    t = time.perf_counter()
    n_states = metrics_build(now=now, build_leaderboards=False)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    report = metrics_recompute(repair=False)
    recompute_s = time.perf_counter() - t
    t = time.perf_counter()
    boards = leaderboards_build(now=now)
    boards_s = time.perf_counter() - t

    # 2. incremental updates: one minute of new snapshots for every live wallet, then the update
    wallets = list(Wallet.objects.filter(retired_at__isnull=True).values_list("id", "agent_id"))
    last = dict(EquitySnapshot.objects.filter(ts__gte=now - timedelta(minutes=2)).order_by("wallet_id", "-ts")
                .distinct("wallet_id").values_list("wallet_id", "equity"))
    rng = np.random.default_rng(1)
    update_s, rebuilt, pushed = [], [], []
    for k in range(1, args.updates + 1):
        at = now + timedelta(minutes=k)
        rows = []
        for w, a in wallets:
            eq = round(last[w] * (1 + Decimal(str(round(rng.normal(0, 1e-3), 8)))), 8)
            last[w] = eq
            rows.append(EquitySnapshot(wallet_id=w, agent_id=a, ts=at, cash=eq, positions_value=0, equity=eq))
        EquitySnapshot.objects.bulk_create(rows, batch_size=2000)
        t = time.perf_counter()
        r = metrics_update(now=at + timedelta(seconds=2), build_leaderboards=False)
        update_s.append(time.perf_counter() - t)
        rebuilt.append(r.rebuilt)
        pushed.append(r.pushed)

    # 4. storage
    sizes = {t: _size(t) for t in ("trading_equitysnapshot", "analytics_equitypoint", "analytics_metricstate",
                                   "analytics_leaderboard")}
    with connection.cursor() as c:
        c.execute("SELECT resolution, count(*) FROM analytics_equitypoint GROUP BY resolution")
        tiers = dict(c.fetchall())
    n = len(wallets)
    snap_bytes, snap_rows = sizes["trading_equitysnapshot"]
    pt_bytes, pt_rows = sizes["analytics_equitypoint"]
    per_snap = snap_bytes / snap_rows
    per_pt = pt_bytes / max(pt_rows, 1)
    hourly_per_month = tiers.get("1h", 0) / max(n, 1) / (DAYS_1M + DAYS_DOWN - 32) * 30
    five_per_day = tiers.get("5m", 0) / max(n, 1) / (32 - DAYS_1M)

    # 3. the leaderboard under load
    from bench._server import ProductionServer, service_env
    from bench.auth_read import drive

    huge = str(10**9)
    env = service_env({"DATABASE_URL": database_url, "RATE_LIMIT_PER_KEY": huge, "RATE_LIMIT_ANONYMOUS": huge,
                       "RATE_LIMIT_PER_ACCOUNT": huge})
    path = "/api/v1/analytics/leaderboard?metric=sharpe_ratio&period=7d&limit=100"
    runs = []
    with ProductionServer(kind="gthread", workers=2, threads=4, env=env) as server:
        drive(server, path, {}, args.clients, 2.0)
        for _ in range(args.rounds):
            runs.append(drive(server, path, {}, args.clients, args.seconds))
        live = drive(server, "/api/v1/health/live", {}, args.clients, args.seconds)
    p99 = statistics.median(r["p99"] for r in runs)

    print(f"\nanalytics benchmark: {n} agents, {os.cpu_count()} CPUs (shared machine: wall-clock numbers depend on "
          f"the neighbours)")
    print(f"full build of {n_states} states (4 periods x {n} wallets) from stored data: {build_s:8.2f} s")
    print(f"full recompute (verify, {report.checked} states, {report.mismatched} differ):   {recompute_s:8.2f} s   "
          f"target < {TARGET_FULL_S:g} s   {'OK' if recompute_s < TARGET_FULL_S else 'MISSED'}")
    print(f"leaderboards rebuild ({boards} boards):                              {boards_s:8.2f} s")
    med = statistics.median(update_s)
    print(f"incremental update of {n} wallets after one minute of snapshots: median {med:.3f} s, max "
          f"{max(update_s):.3f} s over {len(update_s)} minutes   target < {TARGET_INCREMENTAL_S:g} s   "
          f"{'OK' if med < TARGET_INCREMENTAL_S else 'MISSED'}")
    print(f"  (states pushed per update {pushed}; rebuilt because their window hopped {rebuilt})")
    statuses = {}
    for r in runs:
        for code, cnt in r["statuses"].items():
            statuses[code] = statuses.get(code, 0) + cnt
    print(f"GET leaderboard, {args.clients} clients: {statistics.median(r['rps'] for r in runs):.0f} req/s, "
          f"p50 {statistics.median(r['p50'] for r in runs):.2f} ms, p99 {p99:.2f} ms   target < {TARGET_P99_MS:g} ms"
          f"   {'OK' if p99 < TARGET_P99_MS else 'MISSED'}   statuses {statuses}")
    print(f"  baseline GET /health/live same clients: {live['rps']:.0f} req/s, p50 {live['p50']:.2f} ms, "
          f"p99 {live['p99']:.2f} ms")
    print(f"storage: one-minute snapshot {per_snap:.0f} B/row (with indexes), downsampled point {per_pt:.0f} B/row; "
          f"metric states {sizes['analytics_metricstate'][0] / n / 1024:.1f} KiB/agent")
    print(f"  per agent now ({DAYS_1M} d x 1m + {DAYS_DOWN} d downsampled): "
          f"{(snap_bytes + pt_bytes) / n / 1024 / 1024:.2f} MiB; "
          f"5m tier {five_per_day:.0f} points/day, 1h tier {hourly_per_month:.0f} points/month")
    steady = 8 * 1440 * per_snap + 24 * five_per_day * per_pt  # the rolling 1m + 5m tiers, a fixed amount
    print(f"  per agent-month beyond the first 32 days: {hourly_per_month * per_pt / 1024:.1f} KiB "
          f"(+ a fixed {steady / 1024 / 1024:.2f} MiB for the 8 d one-minute and 24 d 5-minute tiers); "
          f"undownsampled it would be {30 * 1440 * per_snap / 1024 / 1024:.2f} MiB/month")
    return 0


if __name__ == "__main__":
    sys.exit(main())
