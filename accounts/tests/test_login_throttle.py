"""Failed logins are limited per account, whatever address they come from (429 RATE_LIMITED + Retry-After)."""

import pytest

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
USER_LOGIN = "/api/v1/auth/user-login"
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _three_failures(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900


def _user_login(api, email, password, ip):
    return api.post(USER_LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


def _key_login(api, api_key, api_secret, ip):
    return api.post(LOGIN, {"api_key": api_key, "api_secret": api_secret}, format="json", REMOTE_ADDR=ip)


def _assert_locked_out(response):
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 900
    assert response.json()["error"]["details"]["retry_after"] == retry_after


def test_failed_passwords_from_many_addresses_lock_the_account_out_of_both_logins(api, account_factory):
    registered = account_factory(email="ada@example.com")
    for i in range(3):
        assert _user_login(api, "ada@example.com", f"wrong-{i}", f"198.51.100.{i}").status_code == 401
    # The right password from yet another address is refused too, on both logins: guessing has stopped paying.
    _assert_locked_out(_user_login(api, "ADA@example.com", PASSWORD, "203.0.113.9"))
    _assert_locked_out(_key_login(api, registered.api_key, registered.api_secret, "203.0.113.10"))
    # Another account is not affected, even from the attacker's addresses.
    other = account_factory(email="bob@example.com")
    assert _user_login(api, "bob@example.com", PASSWORD, "198.51.100.0").status_code == 200
    assert _key_login(api, other.api_key, other.api_secret, "198.51.100.1").status_code == 200


def test_failed_secrets_on_the_key_login_count_for_the_account(api, account_factory):
    registered = account_factory()
    for i in range(3):
        assert _key_login(api, registered.api_key, f"sk_live_wrong{i}", f"198.51.100.{i}").status_code == 401
    _assert_locked_out(_key_login(api, registered.api_key, registered.api_secret, "203.0.113.9"))


def test_fewer_failures_than_the_limit_do_not_stand_in_the_way(api, account_factory):
    account_factory(email="ada@example.com")
    for i in range(2):
        assert _user_login(api, "ada@example.com", "wrong", "198.51.100.1").status_code == 401
    assert _user_login(api, "ada@example.com", PASSWORD, "198.51.100.1").status_code == 200
    assert _user_login(api, "ada@example.com", PASSWORD, "198.51.100.1").status_code == 200  # successes not counted


def test_an_unknown_email_answers_like_a_known_one(api):
    for i in range(3):
        assert _user_login(api, "nobody@example.com", "wrong", f"198.51.100.{i}").status_code == 401
    _assert_locked_out(_user_login(api, "nobody@example.com", "wrong", "198.51.100.9"))
