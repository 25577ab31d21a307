"""Register, both logins, refresh and logout through HTTP."""

import json

import pytest

from accounts.models import Account

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
USER_LOGIN = "/api/v1/auth/user-login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"

pytestmark = pytest.mark.django_db


def register(api, email="ada@example.com", password="correct-horse-battery", display_name="Ada"):
    return api.post(REGISTER, {"email": email, "password": password, "display_name": display_name}, format="json")


def bearer(api, token):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_register_returns_the_key_pair_once_and_stores_only_hashes(api):
    response = register(api)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "account_id", "api_key", "api_secret"} and body["id"] == body["account_id"]
    assert body["api_key"].startswith("ak_live_") and body["api_secret"].startswith("sk_live_")
    account = Account.objects.get(pk=body["account_id"])
    assert account.email == "ada@example.com" and account.display_name == "Ada"
    stored = " ".join(str(v) for v in Account.objects.filter(pk=account.pk).values().first().values())
    assert body["api_key"] not in stored and body["api_secret"] not in stored
    assert account.check_password("correct-horse-battery")


def test_duplicate_email_is_409_whatever_its_case(api):
    assert register(api).status_code == 201
    response = register(api, email="ADA@Example.com")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EMAIL_TAKEN"
    assert Account.objects.count() == 1


@pytest.mark.parametrize("password", ["short", "password123", "12345678"])
def test_weak_password_is_a_validation_error_naming_the_field(api, password):
    response = register(api, password=password)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "password" in error["details"]["fields"]
    assert not Account.objects.exists()


def test_login_with_the_key_pair_and_with_email_password_both_give_working_tokens(api):
    creds = register(api).json()
    for url, body in [(LOGIN, {"api_key": creds["api_key"], "api_secret": creds["api_secret"]}),
                      (USER_LOGIN, {"email": "Ada@example.com", "password": "correct-horse-battery"})]:
        response = api.post(url, body, format="json")
        assert response.status_code == 200, response.content
        tokens = response.json()
        assert set(tokens) == {"token", "refresh", "expires_in"}
        assert tokens["expires_in"] == 900
        listed = bearer(api, tokens["token"]).get("/api/v1/agents")
        assert listed.status_code == 200 and listed.json() == []
        api.credentials()


@pytest.mark.parametrize("url,body", [
    (LOGIN, {"api_key": "ak_live_" + "x" * 43, "api_secret": "sk_live_nope"}),
    (LOGIN, {"api_key": "not-a-key", "api_secret": "whatever"}),
    (USER_LOGIN, {"email": "ada@example.com", "password": "wrong-password-1"}),
    (USER_LOGIN, {"email": "nobody@example.com", "password": "correct-horse-battery"}),
])
def test_bad_credentials_are_401(api, url, body):
    register(api)
    response = api.post(url, body, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTHENTICATION_FAILED"


def test_right_key_wrong_secret_is_401(api):
    creds = register(api).json()
    response = api.post(LOGIN, {"api_key": creds["api_key"], "api_secret": "sk_live_wrong"}, format="json")
    assert response.status_code == 401


def test_disabled_account_cannot_log_in_or_refresh(api):
    register(api)
    tokens = api.post(USER_LOGIN, {"email": "ada@example.com", "password": "correct-horse-battery"},
                      format="json").json()
    Account.objects.update(is_active=False)
    assert api.post(USER_LOGIN, {"email": "ada@example.com", "password": "correct-horse-battery"},
                    format="json").status_code == 401
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_refresh_gives_a_new_access_token(api):
    register(api)
    tokens = api.post(USER_LOGIN, {"email": "ada@example.com", "password": "correct-horse-battery"},
                      format="json").json()
    response = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_in"}
    assert bearer(api, body["token"]).get("/api/v1/agents").status_code == 200


def test_an_access_token_is_not_a_refresh_token(api):
    register(api)
    tokens = api.post(USER_LOGIN, {"email": "ada@example.com", "password": "correct-horse-battery"},
                      format="json").json()
    assert api.post(REFRESH, {"refresh": tokens["token"]}, format="json").status_code == 401


def test_logout_blacklists_the_refresh_token(api):
    register(api)
    tokens = api.post(USER_LOGIN, {"email": "ada@example.com", "password": "correct-horse-battery"},
                      format="json").json()
    response = api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204 and response.content == b""
    refused = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "AUTHENTICATION_FAILED"
    # logging out again with the dead token is refused the same way
    assert api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_a_stale_bearer_header_does_not_block_the_auth_endpoints(api):
    register(api)
    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    response = api.post(USER_LOGIN, {"email": "ada@example.com", "password": "correct-horse-battery"},
                        format="json")
    assert response.status_code == 200


def test_an_agent_key_is_not_an_account_token(api, agent_factory):
    _, key = agent_factory()
    api.credentials(HTTP_X_API_KEY=key)
    response = api.get("/api/v1/agents")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTHENTICATION_FAILED"


MEGA = "x" * (1024 * 1024)


@pytest.mark.parametrize("url,body", [
    (REGISTER, {}),
    (REGISTER, {"email": "a@example.com", "password": "correct-horse-battery"}),
    (REGISTER, {"email": "not-an-email", "password": "correct-horse-battery", "display_name": "A"}),
    (REGISTER, {"email": 12, "password": ["x"], "display_name": {"a": 1}}),
    (REGISTER, {"email": "a@example.com", "password": "correct-horse-battery", "display_name": MEGA}),
    (REGISTER, {"email": "a@example.com", "password": MEGA, "display_name": "A"}),
    (REGISTER, {"email": "a\u0000@example.com", "password": "correct-horse-battery", "display_name": "A"}),
    (REGISTER, {"email": "a@example.com", "password": "correct-horse-\ud800", "display_name": "A"}),
    (REGISTER, {"email": "a@example.com", "password": "correct-horse-battery", "display_name": "A\u0000"}),
    (REGISTER, [1, 2, 3]),
    (LOGIN, {}),
    (LOGIN, {"api_key": None, "api_secret": None}),
    (LOGIN, {"api_key": MEGA, "api_secret": "s"}),
    (LOGIN, {"api_key": "ak_live_\ud800" + "x" * 40, "api_secret": "s"}),
    (USER_LOGIN, {"email": True, "password": 1.5}),
    (USER_LOGIN, {"email": "a@example.com", "password": MEGA}),
    (REFRESH, {}),
    (REFRESH, {"refresh": [123]}),
    (REFRESH, {"refresh": MEGA}),
    (LOGOUT, {"refresh": ""}),
    (LOGOUT, "just a string"),
])
def test_bad_input_is_a_4xx_envelope(api, url, body):
    # json.dumps escapes lone surrogates as \ud800, as a hostile client would send them
    response = api.generic("POST", url, json.dumps(body), content_type="application/json")
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("url", [REGISTER, LOGIN, USER_LOGIN, REFRESH, LOGOUT])
@pytest.mark.parametrize("raw,content_type", [
    (b'{"email": ', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"[" * 100000, "application/json"),
    (b"email=a@example.com", "application/x-www-form-urlencoded"),
])
def test_malformed_bodies_are_4xx_envelopes(api, url, raw, content_type):
    response = api.generic("POST", url, raw, content_type=content_type)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert "error" in response.json()


def test_a_body_over_the_upload_limit_is_413(api):
    body = json.dumps({"email": "a@example.com", "password": "x" * (3 * 1024 * 1024), "display_name": "A"})
    response = api.generic("POST", REGISTER, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_after_logout_the_access_token_in_hand_dies_within_15_minutes(api):
    """Logout blacklists the refresh token; access tokens are not looked up per request, so their life is short
    (docs/decisions.md, "Hardening: security")."""
    import time

    from rest_framework_simplejwt.tokens import AccessToken

    register(api)
    tokens = api.post(USER_LOGIN, {"email": "ada@example.com", "password": "correct-horse-battery"},
                      format="json").json()
    assert tokens["expires_in"] == 900
    assert api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert AccessToken(tokens["token"])["exp"] - time.time() <= 15 * 60
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401  # no new ones
