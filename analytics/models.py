"""What the analytics app keeps: streaming metric states, the downsampled equity history, cursors, leaderboards.

The one-minute equity curve itself is trading's ``EquitySnapshot`` (kept 8 days); older points live here, thinned
(``EquityPoint``, 5-minute then 1-hour resolution). docs/analytics.md explains the whole pipeline.
"""

from django.db import models

from common.money import DECIMAL_PLACES, MAX_DIGITS


def _amount(**kwargs):
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Period(models.TextChoices):
    DAY = "1d"
    WEEK = "7d"
    MONTH = "30d"
    ALL = "all"


class MetricState(models.Model):
    """The streaming aggregates of one wallet over one period (``state``: ``analytics.metrics.Accumulator``'s JSON)
    and the metrics they gave at ``as_of`` (``metrics``: strings, as served)."""

    id = models.BigAutoField(primary_key=True)
    wallet = models.ForeignKey("trading.Wallet", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=4, choices=Period.choices)
    window_start = models.DateTimeField(null=True, blank=True)  # None for "all"
    state = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    as_of = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["wallet", "period"], name="one_metric_state_per_wallet_period")]
        indexes = [models.Index(fields=["period", "agent"], name="metric_state_by_period_agent")]

    def __str__(self):
        return f"{self.period} metrics of wallet {self.wallet_id}"


class EquityPoint(models.Model):
    """A point of a wallet's equity curve older than the one-minute retention, kept by the downsampling."""

    class Resolution(models.TextChoices):
        FIVE_MINUTES = "5m"
        HOUR = "1h"

    id = models.BigAutoField(primary_key=True)
    wallet = models.ForeignKey("trading.Wallet", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    ts = models.DateTimeField()
    equity = _amount()
    cash = _amount()
    positions_value = _amount()
    resolution = models.CharField(max_length=2, choices=Resolution.choices)

    class Meta:
        ordering = ["ts"]
        constraints = [models.UniqueConstraint(fields=["wallet", "ts"], name="one_equity_point_per_wallet_ts")]
        indexes = [models.Index(fields=["resolution", "ts"], name="equity_point_by_resolution_ts")]


class Cursor(models.Model):
    """How far the incremental update has read an append-only table (by id). Its row lock also serialises the
    incremental update, the full recompute and the downsampling."""

    name = models.CharField(max_length=32, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)


class Leaderboard(models.Model):
    """One precomputed board (metric x period): every visible agent's row, best first."""

    metric = models.CharField(max_length=16)
    period = models.CharField(max_length=4, choices=Period.choices)
    as_of = models.DateTimeField()
    rows = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["metric", "period"], name="one_leaderboard_per_metric_period")]
