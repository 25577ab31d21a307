"""Webhook targets: only globally routable addresses, whatever form they are written in, at registration and at
every delivery attempt (which connects to the address that was checked)."""

import ipaddress

import pytest

from streams.models import WebhookDelivery, WebhookEndpoint
from streams.netguard import TargetNotAllowed, check_target, is_allowed
from streams.services import webhook_delivery_attempt

REFUSED = [
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://100.100.100.200/latest/meta-data/",  # a cloud metadata address inside 100.64.0.0/10
    "http://[::ffff:100.100.100.200]/",  # ...IPv4-mapped
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::]/",  # 6to4 of 169.254.169.254
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[64:ff9b:1::808:808]/",  # local-use NAT64
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "http://[::ffff:127.0.0.1]/", "http://[::1]/", "http://[fc00::1]/", "http://[fe80::1]/",
    "http://169.254.169.254/", "http://192.0.2.1/", "http://198.18.0.1/", "http://240.0.0.1/",
    "http://224.0.0.1/", "http://0.0.0.0/", "http://10.0.0.1/", "http://[2001:db8::1]/",
]
ACCEPTED = ["http://93.184.215.14/", "https://[2606:4700:4700::1111]/", "http://[::ffff:8.8.8.8]/",
            "http://[64:ff9b::808:808]/", "http://[2002:808:808::]/"]


@pytest.mark.parametrize("url", REFUSED)
def test_addresses_that_are_not_globally_routable_are_refused_in_any_form(url):
    with pytest.raises(TargetNotAllowed):
        check_target(url)


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_addresses_are_accepted_in_any_form(url):
    assert all(is_allowed(ip) for ip in check_target(url))


def test_the_embedded_address_decides():
    assert not is_allowed(ipaddress.ip_address("64:ff9b::6440:1"))  # NAT64 of 100.64.0.1
    assert is_allowed(ipaddress.ip_address("64:ff9b::5db8:d70e"))  # NAT64 of 93.184.215.14


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", REFUSED[:4])
def test_registration_refuses_them(agent_key, url):
    _, _, client = agent_key()
    response = client.post("/api/v1/webhooks", {"url": url, "event_types": ["order.filled"]}, format="json")
    assert response.status_code == 400, response.content
    assert "url" in response.json()["error"]["details"]["fields"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_to_a_target_that_is_no_longer_allowed_fails_without_a_request(agent_key, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True  # registered while allowed (or while the name resolved elsewhere)
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    _, _, client = agent_key()
    hook = client.post("/api/v1/webhooks", {"url": "http://100.100.100.200/latest/meta-data/",
                                            "event_types": ["order.filled"]}, format="json").json()
    delivery = client.post(f"/api/v1/webhooks/{hook['id']}/test").json()
    settings.WEBHOOK_ALLOW_PRIVATE = False
    outcome = webhook_delivery_attempt(delivery_id=delivery["id"])
    assert outcome.status == WebhookDelivery.Status.FAILED
    row = WebhookDelivery.objects.get(pk=delivery["id"])
    assert row.last_status_code is None and "not a globally routable address" in row.last_error


@pytest.mark.django_db(transaction=True)
def test_a_delivery_connects_to_the_checked_address_and_keeps_the_host(agent_key, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hook_receiver = receiver().start()
    _, _, client = agent_key()
    url = f"http://localhost:{hook_receiver.port}/hook"
    hook = client.post("/api/v1/webhooks", {"url": url, "event_types": ["order.filled"]}, format="json").json()
    delivery = client.post(f"/api/v1/webhooks/{hook['id']}/test").json()
    WebhookDelivery.objects.filter(pk=delivery["id"], status=WebhookDelivery.Status.SUCCEEDED).update(
        status=WebhookDelivery.Status.PENDING)  # in case a worker of this session delivered it already
    webhook_delivery_attempt(delivery_id=delivery["id"])
    assert hook_receiver.requests and hook_receiver.requests[-1]["headers"]["host"] == f"localhost:{hook_receiver.port}"
