"""The one interface of the three price sources (live exchange, candle replay, synthetic walk)."""

import abc
import threading
import time
from collections.abc import Callable

from market.feed.types import MarketUpdate


class SourceUnavailable(Exception):
    """The source cannot produce prices (exchange unreachable, no candle files...): the runner falls back."""


class FeedSource(abc.ABC):
    """A source of ticks. The runner calls :meth:`open` once, then :meth:`poll` in a loop, then :meth:`close`.

    ``poll`` blocks at most about one polling interval and returns the ticks that are due (possibly none).
    Sources sleep through :meth:`sleep` so that the runner can wake them up to stop, and tests can record sleeps.
    """

    name = "?"
    # True when each pair's ticks of a minute always start at the minute's first tick (a replayed candle), so the
    # candle builder may write every minute as it saw it. False for sources that start mid-minute (live, synthetic).
    aligned_to_candles = False
    finished = False  # a replay that reached the end without looping

    def __init__(self, *, clock: Callable[[], float] = time.time, sleep: Callable[[float], object] | None = None):
        self.clock = clock
        self._sleep = sleep
        self._stop: threading.Event | None = None

    def bind_stop(self, stop: threading.Event) -> None:
        self._stop = stop

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
        elif self._stop is not None:
            self._stop.wait(seconds)
        else:
            time.sleep(seconds)

    @abc.abstractmethod
    def open(self) -> None:
        ...

    @abc.abstractmethod
    def poll(self) -> list[MarketUpdate]:
        ...

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return self.name
