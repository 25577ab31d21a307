"""A synthetic order book around a price (replay and synthetic sources have no real book).

Best bid and best ask sit ``spread_bps`` apart, centred on the price (bid rounded down, ask rounded up to the tick,
so the spread is never below one tick). Further levels step away by ``level_step_bps`` of the price (at least one
tick). The best level holds ``level_notional`` quote worth of base, rounded down to the step size (at least one
step); level ``i`` (0 = best) holds ``1 + i / 2`` times that, rounded down to the step. With the defaults (2 bps
spread, 1 bp steps, 25,000 USDT at the best level, 20 levels) a BTC book at 65,000 shows 0.38461 BTC at the best
level and about 2.9 M USDT per side within 20 bps.
"""

from dataclasses import dataclass
from functools import lru_cache
from decimal import ROUND_CEILING, Decimal

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


def _text(number: int, exponent: int) -> str:
    """``number * 10**exponent`` (exponent <= 0) as a plain decimal string, without building a Decimal."""
    if not exponent:
        return str(number)
    text = str(number).rjust(1 - exponent, "0")
    return text[:exponent] + "." + text[exponent:]


class LadderBook:
    """A synthesised book, kept as integers (ticks and steps) until someone looks at it.

    The feed writes a synthetic book for every tick, and only as JSON: producing the JSON straight from the
    integers costs a fraction of building 40 Decimal levels first. ``bids`` / ``asks`` build the ``BookLevel``s on
    first use, for callers that want them.
    """

    __slots__ = ("_tick", "_step", "_best_bid", "_best_ask", "_level_step", "_best_qty", "_depth", "_book")

    def __init__(self, *, tick: tuple[int, int], step: tuple[int, int], best_bid: int, best_ask: int,
                 level_step: int, best_qty: int, depth: int):
        self._tick, self._step = tick, step
        self._best_bid, self._best_ask, self._level_step = best_bid, best_ask, level_step
        self._best_qty, self._depth = best_qty, depth
        self._book: Book | None = None

    def _ladder(self):
        """(bid ticks, ask ticks, quantity steps) per level; bids that would reach zero are left out."""
        for i in range(self._depth):
            bid = self._best_bid - self._level_step * i
            yield (bid if bid > 0 else None), self._best_ask + self._level_step * i, \
                self._best_qty + self._best_qty * i // 2

    def to_json(self) -> str:
        (tick, tick_exp), (step, step_exp) = self._tick, self._step
        bids, asks = [], []
        for bid, ask, qty in self._ladder():
            q = _text(qty * step, step_exp)
            if bid is not None:
                bids.append('["' + _text(bid * tick, tick_exp) + '","' + q + '"]')
            asks.append('["' + _text(ask * tick, tick_exp) + '","' + q + '"]')
        return '{"b":[' + ",".join(bids) + '],"a":[' + ",".join(asks) + "]}"

    def _levels(self) -> Book:
        if self._book is None:
            (tick, tick_exp), (step, step_exp) = self._tick, self._step
            bids, asks = [], []
            for bid, ask, qty in self._ladder():
                quantity = Decimal(qty * step).scaleb(step_exp)
                if bid is not None:
                    bids.append(BookLevel(Decimal(bid * tick).scaleb(tick_exp), quantity))
                asks.append(BookLevel(Decimal(ask * tick).scaleb(tick_exp), quantity))
            self._book = Book(bids=tuple(bids), asks=tuple(asks))
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
