"""The metrics core against a reference library, empyrical-reloaded (test-only, requirements-dev.txt), on real equity
curves: buy-and-hold of each pair and a moving-average crossover, on 5-minute and 1-minute candles.

Where the definitions agree the numbers agree to a relative 1e-9. Where they differ on purpose, the test says why:
- Annualisation: empyrical takes a periods-per-year number; we derive it from the series' spacing
  (365 days / mean spacing) and hand empyrical that same number, so the formulas are compared, not the conventions.
- Max drawdown: empyrical returns a negative fraction, we return a positive percentage (the API's max_drawdown_pct).
- Drawdown duration and the trade statistics: empyrical has no such functions; they are checked against a direct
  pandas computation of the written definition instead.
"""

import math
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from analytics.metrics import YEAR_SECONDS, performance
from analytics.tests.curves import PAIRS, buy_and_hold, need_candles, sma_cross

empyrical = pytest.importorskip("empyrical")

REL = 1e-9


def _returns(equity):
    s = pd.Series([float(e) for _, e in equity], index=pd.DatetimeIndex([t for t, _ in equity]))
    return s.pct_change().iloc[1:]


def _close(ours, ref, rel=REL):
    assert ours is not None, f"ours undefined, reference {ref}"
    assert math.isclose(float(ours), float(ref), rel_tol=rel, abs_tol=0), (float(ours), float(ref))


CURVES = [(f"hold-{p}", p, "5m", buy_and_hold) for p in PAIRS] + \
         [(f"sma-{p}", p, "5m", sma_cross) for p in PAIRS] + \
         [("hold-BTCUSDT-1m", "BTCUSDT", "1m", buy_and_hold), ("sma-ETHUSDT-1m", "ETHUSDT", "1m", sma_cross)]


@pytest.fixture(params=CURVES, ids=[c[0] for c in CURVES])
def curve(request):
    need_candles()
    _, symbol, tf, build = request.param
    return build(symbol, tf)


def test_ratios_match_empyrical(curve):
    equity, trades = curve
    perf = performance(equity, trades)
    r = _returns(equity)
    ppy = float(perf.periods_per_year)
    # the spacing rule: uniform 5m/1m candles -> exactly 365 days of them per year
    spacing = (equity[1][0] - equity[0][0]).total_seconds()
    assert ppy == YEAR_SECONDS / spacing
    assert perf.n_returns == len(r)
    _close(perf.sharpe_ratio, empyrical.sharpe_ratio(r, annualization=ppy))
    _close(perf.sortino_ratio, empyrical.sortino_ratio(r, required_return=0, annualization=ppy))
    _close(perf.max_drawdown_pct, -100 * empyrical.max_drawdown(r))
    _close(perf.annual_return, empyrical.annual_return(r, annualization=ppy))
    _close(perf.calmar_ratio, empyrical.calmar_ratio(r, annualization=ppy))
    # ROI and PnL are exact Decimal arithmetic on the first and last equity
    assert perf.roi_pct == (equity[-1][1] / equity[0][1] - 1) * 100
    assert perf.total_pnl == equity[-1][1] - equity[0][1]
    _close(perf.roi_pct, 100 * empyrical.cum_returns_final(r))


def test_moments_match_scipy(curve):
    """Skewness and (non-excess) kurtosis feed the deflated Sharpe ratio; scipy's population estimators (bias=True)
    are the same definition. Computed from power sums, so 1e-6 rather than 1e-9 (cancellation in the central
    moments of minute returns)."""
    equity, trades = curve
    perf = performance(equity, trades)
    r = _returns(equity).to_numpy()
    _close(perf.skewness, scipy.stats.skew(r, bias=True), rel=1e-6)
    _close(perf.kurtosis, scipy.stats.kurtosis(r, fisher=False, bias=True), rel=1e-6)
    _close(perf.sharpe_per_period, np.mean(r) / np.std(r, ddof=1))


def test_drawdown_duration_matches_a_direct_computation(curve):
    """Not in empyrical: the longest time from a peak to the first point back at or above it; an episode still
    open at the end lasts until ``now`` (here one day after the last point), not until the last sample."""
    equity, trades = curve
    now = equity[-1][0] + timedelta(days=1)
    perf = performance(equity, trades, now=now)
    s = pd.Series([float(e) for _, e in equity], index=[t for t, _ in equity])
    longest, peak_t, peak = timedelta(0), None, -math.inf
    for t, v in s.items():
        if v >= peak:
            if peak_t is not None and under:
                longest = max(longest, t - peak_t)
            peak, peak_t, under = v, t, False
        else:
            under = True
    if under:
        longest = max(longest, now - peak_t)
    assert perf.max_drawdown_duration == int(longest.total_seconds())


def test_trade_statistics_match_a_direct_computation():
    """Not in empyrical (it works on returns, not round trips): each definition computed directly with pandas."""
    need_candles()
    for symbol in PAIRS:
        equity, trades = sma_cross(symbol)
        assert len(trades) > 10
        perf = performance(equity, trades)
        t = pd.Series([float(x) for x in trades])
        wins, losses = t[t > 0], t[t < 0]
        assert perf.total_trades == len(t)
        _close(perf.win_rate, 100 * len(wins) / len(t))
        _close(perf.profit_factor, wins.sum() / -losses.sum())
        _close(perf.expectancy, t.mean())
        _close(perf.avg_win, wins.mean())
        _close(perf.avg_loss, losses.mean())
        assert perf.best_trade == max(trades) and perf.worst_trade == min(trades)
        # and exactly, in Decimal
        assert perf.profit_factor == sum(x for x in trades if x > 0) / -sum(x for x in trades if x < 0)


def test_risk_free_rate_is_subtracted_per_period():
    need_candles()
    equity, _ = buy_and_hold("BTCUSDT")
    perf = performance(equity, [], risk_free=0.05)
    r = _returns(equity)
    ppy = float(perf.periods_per_year)
    _close(perf.sharpe_ratio, empyrical.sharpe_ratio(r, risk_free=0.05 / ppy, annualization=ppy))


def test_uneven_spacing_annualises_by_the_mean_spacing():
    """A downsampled history is not evenly spaced: periods per year = 365 d / mean spacing (the peer platform
    annualised minute data as if it were daily)."""
    need_candles()
    equity, _ = buy_and_hold("ETHUSDT")
    thinned = [p for i, p in enumerate(equity) if i % 12 == 0 or i % 7 == 0]
    perf = performance(thinned, [])
    span = (thinned[-1][0] - thinned[0][0]).total_seconds()
    assert float(perf.periods_per_year) == pytest.approx(YEAR_SECONDS * (len(thinned) - 1) / span, rel=1e-15)
    r = _returns(thinned)
    _close(perf.sharpe_ratio, empyrical.sharpe_ratio(r, annualization=float(perf.periods_per_year)))
