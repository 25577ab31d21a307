"""An agent's wallets: where an agent's main wallet is opened (creation, clone), retired and replaced (reset), and
summarized for ``GET /agents/overview``. The one home of wallet lifecycles (``trading.wallet.wallet_open`` is the
primitive every wallet is opened with).

The agents app is below trading and cannot import this: it calls it through ``agents.ports``, where
``TradingConfig.ready`` registers :data:`AGENT_WALLETS`. Moved here whole from ``agents/services.py`` (the wallet
half of ``agent_create`` and ``agent_reset``) and ``agents/selectors.py`` (the overview's equity half).
"""

import logging
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Prefetch
from django.utils import timezone

from agents.ports import WalletSummary
from common.money import ZERO
from market.prices import list_instruments
from trading.engine.lifecycle import valuation
from trading.models import OPEN_ORDER_STATUSES, Balance, Fill, LedgerEntry, Order, Wallet
from trading.selectors import last_prices
from trading.services import order_cancel_all
from trading.wallet import wallet_open

logger = logging.getLogger(__name__)


# --- writes (inside the agents service's transaction) -----------------------------------------------------------------

def agent_wallet_open(*, agent, starting_balance: Decimal) -> Wallet:
    """The new agent's funded main wallet."""
    return wallet_open(agent=agent, starting_balance=starting_balance, quote_asset=settings.QUOTE_ASSET)


def agent_wallet_reset(*, agent) -> Wallet:
    """Retire the current main wallet (kept, with its ledger and history) and open the next epoch's, funded with
    ``agent.starting_balance``. The caller holds the agent row's lock and has already bumped ``reset_epoch``."""
    retiring = Wallet.objects.filter(agent=agent, kind=Wallet.Kind.MAIN, retired_at__isnull=True).first()
    if retiring is not None:
        # Nothing keeps resting on a wallet the agent no longer trades from: its open orders are cancelled and
        # their locked funds released (in the old wallet, whose ledger still balances on its own).
        order_cancel_all(wallet=retiring, reason="agent reset")
        Wallet.objects.filter(pk=retiring.pk).update(retired_at=timezone.now())
    return wallet_open(agent=agent, starting_balance=agent.starting_balance, epoch=agent.reset_epoch,
                       quote_asset=settings.QUOTE_ASSET, reason=LedgerEntry.Reason.RESET)


# --- the overview's equity (reads) ------------------------------------------------------------------------------------

def _last_prices(assets: set[str]) -> dict[str, Decimal]:
    """The last price, in the quote asset, of each asset that has one.

    Only listed pairs are asked for (the reader refuses an unknown symbol), and a price store that cannot answer
    leaves the assets unpriced rather than failing the overview: an unpriced asset counts as 0 and is listed in
    ``unpriced_assets``, so nobody mistakes that 0 for a value.
    """
    if not assets:
        return {}
    quote = settings.QUOTE_ASSET
    try:
        listed = {i.symbol for i in list_instruments()}
        symbols = {f"{a}{quote}": a for a in assets if f"{a}{quote}" in listed}
        found = last_prices(symbols=sorted(symbols)) if symbols else {}
    except Exception:  # noqa: BLE001 - prices are an optional enrichment of the overview
        logger.warning("prices unavailable for the agents overview", exc_info=True)
        return {}
    return {symbols[symbol]: price for symbol, price in found.items() if symbol in symbols}


def _trading_counts(wallet_ids: list) -> dict:
    """``{wallet_id: (trade_count, open_orders)}``: fills and open orders of each wallet, two grouped queries."""
    if not wallet_ids:
        return {}
    fills = dict(Fill.objects.filter(wallet_id__in=wallet_ids).values("wallet_id").annotate(n=Count("id"))
                 .values_list("wallet_id", "n"))
    open_orders = dict(Order.objects.filter(wallet_id__in=wallet_ids, status__in=OPEN_ORDER_STATUSES)
                       .values("wallet_id").annotate(n=Count("id")).values_list("wallet_id", "n"))
    return {w: (fills.get(w, 0), open_orders.get(w, 0)) for w in wallet_ids}


def wallet_equity(*, balances: list[Balance], prices: dict[str, Decimal]) -> tuple[Decimal, list[str]]:
    """Total value in the quote asset (available + locked) and the held assets that have no price: the trading
    engine's one valuation (``trading.engine.lifecycle.valuation``). ``prices`` is by asset."""
    quote = settings.QUOTE_ASSET
    val = valuation({b.asset: b for b in balances}, {f"{a}{quote}": p for a, p in prices.items()}, quote=quote)
    return val.equity, list(val.unpriced)


def agent_wallet_summaries(*, agents: list) -> dict:
    """``{agent.pk: WalletSummary}`` of each agent's current-epoch wallet: equity, PnL, ROI, trade count (fills) and
    open orders, in four queries (and one price read when non-quote assets are held)."""
    wallets = {w.agent_id: w for w in Wallet.objects.filter(
        agent__in=[a.pk for a in agents], kind=Wallet.Kind.MAIN, retired_at__isnull=True,
    ).prefetch_related(Prefetch("balances", queryset=Balance.objects.order_by("asset")))}
    held = {b.asset for w in wallets.values() for b in w.balances.all() if b.asset != settings.QUOTE_ASSET}
    prices = _last_prices(held)
    counts = _trading_counts([w.pk for w in wallets.values()])
    out = {}
    for agent_id, wallet in wallets.items():
        equity, unpriced = wallet_equity(balances=list(wallet.balances.all()), prices=prices)
        start = wallet.starting_balance
        pnl = equity - start
        roi = (pnl / start * 100).quantize(Decimal("0.0001")) if start else ZERO
        trades, open_orders = counts.get(wallet.pk, (0, 0))
        out[agent_id] = WalletSummary(str(wallet.pk), start, equity, pnl, roi, trades, open_orders, unpriced)
    return out


class _AgentWallets:
    """The implementation of ``agents.ports.AgentWallets``."""

    @staticmethod
    def open(*, agent, starting_balance: Decimal) -> None:
        agent_wallet_open(agent=agent, starting_balance=starting_balance)

    @staticmethod
    def reset(*, agent) -> None:
        agent_wallet_reset(agent=agent)

    @staticmethod
    def summaries(*, agents: list) -> dict:
        return agent_wallet_summaries(agents=agents)


AGENT_WALLETS = _AgentWallets()
