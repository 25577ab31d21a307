"""Ranking by one metric, with the undefined and tie rules in one place (leaderboards and battles use it).

- Every ranking metric is "higher is better".
- A defined value ranks above every undefined one (``None``: a Sharpe ratio from fewer than two returns...),
  EXCEPT the profit factor of an agent with gross profit and no losing trade: undefined (``null`` on the wire, a
  division by zero) but the best possible profit factor, so it ranks above every finite one. With no trade at all,
  or no profit and no loss, the profit factor is undefined and ranks below.
- Ties (equal values, or both undefined) are broken by: higher ROI, then smaller max drawdown, then more trades,
  then the row key in ascending order. Ranks are therefore 1..N with no shared rank, and the same input always gives
  the same order.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .core import Performance

RANKING_METRICS = ("roi_pct", "total_pnl", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "win_rate",
                   "profit_factor")

_INF = Decimal("Infinity")


@dataclass(frozen=True)
class Ranked:
    rank: int
    key: Hashable
    performance: Performance
    value: Decimal | None


def _desc(value: Decimal | None) -> tuple:
    """Sort key for 'higher first, undefined last'."""
    return (1, 0) if value is None else (0, -value)


def sort_value(perf: Performance, metric: str) -> Decimal | None:
    """The value a row is ranked by: the metric, or +Infinity for a profit factor with profit and no loss."""
    value = getattr(perf, metric)
    if metric == "profit_factor" and value is None and perf.gross_profit > 0 and perf.gross_loss == 0:
        return _INF
    return value


def rank(rows: Sequence[tuple[Hashable, Performance]], metric: str) -> list[Ranked]:
    """``rows`` = [(key, Performance)] -> [Ranked] best first, ranks 1..N (see the module docstring)."""
    if metric not in RANKING_METRICS:
        raise ValueError(f"unknown ranking metric {metric!r}; one of {', '.join(RANKING_METRICS)}")

    def order(row):
        key, perf = row
        dd = perf.max_drawdown_pct
        return (_desc(sort_value(perf, metric)), _desc(perf.roi_pct), (1, 0) if dd is None else (0, dd),
                -perf.total_trades, str(key))

    ordered = sorted(rows, key=order)
    return [Ranked(rank=i, key=key, performance=perf, value=getattr(perf, metric))
            for i, (key, perf) in enumerate(ordered, start=1)]
