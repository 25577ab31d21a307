"""The agent lifecycle through HTTP, with the owner's JWT: every endpoint of /api/v1/agents."""

from decimal import Decimal

import pytest
from django.utils import timezone

from agents.models import Agent, AgentKey
from trading.models import Balance, LedgerEntry, Wallet
from trading.wallet import Movement, current_wallet, wallet_post

pytestmark = pytest.mark.django_db

AGENT_FIELDS = {"agent_id", "name", "description", "status", "starting_balance", "risk_config", "reset_epoch", "public",
                "cloned_from", "created_at", "updated_at"}


@pytest.fixture
def owner(account_factory):
    return account_factory().account


@pytest.fixture
def client(jwt_client, owner):
    return jwt_client(owner)


def create(client, **body):
    body.setdefault("name", "Momentum Bot v1")
    response = client.post("/api/v1/agents", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_returns_the_agent_and_its_key_once(client, agent_client):
    body = create(client, description="breakouts", starting_balance="2500.50",
                  risk_config={"max_order_size_pct": "25", "max_open_orders": 20})
    assert set(body) == AGENT_FIELDS | {"api_key"}
    assert body["api_key"].startswith("ak_live_")
    assert body["starting_balance"] == "2500.50000000"
    assert body["status"] == "active" and body["reset_epoch"] == 0 and body["cloned_from"] is None
    assert body["risk_config"] == {"max_order_size_pct": "25", "max_open_orders": 20}
    agent = Agent.objects.get(pk=body["agent_id"])
    assert current_wallet(agent).balances.get(asset="USDT").available == Decimal("2500.50")
    # the key works, and is stored only as a hash
    assert agent_client(body["api_key"]).get("/api/v1/agents/me").json()["agent_id"] == body["agent_id"]
    assert not AgentKey.objects.filter(key_hash=body["api_key"]).exists()
    # and it is never shown again
    detail = client.get(f"/api/v1/agents/{body['agent_id']}").json()
    assert "api_key" not in detail and body["api_key"] not in str(client.get(
        f"/api/v1/agents/{body['agent_id']}/keys").content)


def test_create_defaults(client):
    body = create(client)
    assert body["starting_balance"] == "10000.00000000"
    assert body["description"] == "" and body["risk_config"] == {}


def test_list_hides_archived_unless_asked(client):
    kept = create(client, name="kept")
    gone = create(client, name="gone")
    assert client.post(f"/api/v1/agents/{gone['agent_id']}/archive").status_code == 200
    names = [a["name"] for a in client.get("/api/v1/agents").json()]
    assert names == ["kept"]
    every = client.get("/api/v1/agents?include_archived=true").json()
    assert [a["agent_id"] for a in every] == [kept["agent_id"], gone["agent_id"]]
    assert every[1]["status"] == "archived"
    assert client.get("/api/v1/agents?include_archived=maybe").status_code == 400


def test_overview_values_the_current_wallet(client):
    body = create(client, starting_balance="1000")
    agent = Agent.objects.get(pk=body["agent_id"])
    wallet = current_wallet(agent)
    # a loss of 100 USDT (through the ledger, the only way balances change)
    wallet_post(wallet=wallet, movements=[Movement("USDT", available=Decimal("-100"))], reason="adjustment")
    rows = client.get("/api/v1/agents/overview").json()
    assert len(rows) == 1
    row = rows[0]
    assert row["agent_id"] == body["agent_id"] and row["wallet_id"] == str(wallet.pk)
    assert row["equity"] == "900.00000000"
    assert row["pnl"] == "-100.00000000"
    assert row["roi_pct"] == "-10.0000"
    assert row["trade_count"] == 0 and row["open_orders"] == 0
    assert row["unpriced_assets"] == []


def test_overview_counts_locked_funds_and_flags_unpriced_assets(client):
    body = create(client, starting_balance="1000")
    wallet = current_wallet(Agent.objects.get(pk=body["agent_id"]))
    wallet_post(wallet=wallet, movements=[Movement("USDT", available=Decimal("-300"), locked=Decimal("300"))],
                reason="order_lock")
    wallet_post(wallet=wallet, movements=[Movement("NOPRICECOIN", available=Decimal("5"))], reason="adjustment")
    row = client.get("/api/v1/agents/overview").json()[0]
    assert row["equity"] == "1000.00000000"  # locked USDT is still the agent's
    assert row["unpriced_assets"] == ["NOPRICECOIN"]


def test_detail_update_and_delete(client):
    body = create(client, description="v1")
    url = f"/api/v1/agents/{body['agent_id']}"
    got = client.get(url).json()
    assert set(got) == AGENT_FIELDS and got["description"] == "v1"

    updated = client.put(url, {"name": "Momentum v2", "description": "", "status": "paused",
                               "risk_config": {"daily_loss_limit_pct": "10"}}, format="json")
    assert updated.status_code == 200, updated.content
    got = updated.json()
    assert (got["name"], got["description"], got["status"]) == ("Momentum v2", "", "paused")
    assert got["risk_config"] == {"daily_loss_limit_pct": "10"}
    # fields not sent stay; risk_config merges (null removes)
    got = client.put(url, {"risk_config": {"max_open_orders": 5, "daily_loss_limit_pct": None}},
                     format="json").json()
    assert got["name"] == "Momentum v2" and got["risk_config"] == {"max_open_orders": 5}
    assert client.put(url, {"status": "active"}, format="json").json()["status"] == "active"
    # archiving is its own endpoint
    refused = client.put(url, {"status": "archived"}, format="json")
    assert refused.status_code == 400 and "status" in refused.json()["error"]["details"]["fields"]

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert not Agent.objects.filter(pk=body["agent_id"]).exists()
    assert not Wallet.objects.filter(agent_id=body["agent_id"]).exists()


def test_clone_copies_config_with_a_fresh_wallet_and_key(client, agent_client):
    source = create(client, name="Original", description="mean reversion", starting_balance="5000",
                    risk_config={"max_position_size_pct": "10"})
    source_agent = Agent.objects.get(pk=source["agent_id"])
    wallet_post(wallet=current_wallet(source_agent), movements=[Movement("USDT", available=Decimal("-1"))],
                reason="adjustment")

    response = client.post(f"/api/v1/agents/{source['agent_id']}/clone", format="json")
    assert response.status_code == 201, response.content
    clone = response.json()
    assert clone["name"] == "Original (copy)"
    assert clone["cloned_from"] == source["agent_id"]
    assert clone["description"] == "mean reversion"
    assert clone["risk_config"] == {"max_position_size_pct": "10"}
    assert clone["starting_balance"] == "5000.00000000" and clone["reset_epoch"] == 0
    assert clone["api_key"] != source["api_key"]
    clone_wallet = current_wallet(Agent.objects.get(pk=clone["agent_id"]))
    assert clone_wallet.balances.get(asset="USDT").available == Decimal("5000")
    assert list(clone_wallet.ledger.values_list("reason", flat=True)) == ["funding"]  # empty history
    assert agent_client(clone["api_key"]).get("/api/v1/agents/me").json()["agent_id"] == clone["agent_id"]

    named = client.post(f"/api/v1/agents/{source['agent_id']}/clone", {"name": "Experiment B"}, format="json")
    assert named.status_code == 201 and named.json()["name"] == "Experiment B"


def test_clone_name_stays_within_100_characters(client):
    source = create(client, name="n" * 100)
    clone = client.post(f"/api/v1/agents/{source['agent_id']}/clone", format="json").json()
    assert len(clone["name"]) == 100 and clone["name"].endswith(" (copy)")


def test_reset_opens_a_new_epoch_and_keeps_the_old_wallet(client):
    body = create(client, starting_balance="1000")
    agent = Agent.objects.get(pk=body["agent_id"])
    old = current_wallet(agent)
    wallet_post(wallet=old, movements=[Movement("USDT", available=Decimal("-250"))], reason="adjustment")

    response = client.post(f"/api/v1/agents/{body['agent_id']}/reset", {"starting_balance": "2000"}, format="json")
    assert response.status_code == 200, response.content
    got = response.json()
    assert got["reset_epoch"] == 1 and got["starting_balance"] == "2000.00000000"

    new = current_wallet(agent)
    assert new.pk != old.pk and new.epoch == 1 and new.starting_balance == Decimal("2000")
    assert new.balances.get(asset="USDT").available == Decimal("2000")
    assert list(new.ledger.values_list("reason", flat=True)) == [LedgerEntry.Reason.RESET]
    old.refresh_from_db()
    assert old.retired_at is not None and old.epoch == 0
    # the old wallet and its ledger are still there, unchanged
    assert old.balances.get(asset="USDT").available == Decimal("750")
    assert list(old.ledger.values_list("reason", "delta_available")) == [
        ("funding", Decimal("1000")), ("adjustment", Decimal("-250"))]
    row = client.get("/api/v1/agents/overview").json()[0]
    assert row["equity"] == "2000.00000000" and row["pnl"] == "0.00000000" and row["reset_epoch"] == 1

    # without a body: the agent's (new) starting balance again
    again = client.post(f"/api/v1/agents/{body['agent_id']}/reset", format="json").json()
    assert again["reset_epoch"] == 2
    assert current_wallet(agent).balances.get(asset="USDT").available == Decimal("2000")
    assert Wallet.objects.filter(agent=agent).count() == 3
    assert Wallet.objects.filter(agent=agent, retired_at__isnull=True).count() == 1


def test_archive_kills_the_keys_and_freezes_the_agent(client, agent_client):
    body = create(client)
    url = f"/api/v1/agents/{body['agent_id']}"
    extra = client.post(f"{url}/keys", {"scope": "read"}, format="json").json()["api_key"]
    for key in (body["api_key"], extra):
        assert agent_client(key).get("/api/v1/agents/me").status_code == 200

    response = client.post(f"{url}/archive")
    assert response.status_code == 200 and response.json()["status"] == "archived"
    for key in (body["api_key"], extra):
        refused = agent_client(key).get("/api/v1/agents/me")
        assert refused.status_code == 401
        assert refused.json()["error"]["details"]["reason"] == "agent_archived"
    # still visible to its owner, but changes are refused; cloning and deleting are not changes of it
    assert client.get(url).json()["status"] == "archived"
    for method, path, data in [("put", "", {"name": "x"}), ("post", "/reset", {}), ("post", "/regenerate-key", {}),
                               ("put", "/risk-profile", {"max_open_orders": 3}), ("post", "/keys", {"scope": "read"}),
                               ("put", "", {"status": "active"})]:
        refused = getattr(client, method)(url + path, data, format="json")
        assert refused.status_code == 422, (path, refused.content)
        assert refused.json()["error"]["code"] == "AGENT_ARCHIVED"
    assert client.post(f"{url}/archive").status_code == 200  # idempotent
    assert client.post(f"{url}/clone", format="json").status_code == 201
    assert client.delete(url).status_code == 204


def test_regenerate_key_kills_the_old_primary_at_once(client, agent_client):
    body = create(client)
    url = f"/api/v1/agents/{body['agent_id']}"
    extra = client.post(f"{url}/keys", {"scope": "read", "name": "dashboard"}, format="json").json()["api_key"]
    old = agent_client(body["api_key"])
    assert old.get("/api/v1/agents/me").status_code == 200

    response = client.post(f"{url}/regenerate-key")
    assert response.status_code == 200, response.content
    issued = response.json()
    assert issued["api_key"].startswith("ak_live_") and issued["api_key"] != body["api_key"]
    assert issued["is_primary"] is True and issued["scope"] == "trade" and issued["signing_secret"] is None
    assert issued["key_prefix"] == issued["api_key"][:16]

    assert old.get("/api/v1/agents/me").status_code == 401  # the same client, the very next request
    assert agent_client(issued["api_key"]).get("/api/v1/agents/me").status_code == 200
    assert agent_client(extra).get("/api/v1/agents/me").status_code == 200  # extra keys are not primary
    primaries = AgentKey.objects.filter(agent_id=body["agent_id"], is_primary=True)
    assert primaries.filter(revoked_at__isnull=True).count() == 1 and primaries.count() == 2


def test_risk_profile_shows_effective_limits_and_overrides(client):
    body = create(client, risk_config={"max_order_size_pct": "30"})
    url = f"/api/v1/agents/{body['agent_id']}/risk-profile"
    got = client.get(url).json()
    assert got["agent_id"] == body["agent_id"]
    assert got["limits"] == {"max_order_size_pct": "30", "max_position_size_pct": "25",
                             "daily_loss_limit_pct": "20", "max_open_orders": 50, "min_order_size_usd": "1",
                             "order_rate_limit": 100}
    assert got["defaults"]["max_order_size_pct"] == "50"
    assert got["overrides"] == {"max_order_size_pct": "30"} and got["overridden"] == ["max_order_size_pct"]

    put = client.put(url, {"max_order_size_pct": None, "max_open_orders": 10, "min_order_size_usd": "2.50",
                           "daily_loss_limit_pct": 100}, format="json")
    assert put.status_code == 200, put.content
    got = put.json()
    assert got["overrides"] == {"max_open_orders": 10, "min_order_size_usd": "2.5", "daily_loss_limit_pct": "100"}
    assert got["limits"]["max_order_size_pct"] == "50" and got["limits"]["max_open_orders"] == 10
    assert sorted(got["overridden"]) == ["daily_loss_limit_pct", "max_open_orders", "min_order_size_usd"]
    assert Agent.objects.get(pk=body["agent_id"]).risk_config == got["overrides"]


@pytest.mark.parametrize("changes,field", [
    ({"max_order_size_pct": "0"}, "max_order_size_pct"),
    ({"max_order_size_pct": "100.01"}, "max_order_size_pct"),
    ({"max_position_size_pct": -5}, "max_position_size_pct"),
    ({"daily_loss_limit_pct": 12.5}, "daily_loss_limit_pct"),  # a float
    ({"daily_loss_limit_pct": "NaN"}, "daily_loss_limit_pct"),
    ({"daily_loss_limit_pct": "1e2"}, "daily_loss_limit_pct"),  # exponents are not decimal strings
    ({"daily_loss_limit_pct": 100.0}, None),  # an integral JSON number is an integer
    ({"max_open_orders": 0}, "max_open_orders"),
    ({"max_open_orders": 1001}, "max_open_orders"),
    ({"max_open_orders": "5"}, "max_open_orders"),
    ({"max_open_orders": True}, "max_open_orders"),
    ({"order_rate_limit": 10**30}, "order_rate_limit"),
    ({"min_order_size_usd": "-1"}, "min_order_size_usd"),
    ({"min_order_size_usd": "0.000000001"}, "min_order_size_usd"),
    ({"leverage": 100}, "leverage"),
    ({"max_open_orders": 5, "surprise": 1}, "surprise"),
])
def test_risk_profile_validation(client, changes, field):
    body = create(client)
    response = client.put(f"/api/v1/agents/{body['agent_id']}/risk-profile", changes, format="json")
    if field is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["details"]["fields"]
    assert Agent.objects.get(pk=body["agent_id"]).risk_config == {}  # nothing half-applied


def test_extra_keys_lifecycle(client, agent_client):
    body = create(client)
    url = f"/api/v1/agents/{body['agent_id']}/keys"
    expires = (timezone.now() + timezone.timedelta(days=30)).replace(microsecond=0)
    response = client.post(url, {"name": "ci", "scope": "read", "allowed_ips": ["127.0.0.1", "10.1.2.3/8"],
                                 "expires_at": expires.isoformat(), "signing": True}, format="json")
    assert response.status_code == 201, response.content
    issued = response.json()
    assert issued["scope"] == "read" and issued["signing"] is True
    assert issued["allowed_ips"] == ["127.0.0.1", "10.0.0.0/8"]
    assert issued["signing_secret"].startswith("sk_live_")

    listed = client.get(url)
    assert listed.status_code == 200
    keys = listed.json()
    assert [k["is_primary"] for k in keys] == [True, False]
    extra = keys[1]
    assert set(extra) == {"key_id", "name", "key_prefix", "is_primary", "scope", "allowed_ips", "expires_at",
                          "revoked_at", "last_used_at", "last_used_ip", "signing", "created_at"}
    assert extra["key_id"] == issued["key_id"] and extra["key_prefix"] == issued["api_key"][:16]
    assert extra["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M:%S"))
    text = listed.content.decode()
    assert issued["api_key"] not in text and issued["signing_secret"] not in text and body["api_key"] not in text

    # last use is recorded (the primary has no restrictions)
    agent_client(body["api_key"]).get("/api/v1/agents/me")
    primary = client.get(url).json()[0]
    assert primary["last_used_at"] is not None and primary["last_used_ip"] == "127.0.0.1"

    # revoke: at once, idempotent, and the key is dead
    primary_client = agent_client(body["api_key"])
    assert client.delete(f"{url}/{primary['key_id']}").status_code == 204
    assert primary_client.get("/api/v1/agents/me").status_code == 401
    assert client.delete(f"{url}/{primary['key_id']}").status_code == 204
    revoked = client.get(url).json()[0]
    assert revoked["revoked_at"] is not None
    assert client.delete(f"{url}/00000000-0000-0000-0000-000000000000").status_code == 404


def test_skill_md_is_markdown_for_this_agent(client):
    body = create(client, name="Momentum Bot", description="Buys breakouts.",
                  risk_config={"max_open_orders": 7})
    response = client.get(f"/api/v1/agents/{body['agent_id']}/skill.md", HTTP_ACCEPT="text/markdown")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.startswith("# Trading skill: Momentum Bot")
    assert "http://127.0.0.1:8000/api/v1" in text
    assert body["agent_id"] in text
    assert body["api_key"][:16] in text and body["api_key"] not in text
    assert "`max_open_orders` | 7 (set by your owner)" in text
    assert "`max_order_size_pct` | 50 |" in text
    assert "POST /trade/order`" in text and "DELETE /trade/orders/open" in text  # primary key: scope trade
    assert "$AGENT_KEY" in text and "client_order_id" in text and "X-RateLimit-Remaining" in text
    assert "INSUFFICIENT_BALANCE" in text and "Buys breakouts." in text
    # any Accept (and none) works
    assert client.get(f"/api/v1/agents/{body['agent_id']}/skill.md").status_code == 200


def test_skill_md_of_a_read_only_primary_lists_no_writes(client, settings):
    settings.PUBLIC_BASE_URL = "https://paper.example.com/"
    body = create(client)
    AgentKey.objects.filter(agent_id=body["agent_id"]).update(scope="read")
    text = client.get(f"/api/v1/agents/{body['agent_id']}/skill.md").content.decode()
    assert "https://paper.example.com/api/v1" in text
    assert "read-only" in text
    assert "POST /trade/order" not in text and "DELETE" not in text and "POST /backtest" not in text
    assert "GET /trade/orders/open" in text and "GET /backtest/list" in text


def test_skill_md_errors_are_json(client):
    response = client.get("/api/v1/agents/00000000-0000-0000-0000-000000000000/skill.md",
                          HTTP_ACCEPT="text/markdown")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_agent_me_reports_the_key_in_use(agent_factory, agent_client):
    agent, key = agent_factory(name="me-bot")
    response = agent_client(key).get("/api/v1/agents/me")
    assert response.status_code == 200
    got = response.json()
    assert got["agent_id"] == str(agent.pk) and got["name"] == "me-bot" and got["scope"] == "trade"
    assert got["key_prefix"] == key[:16] and got["signing"] is False


def test_owner_endpoints_need_a_jwt(api, client):
    body = create(client)
    for url in ["/api/v1/agents", "/api/v1/agents/overview", f"/api/v1/agents/{body['agent_id']}",
                f"/api/v1/agents/{body['agent_id']}/skill.md"]:
        response = api.get(url)
        assert response.status_code == 401, url
        assert response.json()["error"]["code"] == "AUTHENTICATION_FAILED"
    # an agent key is not the owner's token (even the agent's own key)
    api.credentials(HTTP_X_API_KEY=body["api_key"])
    assert api.get(f"/api/v1/agents/{body['agent_id']}").status_code == 401
    assert api.post("/api/v1/agents", {"name": "x"}, format="json").status_code == 401


def test_balances_never_change_outside_the_ledger(client):
    body = create(client, starting_balance="1000")
    client.post(f"/api/v1/agents/{body['agent_id']}/reset", format="json")
    client.post(f"/api/v1/agents/{body['agent_id']}/clone", format="json")
    from trading.wallet import ledger_mismatches

    assert ledger_mismatches() == []
    assert Balance.objects.filter(wallet__agent_id=body["agent_id"]).count() == 2


def test_skill_md_refuses_other_media_types_with_a_json_error(client):
    body = create(client)
    response = client.get(f"/api/v1/agents/{body['agent_id']}/skill.md", HTTP_ACCEPT="application/json")
    assert response.status_code == 406
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "NOT_ACCEPTABLE"


def test_skill_md_quotes_the_configured_base_fees(client, settings):
    settings.FEE_TIERS = [{"min_volume_30d": "1000000", "maker_bps": "6", "taker_bps": "8"},
                          {"min_volume_30d": "0", "maker_bps": "8", "taker_bps": "10"}]
    body = create(client)
    text = client.get(f"/api/v1/agents/{body['agent_id']}/skill.md").content.decode()
    assert "maker 0.08 %, taker 0.1 % at the base tier" in text
