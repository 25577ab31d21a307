"""The deflated Sharpe ratio (Bailey and López de Prado, "The Deflated Sharpe Ratio", 2014).

The probability that a strategy's true Sharpe ratio is above the best one expected from luck alone among N trials:

    SR0 = sqrt(V[SR_n]) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))        g = Euler-Mascheroni constant
    DSR = Z( (SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2) )

with SR the strategy's NON-annualised (per-period) Sharpe ratio, T its number of returns, skew its skewness and kurt
its kurtosis — NOT excess kurtosis: a normal distribution has kurt = 3, so the term is (3 - 1)/4 = 1/2, the textbook
``1 + SR^2 / 2`` (the mistake to avoid is plugging excess kurtosis in). V[SR_n] is the sample variance (ddof=1) of the
per-period Sharpe ratios of the N trials (here: the agents of a leaderboard with a defined Sharpe ratio).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from statistics import NormalDist

from .core import Performance, _dec

EULER_GAMMA = 0.5772156649015329
_N = NormalDist()


def expected_max_sharpe(*, trial_sharpes: Sequence[float]) -> float:
    """SR0: the Sharpe ratio the best of N unskilled trials is expected to reach (0 for fewer than 2 trials)."""
    n = len(trial_sharpes)
    if n < 2:
        return 0.0
    mean = sum(trial_sharpes) / n
    var = sum((x - mean) ** 2 for x in trial_sharpes) / (n - 1)
    if var <= 0:
        return 0.0
    z = (1 - EULER_GAMMA) * _N.inv_cdf(1 - 1 / n) + EULER_GAMMA * _N.inv_cdf(1 - 1 / (n * math.e))
    return math.sqrt(var) * z


def probabilistic_sharpe(*, sharpe: float, benchmark: float, n_returns: int, skewness: float,
                         kurtosis: float) -> float | None:
    """PSR: P(true SR > benchmark) given the estimate ``sharpe`` (per period) from ``n_returns`` returns."""
    if n_returns < 2:
        return None
    radicand = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe * sharpe
    if not radicand > 0:
        return None
    return _N.cdf((sharpe - benchmark) * math.sqrt(n_returns - 1) / math.sqrt(radicand))


def deflated_sharpe(*, sharpe: float, n_returns: int, skewness: float, kurtosis: float,
                    trial_sharpes: Sequence[float]) -> Decimal | None:
    """DSR of one strategy among ``trial_sharpes`` (all per-period Sharpe ratios, the strategy's own included).
    A probability in [0, 1]; ``None`` when undefined (fewer than 2 returns, or a non-positive variance term)."""
    sr0 = expected_max_sharpe(trial_sharpes=trial_sharpes)
    return _dec(probabilistic_sharpe(sharpe=sharpe, benchmark=sr0, n_returns=n_returns, skewness=skewness,
                                     kurtosis=kurtosis))


def deflated_sharpes(board: Sequence[Performance]) -> list[Decimal | None]:
    """The DSR of every entry of a leaderboard, the board's defined Sharpe ratios being the trials."""
    trials = [float(p.sharpe_per_period) for p in board if p.sharpe_per_period is not None]
    sr0 = expected_max_sharpe(trial_sharpes=trials)
    out = []
    for p in board:
        if p.sharpe_per_period is None or p.skewness is None or p.kurtosis is None:
            out.append(None)
            continue
        out.append(_dec(probabilistic_sharpe(sharpe=float(p.sharpe_per_period), benchmark=sr0,
                                             n_returns=p.n_returns, skewness=float(p.skewness),
                                             kurtosis=float(p.kurtosis))))
    return out
