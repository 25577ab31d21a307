"""The metrics core on its own: undefined cases, the streaming accumulator against the vectorised path (hypothesis),
the deflated Sharpe ratio, ranking rules, and that the package stays free of Django."""

import math
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.metrics import (Accumulator, Performance, deflated_sharpe, deflated_sharpes, expected_max_sharpe,
                               performance, probabilistic_sharpe, rank)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
D = Decimal


def curve(*values, step=60):
    return [(T0 + timedelta(seconds=i * step), D(str(v))) for i, v in enumerate(values)]


# --- undefined cases ---------------------------------------------------------------------------------------------------
def test_no_data_at_all_is_undefined_not_zero():
    p = performance([], [])
    for name in Performance.API_FIELDS:
        if name != "total_trades":
            assert getattr(p, name) is None, name
    assert p.total_trades == 0


def test_one_point_has_no_ratio():
    p = performance(curve(100), [])
    assert p.sharpe_ratio is None and p.sortino_ratio is None and p.calmar_ratio is None
    assert p.roi_pct == 0 and p.total_pnl == 0 and p.max_drawdown_pct == 0 and p.max_drawdown_duration == 0


def test_one_return_has_no_sharpe():
    p = performance(curve(100, 101), [])
    assert p.sharpe_ratio is None and p.sortino_ratio is None
    assert p.roi_pct == D("1.00")


def test_flat_equity_has_no_sharpe_sortino_or_calmar():
    p = performance(curve(*[100] * 50), [])
    assert p.sharpe_ratio is None and p.sortino_ratio is None and p.calmar_ratio is None
    assert p.max_drawdown_pct == 0


def test_constant_growth_has_no_sharpe_despite_float_rounding():
    """Returns equal up to float rounding: std is noise, the Sharpe ratio undefined (not 1e8)."""
    values = [100 * 1.001 ** i for i in range(40)]
    assert performance(curve(*values), []).sharpe_ratio is None


def test_never_losing_curve_has_no_sortino_and_no_calmar():
    p = performance(curve(100, 101, 103, 103, 104), [])
    assert p.sharpe_ratio is not None
    assert p.sortino_ratio is None  # no downside deviation
    assert p.calmar_ratio is None  # no drawdown
    assert p.max_drawdown_pct == 0 and p.max_drawdown_duration == 0


def test_trade_statistics_without_trades_are_null():
    p = performance(curve(100, 101, 99), [])
    assert (p.win_rate, p.profit_factor, p.expectancy, p.avg_win, p.avg_loss, p.best_trade, p.worst_trade) == \
        (None,) * 7
    assert p.total_trades == 0


def test_profit_factor_without_a_loss_is_null_not_zero():
    p = performance([], [D("5"), D("2")])
    assert p.profit_factor is None and p.win_rate == 100 and p.avg_loss is None and p.gross_profit == 7


def test_only_losses():
    p = performance([], [D("-5"), D("-1")])
    assert p.profit_factor == 0 and p.win_rate == 0 and p.avg_win is None and p.avg_loss == D("-3")


def test_a_zero_pnl_trade_counts_but_neither_wins_nor_loses():
    p = performance([], [D("3"), D("0"), D("-1")])
    assert p.total_trades == 3 and p.winning_trades == 1 and p.losing_trades == 1
    assert p.expectancy == D("2") / 3 and p.profit_factor == 3


def test_unrecovered_drawdown_lasts_until_now_not_the_last_sample():
    eq = curve(100, 110, 100, 105)  # peak at t=60, under water after
    assert performance(eq, []).max_drawdown_duration == 120  # now=None: the last point
    now = T0 + timedelta(hours=1)
    assert performance(eq, [], now=now).max_drawdown_duration == 3600 - 60
    # recovered episodes end at the recovery
    assert performance(curve(100, 110, 100, 110, 120), [], now=now).max_drawdown_duration == 120


def test_return_from_zero_equity_is_skipped():
    p = performance(curve(100, 0, 50, 60), [])
    assert p.n_returns == 2  # 100->0 and 50->60; 0->50 is undefined
    assert p.max_drawdown_pct == 100


# --- streaming == vectorised -------------------------------------------------------------------------------------------
equities = st.lists(st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=8), min_size=0, max_size=60)
gaps = st.lists(st.integers(min_value=1, max_value=4000), min_size=60, max_size=60)
trades_st = st.lists(st.decimals(min_value=D("-10000"), max_value=D("10000"), places=8), max_size=30)


def _same(a: Performance, b: Performance):
    for name, va in a.as_dict().items():
        vb = getattr(b, name)
        if isinstance(va, Decimal) and isinstance(vb, Decimal) and name not in (
                "roi_pct", "total_pnl", "win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss",
                "best_trade", "worst_trade", "gross_profit", "gross_loss", "max_drawdown_pct"):
            assert math.isclose(float(va), float(vb), rel_tol=1e-9, abs_tol=1e-12), (name, va, vb)
        else:
            assert va == vb, (name, va, vb)


@settings(max_examples=300, deadline=None)
@given(values=equities, gaps=gaps, trades=trades_st, split=st.integers(min_value=0, max_value=60),
       late=st.integers(min_value=0, max_value=10**6))
def test_accumulator_equals_vectorised_for_any_series(values, gaps, trades, split, late):
    ts, t = [], T0
    for v, g in zip(values, gaps):
        t += timedelta(seconds=g)
        ts.append(t)
    eq = list(zip(ts, values))
    now = (ts[-1] + timedelta(seconds=late)) if ts else None
    full = performance(eq, trades, now=now)
    # a state built from a prefix, saved as JSON, reloaded, then fed the rest one by one
    acc = Accumulator.from_series(eq[:split], trades[: split // 2])
    acc = Accumulator(acc.state())
    for point in eq[split:]:
        acc.push(*point)
    for pnl in trades[split // 2:]:
        acc.trade(pnl)
    _same(acc.result(now=now), full)


def test_accumulator_refuses_out_of_order_points():
    acc = Accumulator()
    acc.push(T0, D(1))
    try:
        acc.push(T0, D(2))
    except ValueError:
        return
    raise AssertionError("a point at the same time was accepted")


# --- deflated Sharpe ratio ---------------------------------------------------------------------------------------------
def test_deflated_sharpe_reproduces_bailey_lopez_de_prado_example():
    """The paper's numerical example: annualised SR 2.5 from 1,250 daily returns (250 a year), skewness -3,
    kurtosis 10, N = 100 trials whose annualised Sharpe ratios have variance 0.5 -> SR0 ~ 0.1132 per day and
    DSR ~ 0.9004."""
    per_day_var = 0.5 / 250
    a = math.sqrt(per_day_var * 99 / 100)  # 100 trials at +-a: sample variance (ddof=1) = per_day_var
    trials = [a] * 50 + [-a] * 50
    assert math.isclose(expected_max_sharpe(trial_sharpes=trials), 0.1132, abs_tol=5e-4)
    dsr = deflated_sharpe(sharpe=2.5 / math.sqrt(250), n_returns=1250, skewness=-3, kurtosis=10, trial_sharpes=trials)
    assert abs(float(dsr) - 0.9004) < 1e-3


def test_deflated_sharpe_uses_non_excess_kurtosis():
    """For normal returns (kurtosis 3) the variance term is 1 + SR^2/2: plugging excess kurtosis (0) in would make
    it 1 - SR^2/4."""
    sr, n = 0.3, 100
    psr = probabilistic_sharpe(sharpe=sr, benchmark=0.0, n_returns=n, skewness=0.0, kurtosis=3.0)
    from statistics import NormalDist
    assert math.isclose(psr, NormalDist().cdf(sr * math.sqrt(n - 1) / math.sqrt(1 + sr * sr / 2)), rel_tol=1e-12)


def test_deflated_sharpes_of_a_board():
    eqs = [curve(*[100 + ((i * 7 + k * 3) % 5) + i * k * 0.1 for i in range(30)]) for k in range(5)]
    board = [performance(e, []) for e in eqs] + [performance([], [])]
    dsrs = deflated_sharpes(board)
    assert dsrs[-1] is None and all(d is not None and 0 <= d <= 1 for d in dsrs[:-1])
    # more trials raise the bar: the best agent's DSR among 5 is below its PSR against 0
    best = max(range(5), key=lambda i: board[i].sharpe_per_period)
    p = board[best]
    alone = probabilistic_sharpe(sharpe=float(p.sharpe_per_period), benchmark=0.0, n_returns=p.n_returns,
                                 skewness=float(p.skewness), kurtosis=float(p.kurtosis))
    assert float(dsrs[best]) < alone


# --- ranking -----------------------------------------------------------------------------------------------------------
def _perf(**kw):
    base = dict(sharpe_ratio=None, sortino_ratio=None, calmar_ratio=None, max_drawdown_pct=None,
                max_drawdown_duration=None, win_rate=None, profit_factor=None, expectancy=None, avg_win=None,
                avg_loss=None, best_trade=None, worst_trade=None, total_trades=0, roi_pct=None, total_pnl=None)
    base.update(kw)
    return Performance(**base)


def test_undefined_ranks_below_every_defined_value():
    rows = [("a", _perf(sharpe_ratio=None)), ("b", _perf(sharpe_ratio=D("-3"))), ("c", _perf(sharpe_ratio=D("2")))]
    assert [r.key for r in rank(rows, "sharpe_ratio")] == ["c", "b", "a"]
    assert [r.rank for r in rank(rows, "sharpe_ratio")] == [1, 2, 3]


def test_flawless_profit_factor_ranks_above_every_finite_one():
    rows = [("finite", _perf(profit_factor=D("50"), gross_profit=D(50), gross_loss=D(1), total_trades=5)),
            ("flawless", _perf(profit_factor=None, gross_profit=D(3), gross_loss=D(0), total_trades=1)),
            ("no-trades", _perf(profit_factor=None)),
            ("zero", _perf(profit_factor=D(0), gross_profit=D(0), gross_loss=D(4), total_trades=2))]
    ranked = rank(rows, "profit_factor")
    assert [r.key for r in ranked] == ["flawless", "finite", "zero", "no-trades"]
    assert ranked[0].value is None  # null on the wire, first on the board


def test_ties_are_broken_by_roi_then_drawdown_then_trades_then_key():
    rows = [("d", _perf(win_rate=D(50), roi_pct=D(1), max_drawdown_pct=D(5), total_trades=2)),
            ("c", _perf(win_rate=D(50), roi_pct=D(1), max_drawdown_pct=D(5), total_trades=2)),
            ("b", _perf(win_rate=D(50), roi_pct=D(1), max_drawdown_pct=D(2), total_trades=1)),
            ("a", _perf(win_rate=D(50), roi_pct=D(2), max_drawdown_pct=D(9), total_trades=1)),
            ("e", _perf(win_rate=D(50), roi_pct=D(1), max_drawdown_pct=D(5), total_trades=9))]
    assert [r.key for r in rank(rows, "win_rate")] == ["a", "b", "e", "c", "d"]


def test_unknown_metric_is_refused():
    try:
        rank([], "max_drawdown_duration")
    except ValueError:
        return
    raise AssertionError


def test_the_core_imports_nothing_from_django_or_the_apps():
    code = ("import sys, analytics.metrics; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('django', 'rest_framework', 'celery', 'common', 'accounts', 'agents', 'market', 'trading', 'streams')"
            " or (m.startswith('analytics.') and not m.startswith('analytics.metrics'))); print(bad); "
            "sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
