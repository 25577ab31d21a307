"""Rows of the streams app: the embedded-mode event outbox, and webhook endpoints with their deliveries."""

import uuid

from django.db import models
from django.db.models import Q


class OutboxEvent(models.Model):
    """One bus message, written in the transaction of the change it describes (``STREAMS_BUS=outbox``).

    Embedded mode has no pub/sub, so every web process polls this table for rows newer than the last it saw; rows
    are pruned after ``STREAMS_OUTBOX_RETENTION_SECONDS``. Because the row commits (or rolls back) with the change,
    a stream never shows a change that did not happen. (The trading core's events arrive through ``common.events``
    just after their transaction commits, so their rows are written in a transaction of their own.)
    """

    id = models.BigAutoField(primary_key=True)
    message = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]


class WebhookEndpoint(models.Model):
    """An agent's HTTP(S) receiver for some event types; deliveries are signed with its secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    # Exact types ("order.filled"), family wildcards ("order.*") or "*".
    event_types = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    # Fernet-encrypted (common.crypto): the secret must be read back to sign, so it cannot be a hash.
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["agent", "is_active"], name="webhook_endpoint_by_agent")]

    def __str__(self):
        return f"{self.url} ({', '.join(self.event_types)})"


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint, with its retry state."""

    class Status(models.TextChoices):
        PENDING = "pending"  # queued or waiting for a retry
        SUCCEEDED = "succeeded"  # the receiver answered 2xx
        FAILED = "failed"  # attempts exhausted, or the target is not allowed

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # Same for every delivery (and re-send) of one event, so receivers can drop duplicates.
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()  # the body object; serialised once per attempt, signed as sent
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    resend_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # An event reaches an endpoint once, however many times its producer reports it (re-sends aside).
            models.UniqueConstraint(fields=["endpoint", "event_id"], condition=Q(resend_of__isnull=True),
                                    name="webhook_delivery_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_by_endpoint"),
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due",
                         condition=Q(status="pending")),
        ]

    def __str__(self):
        return f"{self.event_type} -> {self.endpoint_id} ({self.status}, {self.attempts} attempts)"
