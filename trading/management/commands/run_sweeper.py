"""``manage.py run_sweeper``: turn the price feed's ticks into ``sweep_symbol`` tasks.

Subscribes to every pair's ticks (``market.ticks.subscribe_ticks``) and, per pair, coalesces the ticks of a short
window (``SWEEP_COALESCE_MS``) into one task carrying the last price and the window's low and high, so a burst of
ticks costs one sweep and a dip inside the burst still fills what it reached.
"""

import logging
import signal
import time
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)


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
        from market.ticks import subscribe_ticks
        from trading.tasks import sweep_symbol

        window = (opts["window_ms"] if opts["window_ms"] is not None else settings.SWEEP_COALESCE_MS) / 1000
        symbols = [s.strip().upper() for s in opts["symbols"].split(",") if s.strip()] or None
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        coalescer = Coalescer()
        flush_at = time.monotonic() + window
        sent = 0
        self.stdout.write(f"run_sweeper: window {window * 1000:.0f} ms, pairs {symbols or 'all'}")
        for tick in subscribe_ticks(symbols, idle_seconds=max(window, 0.01), yield_idle=True):
            if stop["now"]:
                break
            if tick is not None:
                coalescer.add(tick.symbol, tick.price)
            if time.monotonic() >= flush_at:
                for symbol, last, low, high in coalescer.drain():
                    sweep_symbol.delay(symbol, str(last), str(low), str(high))
                    sent += 1
                flush_at = time.monotonic() + window
        self.stdout.write(f"run_sweeper: stopped after {sent} sweeps")
