"""A newcomer's first hour (issue 8, items 15 and 17): every resource carries ``id``, the seed's names stay as
aliases, an agent shows its effective risk limits, and an agent reads its own skill.md with its own key."""

import re

import pytest
from django.urls import Resolver404, resolve

pytestmark = pytest.mark.django_db

DEFAULT_LIMITS = {"max_order_size_pct": "50", "max_position_size_pct": "25", "daily_loss_limit_pct": "20",
                  "max_open_orders": 50, "min_order_size_usd": "1", "order_rate_limit": 100}


def test_every_resource_carries_id_with_the_seed_names_as_aliases(account_factory, jwt_client, agent_client,
                                                                 settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    account = account_factory().account
    owner = jwt_client(account)
    agent = owner.post("/api/v1/agents", {"name": "alpha"}, format="json").json()
    assert agent["id"] == agent["agent_id"]
    listed = owner.get("/api/v1/agents").json()
    assert [a["id"] for a in listed] == [agent["id"]] and listed[0]["agent_id"] == agent["id"]
    overview = owner.get("/api/v1/agents/overview").json()
    rows = overview if isinstance(overview, list) else overview.get("agents", overview.get("results"))
    assert rows[0]["id"] == rows[0]["agent_id"] == agent["id"]
    key = owner.post(f"/api/v1/agents/{agent['id']}/keys", {"scope": "read"}, format="json").json()
    assert key["id"] == key["key_id"]
    keys = owner.get(f"/api/v1/agents/{agent['id']}/keys").json()
    keys = keys if isinstance(keys, list) else keys["results"]
    assert all(k["id"] == k["key_id"] for k in keys)
    me = agent_client(agent["api_key"]).get("/api/v1/account/info").json()
    assert me["id"] == me["agent_id"] == agent["id"]


def test_a_new_agent_shows_its_effective_risk_limits(account_factory, jwt_client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = jwt_client(account_factory().account)
    fresh = owner.post("/api/v1/agents", {"name": "fresh"}, format="json").json()
    assert fresh["risk_config"] == DEFAULT_LIMITS and fresh["risk_overrides"] == {}
    tuned = owner.post("/api/v1/agents", {"name": "tuned", "risk_config": {"max_open_orders": 7}},
                       format="json").json()
    assert tuned["risk_config"] == dict(DEFAULT_LIMITS, max_open_orders=7)
    assert tuned["risk_overrides"] == {"max_open_orders": 7}
    profile = owner.get(f"/api/v1/agents/{tuned['id']}/risk-profile").json()
    assert profile["limits"] == tuned["risk_config"]


@pytest.mark.parametrize("bad", ["25\n", " 25", "25 ", "2.5e1", "+25", "２５"])
def test_risk_values_follow_the_strict_decimal_grammar(account_factory, jwt_client, settings, bad):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = jwt_client(account_factory().account)
    agent = owner.post("/api/v1/agents", {"name": "a"}, format="json").json()
    response = owner.put(f"/api/v1/agents/{agent['id']}/risk-profile", {"max_order_size_pct": bad}, format="json")
    assert response.status_code == 400, (bad, response.content)
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# --- skill.md lists what exists, and the agent can read its own (item 15) ----------------------------------------

ENDPOINT_LINE = re.compile(r"^- `(GET|POST|PUT|DELETE|PATCH) (/[^`]*)`", re.M)


def _routed(method: str, path: str) -> bool:
    """Independent of agents.skill: resolve the path (placeholders filled) and ask the view for the method."""
    path = re.sub(r"\{symbol\}", "BTCUSDT", path.split("?")[0])
    path = re.sub(r"\{[a-z_]+\}", "00000000-0000-4000-8000-000000000000", path)
    try:
        match = resolve("/api/v1" + path)
    except Resolver404:
        return False
    return hasattr(match.func.view_class, method.lower())


@pytest.fixture
def fresh_skill_cache():
    from agents.skill import routed_endpoint_groups

    routed_endpoint_groups.cache_clear()
    yield
    routed_endpoint_groups.cache_clear()


def _skill(client, agent_id) -> str:
    response = client.get(f"/api/v1/agents/{agent_id}/skill.md")
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_skill_md_lists_only_routed_endpoints(account_factory, jwt_client, settings, fresh_skill_cache):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = jwt_client(account_factory().account)
    agent = owner.post("/api/v1/agents", {"name": "a"}, format="json").json()
    text = _skill(owner, agent["id"])
    listed = ENDPOINT_LINE.findall(text)
    assert len(listed) > 15, listed
    unrouted = [(m, p) for m, p in listed if not _routed(m, p)]
    assert not unrouted, unrouted
    # nor do the examples send the agent to an endpoint that does not exist
    for path in re.findall(r'\$BASE(/[^"?]*)', text):
        assert _routed("GET", path) or _routed("POST", path) or _routed("DELETE", path), path


def test_a_section_appears_once_its_endpoints_are_routed(account_factory, jwt_client, settings, fresh_skill_cache):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ROOT_URLCONF = "agents.tests.skill_urls"
    owner = jwt_client(account_factory().account)
    agent = owner.post("/api/v1/agents", {"name": "a"}, format="json").json()
    text = _skill(owner, agent["id"])
    assert "`GET /analytics/performance?period=1d|7d|30d|all`" in text
    assert "/analytics/portfolio/history" not in text  # not routed in this URL conf


def test_the_openapi_schema_lists_only_routed_paths(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    missing = [(method, path) for path, ops in schema["paths"].items() for method in ops
               if method in {"get", "post", "put", "delete", "patch"}
               and not _routed(method, re.sub(r"\{[a-z_]+\}", "{id}", path.removeprefix("/api/v1")))]
    assert not missing, missing


def test_an_agent_reads_its_own_skill_md_with_its_own_key(agent_factory, agent_client, settings, fresh_skill_cache):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    agent, key = agent_factory(name="Self Reader")
    other, _ = agent_factory(name="Other")
    client = agent_client(key)
    text = _skill(client, agent.pk)
    assert text.startswith("# Trading skill: Self Reader") and key not in text and key[:16] in text
    refused = client.get(f"/api/v1/agents/{other.pk}/skill.md")
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/api/v1/agents/00000000-0000-4000-8000-000000000000/skill.md").status_code == 404
    # the key it reads with sets the scope the brief describes
    from agents.services import agent_key_issue

    read_key = agent_key_issue(agent=agent, scope="read").api_key
    read_text = _skill(agent_client(read_key), agent.pk)
    assert "POST /trade/order`" not in read_text and "GET /account/balance" in read_text
    # and without any credentials it is 401
    from rest_framework.test import APIClient

    assert APIClient().get(f"/api/v1/agents/{agent.pk}/skill.md").status_code == 401
