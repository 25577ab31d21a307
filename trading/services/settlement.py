"""The live driver's persistence: the engine's lifecycle results (``trading.engine.lifecycle``) into rows.

Everything here runs inside the caller's transaction with the ORDER rows already locked (``trading.locks``). Then,
always in this order: the wallets' balances, in (wallet, asset) order, then the positions, in (wallet, symbol)
order. Every writer of these rows follows the same order (orders -> balances -> positions), so two workers, a
worker and a cancel, or a sweep and a placement never deadlock.

No rule lives here: what a fill moves, the top-up when a slipped fill costs more than was locked, the status after
a fill, what a close releases, position and PnL all come from ``lifecycle.settle`` / ``lifecycle.close``. This
module converts rows to the engine's states and back, and writes a batch (a single order, or up to
``SWEEP_BATCH_SIZE`` orders crossed by a tick) with a fixed number of statements: lock balances, lock positions,
insert fills, post the ledger (``wallet_post_many``: one UPDATE + INSERT), update orders, update positions. The
engine's domain events are handed to ``common.events`` after commit (the streams and webhooks subscribe).
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from common import events as bus
from trading import locks
from trading.dbutil import insert_rows
from trading.engine import events as ev
from trading.engine import lifecycle as lc
from trading.engine.types import OrderStatus, OrderType, PositionState, Side, TimeInForce
from trading.models import Fill, Order, Position
from trading.services import notify
from trading.wallet import Posting, wallet_post_many

ORDER_FIELDS = ["status", "filled_quantity", "filled_quote", "fees_paid", "fill_count", "locked_amount",
                "sweep_price", "fires", "needs_execution", "triggered_at", "closed_at", "reject_code",
                "status_reason", "updated_at"]
POSITION_FIELDS = ["quantity", "avg_entry_price", "cost_basis", "realized_pnl", "fees_paid", "updated_at"]


def sweep_key(*, side: str, order_type: str, price: Decimal) -> tuple[Decimal, str]:
    """(sweep_price, fires) of a resting order: the engine's ``lifecycle.sweep_key``."""
    return lc.sweep_key(Side(side), OrderType(order_type), price)


def position_state(position: Position) -> PositionState:
    return PositionState(quantity=position.quantity, avg_entry_price=position.avg_entry_price,
                         realized_pnl=position.realized_pnl, fees_paid=position.fees_paid,
                         cost_basis=position.cost_basis)


def order_state(order: Order) -> lc.OrderState:
    """The engine's view of a stored order."""
    return lc.OrderState(
        id=str(order.pk), wallet_id=str(order.wallet_id), symbol=order.symbol, base=order.base_asset,
        quote=order.quote_asset, side=Side(order.side), type=OrderType(order.type),
        time_in_force=TimeInForce(order.time_in_force), quantity=order.quantity,
        quote_quantity=order.quote_quantity, price=order.price, trigger_price=order.trigger_price,
        maker_bps=order.maker_fee_bps, taker_bps=order.taker_fee_bps, post_only=order.post_only,
        reduce_only=order.reduce_only, status=OrderStatus(order.status), filled_quantity=order.filled_quantity,
        filled_quote=order.filled_quote, fees_paid=order.fees_paid, fill_count=order.fill_count,
        locked_asset=order.locked_asset, locked_amount=order.locked_amount, needs_execution=order.needs_execution,
        sweep_price=order.sweep_price, fires=order.fires, triggered_at=order.triggered_at,
        closed_at=order.closed_at, reject_code=order.reject_code, status_reason=order.status_reason,
        reference_price=order.reference_price, client_order_id=order.client_order_id,
        created_at=order.created_at, updated_at=order.updated_at)


def store_state(order: Order, st: lc.OrderState) -> Order:
    """Copy what the engine changed back onto the row (saved by the caller's bulk update)."""
    order.status = str(st.status)
    order.filled_quantity, order.filled_quote, order.fees_paid = st.filled_quantity, st.filled_quote, st.fees_paid
    order.fill_count, order.locked_amount = st.fill_count, st.locked_amount
    order.sweep_price, order.fires, order.needs_execution = st.sweep_price, st.fires, st.needs_execution
    order.triggered_at, order.closed_at, order.updated_at = st.triggered_at, st.closed_at, st.updated_at
    order.reject_code, order.status_reason = st.reject_code, st.status_reason
    return order


def new_order(st: lc.OrderState, *, agent, body_hash: str) -> Order:
    """The row of an order the engine accepted."""
    return store_state(Order(
        id=st.id, wallet_id=st.wallet_id, agent=agent, symbol=st.symbol, base_asset=st.base, quote_asset=st.quote,
        side=str(st.side), type=str(st.type), time_in_force=str(st.time_in_force), quantity=st.quantity,
        quote_quantity=st.quote_quantity, price=st.price, trigger_price=st.trigger_price, post_only=st.post_only,
        reduce_only=st.reduce_only, client_order_id=st.client_order_id, body_hash=body_hash,
        locked_asset=st.locked_asset, maker_fee_bps=st.maker_bps, taker_fee_bps=st.taker_bps,
        reference_price=st.reference_price, created_at=st.created_at), st)


@dataclass
class Outcome:
    """What a batch did, for the callers' counters."""

    orders: list[Order] = field(default_factory=list)
    fills: list = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    events: list = field(default_factory=list)

    @property
    def filled(self) -> int:
        return sum(1 for o in self.orders if o.status == Order.Status.FILLED)


def close_orders(orders: list[Order], *, status: str, reason: str = "", code: str = "", now=None) -> list[Order]:
    """Cancel/expire/reject locked ``orders`` and release their locks (``lifecycle.close``). In a transaction, with
    the orders (and, for the ledger, their wallets' balances) locked by the caller."""
    now = now or timezone.now()
    pairs = [(o, lc.Plan(order_state(o), "close", code=code, message=reason)) for o in orders]
    _apply(pairs, now=now, close_status=OrderStatus(status))
    return orders


def settle(items: list[tuple[Order, object, bool]], *, now=None) -> Outcome:
    """Apply engine match results to their (locked) orders: ``items`` = [(order, MatchResult, triggered_now)]."""
    now = now or timezone.now()
    return _apply([(o, lc.Plan(order_state(o), "settle", result=r, triggered=t)) for o, r, t in items], now=now)


def apply_plans(pairs: list[tuple[Order, lc.Plan]], *, now=None, locked: dict | None = None,
                prior_events: list | None = None, accepted: lc.Accepted | None = None) -> Outcome:
    """Carry out the engine's plans (``lifecycle.execute`` / ``lifecycle.sweep``) for their locked orders: settle,
    reject or wait. ``pairs`` = [(order row, plan)], the plan's ``order`` being ``order_state(row)``. ``locked``:
    {(wallet_id, asset): Balance} the caller already holds locked in this transaction, with current values.
    ``prior_events``: events of the same transaction to deliver first, in the same batch (an order's acceptance
    and its fill are one change to a subscriber). ``accepted``: the acceptance of the (single) order of ``pairs``
    in this transaction, not yet written: its row is inserted in its final state and its lock posted in the same
    ledger statement as its fills (two statements fewer on the placement path)."""
    return _apply(pairs, now=now or timezone.now(), locked=locked, prior_events=prior_events, accepted=accepted)


def _apply(pairs, *, now, close_status: OrderStatus | None = None, locked: dict | None = None,
           prior_events: list | None = None, accepted: lc.Accepted | None = None) -> Outcome:
    outcome = Outcome()
    if not pairs:
        return outcome
    pairs = sorted(pairs, key=lambda p: (str(p[0].wallet_id), str(p[0].pk)))
    # a request may be waiting (wait_ms) only on an order a worker was to execute: signal those, not a sweep's
    awaited = {o.pk for o, _ in pairs if o.needs_execution and accepted is None}
    keys = {(str(o.wallet_id), a) for o, _ in pairs for a in (o.base_asset, o.quote_asset)}
    balances = locked if locked is not None and keys <= locked.keys() else locks.lock_balances(keys=keys)
    running: dict[str, dict] = {}
    for (w, a), b in balances.items():
        running.setdefault(w, {})[a] = lc.BalanceState(b.available, b.locked)
    if accepted is not None:  # its lock is posted with its fills below, but the engine settles after it
        w = accepted.order.wallet_id
        running[w] = lc.apply_postings(running.get(w, {}), accepted.postings)
    positions = locks.lock_positions(keys={(o.wallet_id, o.symbol): o for o, p in pairs
                                           if p.action == "settle" and p.result.executions})
    done_items = []
    touched = {}
    for order, plan in pairs:
        w = str(order.wallet_id)
        st = plan.order
        if plan.action == "wait":
            lc.wait(st, now=now)
            store_state(order, st)
            done_items.append((order, None))
            continue
        if plan.action == "close":
            done = lc.close(st, close_status, now=now, reason=plan.message, code=plan.code,
                            balances=running.get(w, {}))
        elif plan.action == "reject":
            if plan.triggered and st.triggered_at is None:
                st.triggered_at = now
            done = lc.close(st, OrderStatus.REJECTED, now=now, reason=plan.message, code=plan.code,
                            balances=running.get(w, {}))
        else:
            position = positions.get((w, order.symbol))
            done = lc.settle(st, plan.result, position=position_state(position) if position is not None else None,
                             balances=running.get(w, {}), now=now, triggered=plan.triggered)
            if position is not None and done.fills:
                p = done.position
                position.quantity, position.avg_entry_price, position.cost_basis = p.quantity, p.avg_entry_price, p.cost
                position.realized_pnl, position.fees_paid, position.updated_at = p.realized_pnl, p.fees_paid, now
                touched[(w, order.symbol)] = position
        running[w] = done.balances
        store_state(order, done.order)
        done_items.append((order, done))
    return _persist(done_items, balances, list(touched.values()), now, list(prior_events or ()), accepted, awaited)


def _persist(done_items, balances, positions, now, events: list, accepted: lc.Accepted | None = None,
             awaited: set = frozenset()) -> Outcome:
    """Write a batch: fills (their ids are the ledger's references), ledger postings, orders, positions; hand the
    events on after commit."""
    fills = [Fill(order=order, seq=f.seq, wallet_id=order.wallet_id, agent_id=order.agent_id, symbol=f.symbol,
                  side=str(f.side), price=f.price, quantity=f.quantity, quote_amount=f.quote_amount, fee=f.fee,
                  fee_asset=f.fee_asset, liquidity=str(f.liquidity), slippage_pct=f.slippage_pct,
                  realized_pnl=f.realized_pnl, created_at=now)
             for order, done in done_items if done is not None for f in done.fills]
    # a placed order's row goes in with its fills, one statement (the ORM's save() compiled its INSERT per call)
    insert_rows(Fill, fills, after=(Order, [done_items[0][0]]) if accepted is not None else None)
    fill_ids = {(str(f.order_id), f.seq): f.pk for f in fills}
    postings = [Posting(p.wallet_id, p.movements, p.reason, p.ref_type, p.order_id)
                for p in (accepted.postings if accepted is not None else ())]
    by_order: dict = {}
    for f in fills:
        by_order.setdefault(f.order_id, []).append(f)
    for order, _ in done_items:
        mine = by_order.get(order.pk, [])
        if mine and len(mine) == order.fill_count:  # every fill of the order is new: the response needs no query
            order.all_fills = mine
    for order, done in done_items:
        if done is None:  # a conditional order back to waiting for its trigger: nothing a subscriber reports
            continue
        for p in done.postings:
            ref = str(fill_ids[(p.order_id, p.fill_seq)]) if p.ref_type == "fill" else p.order_id
            postings.append(Posting(order.wallet_id, p.movements, p.reason, p.ref_type, ref))
        for e in done.events:
            if e.type == ev.FILL:
                e.data["id"] = fill_ids[(e.data["order_id"], e.data["seq"])]
        events += done.events
    orders = [order for order, _ in done_items]
    # the ledger, the orders and the positions: one statement
    wallet_post_many(postings, locked=balances, with_updates=(
        (Order, orders if accepted is None else orders[1:], ORDER_FIELDS), (Position, positions, POSITION_FIELDS)))
    after_commit(events, signals=[(o.pk, o.status) for o in orders if o.pk in awaited])
    return Outcome(orders=orders, fills=fills, positions=positions, events=events)


def after_commit(events: list, *, signals=()) -> None:
    """Hand the batch's domain events to the subscribers (streams, webhooks) and wake the requests waiting on
    these orders, both once the transaction has committed."""
    bus.publish_on_commit(events)
    if signals:
        signals = list(signals)
        transaction.on_commit(lambda: notify.orders_done_signal(signals=signals))
