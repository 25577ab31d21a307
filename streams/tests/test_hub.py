"""The per-process hub on its real transports (Redis pub/sub, the outbox table on PostgreSQL), in-process.

Each test runs an event loop of its own, as a uvicorn worker would, with connections reading their frames.
"""

import asyncio
import threading

import pytest
from django.db import transaction

from streams import bus
from streams.connection import StreamAuth, StreamConnection, StreamSpec
from streams.hub import Hub
from streams.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def open_connection(agent, hub) -> tuple[StreamConnection, object]:
    spec = StreamSpec(kind="user", agent=agent, interval_ms=100)
    conn = StreamConnection(spec=spec, auth=StreamAuth(agent_id=str(agent.pk), account_id=str(agent.account_id)),
                            hub=hub)
    return conn, conn.frames()


async def next_event(frames, timeout=5.0) -> bytes:
    """The next event frame (retry lines and heartbeats skipped)."""
    while True:
        frame = await asyncio.wait_for(anext(frames), timeout)
        if frame.startswith(b"id: "):
            return frame


def fill_message(agent, wallet_id, fill_id) -> dict:
    return {"agent": str(agent.pk), "wallet": str(wallet_id), "main": True, "symbol": "BTCUSDT",
            "fills": [{"id": fill_id, "data": {"id": fill_id}}]}


def test_a_client_that_goes_away_is_unsubscribed(agent_factory, settings):
    from trading.wallet import current_wallet

    settings.STREAMS_BUS = "redis"
    agent, _ = agent_factory()
    wallet = current_wallet(agent)

    async def main():
        hub = Hub()
        conn, frames = open_connection(agent, hub)
        reader = asyncio.create_task(next_event(frames))
        assert b"event: snapshot" in await reader
        assert hub.connections() == {conn}
        await asyncio.to_thread(bus.send, fill_message(agent, wallet.pk, 1))
        assert b'"fills":[{"id":1}]' in await next_event(frames)
        # What Django does when the client disconnects: cancel the task iterating the response.
        reader = asyncio.create_task(next_event(frames))
        await asyncio.sleep(0.05)
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        assert hub.connections() == set() and not hub.by_agent
        hub._task.cancel()

    asyncio.run(main())


def test_the_outbox_delivers_a_row_that_commits_after_a_later_one(agent_factory, settings):
    """Ids are taken at INSERT but rows appear at COMMIT: an earlier id committed later must not be missed."""
    from trading.wallet import current_wallet

    settings.STREAMS_BUS = "outbox"
    settings.STREAMS_OUTBOX_POLL_MS = 20
    agent, _ = agent_factory()
    wallet = current_wallet(agent)
    inserted, release = threading.Event(), threading.Event()

    def slow_transaction():
        with transaction.atomic():
            bus.send(fill_message(agent, wallet.pk, 1))  # takes the lower id...
            inserted.set()
            release.wait(10)  # ...and commits only after the next row is visible

    async def main():
        hub = Hub()
        conn, frames = open_connection(agent, hub)
        assert b"event: snapshot" in await next_event(frames)
        slow = threading.Thread(target=slow_transaction)
        slow.start()
        await asyncio.to_thread(inserted.wait, 10)
        await asyncio.to_thread(bus.send, fill_message(agent, wallet.pk, 2))  # autocommit: visible at once
        assert b'"fills":[{"id":2}]' in await next_event(frames)
        release.set()
        await asyncio.to_thread(slow.join, 10)
        assert b'"fills":[{"id":1}]' in await next_event(frames)
        await frames.aclose()
        assert hub.connections() == set()
        hub._task.cancel()

    asyncio.run(main())
    assert list(OutboxEvent.objects.order_by("id").values_list("message__fills__0__id", flat=True)) == [1, 2]


def test_a_rolled_back_change_never_reaches_a_stream(agent_factory, settings):
    from trading.wallet import current_wallet

    settings.STREAMS_BUS = "redis"
    agent, _ = agent_factory()
    wallet = current_wallet(agent)

    def rolled_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            bus.send(fill_message(agent, wallet.pk, 1))
            raise RuntimeError("the trade failed")

    async def main():
        hub = Hub()
        conn, frames = open_connection(agent, hub)
        assert b"event: snapshot" in await next_event(frames)
        await asyncio.to_thread(rolled_back)
        await asyncio.to_thread(bus.send, fill_message(agent, wallet.pk, 2))
        assert b'"fills":[{"id":2}]' in await next_event(frames)  # the first thing after the snapshot
        await frames.aclose()
        hub._task.cancel()

    asyncio.run(main())


def test_a_shared_read_is_joined_only_by_callers_that_asked_before_it_started():
    from streams.hub import _SharedRead

    async def main():
        reads = []
        gate = asyncio.Event()

        async def read():
            reads.append(len(reads) + 1)
            number = len(reads)
            await gate.wait()
            return number

        shared = _SharedRead(read)
        first = asyncio.create_task(shared.get())
        await asyncio.sleep(0)  # the first read is under way...
        late = [asyncio.create_task(shared.get()) for _ in range(5)]  # ...so these wait for the next one
        await asyncio.sleep(0)
        gate.set()
        assert await first == 1
        assert await asyncio.gather(*late) == [2, 2, 2, 2, 2]
        assert reads == [1, 2]  # six callers, two reads

    asyncio.run(main())


class RedisProxy:
    """A TCP proxy in front of Redis that a test can cut and restore: the hub's subscription goes through it."""

    def __init__(self, port: int):
        self.port = port
        self.server = None
        self.pipes: set = set()

    async def start(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader, writer):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self.pipes.add((writer, up_writer))

        async def pump(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def cut(self):
        self.server.close()
        for a, b in self.pipes:
            a.close()
            b.close()
        self.pipes.clear()
        await self.server.wait_closed()


def test_a_bus_outage_is_reported_then_answered_with_a_fresh_snapshot(agent_factory, settings):
    from streams.tests.support import free_port
    from trading.wallet import current_wallet

    port = free_port()
    settings.STREAMS_BUS = "redis"
    settings.REDIS_URL = settings.REDIS_URL.replace("127.0.0.1:6379", f"127.0.0.1:{port}")  # the hub's side only
    agent, _ = agent_factory()
    wallet = current_wallet(agent)

    async def main():
        proxy = RedisProxy(port)
        await proxy.start()
        hub = Hub()
        conn, frames = open_connection(agent, hub)
        assert b"event: snapshot" in await next_event(frames)
        await proxy.cut()
        down = await next_event(frames)
        assert b"event: error" in down and b'"code":"UPSTREAM_UNAVAILABLE"' in down and b'"retryable":true' in down
        await proxy.start()
        again = await next_event(frames, timeout=10)
        assert b"event: snapshot" in again and b'"reason":"bus_reconnected"' in again
        await asyncio.to_thread(bus.send, fill_message(agent, wallet.pk, 7))  # published straight to Redis
        assert b'"fills":[{"id":7}]' in await next_event(frames)
        await frames.aclose()
        hub._task.cancel()
        await proxy.cut()

    asyncio.run(main())
