"""What sources produce and the writer stores. Plain dataclasses, Decimal prices, no Django."""

import json
from dataclasses import dataclass
from decimal import Decimal

from trading.engine.types import BookLevel

ZERO = Decimal(0)


def dec_str(value: Decimal) -> str:
    """A decimal as a plain string (never exponent notation): what goes into Redis and tick events.

    ``str`` is several times faster than ``format(value, "f")`` and gives the same text unless the exponent is
    large; this runs for every number of every tick."""
    text = str(value)
    return format(value, "f") if "E" in text else text


def _levels_json(levels) -> str:
    return ",".join(['["' + dec_str(lv.price) + '","' + dec_str(lv.quantity) + '"]' for lv in levels])


@dataclass(frozen=True, slots=True)
class Book:
    """Top of the order book: bids best (highest) first, asks best (lowest) first."""

    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]

    def to_json(self) -> str:
        # Written by hand (decimal strings need no escaping): json.dumps of the nested lists costs twice as much.
        return '{"b":[' + _levels_json(self.bids) + '],"a":[' + _levels_json(self.asks) + "]}"

    @classmethod
    def from_json(cls, raw: str | bytes) -> "Book":
        data = json.loads(raw)
        if "ladder" in data:  # a synthesised book, stored as its ladder (market.feed.book.LadderBook)
            from .book import LadderBook

            return LadderBook.expand(data["ladder"])
        return cls(bids=tuple(BookLevel(Decimal(p), Decimal(q)) for p, q in data["b"]),
                   asks=tuple(BookLevel(Decimal(p), Decimal(q)) for p, q in data["a"]))


@dataclass(frozen=True, slots=True)
class Ticker24h:
    """Rolling 24 h statistics. ``volume`` is base volume, ``quote_volume`` quote volume."""

    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    volume: Decimal
    quote_volume: Decimal | None = None

    @property
    def change(self) -> Decimal:
        return self.last - self.open

    @property
    def change_pct(self) -> Decimal | None:
        if not self.open:
            return None
        return (self.last - self.open) * 100 / self.open

    def to_json(self) -> str:
        qv = "null" if self.quote_volume is None else '"' + dec_str(self.quote_volume) + '"'
        return ('{"o":"' + dec_str(self.open) + '","h":"' + dec_str(self.high) + '","l":"' + dec_str(self.low)
                + '","c":"' + dec_str(self.last) + '","v":"' + dec_str(self.volume) + '","qv":' + qv + "}")

    @classmethod
    def from_json(cls, raw: str | bytes) -> "Ticker24h":
        d = json.loads(raw)
        return cls(open=Decimal(d["o"]), high=Decimal(d["h"]), low=Decimal(d["l"]), last=Decimal(d["c"]),
                   volume=Decimal(d["v"]), quote_volume=None if d.get("qv") is None else Decimal(d["qv"]))


@dataclass(slots=True)
class MarketUpdate:
    """One tick from a source: the pair's new last price and what came with it.

    ``ts_ms`` is the source's timestamp (exchange time, or candle time for a replay); ``received_at`` is wall-clock
    epoch seconds when the tick reached this process (for a replay: when it was played). ``volume`` is the base
    volume traded since the previous tick of the pair (what the candle builder adds up).
    """

    symbol: str
    price: Decimal
    ts_ms: int
    received_at: float
    volume: Decimal = ZERO
    book: Book | None = None  # or a ``market.feed.book.LadderBook``: anything with bids, asks and to_json()
    ticker: Ticker24h | None = None
