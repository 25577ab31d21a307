"""Webhooks: the API, signatures, retries with back-off, recovery, all through a real Celery worker and a real local
HTTP receiver (``WEBHOOK_ALLOW_PRIVATE`` lets it sit on 127.0.0.1)."""

import hashlib
import hmac
import json
import uuid

import pytest

from streams.models import WebhookDelivery, WebhookEndpoint
from streams.services import sign
from streams.tests.conftest import WEBHOOK_RETRY_BASE_SECONDS
from streams.tests.support import free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

BOOK = {"bids": [("59990", "1")], "asks": [("60000", "1"), ("60010", "2")]}


def register(client, url, event_types=("order.filled",), **extra):
    return client.post("/api/v1/webhooks", {"url": url, "event_types": list(event_types), **extra}, format="json")


def delivery_of(webhook_id, **filters) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(endpoint_id=webhook_id, **filters).order_by("created_at").last()


def verify(request: dict, secret: str) -> bool:
    """What a receiver does: recompute the HMAC over timestamp + "." + body and compare in constant time."""
    expected = hmac.new(secret.encode(), request["headers"]["x-webhook-timestamp"].encode() + b"." + request["body"],
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(request["headers"]["x-webhook-signature"], f"sha256={expected}")


# --- through the worker -----------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_the_signature_verifies_with_the_shared_secret(webhook_worker, allow_private_webhooks, agent_key, receiver):
    hook = receiver().start()
    agent, _, client = agent_key()
    created = register(client, hook.url, ["order.*"]).json()
    assert created["secret"].startswith("whsec_")
    r = client.post(f"/api/v1/webhooks/{created['id']}/test")
    assert r.status_code == 202 and r.json()["event_type"] == "webhook.test"
    assert wait_until(lambda: hook.requests, timeout=10)
    [request] = hook.requests
    assert verify(request, created["secret"])
    assert not verify(request, "whsec_someone-elses-secret")
    tampered = {**request, "body": request["body"].replace(b"Webhook test", b"Webhook fake")}
    assert not verify(tampered, created["secret"])
    body = json.loads(request["body"])
    assert (body["type"], body["agent_id"], request["headers"]["x-webhook-event"]) == (
        "webhook.test", str(agent.pk), "webhook.test")
    assert request["headers"]["x-webhook-event-id"] == body["id"]
    delivery = wait_until(lambda: delivery_of(created["id"], status="succeeded"))
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)


@pytest.mark.integration
def test_a_failing_receiver_is_retried_with_backoff_then_marked_failed(webhook_worker, allow_private_webhooks,
                                                                       agent_key, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    hook = receiver(status=500).start()
    _, _, client = agent_key()
    webhook = register(client, hook.url).json()
    client.post(f"/api/v1/webhooks/{webhook['id']}/test")
    failed = wait_until(lambda: delivery_of(webhook["id"], status="failed"), timeout=20)
    assert failed is not None, delivery_of(webhook["id"]).__dict__
    assert (failed.attempts, failed.max_attempts, failed.last_status_code, failed.last_error) == (3, 3, 500,
                                                                                                 "HTTP 500")
    assert len(hook.requests) == 3
    assert len({r["headers"]["x-webhook-event-id"] for r in hook.requests}) == 1  # one event, three attempts
    gaps = [b["at"] - a["at"] for a, b in zip(hook.requests, hook.requests[1:])]
    # base, then 2 x base (+ up to 10 % jitter each): the second wait is clearly the longer
    assert WEBHOOK_RETRY_BASE_SECONDS * 0.9 < gaps[0] < gaps[1]
    assert gaps[1] > 2 * WEBHOOK_RETRY_BASE_SECONDS * 0.9
    r = client.get(f"/api/v1/webhooks/{webhook['id']}/deliveries?status=failed").json()
    assert [(d["id"], d["attempts"], d["last_status_code"]) for d in r["results"]] == [(str(failed.pk), 3, 500)]


@pytest.mark.integration
def test_a_receiver_that_is_down_then_back_gets_the_event(webhook_worker, allow_private_webhooks, agent_key,
                                                          receiver):
    port = free_port()  # nothing listens there yet: connection refused
    hook = receiver(port=port)
    _, _, client = agent_key()
    webhook = register(client, hook.url).json()
    client.post(f"/api/v1/webhooks/{webhook['id']}/test")
    first = wait_until(lambda: delivery_of(webhook["id"], attempts__gte=1), timeout=10)
    assert first.status == "pending" and first.last_status_code is None and "ConnectError" in first.last_error
    hook.start()
    done = wait_until(lambda: delivery_of(webhook["id"], status="succeeded"), timeout=15)
    assert done is not None and done.attempts >= 2 and done.last_status_code == 200
    assert len(hook.requests) == 1 and json.loads(hook.requests[0]["body"])["id"] == str(done.event_id)


@pytest.mark.integration
def test_a_delivery_can_be_resent_as_the_same_event(webhook_worker, allow_private_webhooks, agent_key, receiver):
    hook = receiver().start()
    _, _, client = agent_key()
    webhook = register(client, hook.url).json()
    first = client.post(f"/api/v1/webhooks/{webhook['id']}/test").json()
    r = client.post(f"/api/v1/webhooks/deliveries/{first['id']}/resend")
    if r.status_code == 409:  # still pending: wait for the first to land
        assert r.json()["error"]["code"] == "DELIVERY_PENDING"
        wait_until(lambda: delivery_of(webhook["id"], status="succeeded"))
        r = client.post(f"/api/v1/webhooks/deliveries/{first['id']}/resend")
    assert r.status_code == 202, r.json()
    again = r.json()
    assert (again["resend_of"], again["event_id"], again["status"]) == (first["id"], first["event_id"], "pending")
    assert wait_until(lambda: len(hook.requests) == 2, timeout=10)
    assert {json.loads(x["body"])["id"] for x in hook.requests} == {first["event_id"]}


@pytest.mark.integration
def test_a_filled_order_posts_order_filled(webhook_worker, celery_worker, market, allow_private_webhooks,
                                           agent_key, receiver):
    """From the real order flow: the worker's fill commits the delivery row, the webhook worker posts it."""
    market("BTCUSDT", "60000", **BOOK)
    hook = receiver().start()
    agent, _, client = agent_key()
    webhook = register(client, hook.url, ["order.filled", "order.cancelled"]).json()
    order = client.post("/api/v1/trade/order?wait_ms=3000", {"symbol": "BTCUSDT", "side": "buy", "type": "market",
                                                             "quantity": "0.01"}, format="json").json()
    assert order["status"] == "filled"
    assert wait_until(lambda: hook.requests, timeout=10)
    body = json.loads(hook.requests[0]["body"])
    assert (body["type"], body["data"]["id"], body["data"]["status"]) == ("order.filled", order["id"], "filled")
    assert verify(hook.requests[0], _secret_of(webhook["id"]))
    # A resting order cancelled: order.cancelled.
    resting = client.post("/api/v1/trade/order", {"symbol": "BTCUSDT", "side": "buy", "type": "limit",
                                                  "price": "50000", "quantity": "0.001"}, format="json").json()
    client.delete(f"/api/v1/trade/order/{resting['id']}")
    assert wait_until(lambda: len(hook.requests) == 2, timeout=10)
    body = json.loads(hook.requests[1]["body"])
    assert (body["type"], body["data"]["id"]) == ("order.cancelled", resting["id"])


def _secret_of(webhook_id) -> str:
    from common.crypto import decrypt

    return decrypt(WebhookEndpoint.objects.get(pk=webhook_id).secret_encrypted)


# --- the API ----------------------------------------------------------------------------------------------------------
def test_private_and_loopback_targets_are_refused(agent_key):
    _, _, client = agent_key()
    for url in ("http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.1.2.3/hook",
                "http://169.254.169.254/latest/meta-data", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/x",
                "http://0.0.0.0/hook", "http://192.168.1.10/hook"):
        r = register(client, url)
        assert r.status_code == 400, url
        assert r.json()["error"]["code"] == "VALIDATION_ERROR" and "url" in r.json()["error"]["details"]["fields"]
    for url in ("ftp://example.com/x", "https://user:pw@example.com/x", "not a url"):
        assert register(client, url).status_code == 400, url
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_is_accepted(agent_key):
    _, _, client = agent_key()
    r = register(client, "https://93.184.215.14/hook", ["order.filled", "risk.*"], description="prod")
    assert r.status_code == 201, r.json()
    assert set(r.json()) == {"id", "url", "event_types", "description", "is_active", "created_at", "secret"}
    assert r.json()["event_types"] == ["order.filled", "risk.*"]


def test_register_list_get_delete(allow_private_webhooks, agent_key):
    _, _, client = agent_key()
    created = register(client, "http://127.0.0.1:9/a", ["order.filled"]).json()
    listed = client.get("/api/v1/webhooks").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == created["id"]
    assert "secret" not in listed["results"][0]
    assert client.get(f"/api/v1/webhooks/{created['id']}").json()["url"] == "http://127.0.0.1:9/a"
    assert client.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert client.get(f"/api/v1/webhooks/{created['id']}").status_code == 404


@pytest.mark.parametrize("event_types, ok", [(["order.filled"], True), (["*"], True), (["battle.*"], True),
                                             (["order.teleported"], False), ([], False), (["order"], False)])
def test_event_types_are_checked(allow_private_webhooks, agent_key, event_types, ok):
    _, _, client = agent_key()
    r = register(client, "http://127.0.0.1:9/a", event_types)
    assert r.status_code == (201 if ok else 400), r.json()


def test_another_agents_webhooks_and_deliveries_are_not_found(allow_private_webhooks, agent_key):
    _, _, mine = agent_key()
    _, _, theirs = agent_key()
    webhook = register(theirs, "http://127.0.0.1:9/a").json()
    delivery = theirs.post(f"/api/v1/webhooks/{webhook['id']}/test").json()
    for method, path in (("get", f"/api/v1/webhooks/{webhook['id']}"), ("delete", f"/api/v1/webhooks/{webhook['id']}"),
                         ("get", f"/api/v1/webhooks/{webhook['id']}/deliveries"),
                         ("post", f"/api/v1/webhooks/{webhook['id']}/test"),
                         ("post", f"/api/v1/webhooks/deliveries/{delivery['id']}/resend")):
        r = getattr(mine, method)(path)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "NOT_FOUND"), path
    assert WebhookEndpoint.objects.filter(pk=webhook["id"]).exists()


def test_the_number_of_webhooks_per_agent_is_capped(allow_private_webhooks, agent_key, settings):
    settings.WEBHOOK_MAX_ENDPOINTS = 2
    _, _, client = agent_key()
    assert [register(client, f"http://127.0.0.1:9/{i}").status_code for i in range(2)] == [201, 201]
    r = register(client, "http://127.0.0.1:9/3")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "WEBHOOK_LIMIT")


def test_read_scope_keys_cannot_register(allow_private_webhooks, agent_factory, agent_client):
    from agents.services import agent_extra_key_issue

    agent, _ = agent_factory()
    issued = agent_extra_key_issue(agent=agent, scope="read")
    client = agent_client(issued.api_key)
    assert client.get("/api/v1/webhooks").status_code == 200
    r = register(client, "http://127.0.0.1:9/a")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "KEY_SCOPE")


# --- recording events (no worker: the rows are what the worker will send) ---------------------------------------------
def test_an_event_is_recorded_once_per_subscribed_endpoint(allow_private_webhooks, agent_key, settings):
    from streams.services import webhook_endpoint_create, webhook_event_record

    agent, _, _ = agent_key()
    filled = webhook_endpoint_create(agent=agent, url="http://127.0.0.1:9/a", event_types=["order.filled"]).endpoint
    every = webhook_endpoint_create(agent=agent, url="http://127.0.0.1:9/b", event_types=["*"]).endpoint
    webhook_endpoint_create(agent=agent, url="http://127.0.0.1:9/c", event_types=["risk.breach"])
    event_id = uuid.uuid4()
    for _ in range(2):  # reported twice (a redelivered task): still one delivery per endpoint
        webhook_event_record(agent_id=agent.pk, event_type="order.filled", data={"x": 1}, event_id=event_id)
    assert sorted(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == sorted([filled.pk, every.pk])


def test_risk_breaches_are_throttled_per_rule(allow_private_webhooks, agent_key, settings):
    from streams.publish import publish_risk_breach
    from streams.services import webhook_endpoint_create

    settings.WEBHOOK_RISK_BREACH_COOLDOWN_SECONDS = 60
    agent, _, _ = agent_key()
    webhook_endpoint_create(agent=agent, url="http://127.0.0.1:9/a", event_types=["risk.*"])
    for _ in range(3):
        publish_risk_breach(agent_id=agent.pk, code=f"RISK_MAX_OPEN_ORDERS_{agent.pk}", message="too many")
    publish_risk_breach(agent_id=agent.pk, code=f"RISK_DAILY_LOSS_LIMIT_{agent.pk}", message="lost too much")
    assert WebhookDelivery.objects.filter(event_type="risk.breach").count() == 2


def test_sign_matches_the_documented_recipe():
    assert sign(secret="whsec_x", timestamp="1700000000", body=b'{"a":1}') == "sha256=" + hmac.new(
        b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
