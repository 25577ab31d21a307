"""What one owner (or one agent) must never see of another's: a registry other apps extend.

Two lists of ``Endpoint(method, template)``; templates are formatted with the ids of the *victim* (``agent_id``,
``key_id``, and whatever ids an app adds, e.g. ``order_id``):

* ``OWNER_ENDPOINTS`` — called with the JWT of another account: each must answer 404 ``NOT_FOUND`` (never 403,
  which would reveal that the object exists) and change nothing.
* ``AGENT_ENDPOINTS`` — called with the key of another agent: same rule. It starts with the order endpoints of the
  trading app (``test_agent_key_isolation.py`` runs it); apps with more agent-key endpoints that take an object id
  (backtests, ...) append theirs, e.g. in their own tests module::

      from agents.tests.isolation import AGENT_ENDPOINTS, Endpoint
      AGENT_ENDPOINTS.append(Endpoint("GET", "/api/v1/trade/order/{order_id}"))

  and call ``assert_not_found(client, AGENT_ENDPOINTS, ids)`` with the victim's ids (endpoints whose template
  needs an id missing from ``ids`` are skipped, so each app can check just its own).
"""

from dataclasses import dataclass, field
from string import Formatter


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    body: dict = field(default_factory=dict, compare=False, hash=False)

    def placeholders(self) -> set[str]:
        return {name for _, name, _, _ in Formatter().parse(self.template) if name}


OWNER_ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/v1/agents/{agent_id}"),
    Endpoint("PUT", "/api/v1/agents/{agent_id}", {"name": "stolen"}),
    Endpoint("DELETE", "/api/v1/agents/{agent_id}"),
    Endpoint("POST", "/api/v1/agents/{agent_id}/clone"),
    Endpoint("POST", "/api/v1/agents/{agent_id}/reset", {"starting_balance": "1.00"}),
    Endpoint("POST", "/api/v1/agents/{agent_id}/archive"),
    Endpoint("POST", "/api/v1/agents/{agent_id}/regenerate-key"),
    Endpoint("GET", "/api/v1/agents/{agent_id}/risk-profile"),
    Endpoint("PUT", "/api/v1/agents/{agent_id}/risk-profile", {"max_open_orders": 1}),
    Endpoint("GET", "/api/v1/agents/{agent_id}/keys"),
    Endpoint("POST", "/api/v1/agents/{agent_id}/keys", {"scope": "trade"}),
    Endpoint("DELETE", "/api/v1/agents/{agent_id}/keys/{key_id}"),
    Endpoint("GET", "/api/v1/agents/{agent_id}/skill.md"),
]

AGENT_ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/v1/trade/order/{order_id}"),
    Endpoint("GET", "/api/v1/trade/order/{client_order_id}"),
    Endpoint("DELETE", "/api/v1/trade/order/{order_id}"),
    Endpoint("DELETE", "/api/v1/trade/order/{client_order_id}"),
]


def call(client, endpoint: Endpoint, ids: dict):
    url = endpoint.template.format(**ids)
    method = getattr(client, endpoint.method.lower())
    if endpoint.method in ("GET", "HEAD"):
        return method(url)
    return method(url, endpoint.body, format="json")


def assert_not_found(client, endpoints: list[Endpoint], ids: dict) -> int:
    """Every endpoint answers 404 NOT_FOUND for the victim's ids. Returns how many were checked."""
    checked = 0
    for endpoint in endpoints:
        if not endpoint.placeholders() <= set(ids):
            continue
        response = call(client, endpoint, ids)
        assert response.status_code == 404, (endpoint, response.status_code, response.content[:300])
        assert response.json()["error"]["code"] == "NOT_FOUND", (endpoint, response.content[:300])
        checked += 1
    return checked
