"""Standings: ranking with undefined values, survival elimination, the automatic stop, a stop racing fills."""

import random
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from battles.models import Battle, Participant, StandingsSnapshot
from battles.services import BattleState, battle_stop, battles_tick, standings_round
from battles.tests.support import act, add, make_battle
from trading.models import OPEN_ORDER_STATUSES, Order, Wallet
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import D, assert_ledger_balanced, set_market, wait_for

LOOSE = {"max_order_size_pct": "100", "max_position_size_pct": "100", "max_open_orders": 1000,
         "order_rate_limit": 10000, "daily_loss_limit_pct": "100"}


def test_ranking_uses_the_analytics_rules_for_undefined_values():
    """Undefined values rank below defined ones, except a profit factor with profit and no loss (the best); ties
    broken by ROI (the analytics core's rules, shared with the leaderboard)."""
    from datetime import UTC, datetime, timedelta

    from battles.ranking import accumulate, ranked

    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def perf(curve, trades=()):
        state, p = None, None
        for i, equity in enumerate(curve):
            state, p = accumulate(state, ts=t0 + timedelta(seconds=5 * i), equity=D(equity),
                                  trades=trades if i == len(curve) - 1 else ())
        return p

    rows = [("no-trades", perf(["1000", "1010"])), ("only-wins", perf(["1000", "1005"], [D("5")])),
            ("mixed", perf(["1000", "1020"], [D("30"), D("-10")])), ("flat", perf(["1000"]))]
    by_pf = ranked(rows, "profit_factor")
    assert [(k, v) for _, k, v in by_pf] == [("only-wins", None), ("mixed", D("3")), ("no-trades", None),
                                             ("flat", None)]
    assert [r for r, _, _ in by_pf] == [1, 2, 3, 4]
    by_sharpe = ranked(rows, "sharpe_ratio")  # a single return gives no Sharpe ratio: all undefined, ROI decides
    assert [k for _, k, v in by_sharpe] == ["mixed", "no-trades", "only-wins", "flat"]
    assert all(v is None for _, _, v in by_sharpe)


pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def buy(client, qty, symbol="BTCUSDT"):
    r = client.post("/api/v1/trade/order?wait_ms=5000", {"symbol": symbol, "side": "buy", "type": "market",
                                                         "quantity": qty}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "filled", r.json()
    return r.json()


@pytest.fixture
def arena(trader, account_factory, jwt_client):
    def make(n, **battle):
        owner = account_factory().account
        traders = [trader(account=owner, name=f"agent-{i}", risk_config=LOOSE) for i in range(n)]
        client = jwt_client(owner)
        b = make_battle(client, **battle)
        for agent, _, _ in traders:
            add(client, b["id"], agent)
        return client, b["id"], traders
    return make


def test_profit_factor_undefined_without_a_losing_trade_ranks_last(celery_worker, arena):
    set_market("BTCUSDT", "60000", bids=[("60000", "10")], asks=[("60000", "10")])
    owner, bid, [(a, ca, _), (b, cb, _), (c, cc, _)] = arena(3, ranking_metric="profit_factor")
    act(owner, bid, "start")
    buy(ca, "0.01")
    buy(cb, "0.01")
    set_market("BTCUSDT", "61000", bids=[("61000", "10")], asks=[("61000", "10")])
    r = ca.post("/api/v1/trade/positions/close?wait_ms=5000", {"symbol": "BTCUSDT"}, format="json")
    assert r.status_code in (200, 201), r.json()
    assert wait_for(lambda: not Order.objects.filter(agent=a, status__in=OPEN_ORDER_STATUSES).exists())
    snap = standings_round(battle_id=bid)
    rows = {r["agent_name"]: r for r in snap.standings}
    # a won its one trade: profit factor undefined (no loss) but the best; b and c never closed one: undefined,
    # ranked after it (by ROI: b holds BTC that rose, c holds cash)
    assert rows["agent-0"]["total_trades"] == 1 and rows["agent-0"]["win_rate"] == "100.0000"
    assert all(r["profit_factor"] is None and r["value"] is None for r in rows.values())
    assert [r["agent_name"] for r in snap.standings] == ["agent-0", "agent-1", "agent-2"]
    assert [r["rank"] for r in snap.standings] == [1, 2, 3]
    live = owner.get(f"/api/v1/battles/{bid}/live").json()
    assert live["round"] == snap.seq and live["standings"] == snap.standings


def test_survival_eliminates_below_the_threshold_and_ends_with_the_last_one(celery_worker, arena):
    set_market("BTCUSDT", "60000", bids=[("60000", "10")], asks=[("60000", "10")])
    owner, bid, [(a, ca, _), (b, cb, _), (c, cc, _)] = arena(3, preset="survival")
    assert act(owner, bid, "start").json()["remaining_seconds"] is None
    buy(ca, "0.15")  # 9000 of 10000 in BTC
    buy(cb, "0.12")  # 7200
    resting = ca.post("/api/v1/trade/order", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                              "quantity": "0.001", "price": "10000"}, format="json")
    assert resting.status_code == 201
    set_market("BTCUSDT", "20000", bids=[("20000", "10")], asks=[("20000", "10")])
    snap = standings_round(battle_id=bid)  # a: 1000 + 3000 = 4000 < 5000; b: 2800 + 2400 = 5200
    rows = {r["agent_name"]: r for r in snap.standings}
    assert rows["agent-0"]["status"] == "eliminated" and rows["agent-0"]["rank"] == 3
    assert [r["agent_name"] for r in snap.standings] == ["agent-2", "agent-1", "agent-0"]
    assert Order.objects.get(pk=resting.json()["id"]).status == "cancelled"
    r = ca.post("/api/v1/trade/order", {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                        "quantity": "0.001"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "BATTLE_STATE"
    assert Battle.objects.get(pk=bid).status == "active"
    # the eliminated one's rank and row stay fixed whatever the price does next
    set_market("BTCUSDT", "30000", bids=[("30000", "10")], asks=[("30000", "10")])
    again = {r["agent_name"]: r for r in standings_round(battle_id=bid).standings}
    assert again["agent-0"] == rows["agent-0"]
    set_market("BTCUSDT", "10000", bids=[("10000", "10")], asks=[("10000", "10")])
    final = standings_round(battle_id=bid)  # b: 2800 + 1200 = 4000: eliminated, c is the last one
    battle = Battle.objects.get(pk=bid)
    assert battle.status == "completed" and battle.end_reason == "last_survivor" and final.final
    assert [(r["agent_name"], r["rank"]) for r in final.standings] == [("agent-2", 1), ("agent-1", 2),
                                                                       ("agent-0", 3)]
    assert dict(Participant.objects.filter(battle=battle).values_list("agent__name", "final_rank")) == {
        "agent-0": 3, "agent-1": 2, "agent-2": 1}
    assert not Wallet.objects.filter(battle_id=bid, routed=True).exists()
    assert_ledger_balanced()
    from battles.selectors import equity_series

    assert battle.round_seq == 4  # start, two rounds, the final one
    thinned = equity_series(battle=battle, max_points=2)  # rounds 2 and 4 (the last one always)
    assert {len(points) for points in thinned.values()} == {2}
    assert thinned[str(c.pk)][-1][1] == D(final.standings[0]["equity"])


def test_the_battle_stops_itself_at_its_end_time(celery_worker, arena):
    from battles.tasks import tick

    set_market("BTCUSDT", "60000", bids=[("60000", "10")], asks=[("60000", "10")])
    owner, bid, [(a, ca, _), _] = arena(2, duration=2)
    act(owner, bid, "start")
    buy(ca, "0.01")
    assert battles_tick()["rounds"] == 1  # not over yet: a round
    time.sleep(2.2)
    tick.delay()  # what beat sends; the real worker runs it
    assert wait_for(lambda: Battle.objects.get(pk=bid).status == "completed", timeout=20)
    battle = Battle.objects.get(pk=bid)
    assert battle.end_reason == "time_up" and StandingsSnapshot.objects.filter(battle=battle, final=True).count() == 1
    assert ca.get("/api/v1/account/balance").json()["wallet_id"] != str(Participant.objects.get(
        battle=battle, agent=a).wallet_id)


def test_the_beat_schedule_is_registered():
    """beat writes the settings' schedule to django-celery-beat's tables at start (what `celery beat` does)."""
    from django.conf import settings
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from config.celery_app import app

    app.loader.import_default_modules()
    assert "battles.tick" in app.tasks
    DatabaseScheduler(app=app)
    task = PeriodicTask.objects.get(task="battles.tick")
    assert task.enabled and task.interval.every == settings.BATTLE_SNAPSHOT_SECONDS == 5
    assert task.interval.period == "seconds"


def test_a_stop_racing_fills_and_another_stop_freezes_the_results_once(celery_worker, arena, settings):
    settings.RATE_LIMIT_ENABLED = False
    set_market("BTCUSDT", "60000", bids=[("59990", "100")], asks=[("60000", "100")])
    owner, bid, traders = arena(4)
    act(owner, bid, "start")
    keys = []
    from agents.services import agent_key_issue

    for agent, _, _ in traders:
        keys.append(agent_key_issue(agent=agent).api_key)
    stop_outcomes, errors = [], []
    barrier = threading.Barrier(len(keys) + 2)

    def trade(i):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=keys[i])
        rnd = random.Random(i)
        barrier.wait()
        for _ in range(15):
            side = "buy" if rnd.random() < 0.7 else "sell"
            body = {"symbol": "BTCUSDT", "side": side, "type": "market", "quantity": "0.001"}
            if rnd.random() < 0.3:
                body = {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.001", "price": "59000"}
            r = client.post("/api/v1/trade/order?wait_ms=0", body, format="json")
            assert r.status_code in (201, 422), r.content

    def stop(i):
        barrier.wait()
        time.sleep(0.05 + 0.05 * i)
        try:
            battle_stop(battle=Battle.objects.get(pk=bid))
            stop_outcomes.append("stopped")
        except BattleState:
            stop_outcomes.append("refused")

    def run(target, i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(trade, i)) for i in range(len(keys))]
    threads += [threading.Thread(target=run, args=(stop, i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[0]
    assert sorted(stop_outcomes) == ["refused", "stopped"]
    battle = Battle.objects.get(pk=bid)
    assert battle.status == "completed"
    assert StandingsSnapshot.objects.filter(battle=battle, final=True).count() == 1
    wallets = list(Wallet.objects.filter(battle_id=bid))
    # let the worker drain whatever was accepted before the stop: nothing may fill after it
    time.sleep(2)
    assert not Order.objects.filter(wallet__in=wallets, status__in=OPEN_ORDER_STATUSES).exists()
    from battles.selectors import wallet_equities

    final = {r["agent_id"]: Decimal(r["equity"]) for r in
             StandingsSnapshot.objects.get(battle=battle, final=True).standings}
    now = wallet_equities(wallet_ids=[w.pk for w in wallets])
    assert {str(w.agent_id): now[str(w.pk)] for w in wallets} == final
    # and the agents are back on their everyday wallets
    assert not Wallet.objects.filter(battle_id=bid, routed=True).exists()
    assert Wallet.objects.filter(battle_id=bid, paused=True).count() == len(wallets) == 4
    call_command("check_ledger")
    assert_ledger_balanced()
