"""The battle API: configuration, presets, every transition and every refusal, isolation between accounts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from battles.models import Battle, Participant
from battles.services import battles_tick
from battles.tests.support import act, add, error_code, make_battle, status_of
from trading.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pairs(db):
    """The listed pairs (a transactional test elsewhere may have flushed the data migration's rows)."""
    from market.prices import instruments_cache_clear
    from market.services import ensure_default_pairs

    ensure_default_pairs()
    instruments_cache_clear()


@pytest.fixture
def setup(owner, agent_factory, jwt_client):
    a1, _ = agent_factory(account=owner, name="alpha")
    a2, _ = agent_factory(account=owner, name="beta")
    a3, _ = agent_factory(account=owner, name="gamma")
    return jwt_client(owner), (a1, a2, a3)


def test_presets_are_listed(owner, jwt_client):
    r = jwt_client(owner).get("/api/v1/battles/presets")
    assert r.status_code == 200
    by_name = {p["name"]: p for p in r.json()}
    assert set(by_name) == {"quick_1h", "day_trader", "marathon", "scalper_duel", "survival", "historical_day",
                            "historical_week", "historical_month"}
    assert by_name["historical_week"]["mode"] == "historical" and by_name["historical_week"]["interval"] == "5m"
    assert by_name["quick_1h"]["mode"] == "live" and by_name["quick_1h"]["interval"] is None
    assert by_name["quick_1h"]["duration"] == 3600 and by_name["day_trader"]["duration"] == 86400
    assert by_name["marathon"]["duration"] == 7 * 86400
    assert by_name["scalper_duel"] == {**by_name["scalper_duel"], "duration": 14400, "starting_balance": "5000.00000000",
                                       "pairs": ["BTCUSDT", "ETHUSDT"]}
    assert by_name["survival"]["duration"] is None and by_name["survival"]["elimination_threshold_pct"] == "50.00"


def test_create_from_a_preset_with_overrides(setup):
    client, _ = setup
    b = make_battle(client, preset="scalper_duel", duration="30m")
    assert (b["status"], b["duration"], b["starting_balance"], b["pairs"]) == (
        "draft", 1800, "5000.00000000", ["BTCUSDT", "ETHUSDT"])
    assert b["preset"] == "scalper_duel" and b["participants"] == []


@pytest.mark.parametrize("body,code,status", [
    ({"duration": "forever"}, "VALIDATION_ERROR", 400),
    ({"duration": 1.5}, "VALIDATION_ERROR", 400),
    ({"ranking_metric": "luck"}, "VALIDATION_ERROR", 400),
    ({"starting_balance": "-5"}, "VALIDATION_ERROR", 400),
    ({"starting_balance": 100.5}, "VALIDATION_ERROR", 400),
    ({"preset": "nope"}, "VALIDATION_ERROR", 400),
    ({"pairs": ["DOGEXYZ"]}, "UNKNOWN_SYMBOL", 422),
    ({"mode": "historical"}, "VALIDATION_ERROR", 400),
    ({"name": ""}, "VALIDATION_ERROR", 400),
])
def test_bad_configuration_is_a_clear_4xx(setup, body, code, status):
    client, _ = setup
    r = client.post("/api/v1/battles", {"name": "x", **body}, format="json")
    assert r.status_code == status, r.json()
    assert error_code(r) == code


def test_the_whole_life_and_every_refusal(setup):
    client, (a1, a2, a3) = setup
    b = make_battle(client)
    bid = b["id"]
    # draft: no pause/resume/results; start needs 2 participants
    for action in ("pause", "resume"):
        assert (act(client, bid, action).status_code, error_code(act(client, bid, action))) == (422, "BATTLE_STATE")
    assert error_code(client.get(f"/api/v1/battles/{bid}/results")) == "BATTLE_STATE"
    add(client, bid, a1)
    r = act(client, bid, "start")
    assert r.status_code == 422 and error_code(r) == "BATTLE_STATE"
    add(client, bid, a2)
    assert client.put(f"/api/v1/battles/{bid}", {"name": "renamed"}, format="json").json()["name"] == "renamed"
    # start: active, wallets opened and funded from nothing (battle_funding)
    r = act(client, bid, "start")
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert r.json()["remaining_seconds"] in (3599, 3600) and r.json()["end_time"]
    for agent in (a1, a2):
        w = Wallet.objects.get(agent=agent, kind="battle", battle_id=bid)
        assert w.routed and not w.paused
        assert list(LedgerEntry.objects.filter(wallet=w).values_list("reason", "delta_available")) == [
            ("battle_funding", Decimal("10000"))]
    # active: no start, resume, participant changes, PUT, DELETE, results
    for action in ("start", "resume"):
        assert error_code(act(client, bid, action)) == "BATTLE_STATE"
    assert error_code(client.post(f"/api/v1/battles/{bid}/participants", {"agent_id": str(a3.pk)},
                                  format="json")) == "BATTLE_STATE"
    assert error_code(client.delete(f"/api/v1/battles/{bid}/participants/{a1.pk}")) == "BATTLE_STATE"
    assert error_code(client.put(f"/api/v1/battles/{bid}", {"name": "x"}, format="json")) == "BATTLE_STATE"
    assert error_code(client.delete(f"/api/v1/battles/{bid}")) == "BATTLE_STATE"
    assert error_code(client.get(f"/api/v1/battles/{bid}/results")) == "BATTLE_STATE"
    live = client.get(f"/api/v1/battles/{bid}/live").json()
    assert live["status"] == "active" and [r["rank"] for r in live["standings"]] == [1, 2]
    assert {r["equity"] for r in live["standings"]} == {"10000.00000000"}
    # pause: the clock stops, wallets paused; no pause/start
    assert act(client, bid, "pause").json()["status"] == "paused"
    assert Wallet.objects.filter(battle_id=bid, paused=True).count() == 2
    for action in ("pause", "start"):
        assert error_code(act(client, bid, action)) == "BATTLE_STATE"
    assert act(client, bid, "resume").json()["status"] == "active"
    assert Wallet.objects.filter(battle_id=bid, paused=True).count() == 0
    # stop: completed, results frozen, wallets unrouted but kept
    r = act(client, bid, "stop")
    assert r.status_code == 200 and r.json()["status"] == "completed" and r.json()["end_reason"] == "stopped"
    assert Wallet.objects.filter(battle_id=bid, routed=False, paused=True).count() == 2
    results = client.get(f"/api/v1/battles/{bid}/results").json()
    assert results["final"] is True and results["status"] == "completed" and len(results["standings"]) == 2
    for action in ("start", "pause", "resume", "stop"):
        assert error_code(act(client, bid, action)) == "BATTLE_STATE"
    assert error_code(client.delete(f"/api/v1/battles/{bid}")) == "BATTLE_STATE"
    assert not Participant.objects.filter(engaged=True).exists()


def test_pending_then_activated_by_the_tick_and_cancel(setup):
    client, (a1, a2, a3) = setup
    later = timezone.now() + timedelta(minutes=10)
    b = make_battle(client, start_time=later.isoformat())
    add(client, b["id"], a1)
    add(client, b["id"], a2)
    assert act(client, b["id"], "start").json()["status"] == "pending"
    assert not Wallet.objects.filter(battle_id=b["id"]).exists()
    assert error_code(act(client, b["id"], "pause")) == "BATTLE_STATE"
    battles_tick(now=later - timedelta(seconds=1))
    assert status_of(b["id"]) == "pending"
    battles_tick(now=later)
    assert status_of(b["id"]) == "active"
    # a second one, pending, is cancelled by stop and can then be deleted
    c = make_battle(client, start_time=later.isoformat())
    add(client, c["id"], a3)
    r = client.post(f"/api/v1/battles/{c['id']}/participants", {"agent_id": str(a1.pk)}, format="json")
    assert r.status_code == 422 and error_code(r) == "BATTLE_STATE"  # a1 is in an active battle
    assert act(client, c["id"], "stop").json()["status"] == "cancelled"
    assert error_code(act(client, c["id"], "start")) == "BATTLE_STATE"
    assert client.delete(f"/api/v1/battles/{c['id']}").status_code == 204


def test_an_agent_is_in_one_live_battle_at_a_time(setup):
    client, (a1, a2, a3) = setup
    first, second = make_battle(client), make_battle(client)
    for bid in (first["id"], second["id"]):
        add(client, bid, a1)
    add(client, first["id"], a2)
    add(client, second["id"], a3)
    assert act(client, first["id"], "start").status_code == 200
    r = act(client, second["id"], "start")  # two drafts may share an agent; starting the second may not
    assert r.status_code == 422 and error_code(r) == "BATTLE_STATE"
    assert status_of(second["id"]) == "draft"
    act(client, first["id"], "stop")
    assert act(client, second["id"], "start").status_code == 200


def test_participant_refusals(setup, agent_factory):
    client, (a1, a2, _) = setup
    b = make_battle(client)
    add(client, b["id"], a1)
    r = client.post(f"/api/v1/battles/{b['id']}/participants", {"agent_id": str(a1.pk)}, format="json")
    assert r.status_code == 409
    stranger, _ = agent_factory(name="not yours")
    r = client.post(f"/api/v1/battles/{b['id']}/participants", {"agent_id": str(stranger.pk)}, format="json")
    assert r.status_code == 404
    r = client.post(f"/api/v1/battles/{b['id']}/participants", {"agent_id": "nope"}, format="json")
    assert r.status_code == 400
    assert client.delete(f"/api/v1/battles/{b['id']}/participants/{a2.pk}").status_code == 404
    assert client.delete(f"/api/v1/battles/{b['id']}/participants/{a1.pk}").status_code == 204


def test_isolation_between_accounts_and_staff_sees_all(setup, account_factory, staff, jwt_client):
    client, (a1, a2, _) = setup
    b = make_battle(client)
    other = jwt_client(account_factory().account)
    for method, path in [("get", ""), ("get", "/live"), ("get", "/results"), ("post", "/start"),
                         ("post", "/stop"), ("post", "/rematch"), ("delete", ""), ("put", "")]:
        r = getattr(other, method)(f"/api/v1/battles/{b['id']}{path}", {}, format="json")
        assert r.status_code == 404, (method, path, r.status_code)
    assert other.get("/api/v1/battles").json() == []
    admin = jwt_client(staff)
    assert [x["id"] for x in admin.get("/api/v1/battles").json()] == [b["id"]]
    add(admin, b["id"], a1)  # staff may add anyone's agent
    assert admin.get(f"/api/v1/battles/{b['id']}").status_code == 200
    # an agent key is not an owner's token
    assert client.get("/api/v1/battles", HTTP_AUTHORIZATION="").status_code in (200, 401)


def test_rematch_copies_configuration_and_participants(setup):
    client, (a1, a2, _) = setup
    b = make_battle(client, preset="scalper_duel")
    add(client, b["id"], a1)
    add(client, b["id"], a2)
    act(client, b["id"], "start")
    act(client, b["id"], "stop")
    r = client.post(f"/api/v1/battles/{b['id']}/rematch")
    assert r.status_code == 201
    new = r.json()
    assert new["status"] == "draft" and new["rematch_of"] == b["id"] and new["id"] != b["id"]
    for key in ("ranking_metric", "duration", "starting_balance", "pairs", "mode", "preset"):
        assert new[key] == b[key]
    assert [p["agent_id"] for p in new["participants"]] == [str(a1.pk), str(a2.pk)]
    assert act(client, new["id"], "start").json()["status"] == "active"


def test_historical_battle_needs_candles_and_aligned_times(setup):
    """(The run itself — sessions, the shared clock, standings, replay — is backtests/tests/test_historical_battles.py.)"""
    client, (a1, a2, _) = setup
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    r = client.post("/api/v1/battles", {"name": "h", "mode": "historical", "interval": "1h",
                                        "start_time": (now - timedelta(days=2, minutes=1)).isoformat(),
                                        "end_time": (now - timedelta(days=1)).isoformat()}, format="json")
    assert r.status_code == 400  # not on the interval's grid
    b = make_battle(client, mode="historical", start_time=(now - timedelta(days=2)).isoformat(),
                    end_time=(now - timedelta(days=1)).isoformat(), interval="1h", pairs=["BTCUSDT"])
    assert b["mode"] == "historical" and b["interval"] == "1h" and b["virtual_time"] is None
    add(client, b["id"], a1)
    add(client, b["id"], a2)
    assert error_code(act(client, b["id"], "start")) == "NO_CANDLE_DATA"  # the store has no candles for it
    assert Battle.objects.get(pk=b["id"]).status == "draft"


def test_list_filters(setup):
    client, (a1, a2, _) = setup
    b = make_battle(client)
    make_battle(client)
    add(client, b["id"], a1)
    add(client, b["id"], a2)
    act(client, b["id"], "start")
    assert [x["id"] for x in client.get("/api/v1/battles?status=active").json()] == [b["id"]]
    assert len(client.get("/api/v1/battles?status=draft").json()) == 1
    assert client.get("/api/v1/battles?status=bogus").status_code == 400


def test_the_demo_battle_seed_restarts_cleanly(settings):
    from django.core.management import call_command

    from agents.models import AgentKey

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    call_command("run_demo_battle", "--seed-only", stdout=open("/dev/null", "w"))
    first = Battle.objects.get(name="Demo battle", status="active")
    assert first.participants.count() == 3 and first.preset == "quick_1h"
    call_command("run_demo_battle", "--seed-only", stdout=open("/dev/null", "w"))  # the next bin/run
    first.refresh_from_db()
    assert first.status == "completed"
    assert Battle.objects.filter(name="Demo battle", status="active").count() == 1
    assert AgentKey.objects.filter(name="demo-runner", revoked_at__isnull=True).count() == 3


def test_the_clock_stops_while_paused_and_the_battle_ends_itself_after(setup):
    from battles.selectors import battle_clock
    from battles.services import battle_pause, battle_resume, battle_start

    client, (a1, a2, _) = setup
    b = make_battle(client, duration=600)
    add(client, b["id"], a1)
    add(client, b["id"], a2)
    t0 = timezone.now()
    battle = battle_start(battle=Battle.objects.get(pk=b["id"]), now=t0)
    battle = battle_pause(battle=battle, now=t0 + timedelta(seconds=100))
    clock = battle_clock(battle, now=t0 + timedelta(seconds=400))
    assert (clock.elapsed_seconds, clock.remaining_seconds) == (100, 500)  # frozen while paused
    battles_tick(now=t0 + timedelta(seconds=700))  # past the original end, but paused: nothing happens
    assert status_of(b["id"]) == "paused"
    battle = battle_resume(battle=Battle.objects.get(pk=b["id"]), now=t0 + timedelta(seconds=400))
    assert battle.end_time == t0 + timedelta(seconds=900)  # moved by the 300 s pause
    assert battle_clock(battle, now=t0 + timedelta(seconds=450)).elapsed_seconds == 150
    battles_tick(now=t0 + timedelta(seconds=899))
    assert status_of(b["id"]) == "active"
    battles_tick(now=t0 + timedelta(seconds=900))
    battle = Battle.objects.get(pk=b["id"])
    assert battle.status == "completed" and battle.end_reason == "time_up"
    assert battle_clock(battle).elapsed_seconds == 600 and battle_clock(battle).remaining_seconds == 0


def test_live_shows_each_new_round_at_once_and_checks_the_account_every_time(setup, account_factory, staff,
                                                                             jwt_client):
    """/live renders a round's rows once per process (battles.selectors.battle_live_body): a new round must still
    show on the very next read, and the account behind the token is checked on every read (deleted or deactivated:
    401, as every other JWT view), staff see any battle, another account gets 404."""
    from battles.services import standings_round

    client, (a1, a2, _) = setup
    b = make_battle(client)
    add(client, b["id"], a1)
    add(client, b["id"], a2)
    before = client.get(f"/api/v1/battles/{b['id']}/live")
    assert before.status_code == 200 and before["Content-Type"] == "application/json"
    assert before.json()["status"] == "draft" and before.json()["round"] == 0
    assert {r["agent_name"] for r in before.json()["standings"]} == {"alpha", "beta"}
    assert "X-RateLimit-Limit" in before
    act(client, b["id"], "start")
    seen = []
    for _ in range(3):
        snap = standings_round(battle_id=b["id"])
        live = client.get(f"/api/v1/battles/{b['id']}/live").json()
        assert live["round"] == snap.seq and live["standings"] == snap.standings and live["status"] == "active"
        assert live["as_of"] == snap.ts.isoformat().replace("+00:00", "Z")
        seen.append(live["round"])
    assert seen == sorted(set(seen)) and len(seen) == 3
    assert jwt_client(staff).get(f"/api/v1/battles/{b['id']}/live").json()["round"] == seen[-1]
    other = account_factory().account
    other_client = jwt_client(other)
    assert other_client.get(f"/api/v1/battles/{b['id']}/live").status_code == 404
    owner = Battle.objects.get(pk=b["id"]).owner
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    r = client.get(f"/api/v1/battles/{b['id']}/live")
    assert r.status_code == 401 and error_code(r) == "AUTHENTICATION_FAILED"
    other.delete()
    assert other_client.get(f"/api/v1/battles/{b['id']}/live").status_code == 401


def test_live_reuses_its_row_while_nothing_changes_and_sees_every_change_at_once(setup, staff, jwt_client,
                                                                                 django_assert_num_queries):
    """The statement's row is reused while the battle's and the accounts' generations stand still (their reads
    ride on the rate limiter's round trip): a repeated read runs no SQL; a transition, a new round, a change of
    the account all show on the next read."""
    from battles.services import standings_round

    client, (a1, a2, _) = setup
    b = make_battle(client)
    add(client, b["id"], a1)
    add(client, b["id"], a2)
    act(client, b["id"], "start")
    path = f"/api/v1/battles/{b['id']}/live"
    assert client.get(path).json()["status"] == "active"
    with django_assert_num_queries(0):
        again = client.get(path)
    assert again.status_code == 200 and again.json()["status"] == "active"
    act(client, b["id"], "pause")
    assert client.get(path).json()["status"] == "paused"
    act(client, b["id"], "resume")
    snap = standings_round(battle_id=b["id"])
    assert client.get(path).json()["round"] == snap.seq
    staff_client = jwt_client(staff)
    assert staff_client.get(path).status_code == 200
    staff.is_staff = False
    staff.save(update_fields=["is_staff"])
    assert staff_client.get(path).status_code == 404
