"""Whatever a client sends to an agent endpoint, the answer is a 4xx envelope, never a 500, and nothing changes."""

import json

import pytest

from agents.models import Agent, AgentKey

pytestmark = pytest.mark.django_db

MEGA = "x" * (1024 * 1024)

# (method, path under /api/v1/agents/{id}, or "" for the collection)
WRITE_ENDPOINTS = [
    ("POST", "/api/v1/agents"),
    ("PUT", "/api/v1/agents/{id}"),
    ("POST", "/api/v1/agents/{id}/clone"),
    ("POST", "/api/v1/agents/{id}/reset"),
    ("PUT", "/api/v1/agents/{id}/risk-profile"),
    ("POST", "/api/v1/agents/{id}/keys"),
]

BAD_BODIES = {
    "POST /api/v1/agents": [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": None},
        {"name": 42},
        {"name": ["a"]},
        {"name": MEGA},
        {"name": "a", "description": MEGA},
        {"name": "a", "description": "d" * 2001},
        {"name": "a\u0000b"},
        {"name": "a\ud800"},
        {"name": "a", "starting_balance": "-1"},
        {"name": "a", "starting_balance": "0"},
        {"name": "a", "starting_balance": 1000.5},
        {"name": "a", "starting_balance": "1000000000.01"},
        {"name": "a", "starting_balance": "1e400"},
        {"name": "a", "starting_balance": "NaN"},
        {"name": "a", "starting_balance": "Infinity"},
        {"name": "a", "starting_balance": "ten"},
        {"name": "a", "starting_balance": True},
        {"name": "a", "starting_balance": "0.000000001"},
        {"name": "a", "starting_balance": "9" * 70},
        {"name": "a", "risk_config": "aggressive"},
        {"name": "a", "risk_config": [1]},
        {"name": "a", "risk_config": {"max_order_size_pct": "500"}},
        {"name": "a", "risk_config": {"unknown": 1}},
        {"name": "a", "risk_config": {"x" * 10000: 1}},
    ],
    "PUT /api/v1/agents/{id}": [
        {"name": ""},
        {"name": MEGA},
        {"description": MEGA},
        {"status": "archived"},
        {"status": "deleted"},
        {"status": 1},
        {"risk_config": {"max_open_orders": -1}},
        {"risk_config": {"max_open_orders": "lots"}},
        {"risk_config": None},
    ],
    "POST /api/v1/agents/{id}/clone": [
        {"name": ""},
        {"name": MEGA},
        {"name": {"nested": True}},
    ],
    "POST /api/v1/agents/{id}/reset": [
        {"starting_balance": "-100"},
        {"starting_balance": "0"},
        {"starting_balance": 1e30},
        {"starting_balance": "1000000001"},
        {"starting_balance": MEGA},
        {"starting_balance": None},
    ],
    "PUT /api/v1/agents/{id}/risk-profile": [
        {"max_order_size_pct": "0"},
        {"max_order_size_pct": "-10"},
        {"max_order_size_pct": "101"},
        {"max_order_size_pct": MEGA},
        {"max_open_orders": 2.5},
        {"max_open_orders": 10**100},
        {"order_rate_limit": 0},
        {"min_order_size_usd": "1000001"},
        {"not_a_limit": 1},
        [{"max_open_orders": 1}],
        "max_open_orders=1",
    ],
    "POST /api/v1/agents/{id}/keys": [
        {},
        {"scope": "admin"},
        {"scope": None},
        {"scope": "read", "allowed_ips": "10.0.0.1"},
        {"scope": "read", "allowed_ips": ["not-an-ip"]},
        {"scope": "read", "allowed_ips": ["10.0.0.0/33"]},
        {"scope": "read", "allowed_ips": ["10.0.0.1"] * 101},
        {"scope": "read", "allowed_ips": [MEGA]},
        {"scope": "read", "expires_at": "yesterday"},
        {"scope": "read", "expires_at": "2001-01-01T00:00:00Z"},
        {"scope": "read", "expires_at": "9999-12-31T23:59:59-12:00"},
        {"scope": "read", "signing": "maybe"},
        {"scope": "read", "name": MEGA},
    ],
}

CASES = [(key, i, body) for key, bodies in BAD_BODIES.items() for i, body in enumerate(bodies)]


@pytest.fixture
def setup(agent_factory, account_factory, jwt_client):
    account = account_factory().account
    agent, _ = agent_factory(account=account, name="target")
    return jwt_client(account), agent


def snapshot(agent):
    agent.refresh_from_db()
    return (agent.name, agent.description, agent.status, agent.starting_balance, agent.risk_config,
            agent.reset_epoch, Agent.objects.count(), AgentKey.objects.count())


@pytest.mark.parametrize("endpoint,index,body", CASES, ids=[f"{k} #{i}" for k, i, _ in CASES])
def test_bad_bodies_are_400_and_change_nothing(setup, endpoint, index, body):
    client, agent = setup
    method, template = endpoint.split(" ")
    before = snapshot(agent)
    # json.dumps with its default ensure_ascii sends lone surrogates escaped, as a hostile client would
    response = client.generic(method, template.format(id=agent.pk), json.dumps(body),
                              content_type="application/json")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert snapshot(agent) == before


@pytest.mark.parametrize("method,template", WRITE_ENDPOINTS)
@pytest.mark.parametrize("raw,content_type", [
    (b'{"name": "a"', "application/json"),
    (b"\xff\xfe\xfd", "application/json"),
    (b"null", "application/json"),
    (b'"a string"', "application/json"),
    (b"[" * 50000 + b"]" * 50000, "application/json"),
    (b'{"name": "a", "starting_balance": NaN}', "application/json"),
    (b"name=a", "application/x-www-form-urlencoded"),
    (b"<agent/>", "application/xml"),
])
def test_malformed_bodies_are_4xx(setup, method, template, raw, content_type):
    client, agent = setup
    before = snapshot(agent)
    response = client.generic(method, template.format(id=agent.pk), raw, content_type=content_type)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response.json()["error"]["code"] in {"VALIDATION_ERROR", "UNSUPPORTED_MEDIA_TYPE"}
    assert snapshot(agent) == before


@pytest.mark.parametrize("path", ["/api/v1/agents/not-a-uuid", "/api/v1/agents/123/reset",
                                  "/api/v1/agents/00000000-0000-0000-0000-000000000000/keys/nope",
                                  "/api/v1/agents/%00", "/api/v1/agents/" + "a" * 5000])
def test_malformed_ids_are_404(setup, path):
    client, _ = setup
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_methods_not_offered_are_405(setup):
    client, agent = setup
    response = client.patch(f"/api/v1/agents/{agent.pk}", {"name": "x"}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
