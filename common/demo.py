"""The demo's freshly issued credentials, kept for the landing page of a developer's own machine.

Keys are stored only as hashes, so ``seed_demo`` hands what it printed to this file (owner-only permissions); the
landing page reads it back under the conditions of ``demo_credentials_visible``.
"""

import ipaddress
import json
import os

from django.conf import settings


def demo_credentials_write(data: dict) -> None:
    """Write atomically with mode 0600 (never world-readable, not even for a moment)."""
    path = settings.DEMO_CREDENTIALS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def demo_credentials_read() -> dict | None:
    try:
        return json.loads(settings.DEMO_CREDENTIALS_FILE.read_text())
    except (OSError, ValueError):
        return None


def demo_credentials_visible(request) -> bool:
    """Shown only with ``LANDING_SHOW_DEMO_KEYS`` (default: embedded mode or DEBUG) to a loopback client."""
    if not settings.LANDING_SHOW_DEMO_KEYS:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False
