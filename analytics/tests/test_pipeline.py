"""The analytics pipeline on PostgreSQL: incremental update == full recompute for any sequence of snapshots, trades
and update times (hypothesis); window hops; the recompute's repair; downsampling in the database."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from analytics.metrics import performance
from analytics.models import Cursor, EquityPoint, Leaderboard, MetricState
from analytics.services import (PERIODS, equity_downsample, leaderboards_build, metrics_recompute, metrics_update,
                                performance_of, window_start)
from analytics.tests.support import sell_fill, snapshots
from trading.models import EquitySnapshot, Fill, Order
from trading.wallet import current_wallet

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.fixture
def fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ANALYTICS_FILL_SETTLE_SECONDS = 0


def _reset_tables():
    MetricState.objects.all().delete()
    Leaderboard.objects.all().delete()
    Cursor.objects.all().delete()
    EquityPoint.objects.all().delete()
    Fill.objects.all().delete()
    Order.objects.all().delete()
    EquitySnapshot.objects.all().delete()


# A step: ("snap", wallet index, minutes forward, equity) | ("trade", wallet index, pnl) | ("update", minutes forward)
steps = st.lists(st.one_of(
    st.tuples(st.just("snap"), st.integers(0, 1), st.integers(1, 400), st.integers(1, 30000)),
    st.tuples(st.just("trade"), st.integers(0, 1), st.integers(-500, 500)),
    st.tuples(st.just("update"), st.integers(0, 3000)),
), min_size=1, max_size=40)


def test_incremental_equals_full_for_any_sequence(fast, agent_factory):
    """Whatever arrives in whatever order between runs (and however the rolling windows hop meanwhile), the states
    the incremental update keeps equal a full recompute from the stored rows — exactly, not approximately."""
    from trading.models import Wallet

    wallets = [current_wallet(agent_factory()[0]) for _ in range(2)]
    Wallet.objects.filter(pk__in=[w.pk for w in wallets]).update(created_at=T0 - timedelta(minutes=5))

    @hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(steps=steps)
    def run(steps):
        _reset_tables()
        clock = [T0, T0]  # per wallet: time of its last snapshot
        now = T0
        final = [("snap", 0, 1, 12345), ("snap", 1, 1, 23456), ("update", 1)]
        for step in steps + final:
            if step[0] == "snap":
                _, i, minutes, cents = step
                clock[i] += timedelta(minutes=minutes)
                now = max(now, clock[i])
                snapshots(wallets[i], [(clock[i], Decimal(cents) / 100)])
            elif step[0] == "trade":
                _, i, pnl = step
                sell_fill(wallets[i], Decimal(pnl) / 10, now)
            else:
                now += timedelta(minutes=step[1])
                metrics_update(now=now, build_leaderboards=False)
        report = metrics_recompute(repair=False)
        assert report.mismatched == 0, report.examples
        assert report.checked == 2 * len(PERIODS)

    run()


def test_the_all_period_matches_the_core_on_the_same_points(fast, agent_factory):
    agent, _ = agent_factory(starting_balance=Decimal("1000.00"))
    wallet = current_wallet(agent)
    from trading.models import Wallet

    Wallet.objects.filter(pk=wallet.pk).update(created_at=T0)
    pts = [(T0 + timedelta(minutes=i + 1), Decimal(1000 + (i * 37) % 50 - i)) for i in range(300)]
    snapshots(wallet, pts[:100])
    sell_fill(wallet, "12.5", T0 + timedelta(minutes=50))
    metrics_update(now=T0 + timedelta(minutes=101))
    snapshots(wallet, pts[100:])
    sell_fill(wallet, "-3", T0 + timedelta(minutes=150))
    now = T0 + timedelta(minutes=301)
    metrics_update(now=now)
    st_all = MetricState.objects.get(wallet=wallet, period="all")
    ref = performance([(T0, Decimal("1000.00"))] + pts, [Decimal("12.5"), Decimal("-3")], now=now)
    got = performance_of(st_all.metrics)
    for name in ref.API_FIELDS:
        assert getattr(got, name) == getattr(ref, name), name
    # the 1d window starts within the hour before now - 24 h: every point here is inside it, but not the funding
    ws = window_start(wallet.pk, "1d", now)
    assert now - timedelta(hours=25) < ws <= now - timedelta(hours=24)
    assert performance_of(MetricState.objects.get(wallet=wallet, period="1d").metrics).roi_pct == \
        (pts[-1][1] / pts[0][1] - 1) * 100


def test_a_hop_rebuilds_the_window_and_old_points_leave_it(fast, agent_factory):
    from trading.models import Wallet

    agent, _ = agent_factory()
    wallet = current_wallet(agent)
    Wallet.objects.filter(pk=wallet.pk).update(created_at=T0 - timedelta(minutes=1))
    snapshots(wallet, [(T0 + timedelta(minutes=i), 10000 + i) for i in range(0, 600, 10)])
    metrics_update(now=T0 + timedelta(minutes=600))
    first = MetricState.objects.get(wallet=wallet, period="1d")
    # two days later, one more point: the 1d window has hopped past every earlier point
    later = T0 + timedelta(days=2)
    snapshots(wallet, [(later, 9000)])
    report = metrics_update(now=later + timedelta(seconds=5))
    assert report.rebuilt == 3  # 48 h later every rolling window has hopped; "all" never does
    st_1d = MetricState.objects.get(wallet=wallet, period="1d")
    assert st_1d.window_start > first.window_start
    assert st_1d.state["n_points"] == 1
    assert MetricState.objects.get(wallet=wallet, period="all").state["n_points"] == 60 + 1 + 1  # + funding point


def test_recompute_repairs_a_corrupted_state(fast, agent_factory, capsys):
    from django.core.management import call_command

    agent, _ = agent_factory()
    wallet = current_wallet(agent)
    snapshots(wallet, [(T0 + timedelta(minutes=i), 10000 + (i % 7) * 3 - i) for i in range(1, 200)])
    metrics_update(now=T0 + timedelta(minutes=200))
    good = MetricState.objects.get(wallet=wallet, period="7d").metrics
    st = MetricState.objects.get(wallet=wallet, period="7d")
    st.state["s1"] += 0.5
    st.metrics["sharpe_ratio"] = "99"
    st.save()
    with pytest.raises(SystemExit):
        call_command("analytics_recompute", "--check")
    assert "1 differed" in capsys.readouterr().out
    call_command("analytics_recompute")
    assert MetricState.objects.get(wallet=wallet, period="7d").metrics == good
    assert metrics_recompute(repair=False).mismatched == 0


def test_downsampling_thins_old_history_and_keeps_its_drawdowns(fast, agent_factory):
    """10 days of minutes: the 2 oldest days become 5-minute points; 40 days: the oldest 8 become 1-hour points.
    The first and last points and the drawdown (depth and duration) of the whole curve survive."""
    import numpy as np

    agent, _ = agent_factory()
    wallet = current_wallet(agent)
    from trading.models import Wallet

    start = T0
    Wallet.objects.filter(pk=wallet.pk).update(created_at=start - timedelta(minutes=1))
    rng = np.random.default_rng(7)
    n = 10 * 1440
    eq = np.round(10000 * np.exp(np.cumsum(rng.normal(0, 0.001, n))), 2)
    pts = [(start + timedelta(minutes=i), Decimal(str(e))) for i, e in enumerate(eq)]
    snapshots(wallet, pts)
    now = start + timedelta(days=10)
    metrics_update(now=now)
    before = performance(pts, [], now=now)
    report = equity_downsample(now=now)
    assert report.raw_in > 2 * 1440 - 60 and report.kept_5m < report.raw_in / 3
    cut = (now - timedelta(days=8)).replace(minute=0, second=0, microsecond=0)
    assert not EquitySnapshot.objects.filter(wallet=wallet, ts__lt=cut).exists()
    kept = list(EquityPoint.objects.filter(wallet=wallet).order_by("ts").values_list("ts", "equity"))
    assert kept[0] == pts[0]  # the first point
    assert kept[-1] == [p for p in pts if p[0] < cut][-1]  # the last point of the thinned range
    after_pts = kept + list(EquitySnapshot.objects.filter(wallet=wallet).order_by("ts").values_list("ts", "equity"))
    after = performance(after_pts, [], now=now)
    assert (after.max_drawdown_pct, after.max_drawdown_duration, after.roi_pct, after.total_pnl) == \
        (before.max_drawdown_pct, before.max_drawdown_duration, before.roi_pct, before.total_pnl)
    # the 30d/all states were rebuilt from the thinned history: the recompute agrees
    assert metrics_recompute(repair=False).mismatched == 0
    # 30 days later the 5-minute points older than 32 days become hourly ones
    later = now + timedelta(days=30)
    r2 = equity_downsample(now=later)
    assert r2.five_in > 0 and r2.kept_1h < r2.five_in
    assert EquityPoint.objects.filter(wallet=wallet, resolution="1h").exists()
    final = list(EquityPoint.objects.filter(wallet=wallet).order_by("ts").values_list("ts", "equity"))
    final += list(EquitySnapshot.objects.filter(wallet=wallet).order_by("ts").values_list("ts", "equity"))
    f = performance(final, [], now=now)
    assert (f.max_drawdown_pct, f.max_drawdown_duration, f.roi_pct) == \
        (before.max_drawdown_pct, before.max_drawdown_duration, before.roi_pct)
    assert metrics_recompute(repair=False).mismatched == 0


def test_leaderboards_cover_every_metric_and_period(fast, agent_factory):
    for k in range(3):
        agent, _ = agent_factory(name=f"bot{k}")
        w = current_wallet(agent)
        snapshots(w, [(T0 + timedelta(minutes=i), 10000 + ((i * (k + 3)) % 11) * (k + 1) + i * k) for i in
                      range(1, 120)])
        sell_fill(w, 5 * (k + 1), T0 + timedelta(minutes=3))
    metrics_update(now=T0 + timedelta(minutes=121))
    assert Leaderboard.objects.count() == 7 * 4
    board = Leaderboard.objects.get(metric="sharpe_ratio", period="1d")
    assert len(board.rows) == 3
    assert all(r["deflated_sharpe"] is not None for r in board.rows)
    values = [Decimal(r["value"]) for r in board.rows]
    assert values == sorted(values, reverse=True)
    # profit factor: every agent is flawless (profit, no loss) -> null values, all ranked, by ROI
    pf = Leaderboard.objects.get(metric="profit_factor", period="all").rows
    assert [r["value"] for r in pf] == [None] * 3
    rois = [Decimal(r["roi_pct"]) for r in pf]
    assert rois == sorted(rois, reverse=True)
    assert leaderboards_build() == 28
