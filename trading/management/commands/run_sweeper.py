"""``manage.py run_sweeper``: turn the price feed's ticks into ``sweep_symbol`` tasks.

It outlives Redis restarts: a lost subscription or broker connection is retried with backoff (0.5 s doubling to
10 s), logged once per outage at WARNING and once more when it recovers.

Subscribes to every pair's ticks (``market.ticks.subscribe_ticks``) and, per pair, coalesces the ticks of a short
window (``SWEEP_COALESCE_MS``) into one task carrying the last price and the window's low and high, so a burst of
ticks costs one sweep and a dip inside the burst still fills what it reached.
"""

import logging
import signal
import threading
import time
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common.heartbeat import Pacer, beat

logger = logging.getLogger(__name__)

BACKOFF_INITIAL_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0
# What a Redis restart (ticks, broker) or a database restart (embedded mode polls prices) raises: wait and reconnect.
# A sweep lost meanwhile is made good by the ``trading.recover_executions`` beat task, which re-sweeps every pair
# with resting orders at its last price.
RECONNECTABLE = (RedisConnectionError, RedisTimeoutError, BrokerError, OSError, OperationalError, InterfaceError)


class Coalescer:
    """Per-pair [last, low, high] of the ticks since the last flush."""

    def __init__(self):
        self.pending: dict[str, list[Decimal]] = {}

    def add(self, symbol: str, price: Decimal) -> None:
        cur = self.pending.get(symbol)
        if cur is None:
            self.pending[symbol] = [price, price, price]
        else:
            cur[0] = price
            cur[1] = min(cur[1], price)
            cur[2] = max(cur[2], price)

    def drain(self) -> list[tuple[str, Decimal, Decimal, Decimal]]:
        out = [(s, last, low, high) for s, (last, low, high) in self.pending.items()]
        self.pending.clear()
        return out


class Command(BaseCommand):
    help = "Dispatch one sweep_symbol task per pair per tick window (run beside the feed and the workers)."

    def add_arguments(self, parser):
        parser.add_argument("--window-ms", type=int, default=None, help="coalescing window (SWEEP_COALESCE_MS)")
        parser.add_argument("--symbols", default="", help="comma-separated pairs (default: all)")

    def handle(self, *args, **opts):
        window = (opts["window_ms"] if opts["window_ms"] is not None else settings.SWEEP_COALESCE_MS) / 1000
        symbols = [s.strip().upper() for s in opts["symbols"].split(",") if s.strip()] or None
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"run_sweeper: window {window * 1000:.0f} ms, pairs {symbols or 'all'}")
        sent = 0
        backoff = BACKOFF_INITIAL_SECONDS
        failed_since = None
        while not stop.is_set():
            try:
                for count in self._dispatch(symbols, window, stop):
                    sent += count
                    if failed_since is not None:
                        logger.warning("run_sweeper: recovered after %.1f s; sweeping again", time.monotonic()
                                       - failed_since)
                        failed_since, backoff = None, BACKOFF_INITIAL_SECONDS
            except RECONNECTABLE as exc:
                if failed_since is None:
                    failed_since = time.monotonic()
                logger.warning("run_sweeper: lost the tick source or the broker (%s: %s); reconnecting in %.1f s",
                               type(exc).__name__, exc, backoff)
                beat("sweeper")  # best effort; silent while Redis is down, which health reports anyway
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
        self.stdout.write(f"run_sweeper: stopped after {sent} sweeps")

    @staticmethod
    def _dispatch(symbols, window, stop):
        """Subscribe and dispatch until ``stop``; yields the sweeps sent per window (the caller counts them and
        resets its backoff: reaching a yield means the tick source works). Raises on a lost connection."""
        from market.ticks import subscribe_ticks
        from trading.tasks import sweep_symbol

        coalescer = Coalescer()
        heartbeat = Pacer("sweeper")
        flush_at = time.monotonic() + window
        for tick in subscribe_ticks(symbols, idle_seconds=max(window, 0.01), yield_idle=True):
            if stop.is_set():
                return
            heartbeat.tick()
            if tick is not None:
                coalescer.add(tick.symbol, tick.price)
            if time.monotonic() >= flush_at:
                count = 0
                for symbol, last, low, high in coalescer.drain():
                    sweep_symbol.delay(symbol, str(last), str(low), str(high))
                    count += 1
                flush_at = time.monotonic() + window
                yield count
