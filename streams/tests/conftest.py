"""Fixtures of the stream and webhook tests: a uvicorn server process, a webhook worker, agents with keys.

Fills come from the trading core's own session worker (``trading.tests.orders_support.celery_worker``); webhook
deliveries go to a queue of their own (``WEBHOOK_QUEUE``), consumed here by a worker that may reach 127.0.0.1.
"""

import pytest

from streams.tests.support import Receiver, ServerProcess
from trading.tests.orders_support import (  # noqa: F401 - fixtures shared with the trading core's tests
    WorkerProcess,
    celery_worker,
    market,
    set_market,
    trading_namespace,
)

HEARTBEAT_SECONDS = 1.0
REAUTH_SECONDS = 1.0
WEBHOOK_RETRY_BASE_SECONDS = 0.5


def _server(namespace: dict, name: str, **env) -> ServerProcess:
    return ServerProcess(name=name, env={**namespace, "STREAMS_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
                                         "STREAMS_REAUTH_SECONDS": str(REAUTH_SECONDS), **env}).start()


@pytest.fixture(scope="session")
def stream_server(django_db_setup, django_db_blocker, trading_namespace):
    """The project under uvicorn (Redis bus), with 1 s heartbeats and credential re-checks."""
    with django_db_blocker.unblock():
        server = _server(trading_namespace, "redis")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def outbox_server(django_db_setup, django_db_blocker, trading_namespace):
    """The same, in embedded-style outbox mode: no pub/sub, the server polls streams_outboxevent."""
    with django_db_blocker.unblock():
        server = _server(trading_namespace, "outbox", STREAMS_BUS="outbox", STREAMS_OUTBOX_POLL_MS="50")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def webhook_worker(django_db_setup, django_db_blocker, trading_namespace):
    from django.conf import settings

    from config.celery_app import app

    with django_db_blocker.unblock():
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(settings.WEBHOOK_QUEUE)  # an earlier run's leftovers
        worker = WorkerProcess(namespace=trading_namespace, queues=settings.WEBHOOK_QUEUE, extra_env={
            "WEBHOOK_ALLOW_PRIVATE": "1", "WEBHOOK_RETRY_BASE_SECONDS": str(WEBHOOK_RETRY_BASE_SECONDS),
            "WEBHOOK_TIMEOUT_SECONDS": "2"}).start()
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Registering an account hashes a password and an API secret with PBKDF2 (~1 s); these tests are not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def allow_private_webhooks(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def agent_key(agent_factory, agent_client):
    """``agent_key(**kw)`` -> (agent, plaintext key, APIClient with that key)."""

    def make(**kwargs):
        agent, key = agent_factory(**kwargs)
        return agent, key, agent_client(key)

    return make


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs) -> Receiver:
        r = Receiver(**kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()
