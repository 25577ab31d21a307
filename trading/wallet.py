"""The only code that changes a balance. Every change is a ledger row written in the same transaction.

Balances are locked with ``SELECT ... FOR NO KEY UPDATE`` in a stable order (by asset) so that two transactions
moving the same wallet never deadlock, and the database's CHECK constraints refuse a negative balance even if a
caller forgot to check.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from common.errors import BusinessRejection
from common.money import ZERO, fmt
from common.rowloader import RowLoader
from trading.dbutil import bulk_update_rows, update_then_insert
from trading import locks
from trading.models import Balance, LedgerEntry, Wallet


@dataclass(frozen=True)
class Movement:
    asset: str
    available: Decimal = ZERO
    locked: Decimal = ZERO


class InsufficientBalance(BusinessRejection):
    code = "INSUFFICIENT_BALANCE"


@transaction.atomic
def wallet_post(*, wallet: Wallet, movements: list[Movement], reason: str, ref_type: str = "",
                ref_id: str = "") -> dict[str, Balance]:
    """Apply ``movements`` to ``wallet`` atomically, one ledger row each. Refuses to take any balance below zero."""
    movements = [m for m in movements if m.available or m.locked]
    balances = {a: b for (_, a), b in locks.lock_balances(keys={(wallet.pk, m.asset) for m in movements}).items()}
    for m in movements:
        b = balances[m.asset]
        new_available, new_locked = b.available + m.available, b.locked + m.locked
        if new_available < 0 or new_locked < 0:
            short = -new_available if new_available < 0 else -new_locked
            raise InsufficientBalance(
                f"Insufficient {m.asset}: needs {fmt(short)} more than the wallet has available.",
                details={"asset": m.asset, "available": fmt(b.available), "locked": fmt(b.locked),
                         "required": fmt(-m.available if m.available < 0 else -m.locked)},
            )
        b.available, b.locked = new_available, new_locked
    now = timezone.now()
    for m in movements:
        b = balances[m.asset]
        Balance.objects.filter(pk=b.pk).update(available=b.available, locked=b.locked, updated_at=now)
    LedgerEntry.objects.bulk_create([
        LedgerEntry(wallet=wallet, asset=m.asset, delta_available=m.available, delta_locked=m.locked,
                    reason=reason, ref_type=ref_type, ref_id=str(ref_id))
        for m in movements
    ])
    return balances


@transaction.atomic
def wallet_open(*, agent, starting_balance: Decimal, kind: str = Wallet.Kind.MAIN, epoch: int = 0,
                battle_id=None, quote_asset: str = "USDT",
                reason: str = LedgerEntry.Reason.FUNDING) -> Wallet:
    """A new wallet funded with ``starting_balance`` of the quote asset (a ledger row, like every change)."""
    wallet = Wallet.objects.create(agent=agent, kind=kind, epoch=epoch, battle_id=battle_id,
                                   starting_balance=starting_balance)
    Balance.objects.create(wallet=wallet, asset=quote_asset)
    if starting_balance:
        wallet_post(wallet=wallet, movements=[Movement(quote_asset, available=starting_balance)], reason=reason,
                    ref_type="wallet", ref_id=str(wallet.pk))
    return wallet


def wallet_set_routing(*, wallet_ids, routed: bool | None = None, paused: bool | None = None,
                       pairs: list[str] | None = None) -> int:
    """Set the battle routing flags of battle wallets (see ``Wallet``): what the battles services call at start,
    pause, resume and stop. Call it while holding the wallets' balance locks when pausing/stopping, so an order being
    placed re-checks ``paused`` after the stop (``trading.selectors.wallet_trading_guard_locked``)."""
    changes = {k: v for k, v in (("routed", routed), ("paused", paused), ("pairs", pairs)) if v is not None}
    if not changes:
        return 0
    return Wallet.objects.filter(pk__in=list(wallet_ids), kind=Wallet.Kind.BATTLE).update(**changes)


def current_wallet_condition(alias: str = "") -> str:
    """SQL: the wallets an agent's key may act on, its current main wallet and a routed battle wallet (a routed one
    wins); one parameter, ``Wallet.Kind.MAIN``. ``current_wallet`` and the balance reader
    (``trading.selectors._current_balances``) both filter with it."""
    p = f"{alias}." if alias else ""
    return f'(({p}"kind" = %s AND {p}"retired_at" IS NULL) OR {p}"routed")'


# Loaded with a RowLoader (SQL built once): a RawQuerySet resolves its columns against the model on every call,
# about as much Python as the statement's own round trip.
_WALLETS = RowLoader(Wallet)
_CURRENT_WALLET_WHERE = f't0."agent_id" = %s AND {current_wallet_condition("t0")}'


def current_wallet(agent) -> Wallet:
    """The wallet the agent's key acts on: the ONE place that resolves it (``trading.selectors.wallet_current`` and
    every API view go through here). Its routed battle wallet while it is in a live battle, else its everyday wallet
    (the current epoch's main wallet); one query either way (the routed one sorts first). The battles app routes and
    unroutes wallets through ``wallet_set_routing`` (trading never imports battles). Raises ``Wallet.DoesNotExist``."""
    # Every request of an agent key runs this: written as SQL (the ORM spent longer compiling it than PostgreSQL
    # spent running it). Same rows as filter(Q(kind=MAIN, retired_at__isnull=True) | Q(routed=True), agent=agent)
    # .order_by("-routed").first().
    # PostgreSQL only (embedded mode's SQLite stores UUIDs differently): elsewhere the ORM writes it.
    if connection.vendor == "postgresql":
        found = _WALLETS.fetch_where(_CURRENT_WALLET_WHERE, [getattr(agent, "pk", agent), Wallet.Kind.MAIN],
                                     order_by='t0."routed" DESC', tail="LIMIT 1")
        wallet = found[0] if found else None
    else:
        wallet = (Wallet.objects.filter(Q(kind=Wallet.Kind.MAIN, retired_at__isnull=True) | Q(routed=True),
                                        agent=agent).order_by("-routed").first())
    if wallet is None:
        raise Wallet.DoesNotExist("This agent has no current wallet.")
    return wallet


@dataclass(frozen=True)
class LedgerMismatch:
    wallet_id: str
    asset: str
    available: Decimal
    ledger_available: Decimal
    locked: Decimal
    ledger_locked: Decimal


def ledger_mismatches() -> list[LedgerMismatch]:
    """Every balance that does not equal the sum of its ledger rows (and every ledger asset with no balance)."""
    sums = {
        (str(r["wallet_id"]), r["asset"]): (r["a"] or ZERO, r["l"] or ZERO)
        for r in LedgerEntry.objects.values("wallet_id", "asset").annotate(a=Sum("delta_available"),
                                                                            l=Sum("delta_locked"))
    }
    out = []
    for b in Balance.objects.values("wallet_id", "asset", "available", "locked").iterator():
        key = (str(b["wallet_id"]), b["asset"])
        la, ll = sums.pop(key, (ZERO, ZERO))
        if la != b["available"] or ll != b["locked"]:
            out.append(LedgerMismatch(key[0], key[1], b["available"], la, b["locked"], ll))
    for (wallet_id, asset), (la, ll) in sums.items():
        out.append(LedgerMismatch(wallet_id, asset, ZERO, la, ZERO, ll))
    return out


# --- Many postings at once (fills and sweeps; added with issue 4) -----------------------------------------------------
@dataclass(frozen=True)
class Posting:
    """One ``wallet_post`` worth of movements, for :func:`wallet_post_many`."""

    wallet_id: object
    movements: tuple[Movement, ...]
    reason: str
    ref_type: str = ""
    ref_id: str = ""


def wallet_post_many(postings: list[Posting], *, locked: dict | None = None,
                     with_updates: tuple = ()) -> dict[tuple[str, str], Balance]:
    """Apply ``postings`` (any wallets) in order, atomically: the rules of ``wallet_post`` (one ledger row per
    movement, nothing below zero) with one lock query, one UPDATE for all changed balances and one INSERT for all
    ledger rows, whatever the number of postings. Raises ``InsufficientBalance`` and writes nothing if any movement
    would take a balance below zero at its point in the sequence.

    ``locked``: the result of ``trading.locks.lock_balances`` for these postings, when the caller already holds the locks
    in this transaction (saves the lock query; its values must be current).

    ``with_updates``: ``(model, rows, fields)`` the caller writes along with the postings, in the same statement
    (a settlement's orders and positions), written even when there is nothing to post."""
    postings = [p for p in postings if any(m.available or m.locked for m in p.movements)]
    if not postings:
        for model, rows, fields in with_updates:
            bulk_update_rows(model, rows, fields)
        return {}
    # No savepoint: every check runs before the first write, so a refusal leaves nothing to undo (and a database
    # error aborts the caller's transaction anyway). Saves two round trips on the hot path.
    with transaction.atomic(savepoint=False):
        return _post_many(postings, locked, with_updates)


def _post_many(postings, locked, with_updates=()):
    keys = {(str(p.wallet_id), m.asset) for p in postings for m in p.movements}
    balances = locked if locked is not None and keys <= locked.keys() else locks.lock_balances(keys=keys)
    ledger = []
    for p in postings:
        for m in p.movements:
            if not (m.available or m.locked):
                continue
            b = balances[(str(p.wallet_id), m.asset)]
            new_available, new_locked = b.available + m.available, b.locked + m.locked
            if new_available < 0 or new_locked < 0:
                short = -new_available if new_available < 0 else -new_locked
                raise InsufficientBalance(
                    f"Insufficient {m.asset}: needs {fmt(short)} more than the wallet has available.",
                    details={"asset": m.asset, "available": fmt(b.available), "locked": fmt(b.locked),
                             "required": fmt(-m.available if m.available < 0 else -m.locked)},
                )
            b.available, b.locked = new_available, new_locked
            ledger.append(LedgerEntry(wallet_id=p.wallet_id, asset=m.asset, delta_available=m.available,
                                      delta_locked=m.locked, reason=p.reason, ref_type=p.ref_type,
                                      ref_id=str(p.ref_id)))
    now = timezone.now()
    changed = {(str(p.wallet_id), m.asset) for p in postings for m in p.movements if m.available or m.locked}
    rows = [balances[k] for k in sorted(changed)]
    for b in rows:
        b.updated_at = now
    # the balance UPDATE and the ledger INSERT in one statement: one round trip per posting batch
    update_then_insert(Balance, rows, ["available", "locked", "updated_at"], LedgerEntry, ledger, also=with_updates)
    return balances
