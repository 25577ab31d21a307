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
