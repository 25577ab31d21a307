"""``run_sweeper`` outlives a Redis restart: a real redis-server of the test's own, killed and started again.

Before: the sweeper died with a ``ConnectionError`` traceback when Redis went away, and never came back.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from common.testing import RedisServer, wait_until
from market.feed.types import MarketUpdate
from market.ticks import tick_event_json

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]


def _tick(prefix: str, price: str) -> tuple[str, str]:
    update = MarketUpdate(symbol="BTCUSDT", price=Decimal(price), ts_ms=int(time.time() * 1000),
                          received_at=time.time())
    return f"{prefix}:ticks:BTCUSDT", tick_event_json(update, "test")


def _sweeps_sent(server: RedisServer, queue: str, prefix: str, price: str) -> list[dict]:
    """Publish a tick, then read the sweep_symbol messages the sweeper enqueued (Celery's Redis queue is a list)."""
    client = server.client()
    try:
        client.publish(*_tick(prefix, price))
        raw = client.lrange(queue, 0, -1)
    except Exception:  # noqa: BLE001 - Redis still coming up
        return []
    return [json.loads(m) for m in raw]


def test_sweeper_reconnects_after_redis_restarts(redis_server, tmp_path):
    queue, prefix = f"sweep-{uuid.uuid4().hex[:8]}", f"t{uuid.uuid4().hex[:8]}-mkt"
    env = {**os.environ, "REDIS_URL": redis_server.url, "CELERY_TASK_DEFAULT_QUEUE": queue,
           "MARKET_KEY_PREFIX": prefix, "LOG_LEVEL": "WARNING"}
    log = open(tmp_path / "sweeper.log", "w+")
    proc = subprocess.Popen([sys.executable, "manage.py", "run_sweeper", "--symbols", "BTCUSDT", "--window-ms", "50"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        first = wait_until(lambda: _sweeps_sent(redis_server, queue, prefix, "60000.00"), timeout=20, interval=0.2)
        assert first, "the sweeper never enqueued a sweep"
        assert first[0]["headers"]["task"] == "trading.sweep_symbol"

        redis_server.stop()  # a crash: connections reset, nothing saved (the queue is gone with it)
        time.sleep(3)
        assert proc.poll() is None, f"the sweeper died with Redis:\n{open(log.name).read()[-2000:]}"
        redis_server.start()

        after = wait_until(lambda: [m for m in _sweeps_sent(redis_server, queue, prefix, "61000.00")
                                    if "61000.00" in m["headers"].get("argsrepr", "")], timeout=30, interval=0.2)
        assert after, f"no sweep after Redis came back:\n{open(log.name).read()[-2000:]}"
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    output = open(log.name).read()
    assert "reconnecting" in output and "recovered" in output  # one line per outage and one when it ends
    assert "Traceback" not in output
