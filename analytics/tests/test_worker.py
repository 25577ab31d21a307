"""The analytics task running in a real Celery worker, on fills the worker itself made: an agent buys and sells
through the API, the worker fills, snapshots equity and updates the metrics, and the agent reads them."""

from datetime import timedelta

import pytest

from analytics.models import Leaderboard, MetricState
from trading.models import EquitySnapshot, Fill
from trading.tests.orders_support import *  # noqa: F403
from trading.tests.orders_support import D, set_market, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOOK = {"bids": [("59990", "10")], "asks": [("60000", "10")]}


def test_update_metrics_runs_on_the_worker(celery_worker, trader):
    from analytics.tasks import update_metrics
    from trading.tasks import snapshot_equity

    agent, client, wallet = trader()
    set_market("BTCUSDT", "60000", **BOOK)
    r = client.post("/api/v1/trade/order?wait_ms=3000", {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                                          "quantity": "0.01"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "filled", r.content
    set_market("BTCUSDT", "61000", bids=[("61000", "10")], asks=[("61010", "10")])
    r = client.post("/api/v1/trade/order?wait_ms=3000", {"symbol": "BTCUSDT", "side": "sell", "type": "market",
                                                          "quantity": "0.01"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "filled", r.content
    sell = Fill.objects.get(wallet=wallet, side="sell")
    assert sell.realized_pnl > 0
    # the update takes fills once they are older than ANALYTICS_FILL_SETTLE_SECONDS (10 s): age them, not wait
    for fill in Fill.objects.filter(wallet=wallet):
        Fill.objects.filter(pk=fill.pk).update(created_at=fill.created_at - timedelta(seconds=30))

    snapshot_equity.delay()
    assert wait_for(lambda: EquitySnapshot.objects.filter(wallet=wallet).exists(), timeout=20)
    update_metrics.delay()
    assert wait_for(lambda: MetricState.objects.filter(wallet=wallet).count() == 4, timeout=20)
    assert wait_for(lambda: Leaderboard.objects.exists(), timeout=20)

    body = client.get("/api/v1/analytics/performance?period=1d").json()
    assert body["total_trades"] == 1
    assert D(body["best_trade"]) == sell.realized_pnl
    assert body["win_rate"] == "100.0000" and body["profit_factor"] is None  # profit, no loss: undefined
    board = client.get("/api/v1/analytics/leaderboard?metric=profit_factor&period=1d").json()
    assert board["rows"][0]["agent_id"] == str(agent.pk) and board["rows"][0]["value"] is None


def test_the_beat_schedule_has_the_analytics_tasks():
    from django.conf import settings

    from config.celery_app import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"analytics.update_metrics", "analytics.downsample_equity", "analytics.recompute_metrics"} <= tasks
    assert app.conf.beat_schedule is not None and "analytics: update metrics" in app.conf.beat_schedule
    assert {"analytics.update_metrics", "analytics.downsample_equity", "analytics.recompute_metrics"} <= set(app.tasks)
