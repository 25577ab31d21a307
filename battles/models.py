"""Battles: agents head to head from battle wallets, ranked by a metric; their participants and standings.

A live battle runs on the wall clock; a historical one (issue 12) on a virtual clock (``virtual_time``) that its
owner steps. Both share the model: ``mode`` says which clock, and the elapsed/remaining time always come from
``battles.selectors.battle_clock``.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from common.money import DECIMAL_PLACES, MAX_DIGITS


def _amount(**kwargs):
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Battle(models.Model):
    class Mode(models.TextChoices):
        LIVE = "live"
        HISTORICAL = "historical"

    class Status(models.TextChoices):
        DRAFT = "draft"  # being set up: participants can be added and removed
        PENDING = "pending"  # started with a start_time in the future: participants are committed, wallets not yet
        ACTIVE = "active"
        PAUSED = "paused"  # clock stopped, new orders refused
        COMPLETED = "completed"  # results frozen
        CANCELLED = "cancelled"  # stopped before it ever ran

    class Metric(models.TextChoices):
        ROI_PCT = "roi_pct"
        TOTAL_PNL = "total_pnl"
        SHARPE_RATIO = "sharpe_ratio"
        SORTINO_RATIO = "sortino_ratio"
        CALMAR_RATIO = "calmar_ratio"
        WIN_RATE = "win_rate"
        PROFIT_FACTOR = "profit_factor"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="battles")
    name = models.CharField(max_length=100)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.LIVE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    ranking_metric = models.CharField(max_length=16, choices=Metric.choices, default=Metric.ROI_PCT)
    preset = models.CharField(max_length=32, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)  # None: no time limit (survival)
    starting_balance = _amount()
    pairs = models.JSONField(default=list, blank=True)  # symbols that may be traded; empty: every listed pair
    # Survival: a participant whose equity falls below this % of the starting balance is eliminated.
    elimination_threshold_pct = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)  # live: scheduled start; historical: replay start
    end_time = models.DateTimeField(null=True, blank=True)  # live: when it ends (set at start); historical: replay end
    interval = models.CharField(max_length=4, blank=True)  # historical: candle interval of the replay
    virtual_time = models.DateTimeField(null=True, blank=True)  # historical: the shared clock (issue 12)
    started_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.FloatField(default=0)  # total time spent paused (the clock stops while paused)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)  # stopped | time_up | last_survivor | cancelled
    round_seq = models.PositiveIntegerField(default=0)  # the last standings round written
    rematch_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rematches")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "mode"]), models.Index(fields=["owner", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(starting_balance__gt=0), name="battle_starting_balance_gt_0"),
        ]

    def __str__(self):
        return f"{self.name} ({self.status})"

    @property
    def is_engaging(self) -> bool:
        """Whether its participants are committed to it (at most one such live battle per agent)."""
        return self.status in (self.Status.PENDING, self.Status.ACTIVE, self.Status.PAUSED)


class Participant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        ELIMINATED = "eliminated"

    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="participants")
    # PROTECT: an agent with battle history cannot be deleted (409 AGENT_IN_USE); archive it instead.
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="battle_entries")
    wallet = models.ForeignKey("trading.Wallet", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="battle_entries")
    # True while the battle is pending/active/paused: the partial unique index below is the database's guarantee
    # that an agent is in at most one such live battle.
    engaged = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    eliminated_at = models.DateTimeField(null=True, blank=True)
    final_rank = models.PositiveIntegerField(null=True, blank=True)  # fixed at elimination, or at completion
    final = models.JSONField(null=True, blank=True)  # the frozen standings row
    session_id = models.UUIDField(null=True, blank=True)  # historical: the backtest session (issue 12)
    # The analytics core's streaming state over the battle's window and wallet (``battles.ranking.accumulate``),
    # and the last fill of the battle wallet already counted in it.
    metric_state = models.JSONField(null=True, blank=True)
    last_fill_id = models.BigIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["battle", "agent"], name="one_entry_per_agent_per_battle"),
            models.UniqueConstraint(fields=["agent"], condition=Q(engaged=True),
                                    name="agent_in_one_live_battle_at_a_time"),
        ]

    def __str__(self):
        return f"{self.agent_id} in {self.battle_id}"


class StandingsSnapshot(models.Model):
    """One standings round: every participant's equity and metrics, ranked. The last one of a completed battle is
    ``final`` (written once, under the battle's row lock)."""

    id = models.BigAutoField(primary_key=True)
    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="snapshots")
    seq = models.PositiveIntegerField()
    ts = models.DateTimeField()
    final = models.BooleanField(default=False)
    standings = models.JSONField(default=list)  # ranked rows as /live renders them

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["battle", "seq"], name="one_snapshot_per_battle_round"),
            models.UniqueConstraint(fields=["battle"], condition=Q(final=True), name="one_final_snapshot_per_battle"),
        ]

    def __str__(self):
        return f"round {self.seq} of {self.battle_id}"
