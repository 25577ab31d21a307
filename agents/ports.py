"""What the agents app needs from the trading app, which is above it (docs/decisions.md, "Layers").

An agent is created with a funded wallet, a reset retires that wallet and opens the next epoch's, and the overview
shows each agent's equity: wallets are trading's (their one home is ``trading.agent_wallets`` over
``trading.wallet``), and agents may not import trading. So agents states here what it needs, trading registers the
implementation when the app registry is ready (``TradingConfig.ready``), and the agents services and selectors call
it through :func:`agent_wallets`. Calls are plain synchronous calls: they run inside the caller's transaction.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class WalletSummary:
    """An agent's current-epoch wallet, as the overview shows it."""

    wallet_id: str
    starting_balance: Decimal  # of the current epoch's wallet
    equity: Decimal
    pnl: Decimal
    roi_pct: Decimal
    trade_count: int
    open_orders: int
    unpriced_assets: list[str] = field(default_factory=list)  # held assets without a price (counted at 0)


class AgentWallets(Protocol):
    def open(self, *, agent, starting_balance: Decimal) -> None:
        """Open the new agent's funded main wallet (epoch 0). Inside the creating transaction."""

    def reset(self, *, agent) -> None:
        """Retire the agent's current main wallet (its open orders cancelled) and open one for ``agent.reset_epoch``
        funded with ``agent.starting_balance``. The agent row is locked by the caller."""

    def summaries(self, *, agents: list) -> dict:
        """``{agent.pk: WalletSummary}`` for the agents that have a current main wallet."""


_registered: AgentWallets | None = None


def register(implementation: AgentWallets) -> None:
    global _registered
    _registered = implementation


def agent_wallets() -> AgentWallets:
    if _registered is None:
        raise ImproperlyConfigured("No agent wallets are registered: the 'trading' app must be in INSTALLED_APPS.")
    return _registered
