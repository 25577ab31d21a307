"""Property tests: whatever the sequence of orders, the money adds up.

A small in-memory exchange drives random orders through the whole engine — validate, preview, risk chain, match
(market and quote orders against random books or the no-book model, gtc limits resting and filling on later
ticks) — then moves a wallet by each execution and applies it to the position. After every step:

    cash_start - cash_now == cost_basis + fees_paid - realized_pnl       (exactly)
    |quantity * avg_entry_price - cost_basis| <= quantity * 1e-12        (the 12-place average)
    cash >= 0, base >= 0, base held == position quantity
    every fee >= 0, == amount * bps / 10_000 rounded UP to 8 places
"""

from dataclasses import dataclass, field
from decimal import Decimal as D

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from common.money import quantize_down
from trading.engine.fees import DEFAULT_FEE_TIERS, bps_for, fee_rate_for, highest_fee_rate
from trading.engine.limits import RiskLimits
from trading.engine.matching import match_order, match_resting, order_lock, preview
from trading.engine.positions import apply_execution, apply_fill, market_value
from trading.engine.risk import enforce
from trading.engine.types import (
    AMOUNT_QUANTUM,
    PRICE_QUANTUM,
    EngineRejection,
    FeeRate,
    PositionState,
    RestingOrder,
    RiskContext,
    Side,
)
from trading.engine.validation import validate_intent

from .builders import BTC, intent, market

START = D("10000")
FLAT = FeeRate(D(10), D(10))  # equal maker/taker: the worst case for per-fill fee rounding
# locks at the highest rate any step can charge: the rate of a wallet can rise while its order rests
LOCK_RATE = FeeRate(max(highest_fee_rate(DEFAULT_FEE_TIERS).maker_bps, FLAT.maker_bps),
                    max(highest_fee_rate(DEFAULT_FEE_TIERS).taker_bps, FLAT.taker_bps))
LOOSE = RiskLimits(max_order_size_pct=D("100"), max_position_size_pct=D("100"), daily_loss_limit_pct=D("100"),
                   max_open_orders=1000, order_rate_limit=10**6, min_order_size_usd=D("0"))


@dataclass
class Wallet:
    cash: D = START  # available USDT
    locked_cash: D = D(0)
    base: D = D(0)  # available BTC
    locked_base: D = D(0)
    position: PositionState = field(default_factory=PositionState)
    resting: list = field(default_factory=list)  # (RestingOrder, locked amount)

    def equity(self, mark):
        return self.cash + self.locked_cash + market_value(self.position, mark)

    def check_invariants(self):
        spent = START - (self.cash + self.locked_cash)
        p = self.position
        assert spent == p.cost + p.fees_paid - p.realized_pnl
        assert abs(p.quantity * p.avg_entry_price - p.cost) <= p.quantity * PRICE_QUANTUM
        assert min(self.cash, self.locked_cash, self.base, self.locked_base) >= 0
        assert self.base + self.locked_base == p.quantity
        assert p.cost >= 0


def check_fee(execution, rate):
    exact = execution.quote_amount * bps_for(rate, execution.liquidity) / 10_000
    assert execution.fee >= 0
    assert exact <= execution.fee < exact + AMOUNT_QUANTUM
    assert execution.fee.as_tuple().exponent >= -8


def settle(wallet, side, executions, rate, *, from_lock=False):
    """Move the wallet by the fills — out of the order's lock for a resting order, else out of available — and
    update the position. Returns what the fills took (quote incl. fees for buys, base for sells)."""
    taken = D(0)
    for e in executions:
        check_fee(e, rate)
        if side == Side.BUY:
            cost = e.quote_amount + e.fee
            if from_lock:
                wallet.locked_cash -= cost
            else:
                wallet.cash -= cost
            wallet.base += e.quantity
            taken += cost
        else:
            if from_lock:
                wallet.locked_base -= e.quantity
            else:
                wallet.base -= e.quantity
            wallet.cash += e.quote_amount - e.fee
            taken += e.quantity
        wallet.position, _ = apply_execution(wallet.position, side, e)
    return taken


ticks = st.integers(min_value=5_000_00, max_value=90_000_00).map(lambda n: D(n).scaleb(-2))
quantities = st.integers(min_value=1, max_value=20_000).map(lambda n: D(n).scaleb(-5))  # up to 0.2 BTC


@st.composite
def books(draw, last):
    """Either no book, or a few levels on each side of ``last``."""
    if draw(st.booleans()):
        return market(str(last), volume=draw(st.sampled_from([None, "1000000", "50000000"])))
    spreads = draw(st.lists(st.integers(min_value=1, max_value=5_000), min_size=1, max_size=4, unique=True))
    sizes = draw(st.lists(quantities, min_size=len(spreads), max_size=len(spreads)))
    step = D("0.01")
    asks = [(str(last + s * step), str(q)) for s, q in zip(sorted(spreads), sizes)]
    bids = [(str(max(last - s * step, step)), str(q)) for s, q in zip(sorted(spreads), sizes)]
    return market(str(last), asks=asks, bids=bids)


@st.composite
def orders(draw):
    side = draw(st.sampled_from(["buy", "sell"]))
    kind = draw(st.sampled_from(["market", "quote", "limit"]))
    tif = draw(st.sampled_from(["gtc", "ioc", "fok"]))
    if kind == "quote":
        return intent(side, quote_quantity=str(draw(st.integers(min_value=5, max_value=6000))), tif=tif)
    if kind == "market":
        return intent(side, quantity=str(draw(quantities)), tif=tif)
    offset = draw(st.integers(min_value=-3000, max_value=3000))
    return ("limit_offset", side, draw(quantities), offset, tif)


steps = st.lists(st.tuples(ticks, st.data(), orders(), st.sampled_from(["0", "2000000", "30000000", "flat"])),
                 min_size=1, max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
def test_cash_positions_fees_and_pnl_reconcile_for_any_order_sequence(steps):
    """validate -> preview -> risk -> match -> wallet -> position, for random orders on random markets."""
    wallet = Wallet()
    for last, data, order, volume_30d in steps:
        rate = FLAT if volume_30d == "flat" else fee_rate_for(D(volume_30d))
        mkt = data.draw(books(last))

        # resting limits first: the new tick may trade through them (fill at their limit, maker)
        still = []
        for resting, locked in wallet.resting:
            result = match_resting(resting, last, rate, instrument=BTC)
            if result.executions:
                event("resting order filled as maker")
                taken = settle(wallet, resting.side, result.executions, rate, from_lock=True)
                assert taken <= locked  # the lock covers its fill to the last unit: nothing borrowed
                if resting.side == Side.BUY:  # the lock was at the highest fee rate: release the difference
                    wallet.locked_cash -= locked - taken
                    wallet.cash += locked - taken
                else:
                    assert taken == locked
            else:
                still.append((resting, locked))
        wallet.resting = still
        wallet.check_invariants()

        if isinstance(order, tuple):
            _, side, qty, offset, tif = order
            price = max(last + offset * D("0.01"), D("0.01"))
            order = intent(side, "limit", quantity=str(qty), price=str(price), tif=tif)
        try:
            order = validate_intent(order, BTC, reference_price=last)
            pv = preview(order, mkt, rate, instrument=BTC, lock_fee_rate=LOCK_RATE)
            pv_ok = pv.reject_code is None
            enforce(RiskContext(
                limits=LOOSE, side=order.side, quantity=pv.quantity, price=pv.est_price, notional=pv.notional,
                fee=pv.est_fee, balance_required=pv.balance_required, available_quote=wallet.cash,
                available_base=wallet.base, position_quantity=wallet.position.quantity,
                equity=wallet.equity(last), starting_balance=START, day_start_equity=START,
                base_asset="BTC", adds_open_order=pv.rests))
            result = match_order(order, mkt, rate, instrument=BTC)
        except EngineRejection as exc:
            event(f"refused: {exc.code}")
            continue
        assert pv_ok == (result.reject_code is None)
        event(f"status: {result.status}")
        if result.reject_code:
            assert result.executions == ()
            continue
        # preview is the same computation as the fill
        assert pv.notional - result.quote_amount == (
            (result.remaining_quantity * order.price).quantize(AMOUNT_QUANTUM) if result.rests else 0)

        # the taking part is paid from available at once; what rests is locked afterwards
        moved = settle(wallet, order.side, result.executions, rate)
        if result.rests:
            _, lock = order_lock(order, LOCK_RATE, instrument=BTC, quantity=result.remaining_quantity)
            if order.side == Side.BUY:
                wallet.cash -= lock
                wallet.locked_cash += lock
            else:
                wallet.base -= lock
                wallet.locked_base += lock
            moved += lock
            wallet.resting.append((RestingOrder(order.side, order.price, result.remaining_quantity), lock))
        # preview's balance_required backs the order: never less than what placing it moved (exactly that for
        # market buys, the whole quantity for sells)
        assert moved <= pv.balance_required
        if order.side == Side.BUY and order.price is None:
            assert moved == pv.balance_required
        wallet.check_invariants()

    # cancel everything still resting: locks come back, and the books still balance
    for resting, locked in wallet.resting:
        if resting.side == Side.BUY:
            wallet.locked_cash -= locked
            wallet.cash += locked
        else:
            wallet.locked_base -= locked
            wallet.base += locked
    assert wallet.locked_cash == 0 and wallet.locked_base == 0
    wallet.check_invariants()


@given(buys=st.lists(st.tuples(quantities, ticks), min_size=1, max_size=10),
       sells=st.lists(st.tuples(st.integers(min_value=1, max_value=99), ticks), max_size=10), last=ticks)
def test_selling_everything_realizes_proceeds_minus_cost_exactly(buys, sells, last):
    state = PositionState()
    for qty, price in buys:
        state, _ = apply_fill(state, Side.BUY, qty, price, D(0))
    cost = sum(((q * p).quantize(AMOUNT_QUANTUM) for q, p in buys), D(0))
    assert state.cost == cost
    proceeds = D(0)
    for pct, price in sells + [(100, last)]:  # a few partial sells, then the rest
        part = quantize_down(state.quantity * pct / 100, BTC.step_size)
        if part == 0:
            continue
        state, _ = apply_fill(state, Side.SELL, part, price, D(0))
        proceeds += (part * price).quantize(AMOUNT_QUANTUM)
    assert (state.quantity, state.cost, state.avg_entry_price) == (0, 0, 0)
    assert state.realized_pnl == proceeds - cost
