"""The platform's secrets are its own: no published signing key, a kept random one in embedded mode, and a
field-encryption key independent of the signing key, with rotation."""

import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.fernet import Fernet, InvalidToken

from common import crypto

ROOT = Path(__file__).resolve().parents[2]
OLD_PUBLIC_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
PRINT_SECRETS = ("import django; django.setup(); from django.conf import settings; "
                 "print(settings.SECRET_KEY); print(','.join(settings.FIELD_ENCRYPTION_KEYS))")


def _settings_process(env: dict, *, code: str = PRINT_SECRETS) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DJANGO_DEBUG")}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("signing_key", [None, OLD_PUBLIC_KEY, "change-me", "x7Gq2" * 8, "a" * 64,
                                         "django-insecure-" + "k" * 50])
def test_a_deployment_refuses_to_start_without_a_strong_signing_key(tmp_path, signing_key):
    env = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nowhere", "PLATFORM_VAR_DIR": str(tmp_path),
           "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    if signing_key is not None:
        env["DJANGO_SECRET_KEY"] = signing_key
    result = _settings_process(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr
    assert not (tmp_path / "secret_key").exists()  # no silent fallback to a generated key


def test_a_deployment_refuses_to_start_without_a_field_encryption_key(tmp_path):
    result = _settings_process({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nowhere",
                                "PLATFORM_VAR_DIR": str(tmp_path), "DJANGO_SECRET_KEY": "k" + uuid.uuid4().hex * 2})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "FIELD_ENCRYPTION_KEY" in result.stderr


def test_a_deployment_with_its_own_keys_starts_and_uses_them(tmp_path):
    signing, field = uuid.uuid4().hex * 2, Fernet.generate_key().decode()
    result = _settings_process({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nowhere",
                                "PLATFORM_VAR_DIR": str(tmp_path), "DJANGO_SECRET_KEY": signing,
                                "FIELD_ENCRYPTION_KEY": field})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [signing, field]


def test_embedded_mode_generates_its_secrets_once_keeps_them_0600_and_every_start_reuses_them(tmp_path):
    first = _settings_process({"PLATFORM_VAR_DIR": str(tmp_path)})
    assert first.returncode == 0, first.stderr
    signing, field = first.stdout.split()
    assert len(signing) >= 50 and signing != OLD_PUBLIC_KEY
    Fernet(field.encode())  # a valid Fernet key
    for name in ("secret_key", "field_encryption_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert (tmp_path / "secret_key").read_text().strip() == signing
    second = _settings_process({"PLATFORM_VAR_DIR": str(tmp_path)})
    assert second.stdout.split() == [signing, field]
    # Another checkout (another var/) gets secrets of its own.
    other = _settings_process({"PLATFORM_VAR_DIR": str(tmp_path / "other")})
    assert set(other.stdout.split()).isdisjoint({signing, field})


@pytest.mark.django_db
def test_a_jwt_forged_with_the_old_published_key_is_refused(api, account_factory, agent_factory):
    victim = account_factory().account
    agent_factory(account=victim, name="victim-bot")
    now = int(time.time())
    forged = jwt.encode({"token_type": "access", "account_id": str(victim.pk), "jti": uuid.uuid4().hex,
                         "iat": now, "exp": now + 3600}, OLD_PUBLIC_KEY, algorithm="HS256")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = api.get("/api/v1/agents")
    assert response.status_code == 401, response.content


def test_field_encryption_rotates_first_key_encrypts_all_decrypt(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    stored = crypto.encrypt("whsec_the-secret")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # rotation: the new key first, the old one still decrypts
    assert crypto.decrypt(stored) == "whsec_the-secret"
    rotated = crypto.rotate(stored)
    fresh = crypto.encrypt("another")
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key dropped: what was rotated or written since still reads
    assert crypto.decrypt(rotated) == "whsec_the-secret" and crypto.decrypt(fresh) == "another"
    with pytest.raises(InvalidToken):
        crypto.decrypt(stored)


def test_the_field_encryption_key_does_not_follow_the_signing_key(settings):
    stored = crypto.encrypt("sk_signing")
    settings.SECRET_KEY = uuid.uuid4().hex * 2
    assert crypto.decrypt(stored) == "sk_signing"


@pytest.mark.django_db
def test_rotate_field_encryption_re_encrypts_every_stored_secret_with_the_first_key(settings, agent_factory):
    from django.core.management import call_command

    from agents.models import AgentKey
    from agents.services import agent_key_issue
    from streams.models import WebhookEndpoint

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    agent, _ = agent_factory()
    issued = agent_key_issue(agent=agent, signing=True)
    WebhookEndpoint.objects.create(agent=agent, url="https://93.184.215.14/h", event_types=["order.filled"],
                                   secret_encrypted=crypto.encrypt("whsec_x"))
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_field_encryption", stdout=open(os.devnull, "w"))
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(AgentKey.objects.get(pk=issued.key.pk).signing_secret_encrypted) == issued.signing_secret
    assert crypto.decrypt(WebhookEndpoint.objects.get().secret_encrypted) == "whsec_x"
