"""``synthetic``: a seeded random walk, for machines with neither internet nor candle files.

NOT MARKET DATA. Every price it writes carries ``source: "synthetic"`` (API, tick events, /health).

Each pair walks on its own generator, seeded with ``"<seed>:<SYMBOL>"``, so a pair's path depends only on the
seed and the number of ticks (not on timing, nor on which other pairs are configured). A step multiplies the price
by ``exp(N(0, volatility_bps / 10,000))`` and rounds it to the tick size (never below one tick). Ticks are stamped
with wall-clock time; the book is synthesised around the price, the 24 h ticker rolled up from the walk.
"""

import math
import random
from decimal import Decimal

from trading.engine.types import InstrumentSpec

from ..book import BookShape, synthesise_book
from ..ticker import RollingTicker
from ..types import MarketUpdate
from .base import FeedSource

DEFAULT_START_PRICE = Decimal(100)


class SyntheticSource(FeedSource):
    name = "synthetic"

    def __init__(self, *, instruments: list[InstrumentSpec], seed: int = 42, interval: float = 1.0,
                 volatility_bps: Decimal = Decimal(5), start_prices: dict | None = None,
                 book_shape: BookShape | None = None, **kwargs):
        super().__init__(**kwargs)
        self.instruments = list(instruments)
        self.seed = seed
        self.interval = interval
        self.sigma = float(volatility_bps) / 10_000  # the walk's own state; prices leave it as Decimals
        self.start_prices = {k: Decimal(str(v)) for k, v in (start_prices or {}).items()}
        self.book_shape = book_shape or BookShape()
        self._next_due = 0.0
        self._walks: list[tuple] = []

    def describe(self) -> str:
        return f"synthetic random walk (seed {self.seed})"

    def open(self) -> None:
        self._walks = []
        for spec in self.instruments:
            start = self.start_prices.get(spec.symbol, DEFAULT_START_PRICE)
            rng = random.Random(f"{self.seed}:{spec.symbol}")
            self._walks.append([spec, rng, math.log(float(start)), RollingTicker(),
                                Decimal(str(float(self.book_shape.level_notional) / 5))])

    def poll(self) -> list[MarketUpdate]:
        if self.interval > 0:
            now = self.clock()
            if now < self._next_due:
                self.sleep(self._next_due - now)
            self._next_due = max(self._next_due + self.interval, self.clock())
        return self.step()

    def step(self) -> list[MarketUpdate]:
        """One tick of every pair, now."""
        now = self.clock()
        ts_ms = int(now * 1000)
        updates = []
        sigma = self.sigma
        for walk in self._walks:
            spec, rng, log_price, ticker, notional = walk
            log_price += rng.gauss(0.0, sigma)
            walk[2] = log_price
            tick = spec.tick_size
            price = max(tick, (Decimal(repr(math.exp(log_price))) / tick).to_integral_value() * tick)
            volume = ((notional * Decimal(repr(rng.expovariate(1.0))) / price) / spec.step_size
                      ).to_integral_value() * spec.step_size
            ticker.add(ts_ms, price, volume)
            updates.append(MarketUpdate(
                symbol=spec.symbol, price=price, ts_ms=ts_ms, received_at=now, volume=volume,
                book=synthesise_book(price, tick_size=tick, step_size=spec.step_size, shape=self.book_shape),
                ticker=ticker.snapshot()))
        return updates
