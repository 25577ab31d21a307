"""In-process backtests: a strategy written as a function of what it can see, run through the same engine.

    from backtests.research import run, session_from_store

    def sma_cross(view):                      # called once per step, after the candle closing at view.now
        closes = view.closes("BTCUSDT")       # closes of the candles closed so far (oldest first), nothing after
        ...
        if signal and not view.position("BTCUSDT").quantity:
            view.place(symbol="BTCUSDT", side="buy", type="market", quote_quantity=view.equity * Decimal("0.2"))

    config, series = session_from_store(pairs=["BTCUSDT"], start=..., end=..., interval="1m")
    result = run(sma_cross, config, series)
    result.performance, result.fills, result.curve, result.orders

The view is a thin window on ``runner.Runner`` — the very object the HTTP sessions advance — so the rules (fees,
slippage, order types, risk limits, error codes) and the no-look-ahead clock are the ones of ``/backtest/*``.
``view.place`` returns the engine's ``OrderState`` or raises ``EngineRejection`` (its ``code`` is the API's).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from analytics.metrics import Performance, performance
from trading.engine import lifecycle as lc
from trading.engine.types import PositionState

from .runner import WALLET, Config, Runner, Series

FLAT = PositionState()  # frozen: the position of a pair never traded


class View:
    """What a strategy sees at virtual time ``now``: closed candles, its wallet, its orders. Nothing after ``now``."""

    __slots__ = ("_r", "_closes", "_positions")

    def __init__(self, runner: Runner):
        self._r = runner
        self._positions = runner.ex.wallets[WALLET].positions  # symbol -> PositionState, kept by the driver
        self._closes: dict[str, list[Decimal]] = {s: [] for s in runner.series}
        for s, series in runner.series.items():
            if series.seed is not None:
                self._closes[s].append(series.seed.close)

    @property
    def now(self) -> datetime:
        return self._r.now

    @property
    def step(self) -> int:
        return self._r.step

    def price(self, symbol: str) -> Decimal | None:
        m = self._r.ex.markets.get(symbol)
        return None if m is None else m.last_price

    def closes(self, symbol: str) -> list[Decimal]:
        """Closes of ``symbol``'s candles closed by ``now`` (a live list: do not modify it)."""
        return self._closes[symbol]

    def candles(self, symbol: str, n: int):
        """The last ``n`` candles closed by ``now`` (``runner.Candle``)."""
        slots = self._r.series[symbol].slots[:self._r.step]
        return [c for c in slots[-n:] if c is not None]

    def position(self, symbol: str) -> PositionState:
        return self._positions.get(symbol) or FLAT  # what ex.position(WALLET, symbol) returns, read once per step

    def balances(self) -> dict[str, lc.BalanceState]:
        return self._r.ex.balances(WALLET)

    def valuation(self) -> lc.Valuation:
        return self._r.valuation()

    @property
    def equity(self) -> Decimal:
        return self._r.curve[-1][1]

    def open_orders(self) -> list[lc.OrderState]:
        return self._r.ex.open_orders(WALLET)

    def place(self, **order) -> lc.OrderState:
        """Same fields as ``POST /backtest/{id}/trade/order`` (Decimals or strings)."""
        body = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in order.items() if v is not None}
        return self._r.apply("order", body)

    def cancel(self, order_id: str) -> lc.OrderState:
        return self._r.apply("cancel", {"order_id": order_id})


@dataclass
class Result:
    runner: Runner
    errors: list  # (step, code, message) of refused orders

    @property
    def fills(self) -> list[lc.FillRecord]:
        return self.runner.ex.fills

    @property
    def orders(self) -> list[lc.OrderState]:
        return self.runner.orders()

    @property
    def curve(self) -> list[tuple[datetime, Decimal]]:
        return self.runner.curve

    @property
    def performance(self) -> Performance:
        return performance(self.runner.curve, self.runner.trades(), now=self.runner.now)

    def fill_steps(self) -> list[tuple[int, str, lc.FillRecord]]:
        """(step, side, fill) of every fill: the step of the clock at which it happened (a market order placed at
        step k fills at T_k; a resting order reached by candle k fills when it closes, at step k + 1)."""
        cfg = self.runner.config
        return [((f.ts - cfg.start) // cfg.interval, str(f.side), f) for f in self.runner.ex.fills]


def run(strategy: Callable[[View], None], config: Config, series: list[Series], *,
        start_step: int = 0) -> Result:
    """Call ``strategy(view)`` at the start and after every step to the end of the range."""
    from trading.engine.types import EngineRejection

    r = Runner(config, series)
    view = View(r)
    errors = []
    total = config.total_steps

    def call():
        try:
            strategy(view)
        except EngineRejection as exc:
            errors.append((r.step, exc.code, exc.message))

    call()
    # per candle: the view learns the candle that just closed, then the strategy runs (one closure, no lookups)
    feeds = [(sr.slots, view._closes[s].append) for s, sr in r.series.items()]

    def after_step(runner):
        k = runner.step - 1
        for slots, record in feeds:
            c = slots[k]
            if c is not None:
                record(c.close)
        try:
            strategy(view)
        except EngineRejection as exc:
            errors.append((runner.step, exc.code, exc.message))

    # one loop for the whole range; the strategy is its per-step callback. The cyclic collector is paused for the
    # loop (as timeit does): its full passes over the session's candles cost more than the run's own work; any
    # cycle the loop leaves is collected once it is back on. Restored as it was, whatever happens.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        r.advance(total, snapshot=after_step)
    finally:
        if was_enabled:
            gc.enable()
    return Result(r, errors)


def session_from_store(*, pairs: list[str], start: datetime, end: datetime, interval: str = "1m",
                       starting_balance: Decimal = Decimal("10000"), limits=None) -> tuple[Config, list[Series]]:
    """A session's config and candles from the candle store and the platform's settings (needs Django)."""
    from datetime import timedelta

    from django.conf import settings

    from trading.engine.fees import parse_fee_tiers
    from trading.engine.limits import RiskLimits

    from .runner import build_series
    from .services import INTERVALS, _instrument, load_candles

    span = timedelta(seconds=INTERVALS[interval])
    total = int((end - start) / span)
    config = Config(start=start, interval=span, total_steps=total, instruments=tuple(_instrument(p) for p in pairs),
                    starting_balance=starting_balance, limits=limits or RiskLimits(),
                    fee_tiers=parse_fee_tiers(settings.FEE_TIERS),
                    market_buffer_pct=Decimal(str(settings.MARKET_ORDER_MAX_SLIPPAGE_PCT)))
    series = [build_series(p, load_candles(p, interval, start, end), start=start, interval=span, total_steps=total)
              for p in pairs]
    return config, series
