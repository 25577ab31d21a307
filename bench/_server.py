"""Start and stop a production-style server of the platform for a benchmark.

    with ProductionServer(kind="gthread", env={"RATE_LIMIT_PER_KEY": "1000000000"}) as server:
        ...  # server.url, server.host, server.port

It runs what production runs (gunicorn, ``DEBUG=False``, PostgreSQL and Redis from ``DATABASE_URL`` /
``REDIS_URL``, persistent database connections) on a free port of 127.0.0.1, migrates the database first if it
needs it, waits until ``/api/v1/health/live`` answers, and on exit stops the server it started (by its pid, then
its process group if it lingers). Kinds:

* ``gthread``: gunicorn WSGI workers with threads (keep-alive connections, Django's sync stack end to end);
* ``uvicorn``: gunicorn with uvicorn's ASGI workers (how ``bin/run`` serves, for the streams; ``config/asgi.py``
  turns persistent database connections off, as Django requires under ASGI);
* ``sync``: gunicorn's classic sync workers (one request at a time per worker, no keep-alive).
"""

import base64
import os
import signal
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/platform"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(extra: dict | None = None) -> dict:
    """The environment of the platform's processes: PostgreSQL and Redis (never the embedded mode) and no DEBUG."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    env["DJANGO_DEBUG"] = "false"
    # production settings refuse to start without a signing key: a throwaway one per bench run
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(64))
    env.setdefault("FIELD_ENCRYPTION_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())  # a Fernet key
    env.setdefault("LOG_LEVEL", "WARNING")
    env.update(extra or {})
    return env


def migrate(env: dict) -> None:
    """``manage.py migrate`` if any migration is unapplied (cheap when there is nothing to do)."""
    check = subprocess.run([PYTHON, "manage.py", "migrate", "--check"], cwd=ROOT, env=env, capture_output=True)
    if check.returncode != 0:
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def gunicorn_command(kind: str, port: int, workers: int, threads: int) -> list[str]:
    base = [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--log-level", "warning", "--keep-alive", "30", "--backlog", "2048"]
    if kind == "gthread":
        return base + ["--worker-class", "gthread", "--threads", str(threads), "config.wsgi:application"]
    if kind == "sync":
        return base + ["--worker-class", "sync", "config.wsgi:application"]
    if kind == "uvicorn":
        return base + ["--worker-class", "uvicorn.workers.UvicornWorker", "config.asgi:application"]
    raise ValueError(f"unknown server kind {kind!r}")


# --- CPU accounting: what a request costs, whatever else the machine is doing -----------------------------------------
_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rpartition(")")[2].split()[1]) == pid:
                        out.append(int(entry))
            except OSError:
                continue
    return out


def postgres_backends(database_url: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected to this database (the server's persistent connections)."""
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()").fetchall()
    return [r[0] for r in rows]


class CpuMeter:
    """CPU seconds spent by the server's processes and its PostgreSQL backends between ``start()`` and ``stop()``.

    On a shared machine wall-clock throughput says as much about the neighbours as about the code; CPU time per
    request does not. (Redis is left out: one server shared with others, and both endpoints make the same single
    round trip to it.)
    """

    def __init__(self, server: "ProductionServer"):
        self.server = server

    def _pids(self) -> dict[str, list[int]]:
        return {"server": [self.server.process.pid, *children_of(self.server.process.pid)],
                "postgres": postgres_backends(self.server.env["DATABASE_URL"])}

    def _sample(self, pids) -> dict[str, dict[int, float]]:
        return {part: {pid: process_cpu_seconds(pid) for pid in group} for part, group in pids.items()}

    def start(self) -> None:
        self._before = self._sample(self._pids())

    def stop(self) -> dict[str, float]:
        after = self._sample(self._pids())
        return {part: sum(cpu - self._before[part].get(pid, 0.0) for pid, cpu in after[part].items())
                for part in after}


class ProductionServer:
    def __init__(self, *, kind: str = "gthread", workers: int = 2, threads: int = 8, env: dict | None = None,
                 startup_timeout: float = 60.0):
        self.kind, self.workers, self.threads = kind, workers, threads
        self.env = service_env(env)
        self.startup_timeout = startup_timeout
        self.host, self.port = "127.0.0.1", free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> "ProductionServer":
        migrate(self.env)
        self.process = subprocess.Popen(gunicorn_command(self.kind, self.port, self.workers, self.threads),
                                        cwd=ROOT, env=self.env, start_new_session=True)
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode} while starting")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health/live", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {self.startup_timeout} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown stops its own workers
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only what it started
            self.process.wait(timeout=5)

    def __exit__(self, *exc) -> None:
        self.stop()
