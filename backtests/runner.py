"""A backtest session's state: the engine's in-memory driver advanced over closed candles (no Django here).

The clock: step ``k`` is virtual time ``T_k = start + k * interval``. Step ``k`` (k >= 1) closes the candle that opened
at ``T_{k-1}``: ``MemoryExchange.advance_candle`` sweeps the resting and conditional orders over its low..high (a gap
through a stop fills at its open plus slippage) and its close becomes the price. Nothing else ever reaches the engine,
so at ``T_k`` the engine has seen exactly the candles with ``open_time + interval <= T_k``: a market order placed then
fills at the last closed candle's close plus slippage. Before the first step the price is the close of the candle
that closed at ``start`` (when the store has it).

Every trading rule is the engine's (``trading.engine``); this module only feeds it candles in order and records the
equity curve. The state is a pure function of (config, candles, the log of actions and the step each happened at),
which is what makes a session deterministic and lets any process rebuild it (``backtests.services``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from trading.engine import lifecycle as lc
from trading.engine.fees import DEFAULT_FEE_TIERS, FeeTier
from trading.engine.limits import RiskLimits
from trading.engine.memory import MemoryExchange
from trading.engine.types import EngineRejection, InstrumentSpec

ZERO = Decimal(0)
WALLET = "w"
DAY = timedelta(days=1)
Q8 = Decimal("0.00000001")


@dataclass(frozen=True)
class Candle:
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal  # base asset


@dataclass
class Series:
    """One pair's candles of a session, by slot: ``slots[k]`` is the candle opening at ``start + k * interval``
    (None where the store has none), ``seed`` the last candle that closed at or before ``start``, and
    ``volume_24h[k]`` the quote volume (sum of volume x close) of the candles closed in the 24 h up to
    ``T_{k+1}`` (what the slippage model reads when candle k closes). ``seed_volume`` the same at ``start``."""

    symbol: str
    slots: list[Candle | None]
    seed: Candle | None
    volume_24h: list[Decimal]
    seed_volume: Decimal | None


def build_series(symbol: str, candles: Sequence[Candle], *, start: datetime, interval: timedelta,
                 total_steps: int) -> Series:
    """``candles``: the pair's candles at the session's interval from 24 h before ``start`` to its end, oldest
    first."""
    slots: list[Candle | None] = [None] * total_steps
    seed = None
    for c in candles:
        k, rem = divmod(c.open_time - start, interval)
        if rem:
            continue
        if k < 0:
            seed = c
        elif k < total_steps:
            slots[k] = c
    # rolling 24 h quote volume, exact (each term rounded to 8 places first)
    closes = []
    values = []
    for c in candles:
        closes.append(c.open_time + interval)
        values.append((c.volume * c.close).quantize(Q8))
    prefix = [ZERO]
    for v in values:
        prefix.append(prefix[-1] + v)

    def volume_at(t: datetime) -> Decimal:
        hi = bisect_right(closes, t)
        lo = bisect_right(closes, t - DAY)
        return prefix[hi] - prefix[lo]

    volume_24h = [volume_at(start + interval * (k + 1)) for k in range(total_steps)]
    seed_volume = volume_at(start) if seed is not None else None
    return Series(symbol, slots, seed, volume_24h, seed_volume)


@dataclass(frozen=True)
class Config:
    start: datetime
    interval: timedelta
    total_steps: int
    instruments: tuple[InstrumentSpec, ...]
    starting_balance: Decimal
    limits: RiskLimits = field(default_factory=RiskLimits)
    fee_tiers: tuple[FeeTier, ...] = DEFAULT_FEE_TIERS
    market_buffer_pct: Decimal = lc.DEFAULT_MARKET_BUFFER_PCT
    quote: str = "USDT"

    @property
    def pairs(self) -> list[str]:
        return [i.symbol for i in self.instruments]

    def time_at(self, step: int) -> datetime:
        return self.start + self.interval * step


ORDER_FIELDS = ("symbol", "side", "type", "quantity", "quote_quantity", "price", "trigger_price", "time_in_force",
                "post_only", "reduce_only", "client_order_id")
DECIMAL_FIELDS = ("quantity", "quote_quantity", "price", "trigger_price")


class Runner:
    """The engine's in-memory driver for one session's wallet, at a step of the clock."""

    def __init__(self, config: Config, series: Iterable[Series]):
        self.config = config
        self.series = {s.symbol: s for s in series}
        self.ex = MemoryExchange(config.instruments, fee_tiers=config.fee_tiers, limits=config.limits,
                                 market_buffer_pct=config.market_buffer_pct, quote=config.quote)
        self.ex.create_wallet({config.quote: config.starting_balance}, t=config.start, wallet_id=WALLET)
        for s in self.series.values():
            if s.seed is not None:
                self.ex.set_price(s.symbol, s.seed.close, t=config.start, volume_24h_quote=s.seed_volume)
        self._feeds = [(s.symbol, s.slots, s.volume_24h) for s in self.series.values()]
        self._quote = config.quote
        self._times = [config.start + config.interval * i for i in range(config.total_steps + 1)]
        self._held = (None, False)  # (the wallet's balances object, whether it holds a non-quote asset)
        self.step = 0
        self.applied = 0  # actions of the session's log applied so far
        self.client_ids: dict[str, tuple[str, dict]] = {}  # client_order_id -> (order id, its body)
        self._equity = self.ex.equity(WALLET)
        self.curve: list[tuple[datetime, Decimal]] = [(config.start, self._equity)]
        self.fills_at_step: list[int] = [0]  # len(ex.fills) after each step

    # --- the clock --------------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.config.time_at(self.step)

    @property
    def is_complete(self) -> bool:
        return self.step >= self.config.total_steps

    def advance(self, n: int, *, snapshot=None) -> list:
        """Close the next ``n`` candles (fewer at the end of the range). ``snapshot(runner)``, when given, is called
        after every step and what it returns (unless None) is collected."""
        out = []
        ex = self.ex
        start, interval = self.config.start, self.config.interval
        feeds = self._feeds
        curve = self.curve
        marks = self.fills_at_step
        fills = ex.fills
        end = min(self.step + n, self.config.total_steps)
        k = self.step
        times = self._times
        wallet = ex.wallets[WALLET]
        while k < end:
            t = times[k + 1]
            before = len(fills)
            for symbol, slots, volume in feeds:
                c = slots[k]
                if c is not None:
                    ex.advance_candle(symbol, t=t, open=c.open, high=c.high, low=c.low, close=c.close,
                                      volume_24h_quote=volume[k])
            k += 1
            self.step = k
            n_fills = len(fills)
            marks.append(n_fills)
            if n_fills != before or (self._held[1] if self._held[0] is wallet.balances else self._holds_assets()):
                self._equity = ex.equity(WALLET)
            curve.append((t, self._equity))
            if ex.events:
                ex.events.clear()  # the domain events are for the live streams; a backtest reads its state
            if snapshot is not None:
                shot = snapshot(self)
                if shot is not None:
                    out.append(shot)
        return out

    def advance_to(self, step: int) -> None:
        if step > self.step:
            self.advance(step - self.step)

    def _holds_assets(self) -> bool:
        balances = self.ex.wallets[WALLET].balances  # the driver replaces the dict whenever a balance moves
        seen, held = self._held
        if seen is balances:
            return held
        quote = self._quote
        held = any(asset != quote and (b.available or b.locked) for asset, b in balances.items())
        self._held = (balances, held)
        return held

    # --- actions ----------------------------------------------------------------------------------------------------

    def apply(self, kind: str, payload: dict):
        """One action of the log, at the current step. Returns the order; raises ``EngineRejection``."""
        self.applied += 1
        if kind == "order":
            return self._place(payload)
        if kind == "cancel":
            return self.ex.cancel(WALLET, payload["order_id"], t=self.now)
        raise ValueError(f"unknown action {kind!r}")

    def _place(self, body: dict):
        kwargs = {k: body.get(k) for k in ORDER_FIELDS}
        for k in DECIMAL_FIELDS:
            if kwargs[k] is not None:
                kwargs[k] = Decimal(kwargs[k])
        kwargs["time_in_force"] = kwargs["time_in_force"] or "gtc"
        kwargs["post_only"] = bool(kwargs["post_only"])
        kwargs["reduce_only"] = bool(kwargs["reduce_only"])
        cid = kwargs.get("client_order_id")
        try:
            order = self.ex.place(WALLET, t=self.now, **kwargs)
        finally:
            self._equity = self.ex.equity(WALLET)
            self.curve[-1] = (self.curve[-1][0], self._equity)  # the equity at T, after T's actions
            self.ex.events.clear()
        if cid:
            self.client_ids[cid] = (order.id, body)
        return order

    # --- reads ------------------------------------------------------------------------------------------------------

    def valuation(self) -> lc.Valuation:
        return self.ex.valuation(WALLET)

    def prices(self) -> dict[str, Decimal]:
        return {s: p for s, p in sorted(self.ex.prices().items())}

    def fills_between(self, step_from: int, step_to: int) -> list[lc.FillRecord]:
        return self.ex.fills[self.fills_at_step[step_from]:self.fills_at_step[step_to]]

    def orders(self) -> list[lc.OrderState]:
        return [o for o in self.ex.orders.values() if o.wallet_id == WALLET]

    def order(self, order_id: str) -> lc.OrderState | None:
        o = self.ex.orders.get(order_id)
        return o if o is not None and o.wallet_id == WALLET else None

    def trades(self) -> list[Decimal]:
        """Realized PnL of each closed round trip (a sell fill realizing PnL), for the metrics core."""
        return [f.realized_pnl for f in self.ex.fills if str(f.side) == "sell"]


__all__ = ["Candle", "Series", "build_series", "Config", "Runner", "EngineRejection", "WALLET"]
