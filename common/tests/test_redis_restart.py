"""The Celery worker and the price feed outlive a Redis restart (a real redis-server of the test's own, SIGKILLed and
started again on the same port): they reconnect with backoff instead of exiting. (run_sweeper: trading/tests;
the stream hub: streams/tests.)"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from common.testing import RedisServer, wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _env(redis_server: RedisServer, **extra) -> dict:
    from django.db import connection

    db = connection.settings_dict
    return {**os.environ, "REDIS_URL": redis_server.url, "LOG_LEVEL": "INFO", "CELERY_TASK_ALWAYS_EAGER": "0",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            **extra}


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def test_worker_consumes_again_after_redis_restarts(redis_server, tmp_path):
    from celery import Celery

    queue = f"rr-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-c", "1", "-Q", queue,
             "-n", f"{queue}@localhost", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=ROOT, env=_env(redis_server), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    # A producer on the throwaway Redis; not the current app, or every later `.delay()` in this process would go there.
    client = Celery(broker=redis_server.url, set_as_current=False)
    try:
        assert wait_until(lambda: "ready." in log_path.read_text(), timeout=60, interval=0.2), log_path.read_text()
        redis_server.stop()
        time.sleep(3)
        assert proc.poll() is None, f"the worker died with Redis:\n{log_path.read_text()[-2000:]}"
        redis_server.start()
        marker = client.send_task("trading.recover_executions", queue=queue)
        assert wait_until(lambda: f"{marker.id}] succeeded" in log_path.read_text(), timeout=60, interval=0.3), (
            log_path.read_text()[-3000:])
        assert proc.poll() is None
    finally:
        _stop(proc)


def test_feed_writes_prices_again_after_redis_restarts(redis_server, tmp_path):
    prefix = f"t{uuid.uuid4().hex[:8]}-mkt"
    key = f"{prefix}:px:BTCUSDT"
    log_path = tmp_path / "feed.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_feed", "--source", "synthetic", "--symbols", "BTCUSDT",
             "--interval", "0.2"],
            cwd=ROOT, env=_env(redis_server, MARKET_KEY_PREFIX=prefix), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        assert wait_until(lambda: redis_server.client().hget(key, "p"), timeout=30, interval=0.2), (
            log_path.read_text())
        redis_server.stop()
        time.sleep(3)
        assert proc.poll() is None, f"the feed died with Redis:\n{log_path.read_text()[-2000:]}"
        redis_server.start()  # empty: the feed must write the pair again
        assert wait_until(lambda: redis_server.client().hget(key, "p"), timeout=30, interval=0.2), (
            log_path.read_text()[-3000:])
        assert proc.poll() is None
    finally:
        _stop(proc)
