import time

from django.conf import settings
from django.core.management.base import BaseCommand

from market.candle_files import CandleFileError, parse_ts_ms
from market.feed.sources.base import SourceUnavailable
from market.feed.sources.replay import replay_history
from market.prices import instruments_cache_clear, list_instruments
from market.services import candles_upsert, ensure_default_pairs


class Command(BaseCommand):
    help = ("Load into the candle store the 1-minute candles a replay feed has behind its clock when it starts "
            "(FEED_REPLAY_DIR / FEED_REPLAY_START / FEED_REPLAY_END, as run_feed reads them): at least the 24 h "
            "before the replay time, so a fresh platform has history to compute on. Idempotent (bulk upsert); "
            "does nothing without a replay directory or with FEED_SOURCE=synthetic. bin/run calls it before the "
            "processes start; it never stops a start (a problem is reported, exit status 0).")

    def add_arguments(self, parser):
        parser.add_argument("--replay-dir", dest="replay_dir", help="candle directory (default FEED_REPLAY_DIR)")
        parser.add_argument("--start", help="the replay's start (ISO-8601; default FEED_REPLAY_START)")
        parser.add_argument("--end", help="the replay's end, exclusive (ISO-8601; default FEED_REPLAY_END)")

    def handle(self, *args, **opts):
        directory = opts["replay_dir"] or settings.FEED_REPLAY_DIR
        if not directory or (settings.FEED_SOURCE == "synthetic" and not opts["replay_dir"]):
            self.stdout.write("replay history: no replay directory configured; nothing to load")
            return
        started = time.monotonic()
        try:
            start = opts["start"] or settings.FEED_REPLAY_START
            end = opts["end"] or settings.FEED_REPLAY_END
            ensure_default_pairs()
            instruments_cache_clear()
            symbols = [i.symbol for i in list_instruments(trading_only=True)]
            clock, history = replay_history(directory=directory, symbols=symbols,
                                            start_ms=parse_ts_ms(start) if start else None,
                                            end_ms=parse_ts_ms(end) if end else None)
        except (SourceUnavailable, CandleFileError, ValueError, OSError) as exc:
            self.stderr.write(f"replay history: not loaded ({exc})")
            return
        total = inserted = 0
        for symbol, rows in history.items():
            count, new, _ = candles_upsert(symbol=symbol, rows=rows)
            total += count
            inserted += new
        self.stdout.write(f"replay history: {total} candles of {len(history)} pair(s) before the replay start "
                          f"({inserted} new) in {time.monotonic() - started:.1f} s"
                          + (f"; replay starts at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(clock / 1000))}"
                             if clock else ""))
