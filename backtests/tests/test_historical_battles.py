"""Historical battles end to end with two agents: one backtest session each on a shared clock the owner steps,
standings from the sessions, presets, the participant's own step refused, and a rematch replaying a finished
battle's order log giving the same standings bit for bit."""

from datetime import timedelta

import pytest

from backtests.models import BacktestAction
from backtests.tests.conftest import DAY0

pytestmark = pytest.mark.django_db


@pytest.fixture
def arena(btc, account_factory, agent_factory, agent_client, jwt_client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = account_factory().account
    a, ka = agent_factory(account=owner, name="alpha")
    b, kb = agent_factory(account=owner, name="beta")
    return jwt_client(owner), {a.pk: agent_client(ka), b.pk: agent_client(kb)}, (a, b)


def _battle(jwt, agents, **body):
    r = jwt.post("/api/v1/battles", {"name": "history", "mode": "historical", "pairs": ["BTCUSDT"],
                                     "start_time": DAY0.isoformat(),
                                     "end_time": (DAY0 + timedelta(hours=3)).isoformat(), "interval": "1m",
                                     "starting_balance": "10000", **body}, format="json")
    assert r.status_code == 201, r.json()
    bid = r.json()["id"]
    for agent in agents:
        assert jwt.post(f"/api/v1/battles/{bid}/participants", {"agent_id": str(agent.pk)},
                        format="json").status_code == 201
    return bid


def _sessions(jwt, bid):
    return {p["agent_id"]: p["session_id"] for p in jwt.get(f"/api/v1/battles/{bid}").json()["participants"]}


def _trade(clients, sessions, agent, at_step, body):
    r = clients[agent.pk].post(f"/api/v1/backtest/{sessions[str(agent.pk)]}/trade/order", body, format="json")
    assert r.status_code == 201, (at_step, r.json())


PLAN = {  # step -> [(agent index, order)]
    1: [(0, {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "0.03"}),
        (1, {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.02", "price": "70500.00"})],
    30: [(0, {"symbol": "BTCUSDT", "side": "sell", "type": "market", "quantity": "0.01"})],
    60: [(1, {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quote_quantity": "800"}),
         (0, {"symbol": "BTCUSDT", "side": "sell", "type": "stop_loss", "quantity": "0.01",
              "trigger_price": "70000.00"})],
    120: [(0, {"symbol": "BTCUSDT", "side": "sell", "type": "market", "quantity": "0.01"}),
          (1, {"symbol": "BTCUSDT", "side": "sell", "type": "market", "quantity": "0.005"})],
}


def test_historical_battle_end_to_end_and_replay(arena):
    jwt, clients, agents = arena
    bid = _battle(jwt, agents)
    r = jwt.post(f"/api/v1/battles/{bid}/step")
    assert r.status_code == 422 and r.json()["error"]["code"] == "BATTLE_STATE"  # a draft has no clock yet
    r = jwt.post(f"/api/v1/battles/{bid}/start")
    assert r.status_code == 200 and r.json()["status"] == "active", r.json()
    sessions = _sessions(jwt, bid)
    assert all(sessions.values()) and len(set(sessions.values())) == 2
    # a participant's own clock calls on its battle session are refused; its reads and orders are its own
    a, b = agents
    own = clients[a.pk]
    for path in ("step", "start", "cancel"):
        r = own.post(f"/api/v1/backtest/{sessions[str(a.pk)]}/{path}")
        assert r.status_code == 422 and r.json()["error"]["code"] == "BATTLE_STATE", path
    r = own.post(f"/api/v1/backtest/{sessions[str(a.pk)]}/step/batch", {"steps": 5}, format="json")
    assert r.json()["error"]["code"] == "BATTLE_STATE"
    assert clients[b.pk].get(f"/api/v1/backtest/{sessions[str(a.pk)]}/status").status_code == 404
    # the owner drives the shared clock; the agents trade at the virtual times of PLAN
    step = 0
    for at in sorted(PLAN):
        if at > step:
            r = jwt.post(f"/api/v1/battles/{bid}/step/batch", {"steps": at - step}, format="json")
            assert r.status_code == 200, r.json()
            step = at
            live = r.json()
            assert live["virtual_time"].startswith((DAY0 + timedelta(minutes=at)).strftime("%Y-%m-%dT%H:%M"))
            for agent in agents:  # both sessions at the battle's time
                st = clients[agent.pk].get(f"/api/v1/backtest/{sessions[str(agent.pk)]}/status").json()
                assert st["step"] == at
        for idx, body in PLAN[at]:
            _trade(clients, sessions, agents[idx], at, body)
    r = jwt.post(f"/api/v1/battles/{bid}/step")
    assert r.status_code == 200 and r.json()["elapsed_seconds"] == (step + 1) * 60
    standings = jwt.get(f"/api/v1/battles/{bid}/live").json()["standings"]
    assert [s["rank"] for s in standings] == [1, 2] and all(s["total_trades"] is not None for s in standings)
    r = jwt.post(f"/api/v1/battles/{bid}/step/batch", {"steps": 10_000}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    results = jwt.get(f"/api/v1/battles/{bid}/results").json()
    assert results["final"] is True and results["remaining_seconds"] == 0
    assert jwt.post(f"/api/v1/battles/{bid}/step").json()["error"]["code"] == "BATTLE_STATE"
    assert all(s["total_trades"] >= 1 for s in results["standings"]), results
    assert len({s["equity"] for s in results["standings"]}) == 2
    assert clients[a.pk].get(f"/api/v1/backtest/{sessions[str(a.pk)]}/status").json()["status"] == "completed"

    # rematch: the same range; replay the finished battle's order log at the same steps -> the same standings
    r = jwt.post(f"/api/v1/battles/{bid}/rematch")
    assert r.status_code == 201
    rid = r.json()["id"]
    assert jwt.post(f"/api/v1/battles/{rid}/start").status_code == 200
    new_sessions = _sessions(jwt, rid)
    log = []
    for agent in agents:
        for act in BacktestAction.objects.filter(session_id=sessions[str(agent.pk)]).order_by("seq"):
            log.append((act.step, agent, act.kind, act.payload))
    log.sort(key=lambda x: x[0])  # stable: each agent's own order kept
    step = 0
    for at, agent, kind, payload in log:
        if at > step:
            assert jwt.post(f"/api/v1/battles/{rid}/step/batch", {"steps": at - step}, format="json").status_code == 200
            step = at
        assert kind == "order"
        _trade(clients, new_sessions, agent, at, payload)
    jwt.post(f"/api/v1/battles/{rid}/step/batch", {"steps": 10_000}, format="json")
    replay = jwt.get(f"/api/v1/battles/{rid}/results").json()
    assert replay["standings"] == results["standings"]
    assert replay["virtual_time"] == results["virtual_time"]


def test_presets_and_stop(arena):
    jwt, clients, agents = arena
    presets = {p["name"]: p for p in jwt.get("/api/v1/battles/presets").json()}
    assert {"historical_day", "historical_week", "historical_month"} <= set(presets)
    r = jwt.post("/api/v1/battles", {"name": "day", "preset": "historical_day", "start_time": DAY0.isoformat()},
                 format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["mode"] == "historical" and body["interval"] == "1m"
    assert body["end_time"].startswith((DAY0 + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    bid = body["id"]
    for agent in agents:
        jwt.post(f"/api/v1/battles/{bid}/participants", {"agent_id": str(agent.pk)}, format="json")
    assert jwt.post(f"/api/v1/battles/{bid}/start").status_code == 200
    sessions = _sessions(jwt, bid)
    r = clients[agents[0].pk].get(f"/api/v1/backtest/{sessions[str(agents[0].pk)]}/status").json()
    assert r["total_steps"] == 1440
    assert jwt.post(f"/api/v1/battles/{bid}/step/batch", {"steps": 100}, format="json").status_code == 200
    # paused: no stepping, no orders; resumed: both again
    order = {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": "0.01"}
    mine = f"/api/v1/backtest/{sessions[str(agents[0].pk)]}/trade/order"
    assert jwt.post(f"/api/v1/battles/{bid}/pause").status_code == 200
    assert jwt.post(f"/api/v1/battles/{bid}/step").json()["error"]["code"] == "BATTLE_STATE"
    assert clients[agents[0].pk].post(mine, order, format="json").json()["error"]["code"] == "BATTLE_STATE"
    assert jwt.post(f"/api/v1/battles/{bid}/resume").status_code == 200
    assert clients[agents[0].pk].post(mine, order, format="json").status_code == 201
    assert jwt.post(f"/api/v1/battles/{bid}/step").status_code == 200
    r = jwt.post(f"/api/v1/battles/{bid}/stop")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    res = jwt.get(f"/api/v1/battles/{bid}/results").json()
    assert res["final"] and len(res["standings"]) == 2
    st = clients[agents[0].pk].get(f"/api/v1/backtest/{sessions[str(agents[0].pk)]}/status").json()
    assert st["status"] == "cancelled" and st["step"] == 101
    # a live battle has no clock to step
    live = jwt.post("/api/v1/battles", {"name": "live"}, format="json").json()["id"]
    assert jwt.post(f"/api/v1/battles/{live}/step").json()["error"]["code"] == "BATTLE_STATE"
    # no data for the range: 422 at start
    r = jwt.post("/api/v1/battles", {"name": "old", "mode": "historical", "pairs": ["BTCUSDT"],
                                     "start_time": "2020-01-01T00:00:00Z", "end_time": "2020-01-02T00:00:00Z",
                                     "interval": "1h"}, format="json")
    old = r.json()["id"]
    for agent in agents:
        jwt.post(f"/api/v1/battles/{old}/participants", {"agent_id": str(agent.pk)}, format="json")
    r = jwt.post(f"/api/v1/battles/{old}/start")
    assert r.status_code == 422 and r.json()["error"]["code"] == "NO_CANDLE_DATA"
