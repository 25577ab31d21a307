"""Agent keys on the wire: shown once, regenerated, expiring, IP-pinned, scoped and (opt-in) signed."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentKey
from agents.services import agent_key_issue

pytestmark = pytest.mark.django_db

ME = "/api/v1/agents/me"


def error_of(response):
    return response.json()["error"]


def test_a_key_works_until_it_expires(agent_factory, agent_client):
    agent, _ = agent_factory()
    issued = agent_key_issue(agent=agent, scope="read", expires_at=timezone.now() + timedelta(minutes=5))
    client = agent_client(issued.api_key)
    assert client.get(ME).status_code == 200
    AgentKey.objects.filter(pk=issued.key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(ME)
    assert response.status_code == 401
    assert error_of(response)["code"] == "AUTHENTICATION_FAILED"
    assert error_of(response)["details"]["reason"] == "key_expired"


@pytest.mark.parametrize("allowed,ip,ok", [
    (["10.0.0.5"], "10.0.0.5", True),
    (["10.0.0.0/24"], "10.0.0.77", True),
    (["2001:db8::/32"], "2001:db8::1", True),
    (["10.0.0.5"], "10.0.0.6", False),
    (["10.0.0.0/24", "192.168.1.1"], "192.168.1.2", False),
])
def test_allowed_ips(agent_factory, agent_client, allowed, ip, ok):
    agent, _ = agent_factory()
    issued = agent_key_issue(agent=agent, allowed_ips=allowed)
    response = agent_client(issued.api_key).get(ME, REMOTE_ADDR=ip)
    if ok:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert error_of(response)["code"] == "IP_NOT_ALLOWED"
        assert error_of(response)["details"]["ip"] == ip


def test_an_unknown_or_garbage_key_is_401(api):
    for key in ["ak_live_" + "A" * 43, "nope", "ak_live_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9" + "x" * 40]:
        api.credentials(HTTP_X_API_KEY=key)
        response = api.get(ME)
        assert response.status_code == 401, key
        assert error_of(response)["code"] == "AUTHENTICATION_FAILED"


def test_no_key_at_all_is_401(api):
    response = api.get(ME)
    assert response.status_code == 401 and error_of(response)["code"] == "AUTHENTICATION_FAILED"


def test_a_jwt_is_not_an_agent_key(api, account_factory, jwt_client):
    response = jwt_client(account_factory().account).get(ME)
    assert response.status_code == 401


def test_key_auth_costs_one_query(agent_factory, agent_client, django_assert_max_num_queries):
    _, key = agent_factory()
    client = agent_client(key)
    client.get(ME)  # the first use records last_used_at (a write, once a minute at most)
    with django_assert_max_num_queries(1):
        assert client.get(ME).status_code == 200


# --- scope ------------------------------------------------------------------------------------------------------------

def test_a_read_key_cannot_write(agent_factory, agent_client):
    agent, _ = agent_factory()
    read = agent_key_issue(agent=agent, scope="read")
    response = agent_client(read.api_key).delete("/api/v1/trade/orders/open")
    assert response.status_code == 403
    assert error_of(response)["code"] == "KEY_SCOPE"
    assert error_of(response)["details"] == {"scope": "read", "required": "trade"}


def test_is_agent_refuses_writes_of_a_read_key_through_a_real_request(agent_factory):
    """IsAgent on a real DRF request (independent of which write endpoints exist yet)."""
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from agents.authentication import AgentKeyAuthentication
    from common.permissions import IsAgent

    class Probe(APIView):
        authentication_classes = [AgentKeyAuthentication]
        permission_classes = [IsAgent]

        def get(self, request):
            return Response({"ok": True})

        def post(self, request):
            return Response({"ok": True})

    agent, _ = agent_factory()
    read = agent_key_issue(agent=agent, scope="read")
    trade = agent_key_issue(agent=agent, scope="trade")
    factory = APIRequestFactory()
    view = Probe.as_view()
    assert view(factory.get("/probe", HTTP_X_API_KEY=read.api_key)).status_code == 200
    refused = view(factory.post("/probe", {}, format="json", HTTP_X_API_KEY=read.api_key))
    assert refused.status_code == 403 and refused.data["error"]["code"] == "KEY_SCOPE"
    assert view(factory.post("/probe", {}, format="json", HTTP_X_API_KEY=trade.api_key)).status_code == 200


# --- signed requests --------------------------------------------------------------------------------------------------

@pytest.fixture
def signing_key(agent_factory):
    agent, _ = agent_factory()
    return agent_key_issue(agent=agent, scope="trade", signing=True)


def sign(secret: str, ts: str, method: str, path: str, body: bytes = b"") -> str:
    return hmac.new(secret.encode(), ts.encode() + method.encode() + path.encode() + body, hashlib.sha256).hexdigest()


def now_ms() -> str:
    return str(int(time.time() * 1000))


def signed_get(api, issued, path, ts=None, signature=None):
    ts = ts or now_ms()
    signature = signature or sign(issued.signing_secret, ts, "GET", path)
    return api.get(path, HTTP_X_API_KEY=issued.api_key, HTTP_X_TIMESTAMP=ts, HTTP_X_SIGNATURE=signature)


def test_a_signed_request_is_accepted_once(api, signing_key):
    first = signed_get(api, signing_key, ME)
    assert first.status_code == 200, first.content
    assert first.json()["signing"] is True
    ts = str(int(time.time() * 1000) + 1)
    assert signed_get(api, signing_key, ME, ts=ts).status_code == 200  # a new timestamp, a new signature
    replay = signed_get(api, signing_key, ME, ts=ts)
    assert replay.status_code == 401
    assert error_of(replay)["details"]["reason"] == "replayed_signature"


def test_the_signature_covers_the_query_string(api, signing_key):
    ts = now_ms()
    signature = sign(signing_key.signing_secret, ts, "GET", ME)  # signed without the query
    response = api.get(ME + "?x=1", HTTP_X_API_KEY=signing_key.api_key, HTTP_X_TIMESTAMP=ts,
                       HTTP_X_SIGNATURE=signature)
    assert response.status_code == 401 and error_of(response)["details"]["reason"] == "bad_signature"
    ts = now_ms()
    signature = sign(signing_key.signing_secret, ts, "GET", ME + "?x=1")
    assert api.get(ME + "?x=1", HTTP_X_API_KEY=signing_key.api_key, HTTP_X_TIMESTAMP=ts,
                   HTTP_X_SIGNATURE=signature).status_code == 200


def test_the_signature_covers_the_body(agent_factory):
    """A POST through a real DRF view: the body's exact bytes are part of the signed message."""
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from agents.authentication import AgentKeyAuthentication
    from common.permissions import IsAgent

    class Echo(APIView):
        authentication_classes = [AgentKeyAuthentication]
        permission_classes = [IsAgent]

        def post(self, request):
            return Response(request.data)

    agent, _ = agent_factory()
    issued = agent_key_issue(agent=agent, scope="trade", signing=True)
    body = json.dumps({"symbol": "BTCUSDT", "quantity": "0.01"}).encode()
    factory = APIRequestFactory()
    ts = now_ms()
    good = sign(issued.signing_secret, ts, "POST", "/echo", body)
    ok = Echo.as_view()(factory.post("/echo", body, content_type="application/json", HTTP_X_API_KEY=issued.api_key,
                                     HTTP_X_TIMESTAMP=ts, HTTP_X_SIGNATURE=good))
    assert ok.status_code == 200 and ok.data == {"symbol": "BTCUSDT", "quantity": "0.01"}
    tampered = body.replace(b"0.01", b"9.99")
    ts = now_ms()
    good = sign(issued.signing_secret, ts, "POST", "/echo", body)
    refused = Echo.as_view()(factory.post("/echo", tampered, content_type="application/json",
                                          HTTP_X_API_KEY=issued.api_key, HTTP_X_TIMESTAMP=ts, HTTP_X_SIGNATURE=good))
    assert refused.status_code == 401 and refused.data["error"]["details"]["reason"] == "bad_signature"


@pytest.mark.parametrize("case,reason", [
    ("missing_both", "signature_required"),
    ("missing_signature", "signature_required"),
    ("wrong_secret", "bad_signature"),
    ("not_hex", "bad_signature"),
    ("non_ascii", "bad_signature"),
    ("too_old", "timestamp_outside_window"),
    ("from_the_future", "timestamp_outside_window"),
    ("timestamp_in_seconds", "timestamp_outside_window"),
    ("garbage_timestamp", "bad_timestamp"),
])
def test_bad_signatures_are_401(api, signing_key, case, reason):
    ts = now_ms()
    headers = {"HTTP_X_API_KEY": signing_key.api_key, "HTTP_X_TIMESTAMP": ts,
               "HTTP_X_SIGNATURE": sign(signing_key.signing_secret, ts, "GET", ME)}
    if case == "missing_both":
        del headers["HTTP_X_TIMESTAMP"], headers["HTTP_X_SIGNATURE"]
    elif case == "missing_signature":
        del headers["HTTP_X_SIGNATURE"]
    elif case == "wrong_secret":
        headers["HTTP_X_SIGNATURE"] = sign("sk_live_someone_else", ts, "GET", ME)
    elif case == "not_hex":
        headers["HTTP_X_SIGNATURE"] = "z" * 64
    elif case == "non_ascii":
        headers["HTTP_X_SIGNATURE"] = "\u00e9" * 64
    elif case in ("too_old", "from_the_future", "timestamp_in_seconds"):
        # well past 30 s either way: the clock runs on while the request is sent
        shifted = {"too_old": int(ts) - 31_000, "from_the_future": int(ts) + 45_000,
                   "timestamp_in_seconds": int(ts) // 1000}[case]
        headers["HTTP_X_TIMESTAMP"] = str(shifted)
        headers["HTTP_X_SIGNATURE"] = sign(signing_key.signing_secret, str(shifted), "GET", ME)
    elif case == "garbage_timestamp":
        headers["HTTP_X_TIMESTAMP"] = "yesterday"
    response = api.get(ME, **headers)
    assert response.status_code == 401, response.content
    assert error_of(response)["code"] == "AUTHENTICATION_FAILED"
    assert error_of(response)["details"]["reason"] == reason


def test_a_signature_just_inside_the_window_is_accepted(api, signing_key):
    ts = str(int(time.time() * 1000) - 25_000)
    assert signed_get(api, signing_key, ME, ts=ts).status_code == 200


def test_an_unsigned_key_ignores_signature_headers(api, agent_factory):
    _, key = agent_factory()
    response = api.get(ME, HTTP_X_API_KEY=key, HTTP_X_TIMESTAMP="1", HTTP_X_SIGNATURE="junk")
    assert response.status_code == 200
