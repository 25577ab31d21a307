"""Webhook services: register and remove endpoints, record events as deliveries, attempt them, re-send them.

An event becomes one :class:`WebhookDelivery` row per subscribed endpoint, written in the transaction of the change
that caused it; the Celery task that POSTs it is fired on commit. So a rolled-back change sends nothing, and a
committed one is never forgotten (the row stays ``pending`` until delivered or out of attempts).

Each POST carries::

    X-Webhook-Timestamp: <unix seconds>
    X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    X-Webhook-Event: order.filled
    X-Webhook-Event-Id: <uuid, the same for every attempt and re-send of the event>
    X-Webhook-Delivery: <uuid of this delivery>
"""

import hashlib
import hmac
import logging
import random
import secrets
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from common import generation
from common.crypto import decrypt, encrypt
from common.errors import BusinessRejection, Conflict, ValidationFailed
from streams.models import WebhookDelivery, WebhookEndpoint
from streams.netguard import TargetNotAllowed, check_target, pinned

logger = logging.getLogger(__name__)

# The events an endpoint can subscribe to. "battle.*" is reserved for the battles app.
WEBHOOK_EVENT_TYPES = {
    "order.filled": "An order was completely filled.",
    "order.cancelled": "An order was cancelled (by the agent, cancel-all, or the platform).",
    "order.expired": "An order expired (an IOC/FOK remainder, a lapsed conditional order).",
    "order.rejected": "An accepted order was rejected when it was executed.",
    "risk.breach": "An order was refused by a risk rule (at most one per rule per cooldown).",
    "webhook.test": "Sent by POST /webhooks/{id}/test, to check the receiver and its signature check.",
    "battle.started": "A live battle the agent takes part in started (its key now acts on its battle wallet).",
    "battle.standings": "New standings of the agent's battle (every standings round while it runs).",
    "battle.eliminated": "The agent was eliminated from a survival battle (its orders cancelled, rank fixed).",
    "battle.completed": "The agent's battle completed; final standings attached, the key is back on its wallet.",
}
WEBHOOK_EVENT_FAMILIES = ("order", "risk", "battle", "webhook")
ORDER_STATUS_EVENTS = {"filled": "order.filled", "cancelled": "order.cancelled", "expired": "order.expired",
                       "rejected": "order.rejected"}
SECRET_PREFIX = "whsec_"
USER_AGENT = "AgentPaperTrading-Webhooks/1"
# Event ids of order events are derived from the order, so reporting one twice cannot send it twice.
_ORDER_EVENT_NAMESPACE = uuid.UUID("5d0f4c1e-9a51-4a1c-8a7e-7f3b1c2d9e10")


def valid_subscription(entry: str) -> bool:
    if entry == "*" or entry in WEBHOOK_EVENT_TYPES:
        return True
    family, _, rest = entry.partition(".")
    return rest == "*" and family in WEBHOOK_EVENT_FAMILIES


def subscribes(event_types: list[str], event_type: str) -> bool:
    family = event_type.split(".", 1)[0]
    return any(t in ("*", event_type, f"{family}.*") for t in event_types)


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    """The value of ``X-Webhook-Signature``: ``sha256=`` + hex HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def retry_delay(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: base * 2^(attempts-1), capped, plus up to 10 % jitter."""
    delay = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.WEBHOOK_RETRY_MAX_SECONDS)
    return delay * (1 + random.random() * 0.1)


# --- endpoints --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def webhook_endpoint_create(*, agent, url: str, event_types: list[str], description: str = "") -> CreatedEndpoint:
    bad = [t for t in event_types if not valid_subscription(t)]
    if bad:
        raise ValidationFailed(f"Unknown event type {bad[0]!r}.",
                               details={"fields": {"event_types": [f"unknown event type {t!r}" for t in bad]},
                                        "known": sorted(WEBHOOK_EVENT_TYPES)})
    check_target(url)
    with transaction.atomic():
        # Lock the agent row so that two concurrent registrations cannot both pass the limit.
        type(agent).objects.select_for_update(no_key=True).filter(pk=agent.pk).first()
        if WebhookEndpoint.objects.filter(agent=agent).count() >= settings.WEBHOOK_MAX_ENDPOINTS:
            raise BusinessRejection(f"An agent may register at most {settings.WEBHOOK_MAX_ENDPOINTS} webhooks.",
                                    code="WEBHOOK_LIMIT", details={"limit": settings.WEBHOOK_MAX_ENDPOINTS})
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        endpoint = WebhookEndpoint.objects.create(agent=agent, url=url, event_types=sorted(set(event_types)),
                                                  description=description, secret_encrypted=encrypt(secret))
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    # Its deliveries go with it; a queued attempt finds no row and does nothing.
    endpoint.delete()


# --- events -> deliveries ---------------------------------------------------------------------------------------------
# Every placed order that fills or ends asks for its agent's active endpoints after commit, and almost no agent has
# one: each process remembers them per agent while the "webhook-endpoints" generation stands still (one Redis read
# instead of a query; see common.generation). Any save or delete of an endpoint bumps it (signals, connected in
# apps.ready); without Redis the cache is bypassed.
ENDPOINTS_GENERATION = "webhook-endpoints"
_ENDPOINTS_MAX = 10_000
_endpoints_cache: dict[str, tuple[str, list]] = {}  # agent id -> (generation, its active endpoints)


def _active_endpoints(agent_ids) -> dict:
    agent_ids = {str(a) for a in agent_ids}
    current = generation.current(ENDPOINTS_GENERATION)  # read BEFORE loading
    by_agent = defaultdict(list)
    missing = set(agent_ids)
    if current is not None:
        for agent_id in agent_ids:
            hit = _endpoints_cache.get(agent_id)
            if hit is not None and hit[0] == current:
                missing.discard(agent_id)
                if hit[1]:
                    by_agent[agent_id] = list(hit[1])
    if missing:
        loaded = defaultdict(list)
        for endpoint in WebhookEndpoint.objects.filter(agent_id__in=sorted(missing), is_active=True):
            loaded[str(endpoint.agent_id)].append(endpoint)
        if current is not None:
            if len(_endpoints_cache) + len(missing) > _ENDPOINTS_MAX:
                _endpoints_cache.clear()
            for agent_id in missing:
                _endpoints_cache[agent_id] = (current, list(loaded.get(agent_id, ())))
        for agent_id, endpoints in loaded.items():
            by_agent[agent_id] = endpoints
    return by_agent


def endpoints_changed(**_) -> None:
    generation.bump(ENDPOINTS_GENERATION)


def _deliveries(endpoints, *, agent_id, event_type: str, data: dict, event_id: uuid.UUID) -> list[WebhookDelivery]:
    now = timezone.now()
    body = {"id": str(event_id), "type": event_type, "created_at": now.isoformat().replace("+00:00", "Z"),
            "agent_id": str(agent_id), "data": data}
    return [WebhookDelivery(endpoint=e, event_id=event_id, event_type=event_type, payload=body,
                            max_attempts=settings.WEBHOOK_MAX_ATTEMPTS, next_attempt_at=now) for e in endpoints]


def _save(deliveries: list[WebhookDelivery]) -> list[WebhookDelivery]:
    if not deliveries:
        return []
    # In a savepoint: called from inside a trade's transaction, a failure here must not abort that transaction.
    # A second report of the same event (same event_id) is dropped by the unique constraint.
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    _enqueue_on_commit([d.pk for d in deliveries])
    return deliveries


def webhook_event_record(*, agent_id, event_type: str, data: dict, event_id: uuid.UUID | None = None,
                         endpoints: list[WebhookEndpoint] | None = None) -> list[WebhookDelivery]:
    """One pending delivery per active endpoint of the agent subscribed to ``event_type``; sent after commit.

    Call it inside the transaction of the change the event reports. ``endpoints`` bypasses the subscription
    lookup (the test ping).
    """
    if endpoints is None:
        endpoints = [e for e in _active_endpoints([agent_id]).get(str(agent_id), ())
                     if subscribes(e.event_types, event_type)]
    return _save(_deliveries(endpoints, agent_id=agent_id, event_type=event_type, data=data,
                             event_id=event_id or uuid.uuid4()))


def webhook_order_events(*, orders) -> list[WebhookDelivery]:
    """``order.<status>`` for each order that reached a status webhooks report, once per order and status.

    One endpoint query for the whole batch, none when no order reached such a status.
    """
    reached = [(o, ORDER_STATUS_EVENTS[o.status]) for o in orders if o.status in ORDER_STATUS_EVENTS]
    if not reached:
        return []
    from streams.payloads import order_items

    endpoints = _active_endpoints({o.agent_id for o, _ in reached})
    deliveries = []
    for order, event_type in reached:
        targets = [e for e in endpoints.get(str(order.agent_id), ()) if subscribes(e.event_types, event_type)]
        if targets:
            deliveries += _deliveries(targets, agent_id=order.agent_id, event_type=event_type,
                                      data=order_items([order])[0]["data"],
                                      event_id=uuid.uuid5(_ORDER_EVENT_NAMESPACE, f"{event_type}:{order.pk}"))
    return _save(deliveries)


def webhook_risk_breach(*, agent_id, code: str, message: str, details: dict | None = None) -> None:
    """``risk.breach``, at most once per agent and rule per ``WEBHOOK_RISK_BREACH_COOLDOWN_SECONDS``."""
    cooldown = settings.WEBHOOK_RISK_BREACH_COOLDOWN_SECONDS
    if cooldown > 0 and not cache.add(f"webhook:risk:{agent_id}:{code}", 1, timeout=cooldown):
        return
    webhook_event_record(agent_id=agent_id, event_type="risk.breach",
                         data={"code": code, "message": message, "details": details or {}})


def webhook_endpoint_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    with transaction.atomic():
        return webhook_event_record(agent_id=endpoint.agent_id, event_type="webhook.test", endpoints=[endpoint],
                                    data={"endpoint_id": str(endpoint.pk), "message": "Webhook test."})[0]


def webhook_delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """A new delivery of the same event (same event id and body) with a fresh set of attempts."""
    if delivery.status == WebhookDelivery.Status.PENDING:
        raise Conflict("This delivery is still being attempted; re-send it once it has succeeded or failed.",
                       code="DELIVERY_PENDING", details={"delivery_id": str(delivery.pk)})
    with transaction.atomic():
        copy = WebhookDelivery.objects.create(
            endpoint=delivery.endpoint, event_id=delivery.event_id, event_type=delivery.event_type,
            payload=delivery.payload, max_attempts=settings.WEBHOOK_MAX_ATTEMPTS, next_attempt_at=timezone.now(),
            resend_of=delivery)
        _enqueue_on_commit([copy.pk])
    return copy


def _enqueue_on_commit(delivery_ids: list) -> None:
    from streams.tasks import webhook_deliver

    def enqueue():
        for delivery_id in delivery_ids:
            webhook_deliver.apply_async(args=[str(delivery_id)], queue=settings.WEBHOOK_QUEUE)

    transaction.on_commit(enqueue, robust=True)


# --- attempts ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttemptOutcome:
    status: str | None  # the delivery's status after the attempt; None if there was nothing to attempt
    retry_in: float | None = None  # seconds until the next attempt, when one is due


def webhook_delivery_attempt(*, delivery_id) -> AttemptOutcome:
    """POST a pending delivery once and record the result. No transaction is held during the HTTP call."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return AttemptOutcome(status=delivery.status if delivery else None)
    endpoint = delivery.endpoint
    code, error, final = _post(endpoint, delivery)
    attempts = delivery.attempts + 1
    now = timezone.now()
    retry_in = None
    if code is not None and 200 <= code < 300:
        status, next_at, delivered_at = WebhookDelivery.Status.SUCCEEDED, None, now
    elif final or attempts >= delivery.max_attempts or not endpoint.is_active:
        status, next_at, delivered_at = WebhookDelivery.Status.FAILED, None, None
    else:
        retry_in = retry_delay(attempts)
        status, next_at, delivered_at = WebhookDelivery.Status.PENDING, now + timedelta(seconds=retry_in), None
    # Conditional on the state we read, so a concurrent duplicate of this task cannot count an attempt twice.
    updated = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING,
                                             attempts=delivery.attempts).update(
        status=status, attempts=attempts, last_status_code=code, last_error=error[:500], last_attempt_at=now,
        next_attempt_at=next_at, delivered_at=delivered_at, updated_at=now)
    if not updated:
        return AttemptOutcome(status=None)
    return AttemptOutcome(status=status, retry_in=retry_in)


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str, bool]:
    """(status code or None, error text, final: no point retrying)."""
    try:
        addresses = check_target(endpoint.url)
    except TargetNotAllowed as exc:
        return None, exc.message, True
    body = orjson.dumps(delivery.payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": sign(secret=decrypt(endpoint.secret_encrypted), timestamp=timestamp, body=body),
        "X-Webhook-Event": delivery.event_type,
        "X-Webhook-Event-Id": str(delivery.event_id),
        "X-Webhook-Delivery": str(delivery.pk),
    }
    import httpx  # here, not at the top: web processes import this module and never POST (httpx costs ~4 MB)

    try:
        with httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False) as client:
            # To the checked addresses themselves (netguard.pinned), the next one if one cannot be reached.
            for i, address in enumerate(addresses):
                url, pin_headers, extensions = pinned(endpoint.url, address)
                request = client.build_request("POST", url, content=body, headers={**headers, **pin_headers},
                                               extensions=extensions)
                try:
                    response = client.send(request)
                    break
                except httpx.ConnectError:
                    if i == len(addresses) - 1:
                        raise
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}", False
    if 200 <= response.status_code < 300:
        return response.status_code, "", False
    return response.status_code, f"HTTP {response.status_code}", False


# --- the outbox (embedded-mode bus) -----------------------------------------------------------------------------------
def outbox_prune(*, older_than: timedelta) -> int:
    """Delete outbox rows older than ``older_than`` (every process has long read them)."""
    from streams.models import OutboxEvent

    return OutboxEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()[0]
