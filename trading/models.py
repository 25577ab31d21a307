"""Wallets and their ledger. Orders, fills and positions (next) belong to a wallet, not only to an agent."""

import uuid

from django.db import models
from django.db.models import Q

from common.money import DECIMAL_PLACES, MAX_DIGITS


def _amount(**kwargs):
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Wallet(models.Model):
    """A separately funded pot an agent trades from.

    Each agent has one current ``main`` wallet; a reset retires it (``retired_at``) and opens a new one for the next
    epoch, so the old wallet keeps its balances, ledger and trading history. Battle wallets (``kind=battle``) come
    with battles.
    """

    class Kind(models.TextChoices):
        MAIN = "main"
        BATTLE = "battle"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="wallets")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MAIN)
    epoch = models.PositiveIntegerField(default=0)
    starting_balance = _amount()
    battle_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["agent"], condition=Q(kind="main", retired_at__isnull=True),
                                    name="one_current_main_wallet_per_agent"),
            models.UniqueConstraint(fields=["agent", "battle_id"], condition=Q(kind="battle"),
                                    name="one_wallet_per_agent_per_battle"),
        ]

    def __str__(self):
        return f"{self.kind} wallet {self.id} of {self.agent_id} (epoch {self.epoch})"


class Balance(models.Model):
    """What a wallet holds of one asset. Only ``trading.wallet.wallet_apply`` changes it, always with a ledger row."""

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=16)
    available = _amount(default=0)
    locked = _amount(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset"]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "asset"], name="one_balance_per_wallet_asset"),
            models.CheckConstraint(condition=Q(available__gte=0), name="balance_available_gte_0"),
            models.CheckConstraint(condition=Q(locked__gte=0), name="balance_locked_gte_0"),
        ]

    @property
    def total(self):
        return self.available + self.locked

    def __str__(self):
        return f"{self.asset} {self.available}+{self.locked}"


class LedgerEntry(models.Model):
    """One change to one balance, and why. Append-only: the balance is always the sum of its entries."""

    class Reason(models.TextChoices):
        FUNDING = "funding"  # starting balance of a wallet
        RESET = "reset"
        ORDER_LOCK = "order_lock"  # available -> locked when an order is accepted
        ORDER_RELEASE = "order_release"  # locked -> available when an order is cancelled/expired/done
        FILL = "fill"  # asset moved by a fill
        FEE = "fee"
        BATTLE_FUNDING = "battle_funding"
        ADJUSTMENT = "adjustment"

    id = models.BigAutoField(primary_key=True)
    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="ledger")
    asset = models.CharField(max_length=16)
    delta_available = _amount(default=0)
    delta_locked = _amount(default=0)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    ref_type = models.CharField(max_length=32, blank=True)
    ref_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["wallet", "asset"]), models.Index(fields=["ref_type", "ref_id"])]
        constraints = [
            models.CheckConstraint(condition=~Q(delta_available=0) | ~Q(delta_locked=0), name="ledger_entry_not_empty"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.reason} {self.asset} {self.delta_available:+}/{self.delta_locked:+}"

