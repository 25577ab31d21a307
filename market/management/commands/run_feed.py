import logging
import signal

from django.core.management.base import BaseCommand, CommandError

from market.candle_files import parse_ts_ms
from market.feed.runner import SOURCES, FeedConfig, FeedRunner, open_source
from market.feed.sources.base import SourceUnavailable
from market.prices import instruments_cache_clear, list_instruments
from market.services import ensure_default_pairs

logger = logging.getLogger("market.feed")


class Command(BaseCommand):
    help = ("Run the price feed: ticks from the live exchange (default), a candle replay or a synthetic walk into "
            "Redis (latest price, book, 24 h ticker, tick events) and 1-minute candles into the database. "
            "Falls back live -> replay (if FEED_REPLAY_DIR) -> synthetic when a source cannot start.")

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=SOURCES, help="default: settings.FEED_SOURCE")
        parser.add_argument("--exchange", dest="exchange_id", help="ccxt exchange id (default FEED_EXCHANGE)")
        parser.add_argument("--interval", dest="poll_seconds", type=float,
                            help="seconds between live polls / synthetic ticks (default FEED_POLL_SECONDS)")
        parser.add_argument("--replay-dir", dest="replay_dir", help="candle directory (default FEED_REPLAY_DIR)")
        parser.add_argument("--speed", dest="replay_speed", type=float, help="replay speed; 0 = as fast as possible")
        parser.add_argument("--no-loop", dest="replay_loop", action="store_false", default=None,
                            help="stop at the end of the candles instead of looping")
        parser.add_argument("--start", help="replay from this candle time (ISO-8601)")
        parser.add_argument("--end", help="replay up to this candle time, exclusive (ISO-8601)")
        parser.add_argument("--seed", dest="synthetic_seed", type=int, help="synthetic walk seed")
        parser.add_argument("--symbols", help="comma-separated pairs (default: every trading pair)")
        parser.add_argument("--duration", type=float, help="stop after this many seconds")
        parser.add_argument("--max-ticks", type=int, help="stop after this many ticks")

    def handle(self, *args, **opts):
        ensure_default_pairs()
        instruments_cache_clear()
        instruments = list_instruments(trading_only=True)
        if opts["symbols"]:
            wanted = {s.strip().upper() for s in opts["symbols"].split(",") if s.strip()}
            unknown = wanted - {i.symbol for i in instruments}
            if unknown:
                raise CommandError(f"not trading pairs: {', '.join(sorted(unknown))}")
            instruments = [i for i in instruments if i.symbol in wanted]
        if not instruments:
            raise CommandError("no trading pairs: run migrate (it seeds the default pairs) or sync_pairs")

        overrides = {k: opts.get(k) for k in ("source", "exchange_id", "poll_seconds", "replay_dir", "replay_speed",
                                              "replay_loop", "synthetic_seed")}
        if opts["start"]:
            overrides["replay_start_ms"] = parse_ts_ms(opts["start"])
        if opts["end"]:
            overrides["replay_end_ms"] = parse_ts_ms(opts["end"])
        config = FeedConfig.from_settings(**overrides)
        try:
            source, reason = open_source(config, instruments)
        except SourceUnavailable as exc:
            raise CommandError(str(exc)) from exc

        runner = FeedRunner(source=source, flush_seconds=config.flush_seconds, requested=config.source,
                            fallback_reason=reason)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: runner.stop())
        self.stdout.write(f"price feed: {source.describe()} for {len(instruments)} pair(s)"
                          + (f" (fallback: {reason})" if reason else ""))
        stats = runner.run(duration=opts["duration"], max_ticks=opts["max_ticks"])
        self.stdout.write(f"price feed stopped: {stats.ticks} ticks in {stats.elapsed:.1f} s, "
                          f"{stats.candle_rows} candle rows written")
