"""A synthetic order book around a price (replay and synthetic sources have no real book).

Best bid and best ask sit ``spread_bps`` apart, centred on the price (bid rounded down, ask rounded up to the tick,
so the spread is never below one tick). Further levels step away by ``level_step_bps`` of the price (at least one
tick). The best level holds ``level_notional`` quote worth of base, rounded down to the step size (at least one
step); level ``i`` (0 = best) holds ``1 + i / 2`` times that, rounded down to the step. With the defaults (2 bps
spread, 1 bp steps, 25,000 USDT at the best level, 20 levels) a BTC book at 65,000 shows 0.38461 BTC at the best
level and about 2.9 M USDT per side within 20 bps.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache

from trading.engine.types import BookLevel

from .types import Book

_BPS = Decimal(10_000)
_TWENTY_THOUSAND = Decimal(20_000)  # half the spread, in bps


@dataclass(frozen=True)
class BookShape:
    spread_bps: Decimal = Decimal(2)
    level_step_bps: Decimal = Decimal(1)
    level_notional: Decimal = Decimal(25_000)
    depth: int = 20

    @classmethod
    def from_settings(cls) -> "BookShape":
        from django.conf import settings

        return cls(spread_bps=Decimal(settings.FEED_BOOK_SPREAD_BPS),
                   level_step_bps=Decimal(settings.FEED_BOOK_LEVEL_STEP_BPS),
                   level_notional=Decimal(settings.FEED_BOOK_LEVEL_NOTIONAL), depth=settings.FEED_BOOK_DEPTH)


@lru_cache(maxsize=256)
def _units(value: Decimal) -> tuple[int, int]:
    """``value`` as ``(digits, exponent)``: 0.01 -> (1, -2), 0.5 -> (5, -1), 25 -> (25, 0)."""
    _sign, digits, exponent = value.normalize().as_tuple()
    number = int("".join(map(str, digits)))
    if exponent > 0:
        return number * 10 ** exponent, 0
    return number, exponent


class LadderBook:
    """A synthesised book, kept as a handful of integers (ticks and steps) until someone looks at it.

    The feed writes a synthetic book with every tick, so it stores the ladder itself, ``{"ladder": [...]}`` (nine
    integers), rather than 40 priced levels; ``Book.from_json`` expands it on read. ``bids`` / ``asks`` build the
    ``BookLevel``s on first use.
    """

    __slots__ = ("params", "_book")

    def __init__(self, *, tick: tuple[int, int], step: tuple[int, int], best_bid: int, best_ask: int,
                 level_step: int, best_qty: int, depth: int):
        # (tick digits, tick exponent, step digits, step exponent, best bid, best ask in ticks, level step in
        # ticks, best quantity in steps, depth)
        self.params = (tick[0], tick[1], step[0], step[1], best_bid, best_ask, level_step, best_qty, depth)
        self._book: Book | None = None

    def to_json(self) -> str:
        return '{"ladder":[' + ",".join(map(str, self.params)) + "]}"

    @staticmethod
    def expand(params) -> Book:
        tick, tick_exp, step, step_exp, best_bid, best_ask, level_step, best_qty, depth = (int(p) for p in params)
        bids, asks = [], []
        for i in range(depth):
            quantity = Decimal(step * (best_qty + best_qty * i // 2)).scaleb(step_exp)  # (1 + i/2) x the best
            bid = best_bid - level_step * i
            if bid > 0:
                bids.append(BookLevel(Decimal(tick * bid).scaleb(tick_exp), quantity))
            asks.append(BookLevel(Decimal(tick * (best_ask + level_step * i)).scaleb(tick_exp), quantity))
        return Book(bids=tuple(bids), asks=tuple(asks))

    def _levels(self) -> Book:
        if self._book is None:
            self._book = self.expand(self.params)
        return self._book

    @property
    def bids(self):
        return self._levels().bids

    @property
    def asks(self):
        return self._levels().asks


def synthesise_book(price: Decimal, *, tick_size: Decimal, step_size: Decimal, shape: BookShape) -> LadderBook:
    # Whole ticks and whole steps in integers: exact, and far cheaper per level than Decimal rounding (the feed
    # synthesises a book for every tick it writes).
    half_spread = price * shape.spread_bps / _TWENTY_THOUSAND
    best_bid = int((price - half_spread) / tick_size)  # floor: the operand is positive
    best_ask = int(((price + half_spread) / tick_size).to_integral_value(rounding=ROUND_CEILING))
    if best_ask <= best_bid:
        best_ask = best_bid + 1
    level_step = max(1, int((price * shape.level_step_bps / _BPS / tick_size).to_integral_value(
        rounding=ROUND_CEILING)))
    best_qty = max(1, int(shape.level_notional / price / step_size))  # whole steps at the best level
    return LadderBook(tick=_units(tick_size), step=_units(step_size), best_bid=best_bid, best_ask=best_ask,
                      level_step=level_step, best_qty=best_qty, depth=shape.depth)
