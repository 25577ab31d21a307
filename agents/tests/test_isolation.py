"""One account never sees or touches another's agents; one agent's key never reaches another agent."""

import pytest

from agents.models import Agent, AgentKey
from agents.tests.isolation import OWNER_ENDPOINTS, assert_not_found

pytestmark = pytest.mark.django_db


@pytest.fixture
def victim(account_factory, agent_factory):
    account = account_factory().account
    agent, key = agent_factory(account=account, name="victim", risk_config={"max_open_orders": 3})
    return account, agent, key


def test_every_owner_endpoint_is_404_for_another_account(victim, account_factory, jwt_client):
    account, agent, key = victim
    key_id = AgentKey.objects.get(agent=agent).pk
    intruder = jwt_client(account_factory().account)
    checked = assert_not_found(intruder, OWNER_ENDPOINTS, {"agent_id": agent.pk, "key_id": key_id})
    assert checked == len(OWNER_ENDPOINTS)
    # nothing changed
    agent.refresh_from_db()
    assert (agent.name, agent.status, agent.reset_epoch, agent.risk_config) == ("victim", "active", 0,
                                                                               {"max_open_orders": 3})
    assert AgentKey.objects.filter(agent=agent).count() == 1
    assert AgentKey.objects.get(agent=agent).revoked_at is None
    assert Agent.objects.filter(account=account).count() == 1


def test_lists_never_show_another_accounts_agents(victim, account_factory, agent_factory, jwt_client):
    _, agent, _ = victim
    mine = account_factory().account
    own, _ = agent_factory(account=mine, name="own")
    client = jwt_client(mine)
    for url in ["/api/v1/agents", "/api/v1/agents?include_archived=true", "/api/v1/agents/overview",
                "/api/v1/agents/overview?include_archived=true"]:
        ids = [row["agent_id"] for row in client.get(url).json()]
        assert ids == [str(own.pk)], url


def test_a_key_of_another_agent_of_the_same_account_is_404(victim, account_factory, jwt_client, agent_factory):
    """Key ids are scoped to their agent, even within one account."""
    account, agent, _ = victim
    other, _ = agent_factory(account=account, name="sibling")
    other_key = AgentKey.objects.get(agent=other)
    client = jwt_client(account)
    response = client.delete(f"/api/v1/agents/{agent.pk}/keys/{other_key.pk}")
    assert response.status_code == 404
    assert AgentKey.objects.get(pk=other_key.pk).revoked_at is None


def test_agent_me_is_always_the_keys_own_agent(victim, agent_factory, agent_client):
    _, agent, key = victim
    other, other_key = agent_factory(name="other")
    assert agent_client(key).get("/api/v1/agents/me").json()["agent_id"] == str(agent.pk)
    assert agent_client(other_key).get("/api/v1/agents/me").json()["agent_id"] == str(other.pk)


def test_agent_keys_cannot_reach_the_owner_endpoints_even_of_their_own_agent(victim, agent_client):
    _, agent, key = victim
    client = agent_client(key)
    for endpoint in OWNER_ENDPOINTS:
        if endpoint.template.endswith("/skill.md"):
            continue  # an agent reads its own brief with its key (issue 8 item 15; agents/tests/test_first_hour.py)
        url = endpoint.template.format(agent_id=agent.pk, key_id=AgentKey.objects.get(agent=agent).pk)
        response = getattr(client, endpoint.method.lower())(url, endpoint.body, format="json")
        assert response.status_code == 401, (endpoint, response.status_code)
    agent.refresh_from_db()
    assert agent.status == "active" and agent.reset_epoch == 0
