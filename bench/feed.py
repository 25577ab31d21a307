"""How many ticks the price feed ingests per second end to end, and how soon a tick is readable over HTTP.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/feed.py [--seconds 5]

1. Ingest: the feed's real pipeline (``FeedRunner``: synthetic source -> one pipelined Redis round trip per batch
   (HSET per pair + two PUBLISH per tick) -> in-memory 1-minute candles -> one INSERT ... ON CONFLICT per second)
   with 50 pairs, as fast as it can go, in this process. A separate subscriber process counts the published
   events, and the candle rows are counted in PostgreSQL afterwards, so every tick is proven to have gone the whole
   way. Baseline, measured in the same run: the same ticks written the straightforward way (HSET and two PUBLISH
   per tick, each its own round trip, and one candle upsert statement per tick).
2. Tick-to-readable: a production-style server (gunicorn, ``bench/_server.py``) and ``manage.py run_feed`` as a
   separate process (synthetic source, 50 pairs, at ~2,000 ticks/s and at the default 1 tick/s per pair). The
   client subscribes to the tick events; for each event (the newest, when several wait) it calls
   ``GET /api/v1/market/price/{symbol}`` on a keep-alive connection until the response holds that tick, and
   records delay = (time the response was in hand) - (the tick's ``received_at``, stamped by the feed when the
   tick arrived). That includes the event hop and a whole request, so it is an upper bound.

The 50 pairs are 50 instruments made for the run (``BX00USDT`` ... ``BX49USDT``, BTC-like filters), not the 5
real pairs plus 45, so that the run never writes synthetic candles under a real symbol; they, their candles and
their Redis keys (a key prefix of the run's own) are removed at the end. Rate limits are raised for the server
through the environment so that the limiter runs on every request without refusing any.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_TICKS_PER_SECOND = 2000
TARGET_P99_MS = 50.0
PAIRS = 50


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def count_events(redis_url: str, channel: str, ready, result) -> None:
    """Subscriber process: count messages on ``channel`` until the "STOP" sentinel."""
    import redis

    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    ready.set()
    count = 0
    for message in pubsub.listen():
        if message["data"] == b"STOP":
            break
        count += 1
    result.put(count)


def setup_django(prefix: str):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["MARKET_KEY_PREFIX"] = prefix
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        sys.exit("bench/feed.py needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return settings


def make_instruments():
    from market.models import Instrument
    from market.prices import instruments_cache_clear, list_instruments

    symbols = [f"BX{i:02d}USDT" for i in range(PAIRS)]
    Instrument.objects.bulk_create(
        [Instrument(symbol=s, base=s[:-4], quote="USDT", tick_size=Decimal("0.01"), step_size=Decimal("0.00001"),
                    min_qty=Decimal("0.00001"), min_notional=Decimal(5), filters_source="bench") for s in symbols],
        ignore_conflicts=True)
    instruments_cache_clear()
    return [i for i in list_instruments() if i.symbol in set(symbols)]


def cleanup(symbols, prefix):
    from common.redis import get_redis
    from market.models import Candle, Instrument

    Candle.objects.filter(symbol__in=symbols).delete()
    Instrument.objects.filter(symbol__in=symbols).delete()
    redis = get_redis()
    keys = list(redis.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        redis.delete(*keys)


# --- 1. ingest -------------------------------------------------------------------------------------------------------
def ingest(instruments, seconds: float, settings, rounds: int = 3) -> dict:
    from market import keys
    from market.feed.runner import FeedRunner
    from market.feed.sources.synthetic import SyntheticSource
    from market.models import Candle

    symbols = [i.symbol for i in instruments]
    start_prices = {s: "65000" for s in symbols}
    Candle.objects.filter(symbol__in=symbols).delete()

    # The source alone (generation of prices, books and tickers), for reference.
    source = SyntheticSource(instruments=instruments, seed=1, interval=0, start_prices=start_prices)
    source.open()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        n += len(source.step())
    source_only = n / (time.perf_counter() - t0)

    ctx = multiprocessing.get_context("spawn")
    ready, result = ctx.Event(), ctx.Queue()
    channel = keys.ticks_channel()
    subscriber = ctx.Process(target=count_events, args=(settings.REDIS_URL, channel, ready, result))
    subscriber.start()
    ready.wait(30)
    time.sleep(0.2)

    rates, ticks, flushed = [], 0, 0
    minute_before = int(time.time()) // 60
    for round_ in range(rounds):
        source = SyntheticSource(instruments=instruments, seed=10 + round_, interval=0, start_prices=start_prices)
        source.open()
        runner = FeedRunner(source=source, flush_seconds=settings.FEED_CANDLE_FLUSH_SECONDS)
        stats = runner.run(duration=seconds)  # elapsed includes the final candle flush
        rates.append(stats.ticks / stats.elapsed)
        ticks += stats.ticks
        flushed += stats.candle_rows
    minute_after = int(time.time()) // 60
    from common.redis import get_redis

    get_redis().publish(channel, "STOP")
    received = result.get(timeout=60)
    subscriber.join(10)
    candle_rows = Candle.objects.filter(symbol__in=symbols).count()
    return {"ticks": ticks, "rates": rates, "rate": statistics.median(rates), "events": received,
            "candle_rows": candle_rows, "minutes": minute_after - minute_before + 1, "flushed_rows": flushed,
            "source_only": source_only}


def ingest_naive(instruments, seconds: float) -> dict:
    """The baseline: every tick written on its own (3 Redis round trips + 1 SQL statement per tick)."""
    from django.db import connection

    from common.redis import get_redis
    from market import keys
    from market.feed.sources.synthetic import SyntheticSource
    from market.feed.types import dec_str
    from market.models import Candle
    from market.ticks import tick_event_json

    symbols = [i.symbol for i in instruments]
    Candle.objects.filter(symbol__in=symbols).delete()
    redis = get_redis()
    source = SyntheticSource(instruments=instruments, seed=3, interval=0, start_prices={s: "65000" for s in symbols})
    source.open()
    table = Candle._meta.db_table
    sql = (f"INSERT INTO {table} (symbol, open_time, open, high, low, close, volume) "
           f"VALUES (%s, to_timestamp(%s), %s, %s, %s, %s, %s) ON CONFLICT (symbol, open_time) DO UPDATE SET "
           f"high = GREATEST({table}.high, EXCLUDED.high), low = LEAST({table}.low, EXCLUDED.low), "
           f"close = EXCLUDED.close, volume = {table}.volume + EXCLUDED.volume")
    n, t0 = 0, time.perf_counter()
    with connection.cursor() as cursor:
        while time.perf_counter() - t0 < seconds:
            for u in source.step():
                mapping = {keys.F_PRICE: dec_str(u.price), keys.F_TS: u.ts_ms, keys.F_SOURCE: "synthetic",
                           keys.F_RECEIVED: repr(u.received_at), keys.F_BOOK: u.book.to_json(),
                           keys.F_TICKER: u.ticker.to_json()}
                redis.hset(keys.pair_key(u.symbol), mapping=mapping)
                event = tick_event_json(u, "synthetic")
                redis.publish(keys.ticks_channel(), event)
                redis.publish(keys.ticks_channel(u.symbol), event)
                cursor.execute(sql, [u.symbol, u.ts_ms // 60_000 * 60, u.price, u.price, u.price, u.price,
                                     u.volume])
                n += 1
    elapsed = time.perf_counter() - t0
    return {"ticks": n, "elapsed": elapsed, "rate": n / elapsed}


# --- 2. tick-to-readable ---------------------------------------------------------------------------------------------
def readable_delays(server_url: str, symbols, env: dict, *, interval: float, seconds: float, prefix: str) -> dict:
    """Run the feed in its own process; for each tick event (the newest one when several are waiting), GET that
    pair's price until the tick is readable, and record (response in hand) - (tick arrival in the feed)."""
    import httpx
    import redis

    from django.conf import settings

    feed = subprocess.Popen(
        [sys.executable, "manage.py", "run_feed", "--source", "synthetic", "--interval", str(interval),
         "--symbols", ",".join(symbols), "--duration", str(seconds + 8)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    delays, round_trips, misses = [], [], 0
    pubsub = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"{prefix}:ticks")
    try:
        with httpx.Client(base_url=server_url, timeout=5) as client:
            deadline = time.monotonic() + 30
            while client.get(f"/api/v1/market/price/{symbols[0]}").status_code != 200:  # first price written
                if time.monotonic() > deadline or feed.poll() is not None:
                    raise RuntimeError("the feed wrote no price: " + (feed.stderr.read() or b"").decode()[-2000:])
                time.sleep(0.05)
            time.sleep(1.0)  # past start-up
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                while True:  # skip to the newest waiting event
                    newer = pubsub.get_message(timeout=0)
                    if newer is None:
                        break
                    message = newer
                event = json.loads(message["data"])
                wanted = _epoch(event["received_at"])  # millisecond precision in events
                for _ in range(50):
                    sent = time.time()
                    body = client.get(f"/api/v1/market/price/{event['symbol']}").json()
                    done = time.time()
                    round_trips.append(done - sent)
                    arrived = _epoch(body["received_at"])  # microsecond precision in the API
                    if arrived >= wanted - 0.001:
                        delays.append(done - arrived)
                        break
                    misses += 1
    finally:
        pubsub.close()
        if feed.poll() is None:
            feed.terminate()
        feed.wait(30)
    return {"delays_ms": [d * 1000 for d in delays], "rtt_ms": [r * 1000 for r in round_trips], "misses": misses}


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    args = parser.parse_args()
    prefix = f"bench-feed-{os.getpid()}"
    settings = setup_django(prefix)
    instruments = make_instruments()
    symbols = [i.symbol for i in instruments]
    from bench._server import ProductionServer

    try:
        print(f"price feed benchmark: {len(instruments)} pairs, PostgreSQL + Redis, {os.cpu_count()} CPUs")
        fast = ingest(instruments, args.seconds, settings)
        naive = ingest_naive(instruments, min(args.seconds, 3.0))
        print("\n1. ingest, end to end (source -> Redis state -> published events -> candle rows)")
        print(f"   synthetic source alone         {fast['source_only']:10,.0f} ticks/s")
        print(f"   feed pipeline (batched)        {fast['rate']:10,.0f} ticks/s   target >= {TARGET_TICKS_PER_SECOND:,}"
              f"   {'OK' if fast['rate'] >= TARGET_TICKS_PER_SECOND else 'MISSED'}   (median of "
              f"{len(fast['rates'])} runs of {args.seconds:g} s: {', '.join(f'{r:,.0f}' for r in fast['rates'])})")
        print(f"   baseline, per-tick writes      {naive['rate']:10,.0f} ticks/s   (batched is "
              f"{fast['rate'] / naive['rate']:.1f}x)")
        print(f"   proof: {fast['ticks']:,} ticks, {fast['events']:,} events received by a subscriber process, "
              f"{fast['candle_rows']} candle rows in PostgreSQL ({PAIRS} pairs x {fast['minutes']} minute(s); "
              f"{fast['flushed_rows']} row writes in the flushes)")
        if fast["events"] != fast["ticks"]:
            print("   WARNING: the subscriber did not receive every event")
        if fast["candle_rows"] != PAIRS * fast["minutes"]:
            print("   WARNING: candle rows missing")

        server_env = {"MARKET_KEY_PREFIX": prefix, "RATE_LIMIT_ANONYMOUS": "1000000000",
                      "MARKET_INSTRUMENT_CACHE_SECONDS": "30"}
        with ProductionServer(kind="gthread", workers=2, threads=4, env=server_env) as server:
            feed_env = {**server.env}
            print(f"\n2. tick -> readable through GET /api/v1/market/price/{{symbol}} (gunicorn gthread 2x4 on "
                  f"{server.url}; run_feed in its own process)")
            # One sample per feed batch (all pairs of a batch arrive and are written together): ~40/s at the
            # high rate, 1/s at the default cadence, which therefore runs longer.
            for label, interval, seconds in (("~2,000 ticks/s (50 pairs x 40/s)", 0.025, args.seconds * 2),
                                             ("default cadence (50 pairs x 1/s)", 1.0, args.seconds * 6)):
                result = readable_delays(server.url, symbols, feed_env, interval=interval, seconds=seconds,
                                         prefix=prefix)
                d, r = result["delays_ms"], result["rtt_ms"]
                p99 = percentile(d, 99)
                print(f"   {label:34s} n={len(d):5d}  median {statistics.median(d):6.2f} ms  "
                      f"p90 {percentile(d, 90):6.2f} ms  p99 {p99:6.2f} ms   target p99 < {TARGET_P99_MS:.0f} ms   "
                      f"{'OK' if p99 < TARGET_P99_MS else 'MISSED'}")
                print(f"   {'':34s} request round trip: median {statistics.median(r):5.2f} ms, "
                      f"p99 {percentile(r, 99):5.2f} ms ({len(r):,} requests, {result['misses']} read the "
                      f"previous price)")
    finally:
        cleanup(symbols, prefix)


if __name__ == "__main__":
    main()
