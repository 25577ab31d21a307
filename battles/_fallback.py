"""Stand-in for ``analytics.metrics.performance`` until the analytics core is merged (then this file goes)."""

import math
import statistics
from decimal import Decimal

D = Decimal
YEAR = 365 * 86400


def performance(equity, trades) -> dict:
    values = [v for _, v in equity]
    start, last = (values[0], values[-1]) if values else (None, None)
    roi = (last / start - 1) * 100 if start else None
    pnl = last - start if start is not None else None
    returns = [float(b / a - 1) for a, b in zip(values, values[1:]) if a]
    sharpe = sortino = None
    if len(returns) >= 2 and len(equity) >= 2:
        dts = [(b[0] - a[0]).total_seconds() for a, b in zip(equity, equity[1:])]
        per_year = YEAR / max(statistics.median(dts), 1e-9)
        mean, sd = statistics.fmean(returns), statistics.pstdev(returns)
        sharpe = D(str(round(mean / sd * math.sqrt(per_year), 4))) if sd > 0 else None
        down = [min(r, 0.0) for r in returns]
        dd = math.sqrt(sum(d * d for d in down) / len(down))
        sortino = D(str(round(mean / dd * math.sqrt(per_year), 4))) if dd > 0 else None
    peak, max_dd = None, D(0)
    for v in values:
        peak = v if peak is None or v > peak else peak
        if peak:
            max_dd = max(max_dd, (peak - v) / peak * 100)
    calmar = roi / max_dd if roi is not None and max_dd > 0 else None
    wins = [t for t in trades if t > 0]
    losses = [t for t in trades if t < 0]
    return {
        "roi_pct": roi, "total_pnl": pnl, "sharpe_ratio": sharpe, "sortino_ratio": sortino, "calmar_ratio": calmar,
        "max_drawdown_pct": max_dd if values else None,
        "win_rate": D(len(wins)) / len(trades) * 100 if trades else None,
        "profit_factor": sum(wins) / -sum(losses) if losses else None,
        "total_trades": len(trades),
    }
