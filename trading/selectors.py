"""Reads of wallets and balances. Kept to one query each: ``GET /account/balance`` is the hottest read of the API."""

import importlib
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connections

from common.errors import BusinessRejection, NotFound
from common.money import ZERO, to_decimal
from common.rowloader import RowLoader
from trading.engine.lifecycle import valuation
from trading.models import Balance, Wallet
from trading.wallet import current_wallet, current_wallet_condition

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssetBalance:
    asset: str
    available: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.available + self.locked


@dataclass(frozen=True)
class WalletBalances:
    wallet_id: str
    epoch: int
    balances: list[AssetBalance]
    total_equity_usdt: Decimal
    unpriced_assets: list[str]  # held, but no last price known: left out of the equity


def wallet_current(*, agent) -> Wallet:
    """The wallet the agent's key acts on: its routed battle wallet while it is in a live battle, else its everyday
    wallet. Every ``/account``, ``/trade``, ``/stream`` and ``/analytics`` request resolves its wallet here."""
    try:
        return current_wallet(agent)
    except Wallet.DoesNotExist:
        raise NotFound("This agent has no current wallet.") from None


class WalletState(BusinessRejection):
    code = "BATTLE_STATE"


def wallet_trading_guard(*, wallet: Wallet, symbol: str) -> None:
    """What a battle wallet refuses before an order is even prepared: any order while its battle is paused (or
    over), and a pair outside the battle's ``pairs``. Free for everyday wallets (no query: fields are loaded)."""
    if wallet.paused:
        raise WalletState("The battle of this wallet is not running: new orders are refused.",
                          details={"battle_id": str(wallet.battle_id) if wallet.battle_id else None})
    if wallet.pairs and symbol not in wallet.pairs:
        raise BusinessRejection(f"{symbol} is not traded in this battle.", code="UNKNOWN_SYMBOL",
                                details={"symbol": symbol, "pairs": list(wallet.pairs)})


def wallet_trading_guard_locked(*, wallet: Wallet) -> None:
    """The paused check again under the wallet's balance locks (a battle that stops sets ``paused`` while holding
    them), so an order racing a stop either lands before it (and is cancelled by it) or is refused."""
    if wallet.kind == Wallet.Kind.BATTLE and Wallet.objects.filter(pk=wallet.pk, paused=True).exists():
        raise WalletState("The battle of this wallet is not running: new orders are refused.",
                          details={"battle_id": str(wallet.battle_id)})


def _price_reader():
    """``market.prices`` once the market app provides it: a batch reader if it has one, else one symbol at a time.

    Until then there is no price for anything but the quote asset, and the equity counts the quote asset only.
    """
    try:
        prices = importlib.import_module("market.prices")
    except ImportError:
        return None
    batch = getattr(prices, "get_prices", None)
    if batch is not None:
        return lambda symbols: batch(symbols)
    single = getattr(prices, "get_price", None)
    if single is None:
        return None
    return lambda symbols: {s: single(s) for s in symbols}


def _as_price(value) -> Decimal | None:
    """A last price as ``market.prices`` returns it (a Decimal, a string or an object with ``price``) -> Decimal."""
    if value is None:
        return None
    value = getattr(value, "price", value)
    try:
        price = to_decimal(value)
    except ValueError:
        return None
    return price if price.is_finite() and price > 0 else None


def last_prices(*, symbols: list[str]) -> dict[str, Decimal]:
    """Last price per symbol for those that have one (one Redis MGET when ``market.prices`` batches)."""
    reader = _price_reader()
    if reader is None or not symbols:
        return {}
    try:
        raw = reader(symbols) or {}
    except Exception:  # noqa: BLE001 - e.g. one unknown symbol fails the batch: ask one by one, keep the rest
        raw = {}
        for symbol in symbols:
            try:
                raw.update(reader([symbol]) or {})
            except Exception as exc:  # noqa: BLE001 - no price: the asset is reported as unpriced, not a 500
                logger.warning("no last price for %s: %s: %s", symbol, type(exc).__name__, exc)
    out = {}
    for symbol in symbols:
        price = _as_price(raw.get(symbol))
        if price is not None:
            out[symbol] = price
    return out


# The hottest read of the API (every agent polls its balance): one query, its SQL built once (common.rowloader)
# rather than compiled by the ORM on every call, which cost several times what PostgreSQL spends answering it.
_BALANCES_WITH_WALLET = RowLoader(Balance, "wallet")


def _current_balances(agent_id) -> list[Balance]:
    """The balances of the agent's current wallet (``wallet_current``'s choice), each with ``.wallet`` loaded, by
    asset. One query: the main wallet's and a routed battle wallet's rows; the routed one wins when present."""
    connection = connections[Wallet.objects.db]
    agent = Wallet._meta.get_field("agent")
    rows = _BALANCES_WITH_WALLET.fetch_where(
        f't1."{agent.column}" = %s AND {current_wallet_condition("t1")}',
        [agent.get_db_prep_value(agent_id, connection), Wallet.Kind.MAIN.value], order_by='t0."asset"')
    if any(b.wallet.routed for b in rows):
        rows = [b for b in rows if b.wallet.routed]
    return rows


def wallet_balances(*, agent) -> WalletBalances:
    """Balances of the agent's current wallet, valued in the quote asset (USDT at 1, others at their last price).

    One query for the balances (joined to the current wallet), plus one price read when non-quote assets are held.
    """
    rows = _current_balances(agent.pk)
    if not rows:
        # Every wallet is opened with a quote balance row, so no row means no current wallet.
        wallet = wallet_current(agent=agent)
        return WalletBalances(str(wallet.pk), wallet.epoch, [], ZERO, [])
    quote = settings.QUOTE_ASSET
    balances = [AssetBalance(b.asset, b.available, b.locked) for b in rows]
    held = [b.asset for b in balances if b.asset != quote and b.total > 0]
    prices = last_prices(symbols=[f"{asset}{quote}" for asset in held])
    val = valuation({b.asset: b for b in balances}, prices, quote=quote)  # the engine's one valuation
    equity, unpriced = val.equity, list(val.unpriced)
    wallet = rows[0].wallet
    return WalletBalances(str(wallet.pk), wallet.epoch, balances, equity, unpriced)
