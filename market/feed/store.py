"""The feed's writer: each pair's latest state in Redis (one hash per pair) plus a published event per tick.

One round trip per batch of ticks: a Lua script (``WRITE_BATCH``) that does the ``HSET`` of each pair touched (only
its last state in the batch) and then two ``PUBLISH`` per tick (all-pairs and per-pair channels). One command
instead of hundreds: the per-command cost of the client, not Redis, is what limits a Python feed. Hashes are written
before events are published (and atomically with them), so a consumer woken by an event always reads a price at
least as new as the event.

Embedded mode (no Redis): the pair states go to the Django cache as dicts with the same fields, and nothing is
published (see ``market.ticks`` for how consumers poll instead).
"""

import os
import time

from django.core.cache import cache

from common.redis import get_redis
from market import keys
from market.feed.types import MarketUpdate, dec_str
from market.ticks import tick_event_json

# ARGV: the number of hashes H; H times: key, number of field/value pairs N, N pairs; then the all-pairs channel,
# then (channel, event) pairs. KEYS stays empty: this is not Redis Cluster, and key names are computed per batch.
WRITE_BATCH = """
local i = 2
for _ = 1, tonumber(ARGV[1]) do
  local key, n = ARGV[i], tonumber(ARGV[i + 1])
  redis.call('HSET', key, unpack(ARGV, i + 2, i + 1 + 2 * n))
  i = i + 2 + 2 * n
end
local all = ARGV[i]
for j = i + 1, #ARGV, 2 do
  redis.call('PUBLISH', all, ARGV[j + 1])
  redis.call('PUBLISH', ARGV[j], ARGV[j + 1])
end
return #ARGV
"""


class PriceWriter:
    def __init__(self, *, redis=None, publish: bool = True):
        self.redis = redis if redis is not None else get_redis()
        self.publish = publish
        self._script = self.redis.register_script(WRITE_BATCH) if self.redis is not None else None

    def write(self, updates: list[MarketUpdate], *, source: str) -> None:
        if not updates:
            return
        latest: dict[str, dict] = {}
        books: dict[str, object] = {}
        tickers: dict[str, object] = {}
        for u in updates:
            latest[u.symbol] = {keys.F_PRICE: dec_str(u.price), keys.F_TS: u.ts_ms, keys.F_SOURCE: source,
                                keys.F_RECEIVED: repr(u.received_at)}
            if u.book is not None:
                books[u.symbol] = u.book
            if u.ticker is not None:
                tickers[u.symbol] = u.ticker
        # JSON-encode only the last book / ticker of each pair in the batch.
        for symbol, book in books.items():
            latest[symbol][keys.F_BOOK] = book.to_json()
        for symbol, ticker in tickers.items():
            latest[symbol][keys.F_TICKER] = ticker.to_json()

        if self.redis is None:
            self._write_cache(latest)
            return
        args: list = [len(latest)]
        for symbol, mapping in latest.items():
            args += [keys.pair_key(symbol), len(mapping)]
            for field, value in mapping.items():
                args += [field, value]
        args.append(keys.ticks_channel())
        if self.publish:
            for u in updates:
                args += [keys.ticks_channel(u.symbol), tick_event_json(u, source)]
        self._script(args=args)

    @staticmethod
    def _write_cache(latest: dict[str, dict]) -> None:
        names = {keys.pair_key(s): s for s in latest}
        current = cache.get_many(list(names))
        merged = {}
        for key, symbol in names.items():
            state = dict(current.get(key) or {})
            state.update({k: str(v) for k, v in latest[symbol].items()})
            merged[key] = state
        cache.set_many(merged, timeout=None)

    # --- the feed process's own status (read by market.selectors.feed_info) ------------------------------------------
    def set_feed_status(self, **fields) -> None:
        fields = {k: ("" if v is None else str(v)) for k, v in fields.items()}
        fields.setdefault("pid", str(os.getpid()))
        fields["heartbeat"] = repr(time.time())
        if self.redis is None:
            state = dict(cache.get(keys.feed_key()) or {})
            state.update(fields)
            cache.set(keys.feed_key(), state, timeout=None)
        else:
            self.redis.hset(keys.feed_key(), mapping=fields)
