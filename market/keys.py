"""Every Redis key and pub/sub channel name of the market app, in one place.

All names start with ``settings.MARKET_KEY_PREFIX`` (default ``mkt``) so that parallel test runs can share a Redis
database without seeing each other's prices.

- ``<prefix>:px:<SYMBOL>``  hash: the latest state of a pair (price, timestamps, source, book, 24 h ticker)
- ``<prefix>:feed``         hash: the running feed process (source, fallback reason, pid, heartbeat)
- ``<prefix>:ticks``        channel: every tick of every pair
- ``<prefix>:ticks:<SYMBOL>`` channel: the ticks of one pair
"""

from django.conf import settings


def prefix() -> str:
    return settings.MARKET_KEY_PREFIX


def pair_key(symbol: str) -> str:
    return f"{settings.MARKET_KEY_PREFIX}:px:{symbol}"


def feed_key() -> str:
    return f"{settings.MARKET_KEY_PREFIX}:feed"


def ticks_channel(symbol: str | None = None) -> str:
    base = f"{settings.MARKET_KEY_PREFIX}:ticks"
    return base if symbol is None else f"{base}:{symbol}"


# Fields of the pair hash. Short names: they are written on every tick.
F_PRICE = "p"  # decimal string
F_TS = "ts"  # source timestamp, epoch milliseconds
F_SOURCE = "src"  # live | replay | synthetic | ...
F_RECEIVED = "rx"  # wall-clock arrival, epoch seconds (float repr)
F_BOOK = "book"  # JSON {"b": [[p, q], ...], "a": [[p, q], ...]}
F_TICKER = "tk"  # JSON {"o", "h", "l", "c", "v", "qv", "since"}
