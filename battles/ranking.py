"""The battle metric and the ranking, from the analytics core (``analytics.metrics``): one definition of every
metric and of the undefined/tie rules for leaderboards and battles alike.

Each participant keeps an ``Accumulator`` state (``Participant.metric_state``): a standings round pushes one equity
point and the new closed trades, so a round costs the same at minute one and at day seven.
"""

from decimal import Decimal

from analytics.metrics import Accumulator, Performance, rank

METRIC_FIELDS = ("roi_pct", "total_pnl", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "max_drawdown_pct",
                 "win_rate", "profit_factor", "total_trades")


def accumulate(state: dict | None, *, ts, equity: Decimal, trades=()) -> tuple[dict, Performance]:
    """Push one point (skipped if not after the last) and the new trades; (new state, metrics as of ``ts``)."""
    acc = Accumulator(state)
    if acc.last_ts is None or ts.timestamp() > acc.last_ts:
        acc.push(ts, equity)
    for pnl in trades:
        acc.trade(pnl)
    return acc.state(), acc.result(now=ts)


def metrics_of(perf: Performance) -> dict:
    return {f: getattr(perf, f) for f in METRIC_FIELDS}


def ranked(rows: list[tuple[object, Performance]], metric: str) -> list[tuple[int, object, Decimal | None]]:
    """[(key, Performance)] -> [(rank, key, value)] best first (the analytics core's rules)."""
    return [(r.rank, r.key, r.value) for r in rank(rows, metric)]
