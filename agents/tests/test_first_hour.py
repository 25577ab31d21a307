"""A newcomer's first hour (issue 8, items 15 and 17): every resource carries ``id``, the seed's names stay as
aliases, an agent shows its effective risk limits, and an agent reads its own skill.md with its own key."""

import pytest

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
