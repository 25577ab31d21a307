"""API keys and secrets: random, shown once, stored as a SHA-256 hash with a short indexed prefix for lookup.

Keys carry 256 bits of randomness, so a fast hash is enough (as GitHub and Stripe do); Django's deliberately slow
password hashers would cost tens of milliseconds on every request for no gain.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "ak_live_"
SECRET_PREFIX = "sk_live_"
LOOKUP_LENGTH = 8  # characters after the "ak_live_" marker that are stored in clear and indexed


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    lookup: str
    digest: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def lookup_of(plaintext: str, marker: str = KEY_PREFIX) -> str | None:
    if not plaintext.startswith(marker) or len(plaintext) < len(marker) + LOOKUP_LENGTH + 16:
        return None
    return plaintext[len(marker): len(marker) + LOOKUP_LENGTH]


def new_key(marker: str = KEY_PREFIX) -> NewKey:
    plaintext = marker + secrets.token_urlsafe(32)
    return NewKey(plaintext=plaintext, lookup=lookup_of(plaintext, marker), digest=hash_key(plaintext))


def new_secret(marker: str = SECRET_PREFIX) -> str:
    return marker + secrets.token_urlsafe(32)


def digest_matches(plaintext: str, digest: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), digest)
