"""Helpers of the battle tests."""

from battles.models import Battle


def make_battle(client, **body):
    defaults = {} if "preset" in body else {"ranking_metric": "roi_pct", "duration": 3600}
    body = {"name": "duel", "mode": "live", **defaults, **body}
    r = client.post("/api/v1/battles", body, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def add(client, battle_id, agent):
    r = client.post(f"/api/v1/battles/{battle_id}/participants", {"agent_id": str(agent.pk)}, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def act(client, battle_id, action):
    return client.post(f"/api/v1/battles/{battle_id}/{action}")


def status_of(battle_id) -> str:
    return Battle.objects.get(pk=battle_id).status


def error_code(response) -> str:
    return response.json()["error"]["code"]
