"""Every row lock of the trading core, one function per lock (Saleor's ``lock_objects.py``).

One order for every writer, so no two transactions ever wait on each other in a circle:

    order rows (by id)  ->  balance rows (by wallet, asset)  ->  position rows (by wallet, symbol)

All locks are ``SELECT ... FOR NO KEY UPDATE OF <the table itself>`` (``of=("self",)``, ``no_key=True``): no
key of these rows ever changes, so inserts that reference them (fills, ledger rows) are not blocked. Missing
balance and position rows are created BEFORE any row of their wallet is locked (creating one while holding a
lock on another reverses the order and deadlocks; a test found it). The sweeper and the executor take order rows
with ``SKIP LOCKED``: an order another transaction holds is left to it.

Every function needs a transaction (``transaction.atomic``).
"""

from django.db import connection, transaction
from django.db.models import Q

from common.rowloader import RowLoader
from trading.models import OPEN_ORDER_STATUSES, Balance, Order, Position

LOCK = {"of": ("self",), "no_key": True}


# The two locks every placement takes, written as SQL on PostgreSQL: the ORM spent longer compiling them than PostgreSQL spent
# running them. Same statements as select_for_update(**LOCK).filter(...).order_by(...), loaded by a RowLoader (its
# SELECT built once; a RawQuerySet matched its columns to the model's fields on every call).
_BALANCES = RowLoader(Balance)
_POSITIONS = RowLoader(Position)
_FOR_NO_KEY_UPDATE = "FOR NO KEY UPDATE OF t0"


def _locked(loader: RowLoader, where: str, params: list, order_by: str) -> list:
    """The rows of a ``SELECT ... FOR NO KEY UPDATE``, refused outside a transaction like select_for_update."""
    if transaction.get_connection().get_autocommit():
        raise transaction.TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    return loader.fetch_where(where, params, order_by=order_by, tail=_FOR_NO_KEY_UPDATE)


# --- order rows ---------------------------------------------------------------------------------------------------

def lock_order(*, order_id) -> Order:
    """One order, waiting for whoever holds it (a cancel)."""
    return Order.objects.select_for_update(**LOCK).get(pk=order_id)


def lock_open_orders(*, wallet_id, symbol: str | None = None) -> list[Order]:
    """The wallet's open orders (of ``symbol`` if given), in id order (cancel-all, a quote ladder's replace)."""
    qs = Order.objects.select_for_update(**LOCK).filter(wallet_id=wallet_id, status__in=OPEN_ORDER_STATUSES)
    if symbol:
        qs = qs.filter(symbol=symbol)
    return list(qs.order_by("id"))


def lock_orders_to_execute(*, symbol: str, limit: int, order_id=None) -> list[Order]:
    """Orders of ``symbol`` waiting for execution, oldest first, skipping those another worker holds; plus
    ``order_id`` if it waits and was not among them."""
    batch = list(Order.objects.select_for_update(skip_locked=True, **LOCK)
                 .filter(needs_execution=True, symbol=symbol).order_by("created_at")[:limit])
    if order_id is not None and all(str(o.pk) != str(order_id) for o in batch):
        batch += list(Order.objects.select_for_update(skip_locked=True, **LOCK)
                      .filter(pk=order_id, needs_execution=True))
    return batch


def lock_orders_to_sweep(*, ids) -> list[Order]:
    """The still-open, not-executing orders among ``ids``, in (wallet, id) order, skipping those held elsewhere."""
    return list(Order.objects.select_for_update(skip_locked=True, **LOCK)
                .filter(pk__in=ids, status__in=OPEN_ORDER_STATUSES, needs_execution=False)
                .order_by("wallet_id", "id"))


# --- balance rows ---------------------------------------------------------------------------------------------------

# (wallet_id, asset) balance rows known to exist (committed) in this process. Balance rows are never deleted while
# their wallet exists and wallet ids are never reused, so an entry can only go stale for a wallet that is gone.
_existing_balances: set[tuple[str, str]] = set()
_EXISTING_BALANCES_MAX = 200_000


def ensure_balances(*, keys) -> None:
    """Create the missing balance rows of ``keys`` = {(wallet_id, asset)} BEFORE any of them is locked. Costs
    nothing for rows this process has already seen committed."""
    missing = sorted({(str(w), a) for w, a in keys} - _existing_balances)
    if not missing:
        return
    Balance.objects.bulk_create([Balance(wallet_id=w, asset=a) for w, a in missing], ignore_conflicts=True)

    def remember():
        if len(_existing_balances) > _EXISTING_BALANCES_MAX:
            _existing_balances.clear()
        _existing_balances.update(missing)

    transaction.on_commit(remember)


def lock_wallet(*, wallet_id, assets=()) -> dict[str, Balance]:
    """Every balance of the wallet, in asset order (one query), having first created ``assets`` if missing. Every
    placement of a wallet is serialised here."""
    if assets:
        ensure_balances(keys={(wallet_id, a) for a in assets})
    if connection.vendor != "postgresql":  # embedded mode (SQLite): no row locks, UUIDs stored differently
        return {b.asset: b for b in
                Balance.objects.select_for_update(**LOCK).filter(wallet_id=wallet_id).order_by("asset")}
    return {b.asset: b for b in _locked(_BALANCES, 't0."wallet_id" = %s', [wallet_id], 't0."asset"')}


def lock_balances(*, keys) -> dict[tuple[str, str], Balance]:
    """The balances ``keys`` = {(wallet_id, asset)} (created first if missing), in (wallet, asset) order, one
    query."""
    keys = {(str(w), a) for w, a in keys}
    if not keys:
        return {}
    ensure_balances(keys=keys)
    match = Q()
    for w in sorted({w for w, _ in keys}):
        match |= Q(wallet_id=w, asset__in=sorted(a for ww, a in keys if ww == w))
    rows = Balance.objects.select_for_update(**LOCK).filter(match).order_by("wallet_id", "asset")
    return {(str(b.wallet_id), b.asset): b for b in rows}


# --- position rows --------------------------------------------------------------------------------------------------

def lock_positions(*, keys: dict) -> dict[tuple[str, str], Position]:
    """The positions ``keys`` = {(wallet_id, symbol): an order of it} (created first if missing), in (wallet,
    symbol) order."""
    if not keys:
        return {}
    keys = {(str(w), s): o for (w, s), o in keys.items()}

    def select():
        if connection.vendor != "postgresql":  # embedded mode (SQLite): no row locks, UUIDs stored differently
            match = Q()
            for wallet_id, symbol in keys:
                match |= Q(wallet_id=wallet_id, symbol=symbol)
            rows = Position.objects.select_for_update(**LOCK).filter(match).order_by("wallet_id", "symbol")
            return {(str(p.wallet_id), p.symbol): p for p in rows}
        pairs = sorted(keys)
        where = f'(t0."wallet_id", t0."symbol") IN ({", ".join(["(%s::uuid, %s)"] * len(pairs))})'
        rows = _locked(_POSITIONS, where, [v for pair in pairs for v in pair], 't0."wallet_id", t0."symbol"')
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
