"""How a replayed candle becomes ticks (pure functions, no Django).

The tick-path rule
------------------
A candle (open, high, low, close) is played as a path through its four prices, in the order its shape makes
likely:

- bullish (close > open): open -> low -> high -> close (it dipped first, then rallied to the close);
- bearish (close < open): open -> high -> low -> close;
- flat (close == open): the nearer extreme first (open -> high -> low -> close when high - open <= open - low,
  else open -> low -> high -> close).

With more than four points, the extra points are spread evenly over the three legs, linearly interpolated,
rounded to the pair's tick size and clamped to [low, high]. So every tick lies inside the candle's range, the
candle's open, high, low and close are all visited (a limit order anywhere inside the range fills), and the same
candle always gives the same path. Tick ``i`` of ``n`` is stamped ``open_time + i * 60 s / n``: every tick lies in
the candle's minute, so a candle rebuilt from the ticks is the input candle.
"""

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

MIN_POINTS = 4


def waypoints(o: Decimal, h: Decimal, l: Decimal,  # noqa: E741
              c: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    if c > o:
        return (o, l, h, c)
    if c < o:
        return (o, h, l, c)
    return (o, h, l, c) if (h - o) <= (o - l) else (o, l, h, c)


def tick_path(o: Decimal, h: Decimal, l: Decimal, c: Decimal, *, points: int = MIN_POINTS,  # noqa: E741
              tick_size: Decimal | None = None) -> list[Decimal]:
    """``points`` prices (at least 4) from open to close through both extremes; see the module docstring."""
    points = max(MIN_POINTS, points)
    legs = waypoints(o, h, l, c)
    extra = points - MIN_POINTS
    path = [legs[0]]
    for i in range(3):
        a, b = legs[i], legs[i + 1]
        k = extra // 3 + (1 if i < extra % 3 else 0)
        for j in range(1, k + 1):
            p = a + (b - a) * j / (k + 1)
            if tick_size:
                p = (p / tick_size).to_integral_value(rounding=ROUND_HALF_EVEN) * tick_size
            path.append(min(h, max(l, p)))
        path.append(b)
    return path


def split_volume(volume: Decimal, parts: int) -> list[Decimal]:
    """``parts`` non-negative shares of ``volume`` at its own precision that add up to exactly ``volume``."""
    exponent = min(volume.as_tuple().exponent, 0)
    quantum = Decimal(1).scaleb(exponent)
    share = (volume / parts).quantize(quantum, rounding=ROUND_DOWN)
    return [share] * (parts - 1) + [volume - share * (parts - 1)]


def tick_offsets_ms(points: int, candle_ms: int = 60_000) -> list[int]:
    points = max(MIN_POINTS, points)
    return [i * candle_ms // points for i in range(points)]
