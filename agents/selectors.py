"""Agents and their keys: every read, always scoped to the owner (another account's agent is simply not found)."""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Prefetch, QuerySet

from agents.models import Agent, AgentKey
from agents.risk import RULES, effective_limits
from common.errors import NotFound
from common.money import ZERO
from trading.engine.limits import RiskLimits
from trading.models import OPEN_ORDER_STATUSES, Balance, Fill, Order, Wallet
from trading.selectors import last_prices

logger = logging.getLogger(__name__)


def agent_list(*, account, include_archived: bool = False) -> QuerySet[Agent]:
    qs = Agent.objects.filter(account=account)
    if not include_archived:
        qs = qs.exclude(status=Agent.Status.ARCHIVED)
    return qs.order_by("created_at", "id")


def agent_get(*, account, agent_id) -> Agent:
    """The account's agent, or NotFound: an id of someone else's agent is indistinguishable from a missing one."""
    agent = Agent.objects.filter(account=account, pk=agent_id).first()
    if agent is None:
        raise NotFound("No such agent.", details={"agent_id": str(agent_id)})
    return agent


def agent_key_get(*, agent: Agent, key_id) -> AgentKey:
    key = AgentKey.objects.filter(agent=agent, pk=key_id).first()
    if key is None:
        raise NotFound("No such key.", details={"key_id": str(key_id)})
    return key


def agent_key_list(*, agent: Agent) -> QuerySet[AgentKey]:
    return AgentKey.objects.filter(agent=agent).order_by("created_at", "id")


def agent_primary_key(*, agent: Agent) -> AgentKey | None:
    """The live primary key (the one issued at creation or by regenerate-key), if there is one."""
    return (AgentKey.objects.filter(agent=agent, is_primary=True, revoked_at__isnull=True)
            .order_by("-created_at").first())


# --- risk profile -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RiskProfile:
    agent: Agent
    limits: RiskLimits  # effective: defaults with the overrides applied
    defaults: RiskLimits
    overrides: dict  # stored form (decimals as strings)

    @property
    def overridden(self) -> list[str]:
        return [name for name in RULES if name in self.overrides]


def agent_risk_profile(*, agent: Agent) -> RiskProfile:
    return RiskProfile(agent=agent, limits=effective_limits(agent.risk_config), defaults=RiskLimits(),
                       overrides=dict(agent.risk_config or {}))


# --- overview ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgentSummary:
    agent: Agent
    wallet_id: str | None
    starting_balance: Decimal  # of the current epoch's wallet
    equity: Decimal
    pnl: Decimal
    roi_pct: Decimal
    trade_count: int
    open_orders: int
    unpriced_assets: list[str]  # held assets without a price (counted at 0)


def _last_prices(assets: set[str]) -> dict[str, Decimal]:
    """The last price, in the quote asset, of each asset that has one.

    Prices come through the trading app's reader (which reads ``market.prices``). Only listed pairs are asked for
    (the reader refuses an unknown symbol), and a price store that cannot answer leaves the assets unpriced rather
    than failing the overview: an unpriced asset counts as 0 and is listed in ``unpriced_assets``, so nobody
    mistakes that 0 for a value.
    """
    if not assets:
        return {}
    quote = settings.QUOTE_ASSET
    try:
        from market.prices import list_instruments

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
    from trading.engine.lifecycle import valuation

    quote = settings.QUOTE_ASSET
    val = valuation({b.asset: b for b in balances}, {f"{a}{quote}": p for a, p in prices.items()}, quote=quote)
    return val.equity, list(val.unpriced)


def agent_overview(*, account, include_archived: bool = False) -> list[AgentSummary]:
    """Each agent's current-epoch equity, PnL, ROI, trade count (fills) and open orders: five queries in all (and
    one price read when non-quote assets are held)."""
    current = Wallet.objects.filter(kind=Wallet.Kind.MAIN, retired_at__isnull=True).prefetch_related(
        Prefetch("balances", queryset=Balance.objects.order_by("asset")))
    agents = list(agent_list(account=account, include_archived=include_archived)
                  .prefetch_related(Prefetch("wallets", queryset=current, to_attr="current_wallets")))
    wallets = {a.pk: (a.current_wallets[0] if a.current_wallets else None) for a in agents}
    held = {b.asset for w in wallets.values() if w for b in w.balances.all() if b.asset != settings.QUOTE_ASSET}
    prices = _last_prices(held)
    counts = _trading_counts([w.pk for w in wallets.values() if w])
    out = []
    for agent in agents:
        wallet = wallets[agent.pk]
        if wallet is None:  # cannot happen through the services; shown rather than hidden if it ever does
            out.append(AgentSummary(agent, None, agent.starting_balance, ZERO, -agent.starting_balance,
                                    Decimal("-100"), 0, 0, []))
            continue
        equity, unpriced = wallet_equity(balances=list(wallet.balances.all()), prices=prices)
        start = wallet.starting_balance
        pnl = equity - start
        roi = (pnl / start * 100).quantize(Decimal("0.0001")) if start else ZERO
        trades, open_orders = counts.get(wallet.pk, (0, 0))
        out.append(AgentSummary(agent, str(wallet.pk), start, equity, pnl, roi, trades, open_orders, unpriced))
    return out
