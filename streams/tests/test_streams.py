"""The SSE streams end to end: a real uvicorn process, real orders filled by a real Celery worker, httpx clients.

These tests observe the events the trading core publishes (``streams.publish.publish_changes`` called from the
settlement, ``publish_order_update`` from order acceptance; see docs/streams.md, "Wiring").
"""

import time
from decimal import Decimal

import httpx
import pytest

from streams.tests.conftest import HEARTBEAT_SECONDS
from streams.tests.support import SSEClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOOK = {"bids": [("59990", "1"), ("59980", "2"), ("59970", "3")],
        "asks": [("60000", "1"), ("60010", "2"), ("60020", "3")]}


def place(client, **body):
    r = client.post("/api/v1/trade/order?wait_ms=3000", body, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def market_buy(client, qty="0.01"):
    return place(client, symbol="BTCUSDT", side="buy", type="market", quantity=qty)


def assert_no_gaps(sse: SSEClient) -> None:
    seqs = [e.seq for e in sse.data_events()]
    assert seqs == list(range(1, len(seqs) + 1)), seqs


def test_snapshot_then_the_fill_of_a_market_order_as_a_delta_within_the_cadence(
        stream_server, celery_worker, market, agent_key):
    market("BTCUSDT", "60000", **BOOK)
    agent, key, client = agent_key()
    with SSEClient(stream_server.url("/api/v1/stream/user?interval_ms=250"), {"X-API-Key": key}) as sse:
        assert sse.status_code == 200
        assert sse.response_headers["content-type"].startswith("text/event-stream")
        snap = sse.next()
        assert snap.event == "snapshot" and snap.seq == 1
        assert snap.data["event_type"] == "UserStreamSnapshot"
        assert set(snap.data) == {"event_id", "event_type", "event_seq", "engine_ts", "source_ts", "payload"}
        assert snap.payload["agent_id"] == str(agent.pk)
        assert (snap.payload["orders"], snap.payload["fills"], snap.payload["positions"]) == ([], [], [])

        order = market_buy(client)
        delta = sse.next("delta", where=lambda e: e.payload["fills"])
        fill = delta.payload["fills"][0]
        assert (fill["order_id"], fill["symbol"], fill["side"]) == (order["id"], "BTCUSDT", "buy")
        assert fill["price"] == "60000.00000000" and fill["quantity"] == "0.01000000"
        assert all(isinstance(fill[k], str) and Decimal(fill[k]) > 0 for k in ("price", "quantity", "fee"))
        # The order and the position changed by the same commit come in the same delta.
        assert [o["status"] for o in delta.payload["orders"] if o["id"] == order["id"]] == ["filled"]
        [position] = delta.payload["positions"]["upserts"]
        assert (position["symbol"], position["quantity"]) == ("BTCUSDT", "0.01000000")
        # Within the cadence of its commit (engine_ts: when the worker's transaction committed).
        committed = _epoch(delta.data["engine_ts"])
        assert delta.at - committed < 0.25 + 0.25, delta.at - committed
        assert_no_gaps(sse)


def test_heartbeats_arrive_on_an_idle_stream(stream_server, market, agent_key):
    _, key, _ = agent_key()
    with SSEClient(stream_server.url("/api/v1/stream/user"), {"X-API-Key": key}) as sse:
        sse.next("snapshot")
        first = sse.next("heartbeat", timeout=HEARTBEAT_SECONDS * 3)
        second = sse.next("heartbeat", timeout=HEARTBEAT_SECONDS * 3)
        assert 0.5 * HEARTBEAT_SECONDS < second.at - first.at < 2 * HEARTBEAT_SECONDS
        assert [e.event for e in sse.data_events()] == ["snapshot"]  # nothing happened: no delta


def test_another_agents_fills_never_appear(stream_server, celery_worker, market, agent_key):
    market("BTCUSDT", "60000", **BOOK)
    me, my_key, my_client = agent_key()
    _, _, other_client = agent_key()
    with SSEClient(stream_server.url("/api/v1/stream/user?interval_ms=100"), {"X-API-Key": my_key}) as user, \
            SSEClient(stream_server.url("/api/v1/stream/events?symbol=BTCUSDT&interval_ms=100"),
                      {"X-API-Key": my_key}) as events:
        user.next("snapshot")
        events.next("snapshot")
        theirs = market_buy(other_client, "0.02")
        # On the pair's stream their fill is a public trade: price and size, not whose or which order.
        trade_delta = events.next("delta", where=lambda e: e.payload["trades"])
        [trade] = trade_delta.payload["trades"]
        assert (trade["price"], trade["quantity"], trade["side"]) == ("60000.00000000", "0.02000000", "buy")
        assert "order_id" not in trade and "client_order_id" not in trade
        mine = market_buy(my_client, "0.01")
        own = user.next("delta", where=lambda e: e.payload["fills"])
        time.sleep(0.3)
        for sse in (user, events):
            fills = [f for e in sse.data_events() if e.event == "delta" for f in e.payload["fills"]]
            orders = [o for e in sse.data_events() if e.event == "delta" for o in e.payload["orders"]]
            assert {f["order_id"] for f in fills} == {mine["id"]}
            assert theirs["id"] not in {o["id"] for o in orders}
        assert own.payload["positions"]["upserts"][0]["quantity"] == "0.01000000"


def test_a_reconnect_with_last_event_id_gets_a_snapshot_that_agrees_with_the_pull_endpoints(
        stream_server, celery_worker, market, agent_key):
    market("BTCUSDT", "60000", **BOOK)
    _, key, client = agent_key()
    headers = {"X-API-Key": key}
    with SSEClient(stream_server.url("/api/v1/stream/user?interval_ms=100"), headers) as sse:
        sse.next("snapshot")
        market_buy(client)
        last = sse.next("delta", where=lambda e: e.payload["fills"])
    # While disconnected: a resting order, another fill.
    resting = place(client, symbol="BTCUSDT", side="buy", type="limit", price="50000", quantity="0.001")
    market_buy(client, "0.02")
    with SSEClient(stream_server.url("/api/v1/stream/user?open_only=true"),
                   {**headers, "Last-Event-ID": last.id}) as again:
        snap = again.next()
        assert snap.event == "snapshot" and snap.seq == 1
        assert (snap.payload["reason"], snap.payload["resumed_from"]) == ("reconnect", last.id)
        assert snap.payload["positions"] == client.get("/api/v1/account/positions").json()
        assert snap.payload["orders"] == client.get("/api/v1/trade/orders/open").json()
        assert [o["id"] for o in snap.payload["orders"]] == [resting["id"]]
        assert snap.payload["positions"][0]["quantity"] == "0.03000000"


def test_open_only_reports_a_closed_position_as_removed(stream_server, celery_worker, market, agent_key):
    market("BTCUSDT", "60000", **BOOK)
    _, key, client = agent_key()
    with SSEClient(stream_server.url("/api/v1/stream/user?open_only=true&interval_ms=100"),
                   {"X-API-Key": key}) as sse:
        sse.next("snapshot")
        market_buy(client)
        opened = sse.next("delta", where=lambda e: e.payload["positions"]["upserts"])
        assert opened.payload["positions"]["upserts"][0]["symbol"] == "BTCUSDT"
        place(client, symbol="BTCUSDT", side="sell", type="market", quantity="0.01")
        closed = sse.next("delta", where=lambda e: e.payload["positions"]["removed_ids"])
        assert closed.payload["positions"] == {"upserts": [], "removed_ids": ["BTCUSDT"]}
        assert_no_gaps(sse)


def test_the_events_stream_sends_the_book_to_depth_then_changed_levels(stream_server, market, agent_key):
    market("BTCUSDT", "60000", **BOOK)
    _, key, _ = agent_key()
    url = stream_server.url(f"/api/v1/stream/events?symbol=btcusdt&depth=2&interval_ms=100&api_key={key}")
    with SSEClient(url) as sse:  # the key as a query parameter, as a browser's EventSource sends it
        snap = sse.next("snapshot")
        assert snap.data["event_type"] == "EventsStreamSnapshot"
        assert snap.payload["symbol"] == "BTCUSDT" and snap.payload["depth"] == 2
        assert snap.payload["book"] == {"bids": [["59990.00000000", "1.00000000"], ["59980.00000000", "2.00000000"]],
                                        "asks": [["60000.00000000", "1.00000000"], ["60010.00000000", "2.00000000"]]}
        # The feed writes a new book: the best bid grows, the best ask is taken out.
        market("BTCUSDT", "60005", bids=[("59990", "4"), ("59980", "2")], asks=[("60010", "2"), ("60020", "3")])
        delta = sse.next("delta", where=lambda e: e.payload["book"]["bids"] or e.payload["book"]["asks"])
        assert delta.payload["book"] == {"bids": [["59990.00000000", "4.00000000"]],
                                         "asks": [["60000.00000000", "0"], ["60020.00000000", "3.00000000"]]}
        assert_no_gaps(sse)


def test_a_revoked_key_ends_the_stream_with_an_error_event(stream_server, market, agent_key):
    from agents.models import AgentKey
    from agents.services import agent_key_revoke

    agent, key, _ = agent_key()
    with SSEClient(stream_server.url("/api/v1/stream/user"), {"X-API-Key": key}) as sse:
        sse.next("snapshot")
        agent_key_revoke(key=AgentKey.objects.get(agent=agent))
        error = sse.next("error", timeout=5)
        assert error.payload == {"code": "AUTHENTICATION_FAILED", "retryable": False,
                                 "message": "The credentials of this stream are no longer valid."}
        assert sse.ended.wait(5)


def test_owner_jwt_streams_one_of_its_agents(stream_server, market, agent_key):
    from rest_framework_simplejwt.tokens import RefreshToken

    agent, _, _ = agent_key()
    someone_else, _, _ = agent_key()
    bearer = {"Authorization": f"Bearer {RefreshToken.for_user(agent.account).access_token}"}
    with SSEClient(stream_server.url(f"/api/v1/stream/user?agent_id={agent.pk}"), bearer) as sse:
        assert sse.next("snapshot").payload["agent_id"] == str(agent.pk)
    r = httpx.get(stream_server.url(f"/api/v1/stream/user?agent_id={someone_else.pk}"), headers=bearer)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "NOT_FOUND")
    r = httpx.get(stream_server.url("/api/v1/stream/user"), headers=bearer)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert "agent_id" in r.json()["error"]["details"]["fields"]


@pytest.mark.parametrize("path, status, code, field", [
    ("/api/v1/stream/user?interval_ms=99", 400, "VALIDATION_ERROR", "interval_ms"),
    ("/api/v1/stream/user?interval_ms=5001", 400, "VALIDATION_ERROR", "interval_ms"),
    ("/api/v1/stream/user?interval_ms=fast", 400, "VALIDATION_ERROR", "interval_ms"),
    ("/api/v1/stream/user?open_only=maybe", 400, "VALIDATION_ERROR", "open_only"),
    ("/api/v1/stream/events", 400, "VALIDATION_ERROR", "symbol"),
    ("/api/v1/stream/events?symbol=BTCUSDT&depth=251", 400, "VALIDATION_ERROR", "depth"),
    ("/api/v1/stream/events?symbol=BTCUSDT&depth=0", 400, "VALIDATION_ERROR", "depth"),
    ("/api/v1/stream/events?symbol=NOPEUSDT", 404, "UNKNOWN_SYMBOL", None),
])
def test_bad_parameters_are_refused_before_the_stream_starts(stream_server, market, agent_key, path, status, code,
                                                             field):
    _, key, _ = agent_key()
    r = httpx.get(stream_server.url(path), headers={"X-API-Key": key})
    assert r.status_code == status and r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == code
    if field:
        assert field in r.json()["error"]["details"]["fields"]
    assert "X-RateLimit-Limit" in r.headers


@pytest.mark.parametrize("headers, query", [({}, ""), ({"X-API-Key": "ak_live_not-a-real-key-at-all-000000"}, ""),
                                             ({}, "?api_key=ak_live_not-a-real-key-at-all-000000"),
                                             ({"Authorization": "Bearer not.a.jwt"}, "")])
def test_bad_credentials_are_a_401_envelope_not_a_stream(stream_server, headers, query):
    r = httpx.get(stream_server.url("/api/v1/stream/user" + query), headers=headers)
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == "AUTHENTICATION_FAILED"


def test_post_is_a_405_envelope(stream_server):
    r = httpx.post(stream_server.url("/api/v1/stream/user"))
    assert (r.status_code, r.json()["error"]["code"], r.headers["allow"]) == (405, "METHOD_NOT_ALLOWED", "GET")


def test_streams_hold_no_thread_per_connection(stream_server, market, agent_key):
    _, key, _ = agent_key()
    threads_before = int(stream_server.status()["Threads"])
    clients = [SSEClient(stream_server.url("/api/v1/stream/user"), {"X-API-Key": key}).__enter__()
               for _ in range(30)]
    try:
        for c in clients:
            c.next("snapshot")
        assert int(stream_server.status()["Threads"]) <= threads_before + 6  # the streams' small DB pool at most
    finally:
        for c in clients:
            c.hang_up()
        for c in clients:
            c.close()


def test_outbox_mode_delivers_without_pub_sub(outbox_server, celery_worker, market, agent_key, settings):
    """Embedded mode's transport: the change is a row in the caller's transaction; the server polls for it."""
    from streams.models import OutboxEvent
    from streams.publish import publish_changes
    from trading.models import Fill, Order, Position

    market("BTCUSDT", "60000", **BOOK)
    agent, key, client = agent_key()
    with SSEClient(outbox_server.url("/api/v1/stream/user?interval_ms=100"), {"X-API-Key": key}) as sse:
        sse.next("snapshot")
        order = market_buy(client)
        # The worker publishes on the Redis bus, which this server does not read; publish the same change the way
        # an embedded-mode process does (an outbox row) to watch it arrive.
        settings.STREAMS_BUS = "outbox"
        publish_changes(orders=[Order.objects.get(pk=order["id"])],
                        fills=list(Fill.objects.filter(order_id=order["id"])),
                        positions=list(Position.objects.filter(agent=agent, symbol="BTCUSDT")))
        assert OutboxEvent.objects.exists()
        delta = sse.next("delta", where=lambda e: e.payload["fills"])
        assert {f["order_id"] for f in delta.payload["fills"]} == {order["id"]}
        assert delta.payload["positions"]["upserts"][0]["quantity"] == "0.01000000"


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
