import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from common.money import DECIMAL_PLACES, MAX_DIGITS


class Agent(models.Model):
    """An isolated trading entity owned by an account: its own keys, wallet(s), risk profile and history."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"  # keys still read; the risk chain refuses new orders
        ARCHIVED = "archived"  # soft-deleted: hidden from lists, keys refused

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    starting_balance = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    # Only the limits the owner overrides; the effective profile is RiskLimits() merged with these.
    risk_config = models.JSONField(default=dict, blank=True)
    # Incremented by every reset; the wallet of each epoch (and everything it traded) is kept.
    reset_epoch = models.PositiveIntegerField(default=0)
    # Shown on the public leaderboards (analytics); the owner hides an agent with PUT /agents/{id} {"public": false}.
    public = models.BooleanField(default=True)
    cloned_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="clones")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["account", "status"])]
        constraints = [models.CheckConstraint(condition=Q(starting_balance__gte=0), name="agent_starting_balance_gte_0")]

    def __str__(self):
        return f"{self.name} ({self.id})"


class AgentKey(models.Model):
    """An ``ak_live_`` key of an agent. Stored as a SHA-256 hash; ``lookup`` (8 clear characters) finds the row."""

    class Scope(models.TextChoices):
        READ = "read"
        TRADE = "trade"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100, blank=True)
    is_primary = models.BooleanField(default=False)
    lookup = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.TRADE)
    allowed_ips = models.JSONField(default=list, blank=True)  # IPs or CIDR networks; empty = any
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Opt-in request signing: the secret is kept Fernet-encrypted, never in clear.
    signing_secret_encrypted = models.TextField(blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"ak_live_{self.lookup}… ({self.scope})"

    @property
    def display_prefix(self) -> str:
        return f"ak_live_{self.lookup}"

    @property
    def requires_signature(self) -> bool:
        return bool(self.signing_secret_encrypted)
