"""Agents and their keys: every read, always scoped to the owner (another account's agent is simply not found)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from agents.models import Agent, AgentKey
from agents.ports import agent_wallets
from agents.risk import RULES, effective_limits
from common.errors import NotFound
from common.money import ZERO
from trading.engine.limits import RiskLimits


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


def agent_overview(*, account, include_archived: bool = False) -> list[AgentSummary]:
    """Each agent's current-epoch equity, PnL, ROI, trade count (fills) and open orders: five queries in all (and
    one price read when non-quote assets are held). The wallet figures are trading's (``agents.ports``)."""
    agents = list(agent_list(account=account, include_archived=include_archived))
    wallets = agent_wallets().summaries(agents=agents)
    out = []
    for agent in agents:
        w = wallets.get(agent.pk)
        if w is None:  # cannot happen through the services; shown rather than hidden if it ever does
            out.append(AgentSummary(agent, None, agent.starting_balance, ZERO, -agent.starting_balance,
                                    Decimal("-100"), 0, 0, []))
            continue
        out.append(AgentSummary(agent, w.wallet_id, w.starting_balance, w.equity, w.pnl, w.roi_pct, w.trade_count,
                                w.open_orders, w.unpriced_assets))
    return out
