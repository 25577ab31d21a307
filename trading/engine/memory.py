"""The in-memory driver: the order lifecycle of ``trading.engine.lifecycle`` over plain Python objects, no database.

For backtests and historical battles: whole sequences of orders and candles in one process, with the very rules the
live platform runs (the live driver, ``trading/services``, calls the same functions; a hypothesis test proves both
produce the same fills, balances, positions and events).

    from decimal import Decimal as D
    from trading.engine.memory import MemoryExchange
    from trading.engine.types import InstrumentSpec

    ex = MemoryExchange([InstrumentSpec("BTCUSDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))])
    w = ex.create_wallet({"USDT": D("10000")}, t=t0)
    ex.set_price("BTCUSDT", D("50000"), t=t0)                     # the price source of market orders
    buy = ex.place(w, t=t0, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.01"))
    stop = ex.place(w, t=t0, symbol="BTCUSDT", side="sell", type="stop_loss", quantity=D("0.01"),
                    trigger_price=D("49000"))
    ex.advance_candle("BTCUSDT", t=t1, open=D("50100"), high=D("50200"), low=D("48800"), close=D("48900"))
    ex.valuation(w)          # cash, positions value, equity, realized / unrealized PnL, ROI
    ex.events                # every domain event, in order (trading.engine.events.Event)

API (all amounts Decimal; ``t`` a timezone-aware datetime, the simulated clock):

- ``create_wallet(balances, *, t, wallet_id=None, starting_balance=None, agent_status="active", limits=None)``
- ``set_price(symbol, price, *, t, volume_24h_quote=None)`` / ``set_market(state)``: the market now (a
  ``MarketState`` may carry a book; market orders walk it).
- ``place(wallet_id, *, t, symbol, side, type, quantity=None, quote_quantity=None, price=None, trigger_price=None,
  time_in_force="gtc", post_only=False, reduce_only=False, client_order_id=None, market=None, order_id=None)``:
  validate, risk chain, lock, and if the order takes liquidity on arrival execute and settle it at once against
  ``market`` (or the last ``set_price``/candle close). Returns the ``OrderState``; raises ``EngineRejection``
  (its ``code`` is the API's error code) and records a ``risk.breach`` event for risk refusals.
- ``advance_candle(symbol, *, t, open, high, low, close, volume_24h_quote=None)``: sweeps the pair's resting and
  conditional orders over [low, high]; a conditional order fires at the open when the candle gapped through its
  trigger (at the trigger otherwise) and fills with the no-book slippage model; resting limits fill whole at their
  limit as maker. Then the last price is the close. Returns the events of the candle.
- ``sweep(symbol, *, t, low, high, market=None)``: the live sweeper's form of a candle (conditional orders fire
  against the market now, book included).
- ``cancel(wallet_id, order_id, *, t)``: releases the order's lock; ``ORDER_NOT_OPEN`` if it is done.
- ``valuation(wallet_id)``: ``lifecycle.Valuation`` at the last prices; ``equity(wallet_id)`` its equity alone.
- ``balances(wallet_id)``, ``position(wallet_id, symbol)``, ``order(order_id)``, ``open_orders(wallet_id)``,
  ``fills`` (every ``FillRecord``), ``events`` (every ``Event``), ``drain_events()``.

Fee tiers follow the wallet's rolling 30-day fill volume, like the live platform; risk limits, slippage model and
the market-order lock buffer are constructor arguments (the live driver reads them from settings).
"""

from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Final, cast

from . import events as ev
from . import lifecycle as lc
from .fees import DEFAULT_FEE_TIERS, FeeTier, fee_rate_for
from .limits import RiskLimits
from .slippage import DEFAULT_SLIPPAGE, SlippageModel
from .types import (
    EngineRejection,
    Instrument,
    MarketState,
    MatchResult,
    OrderIntent,
    OrderType,
    PositionState,
    Side,
    TimeInForce,
)
from .types import CANCELLED, REJECTED

ZERO: Final = Decimal(0)
VOLUME_WINDOW: Final = timedelta(days=30)
RATE_WINDOW: Final = timedelta(seconds=60)


# value -> member of each enum (read once: an attribute of an enum class goes through its metaclass)
_SIDES: Final[dict] = Side._value2member_map_
_TYPES: Final[dict] = OrderType._value2member_map_
_TIFS: Final[dict] = TimeInForce._value2member_map_


def _as(members: dict, value):
    """The enum member for ``value`` when it is one (validation reports a bad value with its field name)."""
    try:
        return members.get(value, value)
    except TypeError:  # unhashable: validation says what is wrong with it
        return value


class _Wallet:
    __slots__ = ("id", "balances", "starting_balance", "created", "agent_status", "limits", "open_orders",
                 "recent", "volume", "volume_sum", "anchors", "tripped", "positions", "split")

    def __init__(self, wallet_id, balances, starting_balance, created, agent_status, limits):
        self.id = wallet_id
        self.balances = balances  # asset -> BalanceState
        self.starting_balance = starting_balance
        self.created = created
        self.agent_status = agent_status
        self.limits = limits
        self.open_orders = 0
        self.recent = deque()  # placement times within the last 60 s
        self.volume = deque()  # (t, quote_amount) of fills within 30 days
        self.volume_sum = ZERO
        self.anchors = {}  # UTC date -> equity at the day's start
        self.tripped = set()  # UTC dates the daily loss breaker tripped
        self.positions = {}  # symbol -> PositionState
        self.split = None  # (balances, cash, held): lifecycle.holdings_split of that balances dict, for equity()


class _Prices:
    """``symbol -> last price`` read straight from the markets (no dict built per call)."""

    __slots__ = ("markets",)

    def __init__(self, markets):
        self.markets = markets

    def get(self, symbol, default=None):
        m = self.markets.get(symbol)
        return default if m is None else m.last_price


class MemoryExchange:
    def __init__(self, instruments: Iterable[Instrument], *, fee_tiers: tuple[FeeTier, ...] = DEFAULT_FEE_TIERS,
                 limits: RiskLimits | None = None, slippage: SlippageModel = DEFAULT_SLIPPAGE,
                 market_buffer_pct: Decimal = lc.DEFAULT_MARKET_BUFFER_PCT, quote: str = "USDT"):
        self.instruments: dict[str, Instrument] = {i.symbol: i for i in instruments}
        self.fee_tiers = fee_tiers
        self.limits = limits or RiskLimits()
        self.slippage = slippage
        self.market_buffer_pct = market_buffer_pct
        self.quote = quote
        self.markets: dict[str, MarketState] = {}
        self.wallets: dict[str, _Wallet] = {}
        self.orders: dict[str, lc.OrderState] = {}
        self.resting: dict[str, dict[str, lc.OrderState]] = {}  # symbol -> open orders waiting for a sweep
        self.fills: list[lc.FillRecord] = []
        self.events: list[ev.Event] = []
        self._ids = 0
        self._prices = _Prices(self.markets)  # reads the markets live (the dict is updated in place, never replaced)

    # --- setup ----------------------------------------------------------------------------------------------------

    def create_wallet(self, balances: Mapping[str, Decimal], *, t: datetime, wallet_id: str | None = None,
                      starting_balance: Decimal | None = None, agent_status: str = "active",
                      limits: RiskLimits | None = None) -> str:
        wallet_id = wallet_id or f"w{len(self.wallets) + 1}"
        held = {a: lc.BalanceState(Decimal(v), ZERO) for a, v in balances.items()}
        if starting_balance is None:
            starting_balance = held[self.quote].available if self.quote in held else ZERO
        self.wallets[wallet_id] = _Wallet(wallet_id, held, starting_balance, t, agent_status, limits or self.limits)
        return wallet_id

    def set_price(self, symbol: str, price: Decimal, *, t: datetime, volume_24h_quote: Decimal | None = None) -> None:
        self.markets[symbol] = MarketState(symbol=symbol, last_price=price, ts=t, volume_24h_quote=volume_24h_quote)

    def set_market(self, state: MarketState) -> None:
        self.markets[state.symbol] = state

    # --- reads ------------------------------------------------------------------------------------------------------

    def balances(self, wallet_id: str) -> dict[str, lc.BalanceState]:
        return dict(self.wallets[wallet_id].balances)

    def position(self, wallet_id: str, symbol: str) -> PositionState:
        return self.wallets[wallet_id].positions.get(symbol) or PositionState()

    def order(self, order_id: str) -> lc.OrderState:
        return self.orders[order_id]

    def open_orders(self, wallet_id: str) -> list[lc.OrderState]:
        return [o for o in self.orders.values() if o.wallet_id == wallet_id and o.is_open]

    def prices(self) -> dict[str, Decimal]:
        return {s: m.last_price for s, m in self.markets.items()}

    def valuation(self, wallet_id: str) -> lc.Valuation:
        w = self.wallets[wallet_id]
        return lc.valuation(w.balances, self.prices(), quote=self.quote, starting_balance=w.starting_balance,
                            positions=w.positions)

    def equity(self, wallet_id: str) -> Decimal:
        """``valuation(wallet_id).equity`` without the PnL breakdown (``lifecycle.holdings``): cheap enough to be
        taken at every candle of a backtest."""
        w = self.wallets[wallet_id]
        split = w.split
        if split is None or split[0] is not w.balances:  # the driver replaces the dict whenever a balance moves
            split = w.split = (w.balances, *lc.holdings_split(w.balances, quote=self.quote))
        value, _ = lc.holdings_value(split[2], self._prices)
        return split[1] + value

    def drain_events(self) -> list[ev.Event]:
        out, self.events = self.events, []
        return out

    # --- orders -----------------------------------------------------------------------------------------------------

    def place(self, wallet_id: str, *, t: datetime, symbol: str, side, type, quantity: Decimal | None = None,
              quote_quantity: Decimal | None = None, price: Decimal | None = None,
              trigger_price: Decimal | None = None, time_in_force="gtc", post_only: bool = False,
              reduce_only: bool = False, client_order_id: str | None = None, market: MarketState | None = None,
              order_id: str | None = None) -> lc.OrderState:
        w = self.wallets[wallet_id]
        instrument = self.instruments.get(symbol)
        if instrument is None:
            raise EngineRejection("UNKNOWN_SYMBOL", f"unknown symbol {symbol!r}", {"symbol": symbol})
        market = market or self.markets.get(symbol)
        if market is None:
            raise EngineRejection("MARKET_CLOSED", f"{symbol} has no price yet: the market is closed for trading.",
                                  {"symbol": symbol, "reason": "no_price"})
        intent = OrderIntent(symbol, _as(_SIDES, side), _as(_TYPES, type), quantity, quote_quantity, price,
                             trigger_price, _as(_TIFS, time_in_force), post_only, reduce_only)
        fee_rate = fee_rate_for(self._volume(w, t), self.fee_tiers)
        prep = lc.prepare(intent, instrument=instrument, market=market, fee_rate=fee_rate, slippage=self.slippage)
        account = self._account(w, t)
        if order_id is None:
            self._ids += 1
            order_id = f"o{self._ids}"
        acc = lc.accept(prep, account, order_id=order_id, wallet_id=wallet_id, limits=w.limits, now=t,
                        market_buffer_pct=self.market_buffer_pct, client_order_id=client_order_id)
        if acc.daily_loss_tripped_now:
            w.tripped.add(t.astimezone(timezone.utc).date())
        if acc.rejection is not None:
            self.events += acc.events
            raise acc.rejection
        order = cast(lc.OrderState, acc.order)  # accepted: not None
        self.orders[order.id] = order
        w.recent.append(t)
        w.balances = self._post(w.balances, acc.postings)
        self.events += acc.events
        if order.is_open:
            w.open_orders += 1
        if order.needs_execution:
            self._settle(w, lc.execute(order, market, instrument=instrument, slippage=self.slippage,
                                          prepared=prep), t)
        if order.is_open and not order.needs_execution:
            self.resting.setdefault(symbol, {})[order.id] = order
        return order

    def cancel(self, wallet_id: str, order_id: str, *, t: datetime) -> lc.OrderState:
        order = self.orders[order_id]
        if order.wallet_id != wallet_id:
            raise EngineRejection("NOT_FOUND", "order not found", {"order_id": order_id})
        if order.status == CANCELLED:
            return order
        if not order.is_open:
            raise EngineRejection("ORDER_NOT_OPEN", f"The order is {order.status}; only open orders can be cancelled.",
                                  {"order_id": order_id, "status": str(order.status)})
        w = self.wallets[wallet_id]
        self._apply(w, lc.close(order, CANCELLED, now=t, reason="cancelled by the agent",
                                balances=w.balances))
        return order

    def advance_candle(self, symbol: str, *, t: datetime, open: Decimal, high: Decimal, low: Decimal,
                       close: Decimal, volume_24h_quote: Decimal | None = None) -> list[ev.Event]:
        book = self.resting.get(symbol)
        market = MarketState(symbol, close, t, (), (), volume_24h_quote)  # (positional: once per candle)
        if not book:  # nothing rests on the pair: the candle only moves the price
            self.markets[symbol] = market
            return []
        start = len(self.events)
        plans = lc.sweep(list(book.values()), low, high, instrument=self.instruments[symbol], open_price=open,
                         volume_24h_quote=volume_24h_quote, ts=t, slippage=self.slippage)
        for plan in plans:
            self._settle(self.wallets[plan.order.wallet_id], plan, t)
        self.markets[symbol] = market
        return self.events[start:]

    def sweep(self, symbol: str, *, t: datetime, low: Decimal, high: Decimal,
              market: MarketState | None = None) -> list[ev.Event]:
        """The live platform's sweep: the pair's resting and conditional orders that some price in [low, high]
        reaches; conditional orders fire against ``market`` (default: the pair's market now), as the live
        sweeper fires them against the live book and price. ``advance_candle`` is the candle form."""
        start = len(self.events)
        market = market or self.markets[symbol]
        book = self.resting.get(symbol)
        if book:
            for plan in lc.sweep(list(book.values()), low, high, instrument=self.instruments[symbol], market=market,
                                 slippage=self.slippage):
                self._settle(self.wallets[plan.order.wallet_id], plan, t)
        return self.events[start:]

    # --- internals --------------------------------------------------------------------------------------------------

    def _settle(self, w: _Wallet, plan: lc.Plan, t: datetime) -> None:
        order = plan.order
        was_open = order.is_open
        if plan.action == "wait":
            lc.wait(order, now=t)
            self.resting.setdefault(order.symbol, {})[order.id] = order
            return
        if plan.action == "reject":
            if plan.triggered and order.triggered_at is None:
                order.triggered_at = t
            done = lc.close(order, REJECTED, now=t, reason=plan.message, code=plan.code,
                            balances=w.balances)
        else:
            done = lc.settle(order, cast(MatchResult, plan.result), position=w.positions.get(order.symbol),
                             balances=w.balances, now=t, triggered=plan.triggered)
        self._apply(w, done, was_open=was_open)
        for f in done.fills:
            w.volume.append((t, f.quote_amount))
            w.volume_sum += f.quote_amount

    def _apply(self, w: _Wallet, done: lc.Settled, *, was_open: bool = True) -> None:
        order = done.order
        # lifecycle.settle/close return the wallet's balances after their postings (checked there)
        w.balances = done.balances if done.postings else w.balances
        if done.position is not None:
            w.positions[order.symbol] = done.position
        self.fills += done.fills
        self.events += done.events
        if was_open and not order.is_open:
            w.open_orders -= 1
            book = self.resting.get(order.symbol)
            if book is not None:
                book.pop(order.id, None)

    @staticmethod
    def _post(balances: dict, postings) -> dict:
        return lc.apply_postings(balances, postings) if postings else balances

    def _volume(self, w: _Wallet, t: datetime) -> Decimal:
        cutoff = t - VOLUME_WINDOW
        while w.volume and w.volume[0][0] < cutoff:
            w.volume_sum -= w.volume.popleft()[1]
        return w.volume_sum

    def _account(self, w: _Wallet, t: datetime) -> lc.Account:
        cutoff = t - RATE_WINDOW
        while w.recent and w.recent[0] < cutoff:
            w.recent.popleft()
        equity = self.equity(w.id)  # valuation(...).equity: cash + positions value (lifecycle.holdings)
        day = t.astimezone(timezone.utc).date()
        anchor = w.anchors.get(day)
        if anchor is None:
            # the live rule without snapshots: the opening balance on the wallet's first day, else the equity now
            anchor = w.starting_balance if w.created.astimezone(timezone.utc).date() == day else equity
            w.anchors[day] = anchor
        return lc.Account(balances=w.balances, equity=equity, starting_balance=w.starting_balance,
                          day_start_equity=anchor, daily_loss_tripped=day in w.tripped,
                          agent_status=w.agent_status, open_orders=w.open_orders, orders_last_minute=len(w.recent))
