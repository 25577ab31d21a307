"""A rolling 24 h ticker built from ticks, for sources that have no exchange ticker (replay, synthetic).

Ticks are bucketed by minute (a tick older than the current minute is counted in the current minute); the window
is the current minute and the 1,439 before it. Closed minutes enter and leave the window in O(1): running sums for
the volumes (exact Decimal sums, subtracted again on the way out) and monotonic queues for the high and the low.
Quote volume is estimated as the sum of price * volume over the ticks (candle files carry base volume only).
"""

from collections import deque
from decimal import Decimal

from .types import Ticker24h

WINDOW_MINUTES = 1440
_MINUTE, _OPEN, _HIGH, _LOW, _CLOSE, _VOL, _QVOL = range(7)


class RollingTicker:
    __slots__ = ("_closed", "_cur", "_highs", "_lows", "_volume", "_quote_volume")

    def __init__(self):
        self._closed: deque[list] = deque()  # [minute, open, high, low, close, volume, quote_volume]
        self._cur: list | None = None
        self._highs: deque[tuple[int, Decimal]] = deque()  # (minute, high), highs decreasing
        self._lows: deque[tuple[int, Decimal]] = deque()  # (minute, low), lows increasing
        self._volume = Decimal(0)
        self._quote_volume = Decimal(0)

    def add(self, ts_ms: int, price: Decimal, volume: Decimal) -> None:
        """Count one tick (call :meth:`snapshot` for the ticker: only the last tick of a batch needs one)."""
        minute = ts_ms // 60_000
        cur = self._cur
        if cur is None or minute > cur[_MINUTE]:
            self._roll(minute)
            cur = self._cur = [minute, price, price, price, price, Decimal(0), Decimal(0)]
        if price > cur[_HIGH]:
            cur[_HIGH] = price
        if price < cur[_LOW]:
            cur[_LOW] = price
        cur[_CLOSE] = price
        if volume:
            cur[_VOL] += volume
            cur[_QVOL] += price * volume

    def _roll(self, minute: int) -> None:
        cur = self._cur
        if cur is not None:
            self._closed.append(cur)
            self._volume += cur[_VOL]
            self._quote_volume += cur[_QVOL]
            while self._highs and self._highs[-1][1] <= cur[_HIGH]:
                self._highs.pop()
            self._highs.append((cur[_MINUTE], cur[_HIGH]))
            while self._lows and self._lows[-1][1] >= cur[_LOW]:
                self._lows.pop()
            self._lows.append((cur[_MINUTE], cur[_LOW]))
        horizon = minute - WINDOW_MINUTES
        closed = self._closed
        while closed and closed[0][_MINUTE] <= horizon:
            old = closed.popleft()
            self._volume -= old[_VOL]
            self._quote_volume -= old[_QVOL]
        while self._highs and self._highs[0][0] <= horizon:
            self._highs.popleft()
        while self._lows and self._lows[0][0] <= horizon:
            self._lows.popleft()

    def snapshot(self) -> Ticker24h:
        cur = self._cur
        if not self._closed:
            return Ticker24h(open=cur[_OPEN], high=cur[_HIGH], low=cur[_LOW], last=cur[_CLOSE], volume=cur[_VOL],
                             quote_volume=cur[_QVOL])
        return Ticker24h(open=self._closed[0][_OPEN], high=max(self._highs[0][1], cur[_HIGH]),
                         low=min(self._lows[0][1], cur[_LOW]), last=cur[_CLOSE], volume=self._volume + cur[_VOL],
                         quote_volume=self._quote_volume + cur[_QVOL])
