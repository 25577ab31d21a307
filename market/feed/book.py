"""A synthetic order book around a price (replay and synthetic sources have no real book).

Best bid and best ask sit ``spread_bps`` apart, centred on the price (bid rounded down, ask rounded up to the tick,
so the spread is never below one tick). Further levels step away by ``level_step_bps`` of the price (at least one
tick). Level ``i`` (0 = best) holds ``level_notional * (1 + i / 2)`` quote worth of base, rounded down to the step
size (at least one step). With the defaults (2 bps spread, 1 bp steps, 25,000 USDT at the best level, 20 levels)
a BTC book at 65,000 shows 0.38461 BTC at the best level and about 2.9 M USDT per side within 20 bps.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from trading.engine.types import BookLevel

from .types import Book

_BPS = Decimal(10_000)
_HALF = Decimal("0.5")


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


def _down(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def _up(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_UP) * step


def synthesise_book(price: Decimal, *, tick_size: Decimal, step_size: Decimal, shape: BookShape) -> Book:
    half_spread = price * shape.spread_bps / _BPS / 2
    best_bid = _down(price - half_spread, tick_size)
    best_ask = _up(price + half_spread, tick_size)
    if best_ask <= best_bid:
        best_ask = best_bid + tick_size
    level_step = max(tick_size, _up(price * shape.level_step_bps / _BPS, tick_size))
    bids, asks = [], []
    for i in range(shape.depth):
        qty = max(step_size, _down(shape.level_notional * (1 + i * _HALF) / price, step_size))
        bid = best_bid - level_step * i
        if bid > 0:
            bids.append(BookLevel(bid, qty))
        asks.append(BookLevel(best_ask + level_step * i, qty))
    return Book(bids=tuple(bids), asks=tuple(asks))
