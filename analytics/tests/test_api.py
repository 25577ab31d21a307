"""The Analytics API as agents and the public see it: performance, equity history, leaderboards; isolation between
agents; hidden agents never on a board."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from analytics.models import EquityPoint
from analytics.services import leaderboards_build, metrics_update
from analytics.tests.support import sell_fill, snapshots
from trading.models import Wallet
from trading.wallet import current_wallet

pytestmark = pytest.mark.django_db

API = "/api/v1/analytics"
PERF_FIELDS = {"period", "as_of", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "max_drawdown_pct",
               "max_drawdown_duration", "win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss",
               "best_trade", "worst_trade", "total_trades", "roi_pct", "total_pnl"}


@pytest.fixture(autouse=True)
def fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ANALYTICS_FILL_SETTLE_SECONDS = 0


def _now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def trading_agent(agent_factory, agent_client, *, name="bot", account=None, drift=1, trades=(), minutes=180):
    """An agent whose wallet has ``minutes`` of one-minute equity ending now, and the given closed trades."""
    agent, key = agent_factory(name=name, account=account)
    wallet = current_wallet(agent)
    now = _now()
    start = now - timedelta(minutes=minutes)
    Wallet.objects.filter(pk=wallet.pk).update(created_at=start - timedelta(minutes=1))
    snapshots(wallet, [(start + timedelta(minutes=i), Decimal(10000 + i * drift + (i * 7919) % 13))
                       for i in range(1, minutes + 1)])
    for k, pnl in enumerate(trades):
        sell_fill(wallet, pnl, start + timedelta(minutes=k + 1))
    return agent, agent_client(key), wallet


# --- performance -------------------------------------------------------------------------------------------------------
def test_performance_of_a_new_agent_is_null_not_zero(agent_factory, agent_client):
    _, key = agent_factory()
    r = agent_client(key).get(f"{API}/performance?period=7d")
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == PERF_FIELDS and body["period"] == "7d"
    for name in ("sharpe_ratio", "sortino_ratio", "calmar_ratio", "win_rate", "profit_factor", "expectancy",
                 "avg_win", "avg_loss", "best_trade", "worst_trade"):
        assert body[name] is None, name
    assert body["total_trades"] == 0


def test_performance_after_the_update(agent_factory, agent_client):
    _, client, _ = trading_agent(agent_factory, agent_client, trades=["12.5", "-2.5", "4"])
    metrics_update()
    for period in ("1d", "7d", "30d", "all"):
        body = client.get(f"{API}/performance", {"period": period}).json()
        assert set(body) == PERF_FIELDS
        assert body["total_trades"] == 3
        assert body["win_rate"] == "66.6667" and body["profit_factor"] == "6.6000"
        assert body["expectancy"] == "4.66666667" and body["best_trade"] == "12.50000000"
        assert body["avg_loss"] == "-2.50000000"
        assert isinstance(body["max_drawdown_duration"], int)
        for name in ("sharpe_ratio", "sortino_ratio", "roi_pct", "max_drawdown_pct", "total_pnl"):
            assert isinstance(body[name], str) and Decimal(body[name]).is_finite(), (name, body[name])
    # "all" counts from the starting balance (the funding point), not from the first snapshot
    assert client.get(f"{API}/performance").json()["period"] == "all"


def test_performance_rejects_a_bad_period(agent_factory, agent_client):
    _, key = agent_factory()
    r = agent_client(key).get(f"{API}/performance?period=2d")
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_analytics_of_an_agent_need_its_key():
    for path in ("performance", "portfolio/history"):
        r = APIClient().get(f"{API}/{path}")
        assert r.status_code == 401, (path, r.status_code)
        r = APIClient(HTTP_X_API_KEY="ak_live_notakey").get(f"{API}/{path}")
        assert r.status_code == 401


def test_agent_b_never_sees_agent_a(agent_factory, agent_client):
    """B's key scopes everything to B: nothing of A's metrics or curve comes back, whatever the parameters."""
    _, client_a, wallet_a = trading_agent(agent_factory, agent_client, name="A", drift=5, trades=["100"])
    agent_b, key_b = agent_factory(name="B")
    client_b = agent_client(key_b)
    metrics_update()
    a = client_a.get(f"{API}/performance?period=all").json()
    b = client_b.get(f"{API}/performance?period=all").json()
    assert a["total_trades"] == 1 and b["total_trades"] == 0
    assert b["roi_pct"] in (None, "0.0000") and b["sharpe_ratio"] is None
    hist_a = client_a.get(f"{API}/portfolio/history?interval=1m").json()
    hist_b = client_b.get(f"{API}/portfolio/history?interval=1m").json()
    assert len(hist_a) == 180 and hist_b == []
    # no parameter selects another wallet or agent
    for extra in (f"&wallet_id={wallet_a.pk}", f"&agent_id={wallet_a.agent_id}"):
        assert client_b.get(f"{API}/portfolio/history?interval=1m{extra}").json() == []
        assert client_b.get(f"{API}/performance?period=all{extra}").json()["total_trades"] == 0


# --- history -----------------------------------------------------------------------------------------------------------
def test_history_buckets_by_interval_oldest_first(agent_factory, agent_client):
    _, client, wallet = trading_agent(agent_factory, agent_client, minutes=180)
    one = client.get(f"{API}/portfolio/history", {"interval": "1m"}).json()
    five = client.get(f"{API}/portfolio/history", {"interval": "5m"}).json()
    hour = client.get(f"{API}/portfolio/history", {"interval": "1h"}).json()
    assert len(one) == 180 and 36 <= len(five) <= 37 and 3 <= len(hour) <= 4
    assert [p["ts"] for p in one] == sorted(p["ts"] for p in one)
    assert set(one[0]) == {"ts", "equity", "cash", "positions_value"}
    assert one[-1]["equity"] == hour[-1]["equity"] == five[-1]["equity"]  # each bucket's value is its last point
    assert all(isinstance(p["equity"], str) for p in one)
    start = one[10]["ts"]
    end = one[20]["ts"]
    part = client.get(f"{API}/portfolio/history", {"interval": "1m", "start": start, "end": end}).json()
    assert [p["ts"] for p in part] == [p["ts"] for p in one[10:20]]


def test_history_serves_the_downsampled_tiers(agent_factory, agent_client):
    agent, key = agent_factory()
    wallet = current_wallet(agent)
    old = _now() - timedelta(days=60)
    EquityPoint.objects.bulk_create([EquityPoint(wallet=wallet, agent=agent, ts=old + timedelta(hours=h),
                                                 equity=Decimal(9000 + h), cash=Decimal(9000 + h),
                                                 positions_value=0, resolution="1h") for h in range(48)])
    body = agent_client(key).get(f"{API}/portfolio/history", {"interval": "1h", "start": old.isoformat(),
                                                               "end": (old + timedelta(days=2)).isoformat()}).json()
    assert len(body) == 48 and body[0]["equity"] == "9000.00000000"
    daily = agent_client(key).get(f"{API}/portfolio/history", {"interval": "1d"}).json()
    assert 2 <= len(daily) <= 3


@pytest.mark.parametrize("query", ["interval=2m", "start=yesterday", "start=2026-01-02&end=2026-01-01",
                                   "interval=1m&start=2020-01-01&end=2026-01-01"])
def test_history_rejects_bad_parameters(agent_factory, agent_client, query):
    _, key = agent_factory()
    r = agent_client(key).get(f"{API}/portfolio/history?{query}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.content


# --- leaderboard -------------------------------------------------------------------------------------------------------
def test_leaderboard_is_public_ranked_and_carries_the_deflated_sharpe(agent_factory, agent_client):
    for k in range(4):
        trading_agent(agent_factory, agent_client, name=f"bot{k}", drift=k - 1, trades=[str(k + 1)])
    metrics_update()
    r = APIClient().get(f"{API}/leaderboard", {"metric": "sharpe_ratio", "period": "1d"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"metric", "period", "as_of", "rows"} and body["metric"] == "sharpe_ratio"
    rows = body["rows"]
    assert [row["rank"] for row in rows] == [1, 2, 3, 4]
    assert {"rank", "agent_id", "agent_name", "owner", "value", "roi_pct", "sharpe_ratio", "max_drawdown_pct",
            "total_trades", "deflated_sharpe"} <= set(rows[0])
    values = [Decimal(row["value"]) for row in rows]
    assert values == sorted(values, reverse=True)
    assert all(0 <= Decimal(row["deflated_sharpe"]) <= 1 for row in rows)
    assert rows[0]["owner"] == "Trader"
    default = APIClient().get(f"{API}/leaderboard").json()
    assert default["metric"] == "roi_pct" and default["period"] == "all"
    assert len(APIClient().get(f"{API}/leaderboard", {"limit": 2}).json()["rows"]) == 2


@pytest.mark.parametrize("query", ["metric=max_drawdown_duration", "period=2d", "limit=0", "limit=10000",
                                   "limit=abc"])
def test_leaderboard_rejects_bad_parameters(query):
    r = APIClient().get(f"{API}/leaderboard?{query}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_hidden_and_archived_agents_never_appear(agent_factory, agent_client, account_factory, jwt_client):
    owner = account_factory().account
    hidden, _, _ = trading_agent(agent_factory, agent_client, name="secret", account=owner, drift=9)
    archived, _, _ = trading_agent(agent_factory, agent_client, name="old", account=owner, drift=8)
    trading_agent(agent_factory, agent_client, name="visible", drift=1)
    metrics_update()

    def names():
        out = set()
        for metric in ("roi_pct", "sharpe_ratio", "profit_factor"):
            for period in ("1d", "all"):
                rows = APIClient().get(f"{API}/leaderboard", {"metric": metric, "period": period}).json()["rows"]
                out.update(r["agent_name"] for r in rows)
                assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
        return out

    assert names() == {"secret", "old", "visible"}
    owner_client = jwt_client(owner)
    r = owner_client.put(f"/api/v1/agents/{hidden.pk}", {"public": False}, format="json")
    assert r.status_code == 200 and r.json()["public"] is False
    assert owner_client.post(f"/api/v1/agents/{archived.pk}/archive").status_code == 200
    # at once, before any rebuild of the boards...
    assert names() == {"visible"}
    # ...and after one
    leaderboards_build()
    assert names() == {"visible"}
    # the hidden agent still sees its own analytics
    r = owner_client.put(f"/api/v1/agents/{hidden.pk}", {"public": "no"}, format="json")
    assert r.status_code == 400
    r = owner_client.put(f"/api/v1/agents/{hidden.pk}", {"public": True}, format="json")
    assert r.json()["public"] is True
    leaderboards_build()
    assert names() == {"visible", "secret"}


def test_another_account_cannot_hide_my_agent(agent_factory, agent_client, account_factory, jwt_client):
    mine, _, _ = trading_agent(agent_factory, agent_client, name="mine")
    stranger = jwt_client(account_factory().account)
    r = stranger.put(f"/api/v1/agents/{mine.pk}", {"public": False}, format="json")
    assert r.status_code == 404
