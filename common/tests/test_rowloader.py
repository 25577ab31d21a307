"""RowLoader returns what the ORM's select_related returns, field for field, on PostgreSQL."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.models import AgentKey
from agents.services import agent_key_issue
from common.rowloader import RowLoader
from trading.models import Balance

pytestmark = pytest.mark.django_db


def fields_of(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_same_instances_as_select_related(agent_factory, django_assert_num_queries):
    agent, _ = agent_factory(risk_config={"max_open_orders": 3})
    extra = agent_key_issue(agent=agent, scope="read", allowed_ips=["10.0.0.0/8"],
                            expires_at=timezone.now() + timedelta(days=1)).key
    loader = RowLoader(AgentKey, "agent", "agent__account")
    with django_assert_num_queries(1):
        [loaded] = loader.fetch("lookup", extra.lookup)
        agent_loaded, account_loaded = loaded.agent, loaded.agent.account  # attached: no further query
    orm = AgentKey.objects.select_related("agent", "agent__account").get(pk=extra.pk)
    assert fields_of(loaded) == fields_of(orm)
    assert fields_of(agent_loaded) == fields_of(orm.agent)
    assert fields_of(account_loaded) == fields_of(orm.agent.account)
    assert loaded.allowed_ips == ["10.0.0.0/8"] and agent_loaded.risk_config == {"max_open_orders": 3}
    assert loaded._state.adding is False and loaded._state.db == "default"


def test_no_match_and_other_models(agent_factory):
    agent, _ = agent_factory(starting_balance=Decimal("12.5"))
    assert RowLoader(AgentKey, "agent").fetch("lookup", "nothing!") == []
    [usdt] = RowLoader(Balance, "wallet", "wallet__agent").fetch("asset", "USDT")
    assert usdt.available == Decimal("12.5") and usdt.wallet.agent == agent
