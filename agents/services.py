"""Agents and their keys: every write. Views call one of these; reads are in ``agents/selectors.py``."""

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from agents import keycache
from agents.models import Agent, AgentKey
from agents.risk import risk_overrides_merge
from common import keys
from common.crypto import encrypt
from common.errors import BusinessRejection, Conflict, ValidationFailed
from trading.models import LedgerEntry, Wallet
from trading.services import order_cancel_all
from trading.wallet import wallet_open

MAX_STARTING_BALANCE = Decimal("1000000000")
MAX_ACTIVE_KEYS_PER_AGENT = 50
MAX_ALLOWED_IPS = 100


@dataclass(frozen=True)
class IssuedKey:
    key: AgentKey
    api_key: str  # shown once
    signing_secret: str | None = None  # shown once, when signing was asked for


class AgentArchived(BusinessRejection):
    code = "AGENT_ARCHIVED"


def _field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details={"fields": {field: [message]}})


def _check_starting_balance(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0 or value > MAX_STARTING_BALANCE:
        raise _field_error("starting_balance", f"Must be greater than 0 and at most {MAX_STARTING_BALANCE}.")
    return value


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise _field_error("name", "Must be 1 to 100 characters.")
    return name


def _check_description(description: str | None) -> str:
    description = description or ""
    if len(description) > 2000:
        raise _field_error("description", "At most 2000 characters.")
    return description


def _locked(agent: Agent) -> Agent:
    """The agent row re-read under ``FOR NO KEY UPDATE``: serializes resets, key regenerations and updates of
    one agent (inserting wallets or keys that reference it is not blocked). Needs a transaction."""
    return Agent.objects.select_for_update(no_key=True).get(pk=agent.pk)


def _refuse_archived(agent: Agent) -> None:
    if agent.status == Agent.Status.ARCHIVED:
        raise AgentArchived("This agent is archived; it can be cloned or deleted, not changed.",
                            details={"agent_id": str(agent.pk)})


# --- keys -------------------------------------------------------------------------------------------------------------

def _clean_allowed_ips(allowed_ips: list[str] | None) -> list[str]:
    """Each entry an IP or a CIDR network, normalized (``10.0.0.7/8`` -> ``10.0.0.0/8``)."""
    if not allowed_ips:
        return []
    if len(allowed_ips) > MAX_ALLOWED_IPS:
        raise _field_error("allowed_ips", f"At most {MAX_ALLOWED_IPS} entries.")
    out = []
    for entry in allowed_ips:
        try:
            text = str(entry).strip()
            out.append(str(ipaddress.ip_address(text)) if "/" not in text
                       else str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise _field_error("allowed_ips", f"{str(entry)[:64]!r} is not an IP address or CIDR network.") from None
    return list(dict.fromkeys(out))


def agent_key_issue(*, agent: Agent, scope: str = AgentKey.Scope.TRADE, name: str = "", is_primary: bool = False,
                    allowed_ips: list[str] | None = None, expires_at: datetime | None = None,
                    signing: bool = False) -> IssuedKey:
    """A new key of ``agent``: the plaintext (and signing secret, if asked for) exist only in the returned value."""
    if scope not in AgentKey.Scope.values:
        raise _field_error("scope", f"Must be one of {', '.join(AgentKey.Scope.values)}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise _field_error("expires_at", "Must be in the future.")
    new = keys.new_key()
    secret = keys.new_secret() if signing else None
    key = AgentKey.objects.create(
        agent=agent, name=name, is_primary=is_primary, lookup=new.lookup, key_hash=new.digest, scope=scope,
        allowed_ips=_clean_allowed_ips(allowed_ips), expires_at=expires_at,
        signing_secret_encrypted=encrypt(secret) if secret else "",
    )
    return IssuedKey(key=key, api_key=new.plaintext, signing_secret=secret)


@transaction.atomic
def agent_extra_key_issue(*, agent: Agent, scope: str, name: str = "", allowed_ips: list[str] | None = None,
                          expires_at: datetime | None = None, signing: bool = False) -> IssuedKey:
    """``POST /agents/{id}/keys``: an additional (non-primary) key with its own scope and restrictions."""
    agent = _locked(agent)
    _refuse_archived(agent)
    live = AgentKey.objects.filter(agent=agent, revoked_at__isnull=True).count()
    if live >= MAX_ACTIVE_KEYS_PER_AGENT:
        raise BusinessRejection(f"An agent may have at most {MAX_ACTIVE_KEYS_PER_AGENT} live keys; revoke one first.",
                                code="TOO_MANY_KEYS", details={"limit": MAX_ACTIVE_KEYS_PER_AGENT})
    return agent_key_issue(agent=agent, scope=scope, name=name, allowed_ips=allowed_ips, expires_at=expires_at,
                           signing=signing)


def agent_key_revoke(*, key: AgentKey) -> AgentKey:
    """Revoke at once (idempotent: revoking a revoked key keeps its first revocation time)."""
    AgentKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    keycache.invalidate()  # .update() sends no signal: tell every process's key cache
    key.refresh_from_db(fields=["revoked_at"])
    return key


@transaction.atomic
def agent_key_regenerate(*, agent: Agent) -> IssuedKey:
    """Revoke every live primary key of ``agent`` and issue a new primary (trade) key. Extra keys are untouched."""
    agent = _locked(agent)
    _refuse_archived(agent)
    AgentKey.objects.filter(agent=agent, is_primary=True, revoked_at__isnull=True).update(revoked_at=timezone.now())
    keycache.invalidate()  # .update() sends no signal: tell every process's key cache
    return agent_key_issue(agent=agent, name="primary", is_primary=True)


# --- agents -----------------------------------------------------------------------------------------------------------

@transaction.atomic
def agent_create(*, account, name: str, description: str = "", starting_balance: Decimal | None = None,
                 risk_config: dict | None = None, cloned_from: Agent | None = None) -> tuple[Agent, IssuedKey]:
    """A new agent with its funded main wallet and its primary (trade-scoped) key."""
    if starting_balance is None:
        starting_balance = Decimal(settings.DEFAULT_STARTING_BALANCE)
    agent = Agent.objects.create(
        account=account, name=_check_name(name), description=_check_description(description),
        starting_balance=_check_starting_balance(starting_balance),
        risk_config=risk_overrides_merge(current={}, changes=risk_config or {}), cloned_from=cloned_from,
    )
    wallet_open(agent=agent, starting_balance=starting_balance, quote_asset=settings.QUOTE_ASSET)
    issued = agent_key_issue(agent=agent, name="primary", is_primary=True)
    return agent, issued


@transaction.atomic
def agent_update(*, agent: Agent, name: str | None = None, description: str | None = None,
                 status: str | None = None, risk_config: dict | None = None, public: bool | None = None) -> Agent:
    """``PUT /agents/{id}``: only the given fields change. ``risk_config`` merges like ``agent_risk_config_update``.

    ``status`` moves between active and paused; archiving has its own service and cannot be undone here.
    """
    agent = _locked(agent)
    _refuse_archived(agent)
    if name is not None:
        agent.name = _check_name(name)
    if description is not None:
        agent.description = _check_description(description)
    if status is not None:
        if status not in (Agent.Status.ACTIVE, Agent.Status.PAUSED):
            raise _field_error("status", "Must be active or paused (use POST /agents/{id}/archive to archive).")
        agent.status = status
    if risk_config is not None:
        agent.risk_config = risk_overrides_merge(current=agent.risk_config, changes=risk_config)
    if public is not None:
        agent.public = public  # the leaderboards check it on every read: a hidden agent disappears at once
    agent.save()
    return agent


@transaction.atomic
def agent_risk_config_update(*, agent: Agent, changes: dict) -> Agent:
    """Set overrides (a value) or drop them back to the default (``None``); other overrides are kept."""
    agent = _locked(agent)
    _refuse_archived(agent)
    agent.risk_config = risk_overrides_merge(current=agent.risk_config, changes=changes)
    agent.save(update_fields=["risk_config", "updated_at"])
    return agent


@transaction.atomic
def agent_archive(*, agent: Agent) -> Agent:
    """Soft delete: hidden from lists, every key refused (AgentKeyAuthentication checks the status). Idempotent."""
    agent = _locked(agent)
    if agent.status != Agent.Status.ARCHIVED:
        agent.status = Agent.Status.ARCHIVED
        agent.save(update_fields=["status", "updated_at"])
    return agent


def agent_delete(*, agent: Agent) -> None:
    """Permanent: the agent, its keys, wallets and ledgers go (the database cascades)."""
    try:
        with transaction.atomic():
            agent.delete()
    except (ProtectedError, RestrictedError):
        raise Conflict("This agent's history is referenced elsewhere (e.g. by a battle); archive it instead.",
                       code="AGENT_IN_USE", details={"agent_id": str(agent.pk)}) from None


@transaction.atomic
def agent_clone(*, agent: Agent, name: str | None = None) -> tuple[Agent, IssuedKey]:
    """Same description and risk profile, a fresh wallet with the same starting balance, no history, a new key."""
    return agent_create(account=agent.account, name=name if name is not None else _clone_name(agent.name),
                        description=agent.description, starting_balance=agent.starting_balance,
                        risk_config=dict(agent.risk_config), cloned_from=agent)


def _clone_name(name: str) -> str:
    suffix = " (copy)"
    return name[: 100 - len(suffix)] + suffix


@transaction.atomic
def agent_reset(*, agent: Agent, starting_balance: Decimal | None = None) -> Agent:
    """Start a new epoch: retire the current main wallet (kept, with its ledger and history) and open a new one
    funded with ``starting_balance`` (default: the agent's), which also becomes the agent's starting balance.

    This is the one place a reset happens; anything else a reset must do belongs here.
    """
    agent = _locked(agent)
    _refuse_archived(agent)
    if starting_balance is not None:
        agent.starting_balance = _check_starting_balance(starting_balance)
    retiring = Wallet.objects.filter(agent=agent, kind=Wallet.Kind.MAIN, retired_at__isnull=True).first()
    if retiring is not None:
        # Nothing keeps resting on a wallet the agent no longer trades from: its open orders are cancelled and
        # their locked funds released (in the old wallet, whose ledger still balances on its own).
        order_cancel_all(wallet=retiring, reason="agent reset")
        Wallet.objects.filter(pk=retiring.pk).update(retired_at=timezone.now())
    agent.reset_epoch += 1
    agent.save(update_fields=["starting_balance", "reset_epoch", "updated_at"])
    wallet_open(agent=agent, starting_balance=agent.starting_balance, epoch=agent.reset_epoch,
                quote_asset=settings.QUOTE_ASSET, reason=LedgerEntry.Reason.RESET)
    return agent
