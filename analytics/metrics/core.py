"""Performance metrics of one equity curve and its closed trades. Pure Python + numpy: no Django, no project app.

Definitions (docs/analytics.md has the long form):

- Returns are simple returns between consecutive equity points, ``r_i = E_i / E_{i-1} - 1``, at the series' actual
  spacing; a return from an equity of 0 or less is undefined and skipped. The series is annualised with 365 days:
  ``periods_per_year = 365 d / mean spacing`` where the mean spacing is ``(t_last - t_first) / (points - 1)``.
- Sharpe = ``(mean(r) - rf_p) / std(r, ddof=1) * sqrt(periods_per_year)``, ``rf_p = risk_free / periods_per_year``.
- Sortino = ``(mean(r) - rf_p) / sqrt(mean(min(r, 0)^2)) * sqrt(periods_per_year)``: downside deviation against 0
  over ALL periods (not only the losing ones).
- Calmar = annualised return (CAGR over the series' span, 365-day years) / max drawdown.
- Max drawdown = the largest ``1 - E / running peak``, a positive percentage. Drawdown duration = the longest time
  from a peak to the first point back at or above it, or to ``now`` when the curve has not recovered.
- Trades (the realized PnL of each closed round trip): win rate (%), profit factor = gross profit / gross loss,
  expectancy = mean PnL per trade, average win, average loss (negative), best, worst, count.

Two ways to the same numbers: :func:`performance` (vectorised, for a whole series) and :class:`Accumulator` (streaming,
one point or trade at a time, with a JSON-able state), both finalised by one function so they cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from decimal import Decimal

import numpy as np

YEAR_SECONDS = 365 * 86400
# A return series whose standard deviation is below this fraction of its root mean square is treated as constant
# (std 0, Sharpe undefined): float rounding of a constant series must not produce a Sharpe ratio of 10^8.
_CONSTANT_RELATIVE_STD = 1e-7
ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Performance:
    """Every field of API.md's performance response (Decimal; ``None`` = undefined), plus what ranking and the
    deflated Sharpe ratio need (gross profit/loss, return count, per-period moments)."""

    sharpe_ratio: Decimal | None
    sortino_ratio: Decimal | None
    calmar_ratio: Decimal | None
    max_drawdown_pct: Decimal | None
    max_drawdown_duration: int | None  # seconds
    win_rate: Decimal | None  # percent of trades with a positive PnL
    profit_factor: Decimal | None
    expectancy: Decimal | None
    avg_win: Decimal | None
    avg_loss: Decimal | None
    best_trade: Decimal | None
    worst_trade: Decimal | None
    total_trades: int
    roi_pct: Decimal | None
    total_pnl: Decimal | None
    # --- beyond the API response ---
    winning_trades: int = 0
    losing_trades: int = 0
    gross_profit: Decimal = ZERO
    gross_loss: Decimal = ZERO  # a positive amount
    n_returns: int = 0
    periods_per_year: Decimal | None = None
    sharpe_per_period: Decimal | None = None  # not annualised: what the deflated Sharpe ratio works with
    skewness: Decimal | None = None
    kurtosis: Decimal | None = None  # NOT excess: 3 for a normal distribution
    annual_return: Decimal | None = None  # CAGR, a fraction

    API_FIELDS = ("sharpe_ratio", "sortino_ratio", "calmar_ratio", "max_drawdown_pct", "max_drawdown_duration",
                  "win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss", "best_trade", "worst_trade",
                  "total_trades", "roi_pct", "total_pnl")

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _dec(x: float | None) -> Decimal | None:
    """A float result as a Decimal (its shortest repr), ``None`` when it is not a finite number."""
    if x is None or not math.isfinite(x):
        return None
    return Decimal(repr(float(x)))


def _ts(t) -> float:
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
        return t.timestamp()
    return float(t)


# --- the state both paths build --------------------------------------------------------------------------------------
@dataclass
class _State:
    """Everything the metrics need, kept as sums and extremes so that a new point or trade updates it in O(1)."""

    n_points: int = 0
    first_ts: float | None = None
    first_eq: Decimal | None = None
    last_ts: float | None = None
    last_eq: Decimal | None = None
    # returns
    n_returns: int = 0
    s1: float = 0.0
    s2: float = 0.0
    s3: float = 0.0
    s4: float = 0.0
    sd2: float = 0.0  # sum of min(r, 0)^2
    # drawdown
    peak: float | None = None  # running peak (float of the equity)
    peak_ts: float | None = None  # the latest time the curve stood at its running peak
    underwater: bool = False
    max_dd: float = 0.0  # fraction
    max_dd_duration: float = 0.0  # seconds, of the RECOVERED episodes
    # trades
    n_trades: int = 0
    n_wins: int = 0
    n_losses: int = 0
    gross_profit: Decimal = ZERO
    gross_loss: Decimal = ZERO
    best: Decimal | None = None
    worst: Decimal | None = None

    _DECIMALS = ("first_eq", "last_eq", "gross_profit", "gross_loss", "best", "worst")
    # JSON stores (PostgreSQL's jsonb among them) may hand 3.0e17 back as the integer 300000000000000000: the same
    # number, which float() turns back into the same float exactly (shortest repr round-trips).
    _FLOATS = ("first_ts", "last_ts", "s1", "s2", "s3", "s4", "sd2", "peak", "peak_ts", "max_dd", "max_dd_duration")

    def to_json(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = str(v) if isinstance(v, Decimal) else v
        return out

    @classmethod
    def from_json(cls, data: dict) -> _State:
        kwargs = {}
        for f in fields(cls):
            if f.name in data:
                v = data[f.name]
                if v is not None and f.name in cls._DECIMALS:
                    v = Decimal(v)
                elif v is not None and f.name in cls._FLOATS:
                    v = float(v)
                kwargs[f.name] = v
        return cls(**kwargs)


class Accumulator:
    """Streaming metrics: ``push`` points in time order and ``trade`` realized PnLs; ``result(now=...)`` at any time.

    ``state()`` / ``Accumulator(state)`` round-trip through JSON (floats by repr, Decimals as strings), which is how
    the analytics app keeps one per wallet and period between Celery runs.
    """

    def __init__(self, state: dict | None = None):
        self.s = _State.from_json(state) if state else _State()

    def state(self) -> dict:
        return self.s.to_json()

    @property
    def last_ts(self) -> float | None:
        return self.s.last_ts

    def push(self, ts, equity: Decimal) -> None:
        s = self.s
        t = _ts(ts)
        equity = Decimal(equity)
        if s.last_ts is not None and t <= s.last_ts:
            raise ValueError(f"equity points must be pushed in time order ({t} after {s.last_ts})")
        e = float(equity)
        if s.n_points == 0:
            s.first_ts, s.first_eq = t, equity
        else:
            prev = float(s.last_eq)
            if prev > 0:
                r = e / prev - 1.0
                s.n_returns += 1
                r2 = r * r
                s.s1 += r
                s.s2 += r2
                s.s3 += r2 * r
                s.s4 += r2 * r2
                if r < 0:
                    s.sd2 += r2
        s.n_points += 1
        s.last_ts, s.last_eq = t, equity
        # drawdown: the same float operations as the vectorised path
        if s.peak is None or e >= s.peak:
            if s.underwater:
                s.max_dd_duration = max(s.max_dd_duration, t - s.peak_ts)
                s.underwater = False
            s.peak, s.peak_ts = e, t
        else:
            s.underwater = True
            dd = 1.0 - e / s.peak
            if dd > s.max_dd:
                s.max_dd = dd

    def trade(self, pnl: Decimal) -> None:
        s = self.s
        pnl = Decimal(pnl)
        s.n_trades += 1
        if pnl > 0:
            s.n_wins += 1
            s.gross_profit += pnl
        elif pnl < 0:
            s.n_losses += 1
            s.gross_loss -= pnl
        s.best = pnl if s.best is None or pnl > s.best else s.best
        s.worst = pnl if s.worst is None or pnl < s.worst else s.worst

    def result(self, *, now: datetime | float | None = None, risk_free: float = 0.0) -> Performance:
        return _finalise(self.s, now=None if now is None else _ts(now), risk_free=risk_free)

    def set_endpoints(self, *, first_equity: Decimal | None, last_equity: Decimal | None) -> None:
        """The exact first and last equity of a state built by :meth:`from_arrays` before they were known."""
        self.s.first_eq, self.s.last_eq = first_equity, last_equity

    @classmethod
    def from_series(cls, equity: Sequence[tuple], trades: Iterable[Decimal] = ()) -> Accumulator:
        """The state of a whole series at once (vectorised); equal to pushing its points one by one."""
        acc = cls()
        acc.s = _state_of(equity, trades)
        return acc

    @classmethod
    def from_arrays(cls, ts: np.ndarray, equity: np.ndarray, *, first_equity: Decimal | None,
                    last_equity: Decimal | None, trades: Iterable[Decimal] = ()) -> Accumulator:
        """Like :meth:`from_series` from ready arrays: ``ts`` in epoch seconds, ``equity`` as floats (each the
        correctly rounded float of the Decimal equity), and the exact first and last equity (ROI and PnL are
        Decimal arithmetic on them). How the analytics app recomputes 1,000 wallets without a Decimal per point."""
        acc = cls()
        acc.s = _state_of_arrays(np.asarray(ts, dtype=np.float64), np.asarray(equity, dtype=np.float64),
                                 first_equity, last_equity, trades)
        return acc


def _state_of(equity: Sequence[tuple], trades: Iterable[Decimal]) -> _State:
    n = len(equity)
    ts = np.fromiter((_ts(t) for t, _ in equity), dtype=np.float64, count=n)
    eq_dec = [Decimal(e) for _, e in equity]
    e = np.fromiter((float(x) for x in eq_dec), dtype=np.float64, count=n)
    return _state_of_arrays(ts, e, eq_dec[0] if n else None, eq_dec[-1] if n else None, trades)


def _state_of_arrays(ts: np.ndarray, e: np.ndarray, first_eq: Decimal | None, last_eq: Decimal | None,
                     trades: Iterable[Decimal]) -> _State:
    s = _State()
    n = len(ts)
    if n:
        if n > 1 and not np.all(np.diff(ts) > 0):
            raise ValueError("equity points must be in strictly increasing time order")
        s.n_points = n
        s.first_ts, s.first_eq, s.last_ts, s.last_eq = float(ts[0]), first_eq, float(ts[-1]), last_eq
        if n > 1:
            prev, cur = e[:-1], e[1:]
            ok = prev > 0
            r = cur[ok] / prev[ok] - 1.0
            r2 = r * r
            s.n_returns = int(r.size)
            s.s1, s.s2 = _seqsum(r), _seqsum(r2)
            s.s3, s.s4 = _seqsum(r2 * r), _seqsum(r2 * r2)
            s.sd2 = _seqsum(np.where(r < 0, r2, 0.0))
        peak = np.maximum.accumulate(e)
        under = e < peak
        if under.any():
            s.max_dd = float((1.0 - e[under] / peak[under]).max())
        # peak_ts: the latest time at the running peak = the last point that is not under water
        at_peak = np.flatnonzero(~under)
        s.peak, s.peak_ts = float(peak[-1]), float(ts[at_peak[-1]])
        s.underwater = bool(under[-1])
        # recovered episodes: a run of under-water points, from the point before it to the point after it
        if under.any():
            d = np.diff(np.concatenate(([False], under, [False])).astype(np.int8))
            starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)  # run = [start, end)
            closed = ends < n
            if closed.any():
                durations = ts[ends[closed]] - ts[starts[closed] - 1]
                s.max_dd_duration = float(durations.max())
    acc = Accumulator()
    acc.s = s
    for pnl in trades:
        acc.trade(pnl)
    return s


def _seqsum(a: np.ndarray) -> float:
    """Left-to-right float sum, the order the streaming path adds in (np.sum's pairwise order differs in the last
    bits). ``np.add.accumulate`` is sequential by definition."""
    return float(np.add.accumulate(a)[-1]) if a.size else 0.0


def _finalise(s: _State, *, now: float | None, risk_free: float) -> Performance:
    # --- trades ---
    nt = s.n_trades
    total_realized = s.gross_profit - s.gross_loss
    trade_fields = dict(
        total_trades=nt, winning_trades=s.n_wins, losing_trades=s.n_losses,
        gross_profit=s.gross_profit, gross_loss=s.gross_loss,
        win_rate=(Decimal(s.n_wins) * HUNDRED / nt) if nt else None,
        profit_factor=(s.gross_profit / s.gross_loss) if s.gross_loss > 0 else None,
        expectancy=(total_realized / nt) if nt else None,
        avg_win=(s.gross_profit / s.n_wins) if s.n_wins else None,
        avg_loss=(-s.gross_loss / s.n_losses) if s.n_losses else None,
        best_trade=s.best, worst_trade=s.worst,
    )
    if s.n_points == 0:
        return Performance(sharpe_ratio=None, sortino_ratio=None, calmar_ratio=None, max_drawdown_pct=None,
                           max_drawdown_duration=None, roi_pct=None, total_pnl=None, **trade_fields)
    # --- curve ---
    span = s.last_ts - s.first_ts
    roi = ((s.last_eq / s.first_eq - 1) * HUNDRED) if s.first_eq > 0 else None
    total_pnl = s.last_eq - s.first_eq
    duration = s.max_dd_duration
    if s.underwater:
        end = s.last_ts if now is None else max(now, s.last_ts)
        duration = max(duration, end - s.peak_ts)
    ppy = (YEAR_SECONDS * (s.n_points - 1) / span) if span > 0 else None
    n = s.n_returns
    sharpe = sortino = calmar = annual = sr_p = skew = kurt = None
    if ppy is not None and n >= 1:
        mean = s.s1 / n
        rf_p = risk_free / ppy
        if n >= 2:
            var = (s.s2 - s.s1 * s.s1 / n) / (n - 1)
            rms2 = s.s2 / n
            if var > 0 and var > (_CONSTANT_RELATIVE_STD ** 2) * rms2:
                sr_p = (mean - rf_p) / math.sqrt(var)
                sharpe = sr_p * math.sqrt(ppy)
                m2 = var * (n - 1) / n  # population moments for skewness and kurtosis
                m3 = s.s3 / n - 3 * mean * s.s2 / n + 2 * mean ** 3
                m4 = s.s4 / n - 4 * mean * s.s3 / n + 6 * mean * mean * s.s2 / n - 3 * mean ** 4
                skew, kurt = m3 / m2 ** 1.5, m4 / (m2 * m2)
            if s.sd2 > 0:
                sortino = (mean - rf_p) / math.sqrt(s.sd2 / n) * math.sqrt(ppy)
        if s.first_eq > 0 and s.last_eq > 0:
            growth = float(s.last_eq / s.first_eq)
            try:
                annual = math.exp(math.log(growth) * YEAR_SECONDS / span) - 1.0
            except OverflowError:
                annual = None  # beyond any float: a tiny span with a gain
            if annual is not None and s.max_dd > 0:
                calmar = annual / s.max_dd
    return Performance(
        sharpe_ratio=_dec(sharpe), sortino_ratio=_dec(sortino), calmar_ratio=_dec(calmar),
        max_drawdown_pct=_dec(s.max_dd * 100.0), max_drawdown_duration=int(round(duration)),
        roi_pct=roi, total_pnl=total_pnl, n_returns=n, periods_per_year=_dec(ppy), sharpe_per_period=_dec(sr_p),
        skewness=_dec(skew), kurtosis=_dec(kurt), annual_return=_dec(annual), **trade_fields,
    )


def performance(equity: Sequence[tuple[datetime, Decimal]], trades: Sequence[Decimal], *, now: datetime | None = None,
                risk_free: float = 0.0) -> Performance:
    """Every metric of an equity curve ``[(ts, equity), ...]`` (strictly increasing ts) and of the realized PnL of
    each closed round trip (``trades``: a sell realizing PnL against the average entry; partial closes count).

    ``now``: the time the metrics are as of; a drawdown not recovered by the last point lasts until ``now``.
    ``None`` = the last point's time (pass the wall clock, or a backtest's virtual clock, to count it to there).
    ``risk_free``: annual rate as a fraction (0.04 = 4 %).
    """
    return _finalise(_state_of(equity, trades), now=None if now is None else _ts(now), risk_free=risk_free)
