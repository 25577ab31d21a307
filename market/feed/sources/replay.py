"""``replay``: recorded 1-minute candles played back as ticks, at a speed factor, looping or stopping at the end.

Files: ``<SYMBOL>-1m.csv[.gz]`` in one directory (see ``market.candle_files``). All pairs play on one clock, in
candle-time order. Each candle becomes ``points`` ticks along the path of ``market.feed.paths`` (open, the two
extremes in the order the candle's shape makes likely, close), stamped inside the candle's minute, with the
candle's volume split exactly over them. So the candles the feed stores are the input candles, and a limit order
anywhere inside a candle's range is reached.

``speed`` 1 plays a minute in a minute, 60 an hour in a minute; 0 plays as fast as possible. ``points`` defaults to
one tick per ``tick_seconds`` of wall time (60 per candle at speed 1), and never fewer than 4.

Ticks carry the candle time as their timestamp and the wall-clock play time as ``received_at``; staleness of a
replayed price is judged by the latter. The book is synthesised around each price (``market.feed.book``), the 24 h
ticker rolled up from the replayed ticks (warmed with the 24 h before ``start`` when the files have them).

Without an explicit ``start`` the replay begins one day (the ticker window) after the files' first candle, when the
files hold more than a day: the day before the replay clock then exists, both for the ticker's warm-up and for the
candle history ``manage.py load_replay_history`` puts in the store at start (``replay_history``), so a fresh
platform serves a day of candles consistent with the prices it replays.
"""

import heapq
import logging
from collections import deque
from pathlib import Path

from trading.engine.types import InstrumentSpec

from ...candle_files import CandleFileError, candle_files, iter_rows
from ..book import BookShape, synthesise_book
from ..paths import MIN_POINTS, split_volume, tick_offsets_ms, tick_path
from ..ticker import WINDOW_MINUTES, RollingTicker
from ..types import MarketUpdate
from .base import FeedSource, SourceUnavailable

logger = logging.getLogger("market.feed")

HISTORY_MS = WINDOW_MINUTES * 60_000


def replay_start_ms(first_ms: int, last_ms: int, start_ms: int | None) -> int | None:
    """Where a replay's clock starts: ``start_ms`` when given; else a day after the first candle when the files
    hold more than a day (so that day is history, not replay); else the first candle (None)."""
    if start_ms is not None:
        return start_ms
    if last_ms - first_ms > HISTORY_MS:
        return first_ms + HISTORY_MS
    return None


def _read_series(directory: Path, symbols, end_ms: int | None) -> dict[str, list]:
    """{symbol: its 1m rows up to ``end_ms``} for the symbols with a file in ``directory`` (others logged)."""
    files = {f.symbol: f for f in candle_files(directory, interval="1m")}
    series = {}
    for symbol in symbols:
        if symbol not in files:
            logger.warning("price feed: no %s-1m.csv[.gz] in %s; no replay prices for it", symbol, directory)
            continue
        try:
            rows = list(iter_rows(files[symbol].path, end_ms=end_ms))
        except CandleFileError as exc:
            raise SourceUnavailable(str(exc)) from exc
        if rows:
            series[symbol] = rows
    return series


def replay_history(*, directory: str | Path, symbols, start_ms: int | None = None,
                   end_ms: int | None = None) -> tuple[int | None, dict[str, list]]:
    """(the replay's start, {symbol: the rows before it}): the history a replay with these settings has behind its
    clock when it starts, the same split :meth:`ReplaySource.open` makes."""
    series = _read_series(Path(directory), symbols, end_ms)
    if not series:
        return None, {}
    start = replay_start_ms(min(r[0].open_ms for r in series.values()),
                            max(r[-1].open_ms for r in series.values()), start_ms)
    if start is None:
        return None, {}
    return start, {symbol: [r for r in rows if r.open_ms < start] for symbol, rows in series.items()}


class ReplaySource(FeedSource):
    name = "replay"
    aligned_to_candles = True

    def __init__(self, *, directory: str | Path, instruments: list[InstrumentSpec], speed: float = 1.0,
                 loop: bool = True, start_ms: int | None = None, end_ms: int | None = None,
                 tick_seconds: float = 1.0, points: int | None = None, book_shape: BookShape | None = None,
                 batch_limit: int = 1000, **kwargs):
        super().__init__(**kwargs)
        self.directory = Path(directory) if directory else None
        self.instruments = {spec.symbol: spec for spec in instruments}
        self.speed = speed
        self.loop = loop
        self.start_ms = start_ms
        self.end_ms = end_ms
        if points is None:
            points = MIN_POINTS if speed <= 0 else round(60 / speed / max(tick_seconds, 1e-3))
        self.points = max(MIN_POINTS, min(60, points))
        self.book_shape = book_shape or BookShape()
        self.batch_limit = batch_limit
        self.cycles = 0
        self._series: dict[str, list] = {}
        self._warmup: dict[str, deque] = {}
        self._tickers: dict[str, RollingTicker] = {}
        self._ticker_cycle = -1
        self._stream = None
        self._pending = None
        self._wall0: float | None = None
        self._play0 = 0

    def describe(self) -> str:
        return f"replay of {self.directory} at x{self.speed:g}" + (" (looping)" if self.loop else "")

    def open(self) -> None:
        if self.directory is None or not self.directory.is_dir():
            raise SourceUnavailable(f"candle directory {self.directory} does not exist")
        series = _read_series(self.directory, self.instruments, self.end_ms)
        if series:
            self.start_ms = replay_start_ms(min(r[0].open_ms for r in series.values()),
                                            max(r[-1].open_ms for r in series.values()), self.start_ms)
        for symbol, all_rows in series.items():
            warm = deque(maxlen=WINDOW_MINUTES)
            rows = []
            for row in all_rows:
                if self.start_ms is not None and row.open_ms < self.start_ms:
                    warm.append(row)
                else:
                    rows.append(row)
            if rows:
                self._series[symbol] = rows
                self._warmup[symbol] = warm
        if not self._series:
            raise SourceUnavailable(f"no 1m candles for the configured pairs in {self.directory} "
                                    "(within the start/end window)")
        first = min(rows[0].open_ms for rows in self._series.values())
        last = max(rows[-1].open_ms for rows in self._series.values())
        self._span_ms = last - first + 60_000
        self._offsets = tick_offsets_ms(self.points)
        self._stream = self._ticks()
        logger.info("price feed: replaying %d pair(s) from %s, %d candles each at most, %d ticks per candle",
                    len(self._series), self.directory, max(len(r) for r in self._series.values()), self.points)

    # --- the tick stream -----------------------------------------------------------------------------------------
    def _ticks(self):
        """(play_ms, ts_ms, symbol, price, volume, cycle) in play order; play time keeps rising across loops."""
        while True:
            shift = self.cycles * self._span_ms
            cycle = self.cycles
            yield from heapq.merge(*(self._symbol_ticks(s, rows, shift, cycle) for s, rows in self._series.items()))
            if not self.loop:
                return
            self.cycles += 1
            logger.info("price feed: replay reached the end; starting loop %d", self.cycles + 1)

    def _symbol_ticks(self, symbol: str, rows, shift: int, cycle: int):
        offsets = self._offsets
        points = self.points
        tick_size = self.instruments[symbol].tick_size
        for row in rows:
            path = tick_path(row.open, row.high, row.low, row.close, points=points, tick_size=tick_size)
            volumes = split_volume(row.volume, points)
            for offset, price, volume in zip(offsets, path, volumes, strict=True):
                ts = row.open_ms + offset
                yield (ts + shift, ts, symbol, price, volume, cycle)

    def _reset_tickers(self, cycle: int) -> None:
        """Fresh 24 h tickers at the start of each loop, warmed with the candles before ``start``."""
        self._tickers = {}
        self._ticker_cycle = cycle
        offsets = tick_offsets_ms(MIN_POINTS)
        for symbol, warm in self._warmup.items():
            ticker = self._tickers[symbol] = RollingTicker()
            for row in warm:
                path = tick_path(row.open, row.high, row.low, row.close, points=MIN_POINTS)
                for offset, price, volume in zip(offsets, path, split_volume(row.volume, MIN_POINTS), strict=True):
                    ticker.add(row.open_ms + offset, price, volume)

    def _next(self):
        if self._pending is not None:
            tick, self._pending = self._pending, None
            return tick
        return next(self._stream, None)

    # --- polling -------------------------------------------------------------------------------------------------
    def poll(self) -> list[MarketUpdate]:
        if self.finished or self._stream is None:
            return []
        ticks = []
        if self.speed <= 0:
            while len(ticks) < self.batch_limit:
                tick = self._next()
                if tick is None:
                    break
                ticks.append(tick)
        else:
            first = self._next()
            if first is not None:
                if self._wall0 is None:
                    self._wall0, self._play0 = self.clock(), first[0]
                due = self._due(first[0])
                now = self.clock()
                if due > now:
                    self.sleep(min(due - now, 1.0))
                    if self._due(first[0]) > self.clock():
                        self._pending = first  # woken early (stop requested, or a long gap): not due yet
                        return []
                ticks.append(first)
                now = self.clock()
                while len(ticks) < self.batch_limit:
                    tick = self._next()
                    if tick is None:
                        break
                    if self._due(tick[0]) > now:
                        self._pending = tick
                        break
                    ticks.append(tick)
        if not ticks:
            self.finished = True
            return []
        return self._updates(ticks)

    def _due(self, play_ms: int) -> float:
        return self._wall0 + (play_ms - self._play0) / 1000 / self.speed

    def _updates(self, ticks) -> list[MarketUpdate]:
        received_at = self.clock()
        updates = []
        last: dict[str, MarketUpdate] = {}
        for _play, ts, symbol, price, volume, cycle in ticks:
            if cycle != self._ticker_cycle:
                self._reset_tickers(cycle)
            self._tickers[symbol].add(ts, price, volume)
            update = MarketUpdate(symbol=symbol, price=price, ts_ms=ts, received_at=received_at, volume=volume)
            updates.append(update)
            last[symbol] = update
        # Only the last state of a pair in a batch is stored: synthesise its book and ticker only.
        for symbol, update in last.items():
            spec = self.instruments[symbol]
            update.book = synthesise_book(update.price, tick_size=spec.tick_size, step_size=spec.step_size,
                                          shape=self.book_shape)
            update.ticker = self._tickers[symbol].snapshot()
        return updates
