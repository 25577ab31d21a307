"""Placing, previewing and cancelling orders; bulk quote ladders; closing positions.

Placing an order, in one short transaction:
1. lock the wallet's balances (``FOR NO KEY UPDATE``, asset order): every placement of a wallet is serialised here,
   so the risk chain sees exact counts and balances, and 50 concurrent retries of one client_order_id find the
   first one's order (the unique constraint (wallet, client_order_id) is the last guard);
2. gather the risk context and run the engine's risk chain;
3. insert the order and lock what it may spend (``trading.wallet``, reason ``order_lock``);
4. an order that takes liquidity on arrival is executed and settled in the same transaction
   (``ORDER_FILL_ON_PLACEMENT``, the default; see docs/orders.md) or, with that setting off, handed to a worker
   (``fill_order``) after commit.

The rules (validation, what executes now, the lock, the risk context, the fill) are the engine's
(``trading.engine.lifecycle``); this module loads, locks (``trading.locks``) and stores.

The market read (Redis), the instrument, validation and the engine's preview happen before the transaction: they
depend on the market, not on the wallet.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common import events as bus
from common.errors import ApplicationError, BusinessRejection, Conflict, NotFound, ValidationFailed
from common.money import ZERO, quantize_down
from trading import locks
from trading.engine import lifecycle as lc
from trading.engine import risk as engine_risk
from trading.engine.types import (
    EngineRejection,
    OrderIntent,
    OrderType,
    RejectCode,
    Side,
    TimeInForce,
)
from trading.models import Balance, Order, Position, Wallet
from trading.selectors import wallet_trading_guard, wallet_trading_guard_locked
from trading.selectors_orders import order_get
from trading.services import market, settlement
from trading.services.fees import wallet_fee_rate
from trading.services.risk import agent_limits, daily_loss_trip_record, order_counts, risk_account
from trading.services.settlement import close_orders
from trading.wallet import Posting, wallet_post_many

CLIENT_ID_CONSTRAINT = "order_client_id_unique_per_wallet"
CONDITIONAL_TYPES = lc.CONDITIONAL_TYPES


# --- errors ---------------------------------------------------------------------------------------------------------

def engine_error(exc: EngineRejection) -> ApplicationError:
    """An engine refusal as the API's error: 400 for a malformed order, 404 for an unknown pair, else 422."""
    if exc.code == RejectCode.VALIDATION_ERROR:
        return ValidationFailed(exc.message, details=exc.details)
    if exc.code == RejectCode.UNKNOWN_SYMBOL:
        return NotFound(exc.message, code=str(exc.code), details=exc.details)
    if exc.code == RejectCode.MARKET_CLOSED:
        return market.MarketClosed(exc.message, details=exc.details)
    return BusinessRejection(exc.message, code=str(exc.code), details=exc.details)


def _duplicate(order: Order) -> Conflict:
    return Conflict(f"client_order_id {order.client_order_id!r} was already used for a different order.",
                    code="DUPLICATE_CLIENT_ORDER_ID",
                    details={"client_order_id": order.client_order_id, "order_id": str(order.pk)})


# --- the pieces of a placement ----------------------------------------------------------------------------------------

def body_hash(intent: OrderIntent, kind: str = "order") -> str:
    """sha256 of the order as asked (decimals normalised: "1.0" and "1" are the same order)."""
    def norm(v):
        if isinstance(v, Decimal):
            return format(v.normalize(), "f")
        return None if v is None else str(v)

    body = [kind, intent.symbol, norm(intent.side), norm(intent.type), norm(intent.quantity),
            norm(intent.quote_quantity), norm(intent.price), norm(intent.trigger_price),
            norm(intent.time_in_force), bool(intent.post_only), bool(intent.reduce_only)]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


Prepared = lc.Prepared  # an order checked against its pair and the market now (the engine's ``prepare``)


@dataclass(frozen=True)
class Placement:
    order: Order
    created: bool  # False: a retry of an earlier client_order_id
    awaits_execution: bool  # a worker will execute it right after commit


def prepare(*, wallet: Wallet, intent: OrderIntent) -> Prepared:
    wallet_trading_guard(wallet=wallet, symbol=intent.symbol)  # a battle wallet: paused, pairs
    spec = market.instrument_spec(intent.symbol)
    trading = market.instrument_is_trading(intent.symbol)
    state = market.market_state(intent.symbol) if trading else None
    try:
        return lc.prepare(intent, instrument=spec, market=state, fee_rate=wallet_fee_rate(wallet_id=wallet.pk),
                          trading=trading)
    except EngineRejection as exc:
        raise engine_error(exc) from None


def market_buffer_pct() -> Decimal:
    return Decimal(str(settings.MARKET_ORDER_MAX_SLIPPAGE_PCT))


def lock_requirement(prep: Prepared, balances: dict[str, Balance]) -> tuple[str, Decimal]:
    """(asset, amount) the order must lock when accepted: the engine's ``lifecycle.lock_requirement``."""
    held = balances[prep.instrument.base].available if prep.instrument.base in balances else ZERO
    return lc.lock_requirement(prep, available_base=held, market_buffer_pct=market_buffer_pct())


def _by_client_id(wallet: Wallet, client_order_id: str) -> Order | None:
    return Order.objects.filter(wallet=wallet, client_order_id=client_order_id).first()


def _replay(existing: Order, digest: str) -> Placement:
    if existing.body_hash != digest:
        raise _duplicate(existing)
    return Placement(order=existing, created=False, awaits_execution=existing.needs_execution)


def _is_client_id_conflict(exc: IntegrityError) -> bool:
    diag = getattr(getattr(exc, "__cause__", None), "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name == CLIENT_ID_CONSTRAINT or CLIENT_ID_CONSTRAINT in str(exc)


def _accept(*, agent, wallet: Wallet, prep: Prepared, client_order_id: str | None, digest: str,
            balances: dict[str, Balance], now, trips: list, counts=None,
            open_delta: int = 0, recent_delta: int = 0, fill_now: bool = False) -> Order:
    """Risk-check, insert and lock one order (``lifecycle.accept``); with ``fill_now``, an order that takes
    liquidity on arrival is executed and settled right here. Runs in the caller's transaction with the wallet's
    balances locked."""
    wallet_trading_guard_locked(wallet=wallet)  # a battle stopping meanwhile: refused (no query for main wallets)
    account = risk_account(agent=agent, wallet=wallet, balances=balances, quote=prep.instrument.quote, now=now,
                           persist=True, counts=counts, open_orders_delta=open_delta,
                           recent_orders_delta=recent_delta)
    acc = lc.accept(prep, account, order_id=str(uuid.uuid4()), wallet_id=str(wallet.pk),
                    limits=agent_limits(agent), now=now, market_buffer_pct=market_buffer_pct(),
                    client_order_id=client_order_id)
    if acc.daily_loss_tripped_now:
        trips.append((wallet.pk, account.equity))
    if acc.rejection is not None:
        exc = engine_error(acc.rejection)
        exc.events = acc.events  # a risk.breach, delivered by the caller once the transaction has rolled back
        raise exc
    order = settlement.new_order(acc.order, agent=agent, body_hash=digest)
    locked = {(str(wallet.pk), a): b for a, b in balances.items()}
    if order.needs_execution and fill_now:
        # Executed here, against the market state it was prepared on (the preview's match is the execution): the
        # order row goes in in its final state and its lock is posted with its fills, in one ledger statement.
        plan = lc.execute(acc.order, prep.market, instrument=prep.instrument, prepared=prep)
        settlement.apply_plans([(order, plan)], now=now, locked=locked, prior_events=acc.events, accepted=acc)
        return order
    order.save(force_insert=True)
    # the wallet's balances are locked already (lock_wallet): post with them, no second lock query
    wallet_post_many([Posting(wallet.pk, p.movements, p.reason, p.ref_type, p.order_id) for p in acc.postings],
                     locked=locked)
    settlement.after_commit(acc.events)
    if order.needs_execution:
        order_id, symbol = order.pk, order.symbol
        transaction.on_commit(lambda: _enqueue_execution(order_id, symbol))
    return order


def _enqueue_execution(order_id, symbol: str) -> None:
    from trading.tasks import fill_order

    fill_order.delay(str(order_id), symbol)


def _report_breach(exc: ApplicationError) -> None:
    """A risk rule refused the order: its ``risk.breach`` event, delivered now that the refused order's
    transaction has rolled back (``common.events``; the webhooks subscribe)."""
    events = getattr(exc, "events", None)
    if events:
        bus.deliver(list(events))


def _record_trips(trips: list, now) -> None:
    for wallet_id, equity in trips:
        daily_loss_trip_record(wallet_id=wallet_id, now=now, equity=equity)


# --- services -------------------------------------------------------------------------------------------------------

def order_place(*, agent, wallet: Wallet, intent: OrderIntent, client_order_id: str | None = None) -> Placement:
    """Accept an order (or return the one an earlier request with the same client_order_id made).

    The pair's market data is read once for the whole placement (``market.one_read_per_pair``): the engine's
    preparation, the risk valuation and the stream message after commit price it with the same snapshot, the one
    the order was executed against."""
    with market.one_read_per_pair():
        return _place(agent=agent, wallet=wallet, intent=intent, client_order_id=client_order_id)


def _place(*, agent, wallet: Wallet, intent: OrderIntent, client_order_id: str | None) -> Placement:
    digest = body_hash(intent)
    if client_order_id:
        existing = _by_client_id(wallet, client_order_id)
        if existing is not None:
            return _replay(existing, digest)
    prep = prepare(wallet=wallet, intent=intent)
    now = timezone.now()
    trips: list = []
    try:
        with transaction.atomic():
            balances = locks.lock_wallet(wallet_id=wallet.pk, assets=(prep.instrument.base, prep.instrument.quote))
            if client_order_id:
                existing = _by_client_id(wallet, client_order_id)
                if existing is not None:
                    return _replay(existing, digest)
            order = _accept(agent=agent, wallet=wallet, prep=prep, client_order_id=client_order_id, digest=digest,
                            balances=balances, now=now, trips=trips, fill_now=settings.ORDER_FILL_ON_PLACEMENT)
    except IntegrityError as exc:
        if not client_order_id or not _is_client_id_conflict(exc):
            raise
        return _replay(_by_client_id(wallet, client_order_id), digest)
    except BusinessRejection as exc:
        _report_breach(exc)
        raise
    finally:
        _record_trips(trips, now)
    return Placement(order=order, created=True, awaits_execution=order.needs_execution)


def order_preview(*, agent, wallet: Wallet, intent: OrderIntent) -> dict:
    """What placing the order would do, with the same engine and risk chain, and no side effect at all."""
    base = {"symbol": intent.symbol, "side": intent.side, "type": intent.type, "quantity": intent.quantity,
            "notional": None, "est_fee": None, "fee_bps": None, "fee_role": None, "est_price": None,
            "est_slippage_pct": None, "balance_required": None, "balance_asset": None, "lock_amount": None,
            "status": None, "checks": []}
    try:
        prep = prepare(wallet=wallet, intent=intent)
    except (BusinessRejection, ValidationFailed) as exc:
        if isinstance(exc, ValidationFailed):
            raise
        return {**base, "approved": False, "reason": exc.message, "reason_code": exc.code}
    pv = prep.preview
    balances = {b.asset: b for b in Balance.objects.filter(wallet=wallet)}
    lock_asset, lock_amount = lock_requirement(prep, balances)
    account = risk_account(agent=agent, wallet=wallet, balances=balances, quote=prep.instrument.quote,
                           now=timezone.now(), persist=False)
    checks = engine_risk.run_chain(lc.risk_context(prep, account, limits=agent_limits(agent),
                                                   lock_amount=lock_amount))
    failed = next((c for c in checks if not c.passed), None)
    reason, code = None, None
    if pv.reject_code:
        reason, code = pv.reject_message, pv.reject_code
    elif failed is not None:
        reason, code = failed.message, failed.code
    return {**base, "approved": reason is None, "reason": reason, "reason_code": code, "quantity": pv.quantity,
            "notional": pv.notional, "est_fee": pv.est_fee, "fee_bps": pv.fee_bps, "fee_role": str(pv.fee_role),
            "est_price": pv.est_price, "est_slippage_pct": f"{pv.est_slippage_pct:f}",
            "balance_required": pv.balance_required, "balance_asset": pv.balance_asset,
            "lock_amount": ZERO if prep.expires_now else lock_amount,
            "status": str(pv.status),
            "checks": [{"rule": c.rule, "passed": c.passed, "code": c.code, "message": c.message, "limit": c.limit,
                        "value": c.value} for c in checks]}


def order_cancel(*, wallet: Wallet, ref: str) -> Order:
    """Cancel one open order and release what it holds. Cancelling an already cancelled order returns it."""
    order = order_get(wallet=wallet, ref=ref)
    with transaction.atomic():
        order = locks.lock_order(order_id=order.pk)
        if order.status == Order.Status.CANCELLED:
            return order
        if not order.is_open:
            raise BusinessRejection(f"The order is {order.status}; only open orders can be cancelled.",
                                    code="ORDER_NOT_OPEN", details={"order_id": str(order.pk),
                                                                    "status": order.status})
        locks.lock_wallet(wallet_id=wallet.pk)
        close_orders([order], status=Order.Status.CANCELLED, reason="cancelled by the agent")
    return order


def order_cancel_all(*, wallet: Wallet, symbol: str | None = None, reason: str = "cancel-all") -> list[Order]:
    """The kill switch: cancel every open order of the wallet (of one pair if ``symbol``), release every lock.

    Also what ``agents.services.agent_reset`` calls before retiring a wallet. Locks the orders (id order) first,
    then the wallet's balances, like every other writer.
    """
    with transaction.atomic():
        orders = locks.lock_open_orders(wallet_id=wallet.pk, symbol=symbol)
        if not orders:
            return []
        locks.lock_wallet(wallet_id=wallet.pk)
        close_orders(orders, status=Order.Status.CANCELLED, reason=reason)
    orders.sort(key=lambda o: o.created_at, reverse=True)
    return orders


def quotes_replace(*, agent, wallet: Wallet, symbol: str, quotes: list[dict], cancel_all: bool = True) -> dict:
    """Atomically replace the wallet's resting orders on ``symbol`` with the ladder ``quotes`` (gtc limits).

    All of the new ladder or none of it: any quote refused (tick size, risk, balance) rolls everything back and the
    old ladder stays. With ``cancel_all`` the old orders are cancelled in the same transaction, their locks released
    before the new ones are taken.
    """
    intents = [OrderIntent(symbol=symbol, side=q["side"], type=OrderType.LIMIT, quantity=q["quantity"],
                           price=q["price"], post_only=bool(q.get("post_only"))) for q in quotes]
    preps = []
    for i, intent in enumerate(intents):
        try:
            preps.append(prepare(wallet=wallet, intent=intent))
        except ApplicationError as exc:
            raise _in_quote(exc, i) from None
    if not preps:
        market.instrument_spec(symbol)  # an empty ladder on an unknown pair is still a 404
    now = timezone.now()
    trips: list = []
    try:
        with transaction.atomic():
            cancelled = []
            if cancel_all:
                cancelled = locks.lock_open_orders(wallet_id=wallet.pk, symbol=symbol)
            spec_assets = (preps[0].instrument.base, preps[0].instrument.quote) if preps else ()
            balances = locks.lock_wallet(wallet_id=wallet.pk, assets=spec_assets)
            if cancelled:
                close_orders(cancelled, status=Order.Status.CANCELLED, reason="replaced by a bulk quote update",
                             now=now)
                balances = {b.asset: b for b in Balance.objects.filter(wallet=wallet)}
            counts = order_counts(wallet_id=wallet.pk, now=now) if preps else None
            placed = []
            for i, (prep, q) in enumerate(zip(preps, quotes)):
                coid = q.get("client_order_id")
                if coid and _by_client_id(wallet, coid) is not None:
                    raise Conflict(f"quotes[{i}]: client_order_id {coid!r} is already used.",
                                   code="DUPLICATE_CLIENT_ORDER_ID", details={"index": i, "client_order_id": coid})
                try:
                    order = _accept(agent=agent, wallet=wallet, prep=prep, client_order_id=coid,
                                    digest=body_hash(prep.intent, "quote"), balances=balances, now=now, trips=trips,
                                    counts=counts, open_delta=len(placed), recent_delta=len(placed))
                except ApplicationError as exc:
                    raise _in_quote(exc, i) from None
                placed.append(order)  # its lock is in ``balances`` already (posted on these very rows)
    except BusinessRejection as exc:
        _report_breach(exc)
        raise
    finally:
        _record_trips(trips, now)
    return {"symbol": symbol, "cancelled": cancelled, "orders": placed}


def _in_quote(exc: ApplicationError, index: int) -> ApplicationError:
    """The error of quote ``index``, saying which quote it was; the ladder was not applied."""
    exc.message = f"quotes[{index}]: {exc.message} The ladder was not changed."
    exc.detail = exc.message
    exc.details = {**(exc.details or {}), "index": index}
    return exc


def position_close(*, agent, wallet: Wallet, symbol: str, quantity: Decimal | None = None,
                   client_order_id: str | None = None) -> Placement:
    """Flatten (or reduce) the position with a reduce-only market sell of what the wallet holds of the base."""
    spec = market.instrument_spec(symbol)
    position = Position.objects.filter(wallet=wallet, symbol=symbol).first()
    held = Balance.objects.filter(wallet=wallet, asset=spec.base).values_list("available", flat=True).first() or ZERO
    if quantity is None:
        quantity = quantize_down(held, spec.step_size)
    if quantity <= 0 or (position is not None and position.quantity <= 0 and held <= 0):
        raise BusinessRejection(f"There is no {spec.base} position to close.", code="NO_POSITION",
                                details={"symbol": symbol, "available": str(held)})
    intent = OrderIntent(symbol=symbol, side=Side.SELL, type=OrderType.MARKET, quantity=quantity,
                         time_in_force=TimeInForce.IOC, reduce_only=True)
    return order_place(agent=agent, wallet=wallet, intent=intent, client_order_id=client_order_id)


def order_awaits_execution(*, order_id) -> bool:
    return Order.objects.filter(pk=order_id, needs_execution=True).exists()


def intent_of(order: Order, **changes) -> OrderIntent:
    """The engine's view of a stored order."""
    intent = OrderIntent(symbol=order.symbol, side=Side(order.side), type=OrderType(order.type),
                         quantity=order.quantity, quote_quantity=order.quote_quantity, price=order.price,
                         trigger_price=order.trigger_price, time_in_force=TimeInForce(order.time_in_force),
                         post_only=order.post_only, reduce_only=order.reduce_only)
    return replace(intent, **changes) if changes else intent
