"""Secrets kept encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256), with key rotation (MultiFernet).

``settings.FIELD_ENCRYPTION_KEYS`` (env ``FIELD_ENCRYPTION_KEY``, comma separated): the first key encrypts, every key
decrypts. To rotate: put a new key first and keep the old ones after it; ``manage.py rotate_field_encryption``
re-encrypts every stored secret with the first key, after which the old keys can be dropped. The key is independent
of ``SECRET_KEY``: knowing the signing key reveals nothing stored.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """``token`` re-encrypted with the first key (MultiFernet.rotate: decrypts with any key)."""
    return _fernet().rotate(token.encode()).decode()
