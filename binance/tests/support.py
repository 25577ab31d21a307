"""Helpers of the Binance door's tests: a signing key, and signed requests built exactly as Binance specifies."""

import hashlib
import hmac
import time
from urllib.parse import urlencode

import pytest

PREFIX = "/binance/api/v3"


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_query(secret: str, params: dict, *, timestamp: int | None = None) -> str:
    """``k=v&...&timestamp=..&signature=..`` (signature over everything before it)."""
    query = urlencode({**params, "timestamp": timestamp if timestamp is not None else int(time.time() * 1000)})
    return f"{query}&signature={sign(secret, query)}"


class BinanceClient:
    """A DRF APIClient speaking Binance: X-MBX-APIKEY, signed query (GET/DELETE) or form body (POST)."""

    def __init__(self, api, key: str, secret: str | None):
        self.api, self.key, self.secret = api, key, secret

    def public(self, path: str, **params):
        return self.api.get(f"{PREFIX}/{path}", params)

    def signed(self, method: str, path: str, params: dict | None = None, **kw):
        query = signed_query(self.secret or "no-secret", params or {}, **kw)
        headers = {"HTTP_X_MBX_APIKEY": self.key}
        if method == "POST":
            return self.api.post(f"{PREFIX}/{path}", data=query, content_type="application/x-www-form-urlencoded",
                                 **headers)
        return getattr(self.api, method.lower())(f"{PREFIX}/{path}?{query}", **headers)


@pytest.fixture
def binance_trader(trader, api):
    """``binance_trader(scope="trade", signing=True, **key_kwargs)`` -> (agent, BinanceClient, native client, wallet).

    The native client uses the agent's primary key (X-API-Key); the Binance client a second key of the same agent,
    with a signing secret unless ``signing=False``.
    """
    from rest_framework.test import APIClient

    from agents.services import agent_key_issue

    def make(*, scope="trade", signing=True, **kwargs):
        agent, native, wallet = trader()
        issued = agent_key_issue(agent=agent, scope=scope, signing=signing, **kwargs)
        return agent, BinanceClient(APIClient(), issued.api_key, issued.signing_secret), native, wallet

    return make


def server_env(namespace: dict, **extra) -> dict:
    """Environment of a server (or bot) process sharing the test session's Redis prefixes and Celery queue."""
    return {"MARKET_KEY_PREFIX": namespace["MARKET_KEY_PREFIX"], "TRADING_KEY_PREFIX": namespace["TRADING_KEY_PREFIX"],
            "CELERY_TASK_DEFAULT_QUEUE": namespace["queue"], "RATE_LIMIT_ANONYMOUS": "100000",
            "RATE_LIMIT_PER_KEY": "100000", **extra}


@pytest.fixture(scope="session")
def binance_server(django_db_setup, django_db_blocker, trading_namespace):
    """The project under uvicorn, as ``bin/run`` serves it, on the test database and the session's Redis prefixes."""
    from streams.tests.support import ServerProcess

    with django_db_blocker.unblock():
        server = ServerProcess(name="binance", env=server_env(trading_namespace)).start()
    yield server
    server.stop()


def ccxt_config(base_url: str, key: str, secret: str) -> dict:
    """What docs/bring-your-bot.md tells a ccxt user to write (plus no client-side throttle in tests)."""
    api = f"{base_url}/binance/api/v3"
    return {"apiKey": key, "secret": secret, "enableRateLimit": False,
            "urls": {"api": {"public": api, "private": api}},
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}}


@pytest.fixture
def ccxt_exchange(binance_server, binance_trader):
    """``ccxt_exchange(**key_kwargs)`` -> (ccxt.binance pointed at the test server, agent, native client, wallet)."""
    import ccxt

    def make(**kwargs):
        agent, bc, native, wallet = binance_trader(**kwargs)
        exchange = ccxt.binance(ccxt_config(binance_server.base, bc.key, bc.secret or "no-secret"))
        return exchange, agent, native, wallet

    return make
