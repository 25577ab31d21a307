"""GET /account/info and GET /account/balance, as an agent's key sees them."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.services import agent_key_issue
from trading.models import Wallet
from trading.wallet import Movement, current_wallet, wallet_open, wallet_post

pytestmark = pytest.mark.django_db


def test_info_describes_the_agent_its_key_and_its_effective_limits(agent_factory, agent_client):
    agent, key = agent_factory(name="alpha", starting_balance=Decimal("2500"),
                               risk_config={"max_open_orders": 7, "daily_loss_limit_pct": "12.5"})
    r = agent_client(key).get("/api/v1/account/info")
    assert r.status_code == 200, r.content
    body = r.json()
    wallet = current_wallet(agent)
    assert body["agent_id"] == str(agent.pk)
    assert body["name"] == "alpha" and body["status"] == "active"
    assert key.startswith(body["key_prefix"]) and body["key_prefix"].startswith("ak_live_")
    assert len(body["key_prefix"]) < len(key) - 16  # a prefix, never the key
    assert body["key_scope"] == "trade"
    assert body["wallet_id"] == str(wallet.pk) and body["epoch"] == 0
    assert body["starting_balance"] == "2500.00000000"
    assert body["risk_limits"] == {
        "max_order_size_pct": "50", "max_position_size_pct": "25", "daily_loss_limit_pct": "12.5",
        "max_open_orders": 7, "min_order_size_usd": "1", "order_rate_limit": 100,
    }
    assert body["created_at"].endswith("Z") or "+00:00" in body["created_at"]


def test_info_shows_the_scope_of_the_key_in_use(agent_factory, agent_client):
    agent, _ = agent_factory()
    read_key = agent_key_issue(agent=agent, scope="read", name="ro")
    body = agent_client(read_key.api_key).get("/api/v1/account/info").json()
    assert body["key_scope"] == "read"
    assert body["key_prefix"] == read_key.key.display_prefix


def test_balance_of_a_fresh_agent(agent_factory, agent_client):
    agent, key = agent_factory(starting_balance=Decimal("10000"))
    r = agent_client(key).get("/api/v1/account/balance")
    assert r.status_code == 200, r.content
    assert r.json() == {
        "wallet_id": str(current_wallet(agent).pk), "epoch": 0,
        "balances": [{"asset": "USDT", "available": "10000.00000000", "locked": "0.00000000",
                      "total": "10000.00000000"}],
        "total_equity_usdt": "10000.00000000", "unpriced_assets": [],
    }


def test_balance_shows_locked_funds_and_every_asset_as_strings(agent_factory, agent_client):
    agent, key = agent_factory(starting_balance=Decimal("1000"))
    wallet = current_wallet(agent)
    wallet_post(wallet=wallet, movements=[Movement("USDT", available=Decimal("-250.5"), locked=Decimal("250.5"))],
                reason="order_lock")
    wallet_post(wallet=wallet, movements=[Movement("USDT", available=Decimal("-100")),
                                          Movement("BTC", available=Decimal("0.00150000"))], reason="fill")
    body = agent_client(key).get("/api/v1/account/balance").json()
    assert body["balances"] == [
        {"asset": "BTC", "available": "0.00150000", "locked": "0.00000000", "total": "0.00150000"},
        {"asset": "USDT", "available": "649.50000000", "locked": "250.50000000", "total": "900.00000000"},
    ]
    # USDT counts at 1; BTC at its last price when the market app knows one, else it is listed as unpriced.
    if body["unpriced_assets"]:
        assert body["unpriced_assets"] == ["BTC"] and body["total_equity_usdt"] == "900.00000000"
    else:
        assert Decimal(body["total_equity_usdt"]) > Decimal("900")


def test_balance_follows_the_current_wallet_after_a_reset(agent_factory, agent_client):
    agent, key = agent_factory(starting_balance=Decimal("1000"))
    old = current_wallet(agent)
    Wallet.objects.filter(pk=old.pk).update(retired_at=old.created_at)
    new = wallet_open(agent=agent, starting_balance=Decimal("5000"), epoch=1, reason="reset")
    body = agent_client(key).get("/api/v1/account/balance").json()
    assert body["wallet_id"] == str(new.pk) and body["epoch"] == 1
    assert body["total_equity_usdt"] == "5000.00000000"
    assert agent_client(key).get("/api/v1/account/info").json()["wallet_id"] == str(new.pk)


def test_balance_is_cheap_one_query_for_the_key_and_one_for_the_balances(agent_factory, agent_client):
    _, key = agent_factory()
    client = agent_client(key)
    client.get("/api/v1/account/balance")  # the first use writes last_used_at (once a minute at most)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/account/balance").status_code == 200
    assert len(queries) == 2, [q["sql"] for q in queries]


@pytest.mark.parametrize("path", ["/api/v1/account/info", "/api/v1/account/balance"])
def test_account_endpoints_need_an_agent_key(path, api, account_factory, jwt_client):
    r = api.get(path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTHENTICATION_FAILED"
    r = api.get(path, HTTP_X_API_KEY="ak_live_" + "x" * 43)
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTHENTICATION_FAILED"
    # An account's JWT is not an agent: it has no wallet to show.
    r = jwt_client(account_factory().account).get(path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTHENTICATION_FAILED"


def test_a_read_scoped_key_may_read_the_balance(agent_factory, agent_client):
    agent, _ = agent_factory()
    read_key = agent_key_issue(agent=agent, scope="read")
    assert agent_client(read_key.api_key).get("/api/v1/account/balance").status_code == 200


def test_one_agent_never_sees_another_agents_wallet(agent_factory, agent_client):
    a, key_a = agent_factory(starting_balance=Decimal("111"))
    b, key_b = agent_factory(starting_balance=Decimal("222"))
    assert agent_client(key_a).get("/api/v1/account/balance").json()["total_equity_usdt"] == "111.00000000"
    assert agent_client(key_b).get("/api/v1/account/balance").json()["total_equity_usdt"] == "222.00000000"


@pytest.fixture
def market_prices(settings):
    """Real prices through the market app: its default pairs, and ticks written under a Redis prefix of our own."""
    import uuid

    from market.prices import instruments_cache_clear
    from market.services import ensure_default_pairs
    from market.ticks import publish_tick

    settings.MARKET_KEY_PREFIX = f"test-{uuid.uuid4().hex[:12]}"
    ensure_default_pairs()
    instruments_cache_clear()
    yield lambda symbol, price: publish_tick(symbol=symbol, price=Decimal(price), source="synthetic")
    instruments_cache_clear()


def test_equity_values_each_asset_at_its_last_price(agent_factory, agent_client, market_prices):
    agent, key = agent_factory(starting_balance=Decimal("1000"))
    wallet = current_wallet(agent)
    wallet_post(wallet=wallet, movements=[Movement("USDT", available=Decimal("-500")),
                                          Movement("BTC", available=Decimal("0.01"))], reason="fill")
    wallet_post(wallet=wallet, movements=[Movement("ETH", available=Decimal("0.25"))], reason="adjustment")
    wallet_post(wallet=wallet, movements=[Movement("NOPE", available=Decimal("7"))], reason="adjustment")
    market_prices("BTCUSDT", "60000.50")
    body = agent_client(key).get("/api/v1/account/balance").json()
    # 500 USDT + 0.01 BTC x 60000.50; ETH has no price yet and NOPE is no pair: both listed, left out.
    assert body["total_equity_usdt"] == "1100.00500000"
    assert body["unpriced_assets"] == ["ETH", "NOPE"]
    market_prices("ETHUSDT", "3000")
    body = agent_client(key).get("/api/v1/account/balance").json()
    assert body["total_equity_usdt"] == "1850.00500000" and body["unpriced_assets"] == ["NOPE"]
