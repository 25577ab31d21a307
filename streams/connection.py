"""One SSE connection: a bounded queue fed by the hub, folded into a snapshot-then-deltas protocol.

The wire (``text/event-stream``)::

    retry: 3000

    id: 3f2a9c1e0b7d-1
    event: snapshot
    data: {"event_id": "3f2a9c1e0b7d-1", "event_type": "UserStreamSnapshot", "event_seq": 1,
           "engine_ts": "...", "source_ts": "...", "payload": {...}}

    :heartbeat

    id: 3f2a9c1e0b7d-2
    event: delta
    data: {... "event_seq": 2, "payload": {"orders": [...], "fills": [...],
                                          "positions": {"upserts": [...], "removed_ids": [...]}}}

``event_seq`` rises by exactly one per event. Changes are batched: the first change after a quiet spell goes out
after ``STREAMS_COALESCE_MS`` (so an order, its fill and its position, published by one commit, share a delta).
Executions (fills, public trades, order and position changes) are sent as soon as that short window closes; changes
of the book alone are sent no more often than every ``interval_ms`` (the diff cadence). A connection that falls behind, a reconnect of the bus, or a new main
wallet (a reset) is answered with a fresh ``snapshot`` instead of deltas that could not be trusted.
"""

import asyncio
import logging
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from django.conf import settings

from streams.aio import run_sync
from streams.hub import BusUnavailable
from streams.payloads import public_trade

logger = logging.getLogger(__name__)

HEARTBEAT = b":heartbeat\n\n"
RETRY_MS = 3000  # EventSource reconnection delay we suggest
# What a connection remembers to drop stale or repeated events, bounded so that a long-lived connection stays small
# (500 connections x these). The bus delivers each message once; repeats come from the snapshot overlapping the first
# events, or from a producer reporting a change twice, both recent.
KNOWN_VERSIONS = 2000  # orders / positions: id -> version
KNOWN_FILLS = 1000  # the agent's fill ids
KNOWN_TRADES = 200  # public trade ids (the snapshot's 50 and what followed)


@dataclass(frozen=True)
class StreamSpec:
    kind: str  # "user" | "events"
    agent: object  # agents.models.Agent
    interval_ms: int
    open_only: bool = False
    symbol: str | None = None
    depth: int = 25
    last_event_id: str | None = None


@dataclass(frozen=True)
class StreamAuth:
    """Who opened the stream; re-checked every ``STREAMS_REAUTH_SECONDS`` so a revoked key ends it."""

    agent_id: str
    account_id: str
    key_id: str | None = None  # agent key; None for an owner's JWT
    token_exp: float | None = None  # JWT expiry (epoch seconds)

    async def still_valid(self) -> bool:
        from streams.selectors import stream_key_valid, stream_owner_valid

        if self.token_exp is not None and time.time() >= self.token_exp:
            return False
        try:
            if self.key_id is not None:
                return await run_sync(stream_key_valid, key_id=self.key_id)
            return await run_sync(stream_owner_valid, account_id=self.account_id, agent_id=self.agent_id)
        except Exception:  # noqa: BLE001 - a database blip must not cut every stream; check again next time
            logger.exception("stream credential re-check failed")
            return True


class _Recent:
    """A bounded set: the last ``limit`` ids added."""

    def __init__(self, limit: int):
        self._order: deque = deque()
        self._ids: set = set()
        self._limit = limit

    def add(self, item) -> bool:
        """Add; False if it was already there."""
        if item in self._ids:
            return False
        self._ids.add(item)
        self._order.append(item)
        if len(self._order) > self._limit:
            self._ids.discard(self._order.popleft())
        return True


class _Versions:
    """Latest version (``updated_at``) per id, bounded: a state no newer than what the client has is dropped."""

    def __init__(self, limit: int = KNOWN_VERSIONS):
        self._known: OrderedDict = OrderedDict()
        self._limit = limit

    def newer(self, item: dict) -> bool:
        key, v = item["id"], item.get("v") or 0.0
        prev = self._known.get(key)
        if prev is not None and v <= prev:
            return False
        self._known[key] = v
        self._known.move_to_end(key)
        if len(self._known) > self._limit:
            self._known.popitem(last=False)
        return True


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class StreamConnection:
    def __init__(self, *, spec: StreamSpec, auth: StreamAuth, hub):
        self.spec = spec
        self.auth = auth
        self.hub = hub
        self.id = uuid.uuid4().hex[:12]
        self.agent_id = str(spec.agent.pk)
        self.symbol = spec.symbol
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=settings.STREAMS_QUEUE_SIZE)
        self.seq = 0
        self.wallet_id: str | None = None
        self._old_wallets: set[str] = set()
        self._resync: str | None = None
        self._bus_error = False
        self._p_events: list = []  # agent-level events (battle.*): not dropped by a re-sync
        self._reset_state()

    # --- called by the hub (same event loop, never blocks) ----------------------------------------------------------
    def offer(self, message: dict | None) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # The client reads slower than events come: what it would get is already stale. Re-sync it.
            self._resync = self._resync or "overflow"

    def resync(self, reason: str) -> None:
        self._resync = self._resync or reason
        self.offer(None)  # wake the loop

    def bus_down(self) -> None:
        self._bus_error = True
        self.offer(None)

    # --- the SSE body ----------------------------------------------------------------------------------------------
    async def frames(self):
        """The async iterator behind the StreamingHttpResponse. Cancelled by Django when the client goes away."""
        loop = asyncio.get_running_loop()
        hb = settings.STREAMS_HEARTBEAT_SECONDS
        reauth = settings.STREAMS_REAUTH_SECONDS
        interval = self.spec.interval_ms / 1000
        coalesce = settings.STREAMS_COALESCE_MS / 1000
        yield f"retry: {RETRY_MS}\n\n".encode()
        try:  # from here on, however this ends (a client going away cancels us anywhere), the hub forgets us
            try:
                await self.hub.attach(self)
            except BusUnavailable:
                yield self._error("UPSTREAM_UNAVAILABLE", "The event bus is unreachable; reconnect later.", True)
                return
            try:
                yield await self._snapshot("reconnect" if self.spec.last_event_id else "connect")
            except Exception:  # noqa: BLE001
                logger.exception("stream snapshot failed")
                yield self._error("SNAPSHOT_FAILED", "Could not read the current state; reconnect.", True)
                return
            next_hb = loop.time() + hb
            next_auth = loop.time() + reauth
            last_emit = loop.time()
            while True:
                now = loop.time()
                if now >= next_hb:
                    yield HEARTBEAT
                    next_hb = now + hb
                if now >= next_auth:
                    next_auth = now + reauth
                    if not await self.auth.still_valid():
                        yield self._error("AUTHENTICATION_FAILED",
                                          "The credentials of this stream are no longer valid.", False)
                        return
                try:
                    async with asyncio.timeout(max(0.0, min(next_hb, next_auth) - loop.time())):
                        message = await self.queue.get()
                except TimeoutError:
                    continue
                self._take(message)
                if message is not None:
                    self._drain()
                    # Batch: wait a moment for the rest of the same commit. Executions (fills, trades, orders,
                    # positions) go out then; book-only changes also wait for the cadence (interval_ms). Keep
                    # heartbeats on time while waiting.
                    emit_at = loop.time() + coalesce
                    if not self._has_executions():
                        emit_at = max(emit_at, last_emit + interval)
                    while (now := loop.time()) < emit_at:
                        if next_hb < emit_at:
                            await asyncio.sleep(max(0.0, next_hb - now))
                            yield HEARTBEAT
                            next_hb = loop.time() + hb
                        else:
                            await asyncio.sleep(emit_at - now)
                    self._drain()
                if self._bus_error:
                    self._bus_error = False
                    yield self._error("UPSTREAM_UNAVAILABLE",
                                      "Events may be missed; a fresh snapshot follows when the bus is back.", True)
                if self._resync:
                    yield await self._snapshot(self._resync)
                    last_emit = loop.time()
                    if self._p_events:  # agent events that came with the switch follow the snapshot at once
                        frame = self._delta()
                        if frame is not None:
                            yield frame
                    continue
                frame = self._delta()
                if frame is not None:
                    yield frame
                    last_emit = loop.time()
        finally:
            self.hub.detach(self)

    # --- snapshot --------------------------------------------------------------------------------------------------
    async def _snapshot(self, reason: str) -> bytes:
        from streams.selectors import stream_snapshot

        self._resync = None
        while not self.queue.empty():  # all committed before the read below: the snapshot has them
            self.queue.get_nowait()
        private = run_sync(stream_snapshot, agent=self.spec.agent, symbol=self.symbol,
                           recent=settings.STREAMS_RECENT_TRADES)
        if self.symbol is None:
            snap, market = await private, None
        else:
            snap, market = await asyncio.gather(private, self.hub.market_snapshot(self.symbol))
        if self.wallet_id is not None and snap.wallet_id != self.wallet_id:
            self._old_wallets.add(self.wallet_id)
        self.wallet_id = snap.wallet_id
        self._reset_state()
        for item in snap.orders:
            self._orders.newer(item)
        for item in snap.fills:
            self._fill_ids.add(item["id"])
        for item in snap.positions:
            self._positions.newer(item)
            if item["open"]:
                self._open_ids.add(item["id"])
        positions = [p["data"] for p in snap.positions if p["open"] or not self.spec.open_only]
        payload = {"reason": reason, "resumed_from": self.spec.last_event_id if reason == "reconnect" else None,
                   "agent_id": self.agent_id, "wallet_id": snap.wallet_id,
                   "orders": [o["data"] for o in snap.orders], "fills": [f["data"] for f in snap.fills],
                   "positions": positions}
        source_ts = snap.taken_at
        if market is not None:
            for trade in market.trades:
                self._trade_ids.add(trade["id"])
            book = None
            if market.book is not None:
                book = {side: market.book[side][:self.spec.depth] for side in ("bids", "asks")}
                self._book = {side: dict(book[side]) for side in ("bids", "asks")}
            payload = {"symbol": self.symbol, "depth": self.spec.depth, "book": book, "trades": market.trades,
                       **payload}
            source_ts = market.book_ts or market.taken_at
        return self._frame("snapshot", "Snapshot", payload, snap.taken_at, source_ts)

    # --- folding events into the next delta ------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self._orders = _Versions()
        self._positions = _Versions()
        self._open_ids: set = set()  # positions the client currently holds as open (for removed_ids)
        self._fill_ids = _Recent(KNOWN_FILLS)
        self._trade_ids = _Recent(KNOWN_TRADES)
        self._book = {"bids": {}, "asks": {}}
        self._p_orders: dict = {}
        self._p_positions: dict = {}
        self._p_fills: list = []
        self._p_trades: list = []
        self._p_book: dict | None = None
        self._p_ts: float | None = None
        self._p_src: float | None = None

    def _drain(self) -> None:
        while not self.queue.empty():
            self._take(self.queue.get_nowait())

    def _take(self, m: dict | None) -> None:
        if m is None:
            return
        mine = m.get("agent") == self.agent_id
        if mine and m.get("event") is not None:  # an agent-level event (battle.*): kept across a re-sync
            self._p_events.append(m["event"])
            self._p_ts = max(self._p_ts or 0.0, m.get("ts") or 0.0)
            return
        if mine and m.get("switch"):  # the key now acts on another wallet (a battle began or ended)
            if m.get("wallet") != self.wallet_id:
                self.resync("wallet_changed")
            return
        if self._resync:
            return
        if mine and m.get("wallet") != self.wallet_id:
            if m.get("main") and m.get("wallet") not in self._old_wallets:
                self.resync("wallet_changed")  # a reset opened a new main wallet: move to it
            return  # another wallet of the agent (a battle's): not this stream's
        if self.symbol is not None and m.get("symbol") != self.symbol:
            return
        changed = False
        if self.symbol is not None:
            if m.get("book") is not None:
                self._p_book = m["book"]
                changed = True
            trades = m.get("_trades")
            if trades is None:  # once per message, not once per connection watching the pair
                trades = m["_trades"] = [public_trade(fill["data"]) for fill in m.get("fills", ())]
            for trade in trades:
                if self._trade_ids.add(trade["id"]):
                    self._p_trades.append(trade)
                    changed = True
        if mine:
            changed |= self._take_private(m)
        if changed:
            self._p_ts = max(self._p_ts or 0.0, m.get("ts") or 0.0)
            if m.get("src"):
                self._p_src = max(self._p_src or 0.0, m["src"])

    def _take_private(self, m: dict) -> bool:
        changed = False
        for fill in m.get("fills", ()):
            if self._fill_ids.add(fill["id"]):
                self._p_fills.append(fill["data"])
                changed = True
        for order in m.get("orders", ()):
            if self._orders.newer(order):
                self._p_orders[order["id"]] = order["data"]
                changed = True
        for position in m.get("positions", ()):
            if self._positions.newer(position):
                self._p_positions[position["id"]] = position
                changed = True
        return changed

    def _has_executions(self) -> bool:
        """Pending changes an agent must see at once: its fills, orders, positions, or the pair's trades."""
        return bool(self._p_fills or self._p_orders or self._p_positions or self._p_trades or self._p_events)

    def _delta(self) -> bytes | None:
        upserts, removed = [], []
        for key, item in self._p_positions.items():
            if item["open"]:
                upserts.append(item["data"])
                self._open_ids.add(key)
            elif not self.spec.open_only:
                upserts.append(item["data"])
                self._open_ids.discard(key)
            elif key in self._open_ids:
                self._open_ids.discard(key)
                removed.append(key)
        payload = {"orders": list(self._p_orders.values()), "fills": self._p_fills,
                   "positions": {"upserts": upserts, "removed_ids": removed}}
        has_news = bool(payload["orders"] or payload["fills"] or upserts or removed)
        if self.symbol is not None:
            book = self._book_changes()
            has_news |= bool(book or self._p_trades)
            payload = {"symbol": self.symbol, "book": book or {"bids": [], "asks": []}, "trades": self._p_trades,
                       **payload}
        if self._p_events:
            payload["events"] = self._p_events
            has_news = True
        ts, src = self._p_ts, self._p_src
        self._p_orders, self._p_positions, self._p_fills, self._p_trades, self._p_events = {}, {}, [], [], []
        self._p_ts = self._p_src = None
        if not has_news:
            return None
        return self._frame("delta", "Delta", payload, ts, src or ts)

    def _book_changes(self) -> dict | None:
        """Levels that changed since the last book sent, within ``depth``; removed levels with size "0"."""
        book, self._p_book = self._p_book, None
        if book is None:
            return None
        depth = self.spec.depth
        changes = {}
        for side in ("bids", "asks"):
            new = {p: q for p, q in book[side][:depth]}
            old = self._book[side]
            diff = [[p, q] for p, q in new.items() if old.get(p) != q] + [[p, "0"] for p in old if p not in new]
            diff.sort(key=lambda level: Decimal(level[0]), reverse=side == "bids")
            changes[side] = diff
            self._book[side] = new
        return changes if changes["bids"] or changes["asks"] else None

    # --- framing ---------------------------------------------------------------------------------------------------
    def _frame(self, event: str, kind: str, payload: dict, engine_ts: float | None,
               source_ts: float | None) -> bytes:
        """One SSE event; ``id`` is the event id, which a reconnecting EventSource sends back as Last-Event-ID."""
        self.seq += 1
        event_id = f"{self.id}-{self.seq}"
        stream = "User" if self.spec.kind == "user" else "Events"
        event_type = "StreamError" if event == "error" else f"{stream}Stream{kind}"
        body = orjson.dumps({"event_id": event_id, "event_type": event_type, "event_seq": self.seq,
                             "engine_ts": iso(engine_ts or time.time()), "source_ts": iso(source_ts),
                             "payload": payload})
        return b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode(), event.encode(), body)

    def _error(self, code: str, message: str, retryable: bool) -> bytes:
        return self._frame("error", "Error", {"code": code, "message": message, "retryable": retryable},
                           None, None)
