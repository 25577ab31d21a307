"""Reliability against real processes: a Redis that goes away under a running server (503, nothing written), health
that sees a SIGKILLed worker (degraded, still 200) and a database that is down (503), and a worker that does not log
every sweep at INFO.

Redis outages use a throwaway redis-server of the test's own (common.testing.RedisServer), never the shared one.
"""

import os
import signal
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from common.testing import RedisServer, wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _write_price(server: RedisServer, symbol: str, price: str) -> None:
    import time

    from market.feed.store import PriceWriter
    from market.feed.types import MarketUpdate

    PriceWriter(redis=server.client()).write(
        [MarketUpdate(symbol=symbol, price=Decimal(price), ts_ms=int(time.time() * 1000), received_at=time.time())],
        source="test")


# --- item 8: 503 SERVICE_UNAVAILABLE, never 500, while Redis is down ---------------------------------------------------
def test_redis_down_is_503_with_retry_after_and_nothing_written(redis_server, agent_factory, settings):
    from market.services import ensure_default_pairs
    from streams.tests.support import ServerProcess
    from trading.models import Balance, Order

    ensure_default_pairs()  # a transactional test starts from emptied tables
    prefix = f"t{uuid.uuid4().hex[:8]}-mkt"
    settings.MARKET_KEY_PREFIX = prefix
    _agent, key = agent_factory()
    server = ServerProcess(env={"REDIS_URL": redis_server.url, "MARKET_KEY_PREFIX": prefix,
                                "CELERY_TASK_DEFAULT_QUEUE": f"q-{prefix}"}, name="rel-503").start()
    headers = {"X-API-Key": key}
    order = {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "quantity": "0.001", "price": "30000.00"}
    try:
        _write_price(redis_server, "BTCUSDT", "60000.00")
        assert httpx.get(server.url("/api/v1/market/price/BTCUSDT"), headers=headers, timeout=10).status_code == 200
        balances_before = list(Balance.objects.order_by("pk").values_list("available", "locked"))

        redis_server.stop()
        price = httpx.get(server.url("/api/v1/market/price/BTCUSDT"), headers=headers, timeout=30)
        placed = httpx.post(server.url("/api/v1/trade/order?wait_ms=0"), json=order, headers=headers, timeout=30)
        for r in (price, placed):
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert int(r.headers["Retry-After"]) >= 1
        assert Order.objects.count() == 0  # nothing half-created
        assert list(Balance.objects.order_by("pk").values_list("available", "locked")) == balances_before

        redis_server.start()  # the same server process recovers on its own
        _write_price(redis_server, "BTCUSDT", "60000.00")
        recovered = wait_until(lambda: httpx.get(server.url("/api/v1/market/price/BTCUSDT"), headers=headers,
                                                 timeout=10).status_code == 200, timeout=20, interval=0.5)
        assert recovered
        placed = httpx.post(server.url("/api/v1/trade/order?wait_ms=0"), json=order, headers=headers, timeout=30)
        assert placed.status_code == 201, placed.text
    finally:
        server.stop()
    log = Path(server.log.name).read_text()
    assert "Internal Server Error" not in log


def test_an_uncaught_dependency_error_outside_drf_is_503(redis_server, settings):
    """Django's handler500 (middleware, admin: paths DRF never sees) maps the same errors: one rule, two entries."""
    import redis

    from common.exception_handler import json_500

    try:
        redis.Redis(port=1, socket_connect_timeout=0.5).ping()
    except redis.exceptions.ConnectionError:
        response = json_500(None)
    assert response.status_code == 503 and response["Retry-After"] == str(settings.DEPENDENCY_RETRY_AFTER_SECONDS)
    try:
        raise ValueError("a bug")
    except ValueError:
        assert json_500(None).status_code == 500


# --- item 9: health sees dead processes; degraded is 200, a dead database is 503 -------------------------------------
class Worker:
    """A real ``celery worker`` on the test database and the shared Redis db, on a queue of its own."""

    def __init__(self, *, env: dict, log_path: Path):
        from django.db import connection

        db = connection.settings_dict
        self.queue = f"rel-{uuid.uuid4().hex[:8]}"
        self.log_path = log_path
        self.env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                                                  f"{db['PORT'] or 5432}/{db['NAME']}",
                    "CELERY_TASK_DEFAULT_QUEUE": self.queue, "CELERY_TASK_ALWAYS_EAGER": "0", **env}

    def start(self) -> "Worker":
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-P", "prefork", "-c", "1",
             "-Q", self.queue, "-n", f"{self.queue}@localhost", "--without-gossip", "--without-mingle",
             "--loglevel=INFO"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        assert wait_until(lambda: "ready." in self.log_path.read_text() or self.proc.poll() is not None,
                          timeout=60, interval=0.2)
        assert self.proc.poll() is None, self.log_path.read_text()
        return self

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def test_health_sees_a_sigkilled_worker_as_degraded_not_down(api, settings, tmp_path):
    prefix = f"hb-{uuid.uuid4().hex[:8]}"
    settings.HEARTBEAT_KEY_PREFIX = prefix
    worker = Worker(env={"HEARTBEAT_KEY_PREFIX": prefix, "HEARTBEAT_SECONDS": "0.5", "HEARTBEAT_TTL_SECONDS": "2"},
                    log_path=tmp_path / "worker.log").start()
    try:
        def worker_state():
            return api.get("/api/v1/health").json()["checks"]["processes"]["worker"]["status"]

        assert wait_until(lambda: worker_state() == "ok", timeout=15, interval=0.2)
        pid = api.get("/api/v1/health").json()["checks"]["processes"]["worker"]["pid"]
        assert pid == worker.proc.pid
        worker.kill()
        assert wait_until(lambda: worker_state() == "silent", timeout=10, interval=0.2)
    finally:
        worker.stop()
    r = api.get("/api/v1/health")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "degraded"  # the API stays up for reads and the kill switch
    assert "worker" in body["checks"]["processes"]["silent"]


def test_a_platform_with_no_process_beating_yet_is_degraded(api, settings):
    """A platform that is starting (no heartbeat yet): 200 degraded, not 503 and not an ERROR log line."""
    from common import heartbeat

    settings.HEARTBEAT_KEY_PREFIX = f"hb-{uuid.uuid4().hex[:8]}"
    r = api.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "degraded"
    assert r.json()["checks"]["processes"]["silent"] == list(sorted(heartbeat.ROLES))
    for role in heartbeat.ROLES:
        assert heartbeat.beat(role)
    assert api.get("/api/v1/health").json()["checks"]["processes"]["status"] == "ok"


def test_database_down_is_503_down(tmp_path):
    from streams.tests.support import ServerProcess

    server = ServerProcess(env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nothing"}, name="rel-nodb").start()
    try:
        r = httpx.get(server.url("/api/v1/health"), timeout=30)
        live = httpx.get(server.url("/api/v1/health/live"), timeout=10)
        admin = httpx.get(server.url("/admin/"), cookies={"sessionid": "x" * 32}, timeout=30)  # outside DRF
    finally:
        server.stop()
    assert admin.status_code == 503 and admin.json()["error"]["code"] == "SERVICE_UNAVAILABLE", admin.text[:500]
    assert int(admin.headers["Retry-After"]) >= 1
    assert r.status_code == 503 and r.json()["status"] == "down"
    assert r.json()["checks"]["database"]["status"] == "down"
    assert live.status_code == 200


# --- item 20: the worker does not log every sweep at INFO -------------------------------------------------------------
def test_worker_logs_sweep_failures_but_not_every_sweep_at_info(tmp_path):
    from config.celery_app import app

    log_path = tmp_path / "worker.log"
    worker = Worker(env={"LOG_LEVEL": "INFO"}, log_path=log_path).start()
    try:
        broken = app.send_task("trading.sweep_symbol", args=["BTCUSDT", "not-a-price"], queue=worker.queue)
        quiet = app.send_task("trading.sweep_symbol", args=["BTCUSDT", "60000.00"], queue=worker.queue)
        marker = app.send_task("trading.recover_executions", queue=worker.queue)  # one worker process: FIFO
        assert wait_until(lambda: f"{marker.id}] succeeded" in log_path.read_text(), timeout=30, interval=0.2), (
            log_path.read_text())
    finally:
        worker.stop()
    log = log_path.read_text()
    assert f"trading.recover_executions[{marker.id}] received" in log  # other tasks keep their INFO lines
    assert quiet.id not in log  # neither "received" nor "succeeded" at INFO
    assert f"trading.sweep_symbol[{broken.id}] raised" in log  # failures still show
