"""pytest plugin (pytest.ini: ``-p common.pytest_secrets``): fresh secrets for each test session.

Loaded before pytest-django imports the settings, which refuse to start on PostgreSQL without a signing key and a
field-encryption key of their own. Set in ``os.environ`` so the processes the tests start (uvicorn, Celery workers)
share them. Keys already in the environment are kept.
"""

import os
import secrets

from cryptography.fernet import Fernet

os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(64))
os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
