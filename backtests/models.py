"""Backtest sessions, stored as their configuration plus an append-only log of actions (event sourcing).

A session's engine state is never stored: it is a pure function of the config, the candle store and the log
(``backtests.runner``), rebuilt by any process that needs it and cached per process by (session, step, log length).
Every call locks the session's row, so calls landing on different web processes see one history.
"""

import uuid

from django.db import models

from common.money import DECIMAL_PLACES, MAX_DIGITS


class BacktestSession(models.Model):
    class Status(models.TextChoices):
        CREATED = "created"
        RUNNING = "running"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="backtests")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    strategy_label = models.CharField(max_length=120, blank=True)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    interval = models.CharField(max_length=4)
    pairs = models.JSONField()
    starting_balance = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    # the engine settings frozen at creation (risk limits, fee tiers, market-order buffer, instruments' filters),
    # so a session replays the same way whatever the settings become
    config = models.JSONField(default=dict)
    total_steps = models.PositiveIntegerField()
    step = models.PositiveIntegerField(default=0)
    actions = models.PositiveIntegerField(default=0)  # length of the action log
    # a clock owned by something else (a historical battle: "battle:<id>"): the agent's own start/step is refused
    clock_owner = models.CharField(max_length=64, blank=True, default="")
    orders_paused = models.BooleanField(default=False)  # set by the clock's owner (a paused battle): orders refused
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    run_seconds = models.FloatField(default=0.0)  # wall-clock time spent stepping (for the ETA)
    results = models.JSONField(null=True, blank=True)  # frozen when the session completes or is cancelled

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agent", "-created_at"], name="backtest_agent_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(step__lte=models.F("total_steps")), name="backtest_step_lte_total"),
            models.CheckConstraint(condition=models.Q(end_time__gt=models.F("start_time")), name="backtest_range"),
        ]

    def __str__(self):
        return f"{self.strategy_label or 'backtest'} {self.id}"

    @property
    def progress_pct(self) -> float:
        return round(100.0 * self.step / self.total_steps, 2) if self.total_steps else 100.0


class BacktestAction(models.Model):
    """One agent action at a step of the clock: an order (its request body) or a cancel."""

    class Kind(models.TextChoices):
        ORDER = "order"
        CANCEL = "cancel"

    session = models.ForeignKey(BacktestSession, on_delete=models.CASCADE, related_name="log")
    seq = models.PositiveIntegerField()  # 1, 2, ... per session
    step = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    payload = models.JSONField()

    class Meta:
        ordering = ["session", "seq"]
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="backtest_action_seq_unique")]
