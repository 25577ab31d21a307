"""The per-process fan-out: ONE bus subscription, dispatching to the asyncio queues of the process's connections.

A web process (one uvicorn worker, one event loop) has one :class:`Hub`. It runs one source task:

- ``redis``: a single ``redis.asyncio`` pub/sub connection subscribed to the bus channel (orders, fills, positions,
  books) and to the market feed's tick channel. A tick of a pair that some ``/stream/events`` connection watches
  makes the hub re-read that pair's book once (not once per connection) and dispatch it.
- ``outbox``: a poll of ``streams_outboxevent`` every ``STREAMS_OUTBOX_POLL_MS`` and of the watched pairs' books
  every ``STREAMS_BOOK_POLL_MS``; old rows are pruned.

Connections are indexed by agent and by symbol; a message goes to the connections of its agent, plus (fills and
books) those watching its symbol. A connection's queue is bounded: one that falls behind is re-synced with a fresh
snapshot instead of growing without limit.

If the source fails, every connection is told (an ``error`` event, retryable) and, once it is back, re-synced with
a fresh snapshot, since events may have been missed meanwhile.
"""

import asyncio
import logging
import time
from collections import defaultdict
from datetime import timedelta

from django.conf import settings

from streams import bus
from streams.aio import run_sync

logger = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 5.0
BACKOFF_INITIAL_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0
OUTBOX_GAP_SECONDS = 10.0  # an id skipped for this long belonged to a rolled-back transaction
OUTBOX_PRUNE_EVERY_SECONDS = 60.0


class BusUnavailable(Exception):
    pass


class _SharedRead:
    """One read for every caller asking at about the same time, never a read that started before the caller asked.

    A snapshot must be read after its connection attached (or it could miss a change committed in between), so a
    caller never joins a read already under way: it waits for the next one, which starts when that one ends. A
    burst of connections on one pair thus costs two reads, not one per connection.
    """

    def __init__(self, read):
        self._read = read
        self._running = False
        self._next: asyncio.Future | None = None

    async def get(self):
        if not self._running:
            future = self._start()
        else:
            if self._next is None:
                self._next = asyncio.get_running_loop().create_future()
            future = self._next
        return await asyncio.shield(future)  # a caller that goes away does not cancel the others' read

    def _start(self, future: asyncio.Future | None = None) -> asyncio.Future:
        future = future or asyncio.get_running_loop().create_future()
        self._running = True
        asyncio.create_task(self._run(future))
        return future

    async def _run(self, future: asyncio.Future) -> None:
        try:
            future.set_result(await self._read())
        except Exception as exc:  # noqa: BLE001 - handed to every waiter
            future.set_exception(exc)
        finally:
            self._running = False
            if self._next is not None:
                waiting, self._next = self._next, None
                self._start(waiting)


class Hub:
    def __init__(self):
        self.by_agent: dict[str, set] = defaultdict(set)
        self.by_symbol: dict[str, set] = defaultdict(set)
        self.ready = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._books_inflight: set[str] = set()
        self._books_dirty: set[str] = set()
        self._market_reads: dict[str, _SharedRead] = {}
        self._ups = 0  # times the source came up

    # --- connections ---------------------------------------------------------------------------------------------
    async def attach(self, conn) -> None:
        """Register ``conn``, then wait until the bus delivers: its snapshot must be taken after that point, so that
        every change committed after the snapshot reaches it."""
        self.by_agent[conn.agent_id].add(conn)
        if conn.symbol:
            self.by_symbol[conn.symbol].add(conn)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="streams-hub")
        try:
            await asyncio.wait_for(self.ready.wait(), READY_TIMEOUT_SECONDS)
        except TimeoutError:
            self.detach(conn)
            raise BusUnavailable("the event bus is unreachable") from None

    def detach(self, conn) -> None:
        for index, key in ((self.by_agent, conn.agent_id), (self.by_symbol, conn.symbol)):
            conns = index.get(key)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del index[key]

    def connections(self) -> set:
        return set().union(*self.by_agent.values()) if self.by_agent else set()

    # --- dispatch ------------------------------------------------------------------------------------------------
    def dispatch(self, message: dict) -> None:
        agent = message.get("agent")
        targets = self.by_agent.get(agent, ()) if agent else ()
        symbol = message.get("symbol")
        if symbol and (message.get("fills") or message.get("book")) and symbol in self.by_symbol:
            targets = set(targets) | self.by_symbol[symbol]
        for conn in tuple(targets):
            conn.offer(message)

    def _bus_down(self) -> None:
        self.ready.clear()
        for conn in self.connections():
            conn.bus_down()

    def _bus_up(self, *, after_failure: bool) -> None:
        self._ups += 1
        self.ready.set()
        if after_failure:
            for conn in self.connections():
                conn.resync("bus_reconnected")

    async def market_snapshot(self, symbol: str):
        """The public part of a pair's snapshot (book at full depth, recent trades), shared by the connections that
        ask together (see :class:`_SharedRead`)."""
        from streams.selectors import market_snapshot

        reader = self._market_reads.get(symbol)
        if reader is None:
            reader = self._market_reads[symbol] = _SharedRead(
                lambda: run_sync(market_snapshot, symbol=symbol, depth=max_depth(),
                                 recent=settings.STREAMS_RECENT_TRADES))
        return await reader.get()

    # --- books ---------------------------------------------------------------------------------------------------
    def on_tick(self, symbol: str) -> None:
        """A pair moved: re-read its book for the connections watching it (at most one read in flight per pair)."""
        if symbol not in self.by_symbol:
            return
        if symbol in self._books_inflight:
            self._books_dirty.add(symbol)
            return
        self._books_inflight.add(symbol)
        asyncio.create_task(self._refresh_book(symbol))

    async def _refresh_book(self, symbol: str) -> None:
        from streams.selectors import book_read

        try:
            while symbol in self.by_symbol:
                self._books_dirty.discard(symbol)
                book, src = await run_sync(book_read, symbol=symbol, depth=max_depth())
                if book is not None:
                    self.dispatch({"symbol": symbol, "book": book, "src": src, "ts": time.time()})
                if symbol not in self._books_dirty:
                    break
        except Exception:  # noqa: BLE001 - a failed book read must not kill the hub; the next tick retries
            logger.exception("book refresh of %s failed", symbol)
        finally:
            self._books_inflight.discard(symbol)

    # --- sources -------------------------------------------------------------------------------------------------
    async def _run(self) -> None:
        source = self._redis_source if settings.STREAMS_BUS == "redis" else self._outbox_source
        backoff = BACKOFF_INITIAL_SECONDS
        after_failure = False
        while True:
            ups = self._ups
            try:
                await source(after_failure=after_failure)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect on anything: the hub must outlive hiccups
                if self._ups != ups:  # it had come up since the last failure: this is a new outage
                    backoff = BACKOFF_INITIAL_SECONDS
                logger.warning("stream bus source failed (%s: %s); reconnecting in %.1fs",
                               type(exc).__name__, exc, backoff)
                if self.ready.is_set():
                    self._bus_down()
                after_failure = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)

    async def _redis_source(self, *, after_failure: bool) -> None:
        import redis.asyncio as aioredis

        from market import keys as market_keys

        events, ticks = bus.events_channel(), market_keys.ticks_channel()
        client = aioredis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(events, ticks)
            confirmed = 0
            async for message in pubsub.listen():
                kind = message["type"]
                if kind == "subscribe":
                    # Ready only once the server confirmed both subscriptions: from here on nothing is missed.
                    confirmed += 1
                    if confirmed == 2:
                        self._bus_up(after_failure=after_failure)
                    continue
                if kind != "message":
                    continue
                channel = message["channel"].decode()
                if channel == events:
                    self.dispatch(bus.decode(message["data"]))
                elif channel == ticks:
                    self.on_tick(_tick_symbol(message["data"]))
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def _outbox_source(self, *, after_failure: bool) -> None:
        from streams.selectors import book_read, outbox_last_id, outbox_read
        from streams.services import outbox_prune

        poll = settings.STREAMS_OUTBOX_POLL_MS / 1000
        book_every = settings.STREAMS_BOOK_POLL_MS / 1000
        last_id = await run_sync(outbox_last_id)
        gaps: dict[int, float] = {}  # ids not visible yet (a transaction still open) -> when first missed
        books: dict[str, dict] = {}
        next_book = next_prune = 0.0
        self._bus_up(after_failure=after_failure)
        while True:
            rows = await run_sync(outbox_read, after_id=last_id, also_ids=list(gaps))
            now = time.monotonic()
            for row_id, message in rows:
                gaps.pop(row_id, None)
                if row_id > last_id:
                    # Ids are handed out at insert but become visible at commit, possibly out of order: remember
                    # the skipped ones for a while instead of missing them for good.
                    gaps.update({i: now for i in range(last_id + 1, row_id)})
                    last_id = row_id
                self.dispatch(message)
            for gap_id, since in list(gaps.items()):
                if now - since > OUTBOX_GAP_SECONDS:
                    del gaps[gap_id]
            if now >= next_book:
                next_book = now + book_every
                for symbol in list(self.by_symbol):
                    book, src = await run_sync(book_read, symbol=symbol, depth=max_depth())
                    if book is not None and book != books.get(symbol):
                        books[symbol] = book
                        self.dispatch({"symbol": symbol, "book": book, "src": src, "ts": time.time()})
            if now >= next_prune:
                next_prune = now + OUTBOX_PRUNE_EVERY_SECONDS
                await run_sync(outbox_prune, older_than=timedelta(seconds=settings.STREAMS_OUTBOX_RETENTION_SECONDS))
            await asyncio.sleep(poll)


def max_depth() -> int:
    from streams.views import MAX_DEPTH

    return MAX_DEPTH


def _tick_symbol(raw: bytes) -> str:
    return bus.decode(raw).get("symbol", "")


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def get_hub() -> Hub:
    """The hub of the running event loop (one per process under uvicorn)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for old in [lp for lp in _hubs if lp.is_closed()]:
            del _hubs[old]
        hub = _hubs[loop] = Hub()
    return hub
