from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from agents.models import Agent, AgentKey
from common import keys
from common.crypto import encrypt
from trading.wallet import wallet_open


@dataclass(frozen=True)
class IssuedKey:
    key: AgentKey
    api_key: str  # shown once
    signing_secret: str | None = None  # shown once, when signing was asked for


def agent_key_issue(*, agent: Agent, scope: str = AgentKey.Scope.TRADE, name: str = "", is_primary: bool = False,
                    allowed_ips: list[str] | None = None, expires_at: datetime | None = None,
                    signing: bool = False) -> IssuedKey:
    new = keys.new_key()
    secret = keys.new_secret() if signing else None
    key = AgentKey.objects.create(
        agent=agent, name=name, is_primary=is_primary, lookup=new.lookup, key_hash=new.digest, scope=scope,
        allowed_ips=allowed_ips or [], expires_at=expires_at,
        signing_secret_encrypted=encrypt(secret) if secret else "",
    )
    return IssuedKey(key=key, api_key=new.plaintext, signing_secret=secret)


@transaction.atomic
def agent_create(*, account, name: str, description: str = "", starting_balance: Decimal | None = None,
                 risk_config: dict | None = None, cloned_from: Agent | None = None) -> tuple[Agent, IssuedKey]:
    """A new agent with its funded main wallet and its primary (trade-scoped) key."""
    if starting_balance is None:
        starting_balance = Decimal(settings.DEFAULT_STARTING_BALANCE)
    agent = Agent.objects.create(account=account, name=name, description=description,
                                 starting_balance=starting_balance, risk_config=risk_config or {},
                                 cloned_from=cloned_from)
    wallet_open(agent=agent, starting_balance=starting_balance, quote_asset=settings.QUOTE_ASSET)
    issued = agent_key_issue(agent=agent, name="primary", is_primary=True)
    return agent, issued
