import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Registration hashes a password and an API secret with PBKDF2 (by design slow); these tests are about the
    API around it, so a fast hasher keeps them quick. Behaviour is the same: Django picks the hasher by setting."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
