"""Battle events reach the participants' SSE streams (a real uvicorn process) and their webhooks (a real worker),
and an open stream follows the key onto the battle wallet and back."""

import json

import pytest

from battles.models import Battle, Participant
from battles.services import standings_round
from battles.tests.support import act, add, make_battle
from common.testing import wait_until
from streams.tests.conftest import (  # noqa: F401 - fixtures
    allow_private_webhooks,
    receiver,
    stream_server,
    webhook_worker,
)
from streams.tests.support import SSEClient
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import set_market

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_stream_moves_to_the_battle_wallet_and_carries_battle_events(
        stream_server, webhook_worker, celery_worker, allow_private_webhooks, receiver, trader, account_factory,
        jwt_client):
    set_market("BTCUSDT", "60000", bids=[("59990", "5")], asks=[("60000", "5")])
    owner = account_factory().account
    (a1, c1, main1), (a2, _, _) = trader(account=owner, name="alpha"), trader(account=owner, name="beta")
    hook = receiver().start()
    r = c1.post("/api/v1/webhooks", {"url": hook.url, "event_types": ["battle.*"]}, format="json")
    assert r.status_code == 201, r.json()
    client = jwt_client(owner)
    b = make_battle(client)
    add(client, b["id"], a1)
    add(client, b["id"], a2)
    key = c1._credentials["HTTP_X_API_KEY"]
    with SSEClient(stream_server.url("/api/v1/stream/user"), {"X-API-Key": key}) as sse:
        first = sse.next("snapshot")
        assert first.payload["wallet_id"] == str(main1.pk)
        act(client, b["id"], "start")
        battle_wallet = str(Participant.objects.get(battle_id=b["id"], agent=a1).wallet_id)
        moved = sse.next("snapshot", where=lambda e: e.payload["reason"] == "wallet_changed")
        assert moved.payload["wallet_id"] == battle_wallet
        started = sse.next("delta", where=lambda e: e.payload.get("events"))
        assert [e["type"] for e in started.payload["events"]] == ["battle.started"]
        assert started.payload["events"][0]["data"]["wallet_id"] == battle_wallet

        r = c1.post("/api/v1/trade/order?wait_ms=3000", {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                                         "quantity": "0.01"}, format="json")
        assert r.status_code == 201
        fill = sse.next("delta", where=lambda e: e.payload.get("fills"))
        assert fill.payload["fills"][0]["order_id"] == r.json()["id"]

        standings_round(battle_id=b["id"])
        standings = sse.next("delta", where=lambda e: any(x["type"] == "battle.standings"
                                                          for x in e.payload.get("events", ())))
        rows = standings.payload["events"][-1]["data"]["standings"]
        assert {row["agent_name"] for row in rows} == {"alpha", "beta"}

        act(client, b["id"], "stop")
        back = sse.next("snapshot", where=lambda e: e.payload["wallet_id"] == str(main1.pk))
        assert back.payload["reason"] == "wallet_changed"
        done = sse.next("delta", where=lambda e: any(x["type"] == "battle.completed"
                                                     for x in e.payload.get("events", ())))
        assert done.payload["events"][-1]["data"]["battle_id"] == b["id"]
    assert Battle.objects.get(pk=b["id"]).status == "completed"
    types = lambda: [json.loads(r["body"])["type"] for r in hook.requests]  # noqa: E731
    assert wait_until(lambda: {"battle.started", "battle.standings", "battle.completed"} <= set(types()),
                      timeout=20), types()
