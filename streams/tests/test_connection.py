"""How a connection folds bus messages into deltas: ordering, duplicates, wallets, books, open_only, overflow.

Pure logic: messages are handed to the connection as the hub would, and the frames it would write are parsed back.
"""

import json
from types import SimpleNamespace

import pytest

from streams.connection import StreamAuth, StreamConnection, StreamSpec

AGENT, WALLET = "agent-1", "wallet-1"


def connection(settings, *, kind="user", symbol=None, depth=25, open_only=False, queue_size=100):
    settings.STREAMS_QUEUE_SIZE = queue_size
    spec = StreamSpec(kind=kind, agent=SimpleNamespace(pk=AGENT), interval_ms=250, open_only=open_only,
                      symbol=symbol, depth=depth)
    conn = StreamConnection(spec=spec, auth=StreamAuth(agent_id=AGENT, account_id="acct"), hub=None)
    conn.wallet_id = WALLET
    return conn


def parse(frame: bytes) -> dict:
    lines = dict(line.split(": ", 1) for line in frame.decode().strip().split("\n"))
    return {"id": lines["id"], "event": lines["event"], **json.loads(lines["data"])}


def delta(conn) -> dict | None:
    frame = conn._delta()
    return parse(frame) if frame is not None else None


def private(**items) -> dict:
    return {"agent": AGENT, "wallet": WALLET, "main": True, "symbol": "BTCUSDT", "ts": 100.0, **items}


def order(v, status, oid="o1"):
    return {"id": oid, "v": v, "data": {"id": oid, "status": status}}


def position(v, quantity, symbol="BTCUSDT"):
    return {"id": symbol, "v": v, "open": quantity != "0", "data": {"symbol": symbol, "quantity": quantity}}


def test_the_latest_state_of_an_order_wins_and_stale_or_repeated_states_are_dropped(settings):
    conn = connection(settings)
    conn._take(private(orders=[order(2.0, "partially_filled")]))
    conn._take(private(orders=[order(3.0, "filled")]))
    conn._take(private(orders=[order(1.0, "new")]))  # published late by another process: older than what we have
    assert delta(conn)["payload"]["orders"] == [{"id": "o1", "status": "filled"}]
    conn._take(private(orders=[order(3.0, "filled")]))  # the same state again
    conn._take(private(orders=[order(2.5, "partially_filled")]))
    assert delta(conn) is None  # nothing new: no delta at all


def test_fills_are_sent_once_in_the_order_they_happened(settings):
    conn = connection(settings)
    conn._fill_ids.add(7)  # already in the snapshot
    conn._take(private(fills=[{"id": 7, "data": {"id": 7}}, {"id": 8, "data": {"id": 8}}]))
    conn._take(private(fills=[{"id": 8, "data": {"id": 8}}, {"id": 9, "data": {"id": 9}}]))
    assert [f["id"] for f in delta(conn)["payload"]["fills"]] == [8, 9]


def test_event_seq_rises_by_one_per_event_and_the_envelope_is_complete(settings):
    conn = connection(settings)
    frames = []
    for i in range(3):
        conn._take(private(fills=[{"id": i, "data": {"id": i}}], src=99.0))
        frames.append(delta(conn))
    frames.append(parse(conn._error("X", "y", True)))
    assert [f["event_seq"] for f in frames] == [1, 2, 3, 4]
    assert [f["event"] for f in frames] == ["delta", "delta", "delta", "error"]
    assert set(frames[0]) == {"id", "event", "event_id", "event_type", "event_seq", "engine_ts", "source_ts",
                              "payload"}
    assert frames[0]["event_id"] == frames[0]["id"] and frames[0]["event_type"] == "UserStreamDelta"
    assert frames[0]["engine_ts"] == "1970-01-01T00:01:40.000000Z" and frames[0]["source_ts"].startswith("1970")
    assert frames[3]["payload"] == {"code": "X", "message": "y", "retryable": True}


def test_other_agents_and_other_wallets_are_not_shown(settings):
    conn = connection(settings)
    conn._take({**private(fills=[{"id": 1, "data": {}}]), "agent": "someone-else"})
    conn._take({**private(fills=[{"id": 2, "data": {}}]), "wallet": "battle-wallet", "main": False})
    assert delta(conn) is None and conn._resync is None
    conn._take({**private(fills=[{"id": 3, "data": {}}]), "wallet": "wallet-after-a-reset"})
    assert conn._resync == "wallet_changed"  # a new main wallet: the client gets a fresh snapshot


def test_a_reset_moves_an_events_stream_too(settings):
    conn = connection(settings, kind="events", symbol="BTCUSDT")
    conn._take({"agent": AGENT, "wallet": "wallet-after-a-reset", "main": True, "ts": 1.0})  # publish_wallet_opened
    assert conn._resync == "wallet_changed"


def test_a_queue_that_overflows_asks_for_a_fresh_snapshot(settings):
    conn = connection(settings, queue_size=2)
    for i in range(3):
        conn.offer(private(fills=[{"id": i, "data": {}}]))
    assert conn._resync == "overflow"


def test_open_only_reports_a_closed_position_as_removed_once(settings):
    conn = connection(settings, open_only=True)
    conn._take(private(positions=[position(1.0, "0.5")]))
    assert delta(conn)["payload"]["positions"] == {"upserts": [{"symbol": "BTCUSDT", "quantity": "0.5"}],
                                                   "removed_ids": []}
    conn._take(private(positions=[position(2.0, "0")]))
    assert delta(conn)["payload"]["positions"] == {"upserts": [], "removed_ids": ["BTCUSDT"]}
    conn._take(private(positions=[position(3.0, "0")]))  # still closed: the client has nothing to remove
    assert delta(conn) is None


def test_without_open_only_a_closed_position_is_an_upsert(settings):
    conn = connection(settings)
    conn._take(private(positions=[position(2.0, "0")]))
    assert delta(conn)["payload"]["positions"] == {"upserts": [{"symbol": "BTCUSDT", "quantity": "0"}],
                                                   "removed_ids": []}


def test_the_book_diff_keeps_to_depth_and_zeroes_removed_levels(settings):
    conn = connection(settings, kind="events", symbol="BTCUSDT", depth=2)
    conn._book = {"bids": {"10": "1", "9": "1"}, "asks": {"11": "1", "12": "1"}}
    conn._take({"symbol": "BTCUSDT", "ts": 1.0,
                "book": {"bids": [["10", "2"], ["9", "1"], ["8", "5"]], "asks": [["12", "1"], ["13", "4"]]}})
    payload = delta(conn)["payload"]
    assert payload["book"] == {"bids": [["10", "2"]], "asks": [["11", "0"], ["13", "4"]]}
    conn._take({"symbol": "BTCUSDT", "ts": 2.0,
                "book": {"bids": [["10", "2"], ["9", "1"]], "asks": [["12", "1"], ["13", "4"]]}})
    assert delta(conn) is None  # the same top of book: nothing to send


def test_the_events_stream_keeps_to_its_symbol_and_anonymises_other_fills(settings):
    conn = connection(settings, kind="events", symbol="BTCUSDT")
    theirs = {"id": 5, "data": {"id": 5, "symbol": "BTCUSDT", "side": "sell", "price": "1", "quantity": "2",
                                "created_at": "t", "order_id": "secret", "fee": "0.1"}}
    conn._take({**private(fills=[theirs]), "agent": "someone-else"})
    conn._take({**private(fills=[{"id": 6, "data": {"id": 6}}]), "symbol": "ETHUSDT"})
    payload = delta(conn)["payload"]
    assert payload["trades"] == [{"id": 5, "symbol": "BTCUSDT", "side": "sell", "price": "1", "quantity": "2",
                                  "created_at": "t"}]
    assert payload["fills"] == [] and payload["symbol"] == "BTCUSDT"


@pytest.mark.parametrize("kind", ["user", "events"])
def test_nothing_pending_means_no_delta(settings, kind):
    conn = connection(settings, kind=kind, symbol="BTCUSDT" if kind == "events" else None)
    assert delta(conn) is None
    assert conn.seq == 0
