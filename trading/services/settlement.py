"""Turning the engine's verdicts into rows: fills, ledger postings, order and position updates.

Everything here runs inside the caller's transaction with the ORDER rows already locked (``SELECT ... FOR NO KEY
UPDATE``). Then, always in this order: the wallets' balances, in (wallet, asset) order, then the positions, in
(wallet, symbol) order. Every writer of these rows follows the same order (orders -> balances -> positions), so two
workers, a worker and a cancel, or a sweep and a placement never deadlock.

One batch (a single order executed by a worker, or up to ``SWEEP_BATCH_SIZE`` orders crossed by a tick) costs a
fixed number of queries: lock balances, lock positions, insert fills, post the ledger (``wallet_post_many``: lock,
one UPDATE, one INSERT), update orders, update positions.

No fill, fee or PnL rule is computed here: executions come from ``trading.engine.matching`` and positions from
``trading.engine.positions``. This module only moves what they decided.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from common.events import publish_on_commit
from common.money import ZERO
from trading.dbutil import bulk_update_rows
from trading.engine import matching
from trading.engine import positions as engine_positions
from trading.engine.types import EngineRejection, MatchResult, OrderStatus, OrderType, PositionState, Side
from trading.events import OrdersChanged
from trading.models import LedgerEntry, Order, Position
from trading.services import notify
from trading.wallet import Movement, Posting, lock_wallet_balances, wallet_post_many

Reason = LedgerEntry.Reason
ORDER_FIELDS = ["status", "filled_quantity", "filled_quote", "fees_paid", "fill_count", "locked_amount",
                "sweep_price", "fires", "needs_execution", "triggered_at", "closed_at", "reject_code",
                "status_reason", "updated_at"]
POSITION_FIELDS = ["quantity", "avg_entry_price", "cost_basis", "realized_pnl", "fees_paid", "updated_at"]


def sweep_key(*, side: str, order_type: str, price: Decimal) -> tuple[Decimal, str]:
    """(sweep_price, fires) of a resting order, from the engine's crossing bounds.

    The engine's bound says which orders a tick at P reaches: ``gte`` (order price >= P) means the order acts when
    the price comes down to it (fires "le"), ``lte`` when it goes up to it (fires "ge").
    """
    bounds = matching.crossing_bounds(Side(side), price)
    bound = bounds.limit if order_type == OrderType.LIMIT else bounds.trigger(OrderType(order_type))
    return price, (Order.Fires.AT_OR_BELOW if bound.op == "gte" else Order.Fires.AT_OR_ABOVE)


def position_state(position: Position) -> PositionState:
    return PositionState(quantity=position.quantity, avg_entry_price=position.avg_entry_price,
                         realized_pnl=position.realized_pnl, fees_paid=position.fees_paid,
                         cost_basis=position.cost_basis)


@dataclass
class Outcome:
    """What a batch did, for the after-commit notifications and the callers' counters."""

    orders: list[Order] = field(default_factory=list)
    fills: list = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)

    @property
    def filled(self) -> int:
        return sum(1 for o in self.orders if o.status == Order.Status.FILLED)


@dataclass
class _Running:
    """Balances as the batch goes, to refuse an order whose fills its wallet cannot pay before anything is written."""

    balances: dict

    def __post_init__(self):
        self.values = {k: [b.available, b.locked] for k, b in self.balances.items()}

    def fits(self, wallet_id, movements) -> bool:
        trial = {}
        for m in movements:
            key = (str(wallet_id), m.asset)
            a, lk = trial.get(key) or self.values.get(key, [ZERO, ZERO])
            trial[key] = [a + m.available, lk + m.locked]
        if any(a < 0 or lk < 0 for a, lk in trial.values()):
            return False
        self.values.update(trial)
        return True


def _close(order: Order, *, status: str, now, reason: str = "", code: str = "") -> list[Movement]:
    """Close ``order`` in memory; the movements that release what it still holds."""
    release = []
    if order.locked_amount > 0:
        release.append(Movement(order.locked_asset, available=order.locked_amount, locked=-order.locked_amount))
    order.status = status
    order.locked_amount = ZERO
    order.sweep_price = None
    order.fires = ""
    order.needs_execution = False
    order.closed_at = now
    order.updated_at = now
    if reason:
        order.status_reason = reason[:255]
    if code:
        order.reject_code = code
    return release


def close_orders(orders: list[Order], *, status: str, reason: str = "", code: str = "", now=None) -> list[Order]:
    """Cancel/expire/reject locked ``orders`` and release their locks (one ledger row each). In a transaction."""
    now = now or timezone.now()
    postings = []
    for order in orders:
        release = _close(order, status=status, now=now, reason=reason, code=code)
        if release:
            postings.append(Posting(order.wallet_id, tuple(release), Reason.ORDER_RELEASE, "order", str(order.pk)))
    wallet_post_many(postings)
    bulk_update_rows(Order, orders, ORDER_FIELDS)
    _after_commit(Outcome(orders=list(orders)))
    return orders


def _status_after(order: Order, result: MatchResult, triggered: bool) -> str:
    if result.status == OrderStatus.NEW:
        if order.filled_quantity > 0:
            return Order.Status.PARTIALLY_FILLED
        return Order.Status.TRIGGERED if (triggered or order.triggered_at) else Order.Status.NEW
    return str(result.status)


def _fill_movements(order: Order, execution) -> tuple[tuple[Movement, ...], tuple[Movement, ...]]:
    """(fill movements, fee movements) of one execution. Buys pay quote and fee from the order's lock; sells give
    base from the lock and pay the fee out of the proceeds."""
    if order.side == Order.Side.BUY:
        fill = (Movement(order.base_asset, available=execution.quantity),
                Movement(order.quote_asset, locked=-execution.quote_amount))
        fee = (Movement(order.quote_asset, locked=-execution.fee),)
    else:
        fill = (Movement(order.base_asset, locked=-execution.quantity),
                Movement(order.quote_asset, available=execution.quote_amount))
        fee = (Movement(order.quote_asset, available=-execution.fee),)
    return fill, fee


def settle(items: list[tuple[Order, MatchResult, bool]], *, now=None) -> Outcome:
    """Apply engine results to their (locked) orders: ``items`` = [(order, result, triggered_now)].

    An order whose fills would cost more than it locked (a market buy that slipped past its buffer) draws the
    difference from the wallet's available balance; if the wallet cannot pay, the order is rejected
    (INSUFFICIENT_BALANCE) and its lock released, and the other orders of the batch go through.
    """
    now = now or timezone.now()
    items = sorted(items, key=lambda it: (str(it[0].wallet_id), str(it[0].pk)))
    outcome = Outcome()
    if not items:
        return outcome

    balances = lock_wallet_balances(keys={(o.wallet_id, a) for o, _, _ in items for a in (o.base_asset, o.quote_asset)})
    running = _Running(balances)
    positions = _lock_positions({(o.wallet_id, o.symbol): o for o, r, _ in items if r.executions})

    planned = []  # (order, [(Fill, fill movements, fee movements)], pre-postings, post-postings)
    for order, result, triggered in items:
        if triggered and order.triggered_at is None:
            order.triggered_at = now
        order.updated_at = now
        if result.reject_code and not result.executions:
            release = _close(order, status=Order.Status.REJECTED, now=now, reason=result.reject_message or "",
                             code=result.reject_code)
            running.fits(order.wallet_id, release)
            planned.append((order, [], [], [(Reason.ORDER_RELEASE, release)] if release else []))
            continue
        step = _plan_fills(order, result, triggered, positions, running, now)
        if step is None:  # the wallet cannot pay what the fills cost: reject the order instead
            release = _close(order, status=Order.Status.REJECTED, now=now, code="INSUFFICIENT_BALANCE",
                             reason="the fill would cost more than the order locked and the wallet has available")
            running.fits(order.wallet_id, release)
            planned.append((order, [], [], [(Reason.ORDER_RELEASE, release)] if release else []))
            continue
        planned.append((order, *step))

    # Fills first: the ledger rows refer to them by id.
    from trading.models import Fill

    new_fills = [f for _, fills, _, _ in planned for f, _, _ in fills]
    Fill.objects.bulk_create(new_fills)
    postings = []
    for order, fills, pre, post in planned:
        for reason, movements in pre:
            postings.append(Posting(order.wallet_id, tuple(movements), reason, "order", str(order.pk)))
        for f, fill_mv, fee_mv in fills:
            postings.append(Posting(order.wallet_id, fill_mv, Reason.FILL, "fill", str(f.pk)))
            postings.append(Posting(order.wallet_id, fee_mv, Reason.FEE, "fill", str(f.pk)))
        for reason, movements in post:
            postings.append(Posting(order.wallet_id, tuple(movements), reason, "order", str(order.pk)))
    wallet_post_many(postings, locked=balances)
    orders = [order for order, *_ in planned]
    bulk_update_rows(Order, orders, ORDER_FIELDS)
    touched = [p for p in positions.values() if p.updated_at == now]  # _plan_fills stamps what it changed
    if touched:
        bulk_update_rows(Position, touched, POSITION_FIELDS)
    outcome.orders, outcome.fills, outcome.positions = orders, new_fills, touched
    _after_commit(outcome)
    return outcome


def _plan_fills(order: Order, result: MatchResult, triggered: bool, positions: dict, running: _Running, now):
    """The fills, postings and new order state of one order; None if its wallet cannot pay for them."""
    from trading.models import Fill

    position = positions.get((str(order.wallet_id), order.symbol))
    state = position_state(position) if position is not None else None
    fills = []
    consumed = ZERO  # of the order's locked asset
    for i, execution in enumerate(result.executions, start=1):
        try:
            state, realized = engine_positions.apply_execution(state, Side(order.side), execution)
        except EngineRejection:
            return None
        fill_mv, fee_mv = _fill_movements(order, execution)
        consumed += (execution.quote_amount + execution.fee) if order.side == Order.Side.BUY else execution.quantity
        fills.append((Fill(order=order, seq=order.fill_count + i, wallet_id=order.wallet_id, agent_id=order.agent_id,
                           symbol=order.symbol, side=order.side, price=execution.price, quantity=execution.quantity,
                           quote_amount=execution.quote_amount, fee=execution.fee, fee_asset=execution.fee_asset,
                           liquidity=str(execution.liquidity), slippage_pct=execution.slippage_pct,
                           realized_pnl=realized, created_at=now), fill_mv, fee_mv))

    pre = []
    if consumed > order.locked_amount:
        extra = consumed - order.locked_amount
        pre.append((Reason.ORDER_LOCK, [Movement(order.locked_asset, available=-extra, locked=extra)]))
    wallet_moves = [m for _, mv in pre for m in mv] + [m for _, f, fee in fills for m in (*f, *fee)]
    if not running.fits(order.wallet_id, wallet_moves):
        return None

    locked_left = max(order.locked_amount, consumed) - consumed
    order.filled_quantity += result.filled_quantity
    order.filled_quote += result.quote_amount
    order.fees_paid += result.fee
    order.fill_count += len(fills)
    order.locked_amount = locked_left
    order.needs_execution = False
    status = _status_after(order, result, triggered)
    post = []
    if status in (Order.Status.NEW, Order.Status.PARTIALLY_FILLED, Order.Status.TRIGGERED):
        order.status = status
        order.sweep_price, order.fires = sweep_key(side=order.side, order_type=Order.Type.LIMIT, price=order.price)
    else:
        reason = result.reject_message or ""
        if status == Order.Status.EXPIRED and not reason:
            reason = "time in force: the part not filled at once expired"
        release = _close(order, status=status, now=now, reason=reason, code=result.reject_code or "")
        if release:
            running.fits(order.wallet_id, release)
            post.append((Reason.ORDER_RELEASE, release))
    if position is not None and fills:
        position.quantity, position.avg_entry_price = state.quantity, state.avg_entry_price
        position.cost_basis, position.realized_pnl, position.fees_paid = state.cost, state.realized_pnl, state.fees_paid
        position.updated_at = now
    return fills, pre, post


def _lock_positions(keys: dict) -> dict[tuple[str, str], Position]:
    """Lock (creating if missing) the positions of ``keys`` = {(wallet_id, symbol): an order of it}, in key order."""
    if not keys:
        return {}
    from django.db.models import Q

    keys = {(str(w), s): o for (w, s), o in keys.items()}

    def select():
        match = Q()
        for wallet_id, symbol in keys:
            match |= Q(wallet_id=wallet_id, symbol=symbol)
        rows = Position.objects.select_for_update(no_key=True).filter(match).order_by("wallet_id", "symbol")
        return {(str(p.wallet_id), p.symbol): p for p in rows}

    found = select()
    missing = sorted(keys.keys() - found.keys())
    if missing:
        Position.objects.bulk_create(
            [Position(wallet_id=w, agent_id=keys[(w, s)].agent_id, symbol=s, base_asset=keys[(w, s)].base_asset,
                      quote_asset=keys[(w, s)].quote_asset) for w, s in missing],
            ignore_conflicts=True)
        found = select()
    return found


def _after_commit(outcome: Outcome) -> None:
    """Publish what this batch did (``common.events``: the streams and webhooks subscribe; delivered if and when
    the transaction commits), and, once committed, wake the requests waiting on these orders."""
    if not outcome.orders:
        return
    publish_on_commit([OrdersChanged(orders=tuple(outcome.orders), fills=tuple(outcome.fills),
                                     positions=tuple(outcome.positions))])
    signals = [(o.pk, o.status) for o in outcome.orders]
    transaction.on_commit(lambda: notify.orders_done_signal(signals=signals))
