import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(account_factory):
    return account_factory().account


@pytest.fixture
def staff(account_factory):
    account = account_factory(email="staff@example.com").account
    account.is_staff = True
    account.save(update_fields=["is_staff"])
    return account
