"""The feed process: pick a source (falling back when it cannot start), then loop
poll -> Redis (latest state + tick events) -> in-memory candles -> PostgreSQL (flushed each second)."""

import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.conf import settings

from common.heartbeat import Pacer
from trading.engine.types import InstrumentSpec

from ..candle_files import parse_ts_ms
from .book import BookShape
from .candles import CandleBuilder
from .sources.base import FeedSource, SourceUnavailable
from .store import PriceWriter

logger = logging.getLogger("market.feed")

SOURCES = ("live", "replay", "synthetic")
FALLBACKS = {"live": ("live", "replay", "synthetic"), "replay": ("replay", "synthetic"), "synthetic": ("synthetic",)}


@dataclass(frozen=True)
class FeedConfig:
    source: str = "live"
    exchange_id: str = "binance"
    poll_seconds: float = 1.0
    book_depth: int = 20
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    reconnect_after: int = 3
    replay_dir: str = ""
    replay_speed: float = 1.0
    replay_loop: bool = True
    replay_start_ms: int | None = None
    replay_end_ms: int | None = None
    replay_tick_seconds: float = 1.0
    synthetic_seed: int = 42
    synthetic_volatility_bps: Decimal = Decimal(5)
    synthetic_start_prices: dict = field(default_factory=dict)
    book_shape: BookShape = field(default_factory=BookShape)
    flush_seconds: float = 1.0

    @classmethod
    def from_settings(cls, **overrides) -> "FeedConfig":
        s = settings
        config = cls(
            source=s.FEED_SOURCE, exchange_id=s.FEED_EXCHANGE, poll_seconds=s.FEED_POLL_SECONDS,
            book_depth=s.FEED_BOOK_DEPTH, backoff_initial=s.FEED_BACKOFF_INITIAL_SECONDS,
            backoff_max=s.FEED_BACKOFF_MAX_SECONDS, reconnect_after=s.FEED_RECONNECT_AFTER_FAILURES,
            replay_dir=s.FEED_REPLAY_DIR, replay_speed=s.FEED_REPLAY_SPEED, replay_loop=s.FEED_REPLAY_LOOP,
            replay_start_ms=parse_ts_ms(s.FEED_REPLAY_START) if s.FEED_REPLAY_START else None,
            replay_end_ms=parse_ts_ms(s.FEED_REPLAY_END) if s.FEED_REPLAY_END else None,
            replay_tick_seconds=s.FEED_REPLAY_TICK_SECONDS, synthetic_seed=s.FEED_SYNTHETIC_SEED,
            synthetic_volatility_bps=Decimal(s.FEED_SYNTHETIC_VOLATILITY_BPS),
            synthetic_start_prices=dict(s.FEED_SYNTHETIC_START_PRICES), book_shape=BookShape.from_settings(),
            flush_seconds=s.FEED_CANDLE_FLUSH_SECONDS,
        )
        return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def build_source(name: str, config: FeedConfig, instruments: list[InstrumentSpec], *, exchange=None,
                 **kwargs) -> FeedSource:
    if name == "live":
        from .sources.live import LiveSource

        return LiveSource(instruments=instruments, exchange=exchange, exchange_id=config.exchange_id,
                          interval=config.poll_seconds, depth=config.book_depth,
                          backoff_initial=config.backoff_initial, backoff_max=config.backoff_max,
                          reconnect_after=config.reconnect_after, **kwargs)
    if name == "replay":
        from .sources.replay import ReplaySource

        return ReplaySource(directory=config.replay_dir, instruments=instruments, speed=config.replay_speed,
                            loop=config.replay_loop, start_ms=config.replay_start_ms, end_ms=config.replay_end_ms,
                            tick_seconds=config.replay_tick_seconds, book_shape=config.book_shape, **kwargs)
    if name == "synthetic":
        from .sources.synthetic import SyntheticSource

        return SyntheticSource(instruments=instruments, seed=config.synthetic_seed, interval=config.poll_seconds,
                               volatility_bps=config.synthetic_volatility_bps,
                               start_prices=config.synthetic_start_prices, book_shape=config.book_shape, **kwargs)
    raise ValueError(f"unknown feed source {name!r}; expected one of {', '.join(SOURCES)}")


def open_source(config: FeedConfig, instruments: list[InstrumentSpec], *, exchange=None
                ) -> tuple[FeedSource, str | None]:
    """Open the configured source, or the next in its fallback chain (live -> replay -> synthetic).

    Returns the open source and why it is not the one asked for (None when it is). Replay is tried only when a
    candle directory is configured. Every fallback is logged at WARNING, and a synthetic feed says it is not
    market data.
    """
    if config.source not in FALLBACKS:
        raise ValueError(f"unknown feed source {config.source!r}; expected one of {', '.join(SOURCES)}")
    reasons = []
    for name in FALLBACKS[config.source]:
        if name == "replay" and not config.replay_dir:
            reasons.append("replay: no candle directory configured (FEED_REPLAY_DIR)")
            continue
        source = build_source(name, config, instruments, exchange=exchange if name == "live" else None)
        try:
            source.open()
        except SourceUnavailable as exc:
            reasons.append(f"{name}: {exc}")
            logger.warning("PRICE FEED: the %s source is unavailable (%s); falling back", name, exc)
            continue
        reason = "; ".join(reasons) or None
        if reason:
            logger.warning("PRICE FEED FALLBACK: asked for %r, running %s. Why: %s", config.source,
                           source.describe(), reason)
        if name == "synthetic":
            logger.warning("PRICE FEED IS SYNTHETIC: prices are a seeded random walk, NOT market data "
                           "(labelled source=\"synthetic\" in the API and /health)")
        return source, reason
    raise SourceUnavailable("no price source could start: " + "; ".join(reasons))  # pragma: no cover


@dataclass
class FeedStats:
    ticks: int = 0
    batches: int = 0
    candle_rows: int = 0
    started: float = 0.0
    elapsed: float = 0.0


class FeedRunner:
    def __init__(self, *, source: FeedSource, writer: PriceWriter | None = None,
                 candles: CandleBuilder | None = None, flush_seconds: float = 1.0,
                 requested: str | None = None, fallback_reason: str | None = None):
        self.source = source
        self.writer = writer or PriceWriter()
        self.candles = candles or CandleBuilder(aligned=source.aligned_to_candles)
        self.flush_seconds = flush_seconds
        self.requested = requested or source.name
        self.fallback_reason = fallback_reason
        self.stop_event = threading.Event()
        self.stats = FeedStats()
        source.bind_stop(self.stop_event)

    def stop(self) -> None:
        self.stop_event.set()

    def _status(self, state: str) -> None:
        try:
            self.writer.set_feed_status(
                state=state, source=self.source.name, description=self.source.describe(),
                requested_source=self.requested, fallback_reason=self.fallback_reason or "",
                started_at=repr(self.stats.started), pid=os.getpid(), ticks=self.stats.ticks)
        except Exception:  # noqa: BLE001 - the status is informative; never let it stop the feed
            logger.exception("price feed: could not write the feed status")

    def step(self) -> int:
        """One poll of the source, written through. Returns the number of ticks."""
        updates = self.source.poll()
        if not updates:
            return 0
        try:
            self.writer.write(updates, source=self.source.name)
        except Exception as exc:  # noqa: BLE001 - Redis hiccup: prices are ephemeral, keep building candles
            logger.warning("price feed: could not write %d tick(s) to the store: %s", len(updates), exc)
            self.stop_event.wait(0.5)
        self.candles.add_many(updates)
        self.stats.ticks += len(updates)
        self.stats.batches += 1
        return len(updates)

    def flush(self) -> None:
        self.stats.candle_rows += self.candles.flush()

    def run(self, *, duration: float | None = None, max_ticks: int | None = None) -> FeedStats:
        self.stats.started = time.time()
        deadline = None if duration is None else time.monotonic() + duration
        last_flush = time.monotonic()
        heartbeat = Pacer("feed")  # process liveness for /health (common/heartbeat.py); never raises
        self._status("running")
        logger.info("price feed: running %s", self.source.describe())
        try:
            while not self.stop_event.is_set():
                heartbeat.tick()
                self.step()
                now = time.monotonic()
                if now - last_flush >= self.flush_seconds:
                    self.flush()
                    self._status("running")
                    last_flush = now
                if self.source.finished:
                    logger.info("price feed: the source has no more ticks")
                    break
                if (deadline is not None and now >= deadline) or (max_ticks and self.stats.ticks >= max_ticks):
                    break
        finally:
            self.flush()
            self.stats.elapsed = time.time() - self.stats.started
            self._status("stopped")
            self.source.close()
        return self.stats
