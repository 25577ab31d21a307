"""The platform's own secrets: the signing key (SECRET_KEY) and the field-encryption keys (FIELD_ENCRYPTION_KEY).

Imported by ``config.settings``, so it must not import Django settings itself.

* :func:`persistent_secret`: a random secret generated on first start and kept in a file of its own (mode 0600);
  every later start, and every other process of the platform, reads the same one. Creation is atomic (a complete
  file appears under its name or nothing does), so processes starting together agree on one value.
* :func:`insecure_signing_key_reason`: why a configured ``DJANGO_SECRET_KEY`` must not be used (``None`` if fine).
"""

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

# Values that have been published (in this repository's history, docs or compose files) or are placeholders.
KNOWN_INSECURE_SIGNING_KEYS = frozenset({
    "dev-only-insecure-secret-key-change-me-in-production-0123456789",
    "change-me",
    "changeme",
    "secret",
    "django-insecure",
})
MIN_SIGNING_KEY_LENGTH = 50  # what Django's own deployment check (security.W009) asks for


def insecure_signing_key_reason(key: str) -> str | None:
    if not key:
        return "DJANGO_SECRET_KEY is not set"
    if key in KNOWN_INSECURE_SIGNING_KEYS or key.startswith("django-insecure-") or "change-me" in key.lower():
        return "DJANGO_SECRET_KEY is a published or placeholder value"
    if len(key) < MIN_SIGNING_KEY_LENGTH:
        return f"DJANGO_SECRET_KEY is shorter than {MIN_SIGNING_KEY_LENGTH} characters"
    if len(set(key)) < 5:
        return "DJANGO_SECRET_KEY has too few distinct characters"
    return None


def persistent_secret(path: Path, generate: Callable[[], str]) -> str:
    """The secret kept in ``path``, generated (and written with mode 0600) if the file does not exist yet."""
    path = Path(path)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates it with mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(generate() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if another process got there first: then theirs is the secret
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty; delete it to have a new secret generated")
    return value


def new_signing_key() -> str:
    return secrets.token_urlsafe(64)


def new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


if __name__ == "__main__":  # python -m config.secret_keys >> .env : fresh keys for a deployment or a local PostgreSQL
    print(f"DJANGO_SECRET_KEY={new_signing_key()}")
    print(f"FIELD_ENCRYPTION_KEY={new_fernet_key()}")
