"""The battle metric and the ranking, from the analytics core (``analytics.metrics``).

Until the analytics branch is merged this module carries a small stand-in with the same signature
(``performance(equity, trades, *, now=None)``) so battles can be built and tested; see ``_fallback``.
Ranking rules (the analytics core's): higher is better for every battle metric; an undefined value (``None``:
a Sharpe ratio from fewer than two returns, a profit factor with no losing trade) ranks after every defined one;
equal values share a rank (1, 2, 2, 4); rows with the same rank are listed by agent name.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

try:  # pragma: no cover - depends on the merge
    from analytics.metrics import performance as _performance
except ImportError:  # pragma: no cover
    _performance = None

METRIC_FIELDS = ("roi_pct", "total_pnl", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "max_drawdown_pct",
                 "win_rate", "profit_factor", "total_trades")


def performance(equity: Sequence[tuple[datetime, Decimal]], trades: Sequence[Decimal], *, now=None) -> dict:
    """The metrics of one participant over the battle's window: ``{field: Decimal | int | None}``."""
    if _performance is not None:
        perf = _performance(equity, trades, now=now)
        return {f: getattr(perf, f) for f in METRIC_FIELDS}
    from battles._fallback import performance as fallback

    return fallback(equity, trades)


def rank_rows(rows: list[dict], metric: str) -> list[dict]:
    """``rows`` (dicts with ``metric`` and ``agent_name``) sorted and given ``rank`` and ``value``."""
    defined = sorted((r for r in rows if r.get(metric) is not None), key=lambda r: (-r[metric], r["agent_name"]))
    undefined = sorted((r for r in rows if r.get(metric) is None), key=lambda r: r["agent_name"])
    out, rank, previous = [], 0, object()
    for i, row in enumerate(defined):
        if row[metric] != previous:
            rank, previous = i + 1, row[metric]
        out.append({**row, "rank": rank, "value": row[metric]})
    tail_rank = len(defined) + 1
    for row in undefined:
        out.append({**row, "rank": tail_rank, "value": None})
    return out
