"""A validated access token is reused per process until its exp (accounts/authentication.py): the same answers as
validating it every time."""

import time
from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken

from accounts import authentication

pytestmark = pytest.mark.django_db
AGENTS = "/api/v1/agents"


@pytest.fixture(autouse=True)
def _empty_cache():
    authentication._validated.clear()
    yield
    authentication._validated.clear()


def _get(token: str):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api.get(AGENTS)


def test_a_token_is_decoded_once_then_reused(account_factory, monkeypatch):
    token = str(AccessToken.for_user(account_factory().account))
    decodes = []
    real = TokenBackend.decode
    monkeypatch.setattr(TokenBackend, "decode", lambda self, *a, **k: decodes.append(1) or real(self, *a, **k))
    assert _get(token).status_code == 200
    assert _get(token).status_code == 200
    assert len(decodes) == 1


def test_an_expired_token_is_refused_even_when_it_was_cached(account_factory):
    access = AccessToken.for_user(account_factory().account)
    access.set_exp(lifetime=timedelta(seconds=1))
    token = str(access)
    assert _get(token).status_code == 200
    time.sleep(1.2)
    r = _get(token)
    assert r.status_code == 401
    assert r.json()["error"]["code"] in ("TOKEN_NOT_VALID", "AUTHENTICATION_FAILED", "NOT_AUTHENTICATED")


def test_a_tampered_token_is_refused_after_its_original_was_cached(account_factory):
    token = str(AccessToken.for_user(account_factory().account))
    assert _get(token).status_code == 200
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    assert _get(forged).status_code == 401


def test_a_disabled_account_is_refused_with_a_cached_token(account_factory):
    """The cache holds the token's validation only; the account is still loaded and checked per request."""
    account = account_factory().account
    token = str(AccessToken.for_user(account))
    assert _get(token).status_code == 200
    account.is_active = False
    account.save(update_fields=["is_active"])
    assert _get(token).status_code == 401
