"""``bin/run`` as an operator meets it, embedded mode (no DATABASE_URL / REDIS_URL, a var/ dir of the test's own):
it restarts a process that dies, and SIGTERM (docker stop, systemd) or Ctrl-C (SIGINT to the foreground process
group) stops every process it started within 10 s.

Before: a dead sweeper stopped the whole platform (``wait -n``), and SIGTERM to the group left the Celery worker stuck
after "Warm shutdown" until SIGKILL.
"""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from common.testing import wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> dict | None:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
    except httpx.HTTPError:
        return None
    return r.json() if r.status_code == 200 else None


def _demo_battle_live(port: int, var: Path) -> None:
    """The seeded demo battle's /live answers in embedded mode (its PostgreSQL statement is not SQLite's: it
    answered 503 there until the ORM fallback in battles.selectors.battle_live_body)."""
    creds = json.loads((var / "demo-credentials.json").read_text())
    base = f"http://127.0.0.1:{port}/api/v1"
    token = httpx.post(f"{base}/auth/user-login", json={"email": creds["email"], "password": creds["password"]},
                       timeout=10).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    battles = wait_until(lambda: httpx.get(f"{base}/battles", headers=headers, timeout=10).json(), timeout=30,
                         interval=0.5)
    r = httpx.get(f"{base}/battles/{battles[0]['id']}/live", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["battle_id"] == battles[0]["id"]


def _sweepers(pid: int) -> set[int]:
    return {p for p in descendants(pid) if "run_sweeper" in cmdline(p) and "bash" not in cmdline(p)}


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_bin_run_restarts_a_dead_process_and_stops_everything_within_10s(stop_signal, tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(PLATFORM_VAR_DIR=str(tmp_path / "var"), PORT=str(port), FEED_SOURCE="synthetic",
               HEARTBEAT_SECONDS="1", HEARTBEAT_TTL_SECONDS="5", WORKER_CONCURRENCY="1", LOG_LEVEL="WARNING")
    log = open(tmp_path / "run.log", "w")
    proc = subprocess.Popen([str(ROOT / "bin" / "run")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # a process group of its own, as a terminal or docker gives it
    started: list[int] = []
    try:
        up = wait_until(lambda: (_health(port) or {}).get("status") in ("ok", "degraded")
                        and not _health(port)["checks"]["processes"]["silent"], timeout=90, interval=0.5)
        assert up, f"the platform did not come up: {_health(port)}\n{(tmp_path / 'run.log').read_text()[-3000:]}"

        if stop_signal == signal.SIGTERM:  # once is enough: a dead process is restarted, the rest keep running
            _demo_battle_live(port, tmp_path / "var")
            (sweeper,) = _sweepers(proc.pid)
            os.kill(sweeper, signal.SIGKILL)
            restarted = wait_until(lambda: _sweepers(proc.pid) - {sweeper}, timeout=15, interval=0.2)
            assert restarted, (tmp_path / "run.log").read_text()[-3000:]
            assert wait_until(lambda: (tmp_path / "run.log").read_text().count("run_sweeper: window") == 2,
                              timeout=20, interval=0.2)  # the new one is running (its signal handler is set)
            assert proc.poll() is None and _health(port) is not None

        started = descendants(proc.pid)
        assert len([p for p in started if "python" in cmdline(p)]) >= 5  # web, worker (+ pool), beat, feed, sweeper
        t0 = time.monotonic()
        os.killpg(proc.pid, stop_signal)
        gone = wait_until(lambda: proc.poll() is not None and not any(alive(p) for p in started), timeout=12,
                          interval=0.1)
        elapsed = time.monotonic() - t0
        left = [(p, cmdline(p)) for p in started if alive(p)]
        assert gone and elapsed < 10, f"{elapsed:.1f} s, still running: {left}"
    finally:
        for pid in [proc.pid, *started, *descendants(proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        proc.wait(10)
        log.close()
    output = (tmp_path / "run.log").read_text()
    # Each child was asked first (a warm shutdown); one still running after STOP_TIMEOUT (7 s) is SIGKILLed, which
    # an idle embedded worker under load can need (its file-system broker polls in 2 s slices).
    assert "worker: Warm shutdown" in output and "price feed stopped" in output and "run_sweeper: stopped" in output
