"""Real processes and clients for the stream and webhook tests.

- :class:`ServerProcess`: ``uvicorn config.asgi:application`` on a free port, on the test database (the tests use
  ``transactional_db`` so that it sees their rows) and the session's Redis prefixes.
- :class:`SSEClient`: an httpx streaming request read by a thread, parsed into events (and ``:heartbeat`` comments)
  with their arrival times.
- :class:`Receiver`: a local HTTP server in a thread that records webhook POSTs and answers a chosen status.
"""

import http.server
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from common.testing import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class ServerProcess:
    """One uvicorn worker process serving the project, like ``bin/run`` does."""

    def __init__(self, *, env: dict, name: str = "server", args: tuple[str, ...] = ()):
        self.name = name
        self.args = tuple(args)  # extra uvicorn options
        self.port = free_port()
        self.env = {**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING", **env}
        self.proc = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        self.log = open(ROOT / "var" / f"streams-test-{self.name}.log", "w")  # the last session's, for post-mortems
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--timeout-graceful-shutdown", "2", *self.args],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.proc.returncode}; see {self.log.name}")
            try:
                httpx.get(self.url("/api/v1/stream/user"), timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not start")

    def status(self) -> dict:
        """The server process's /proc status fields (VmRSS, Threads...)."""
        fields = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        return fields

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "log", None):
            self.log.close()


@dataclass
class Event:
    event: str  # snapshot | delta | error | heartbeat
    data: dict = field(default_factory=dict)
    id: str | None = None
    at: float = 0.0  # time.time() of arrival

    @property
    def seq(self) -> int:
        return self.data["event_seq"]

    @property
    def payload(self) -> dict:
        return self.data["payload"]


class SSEClient:
    """Reads one SSE response in a thread. ``with SSEClient(url, headers) as s: s.next("snapshot")``."""

    def __init__(self, url: str, headers: dict | None = None):
        self.url = url
        self.headers = headers or {}
        self.events: queue.Queue = queue.Queue()
        self.seen: list[Event] = []
        self.status_code: int | None = None
        self.response_headers = None
        self._opened = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=None))
        self._response = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self.ended = threading.Event()

    def __enter__(self):
        self._thread.start()
        if not self._opened.wait(10):
            raise AssertionError("the stream did not open")
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Drop the connection now (as a client going away would) and wait for the reader to finish."""
        self.hang_up()
        self._thread.join(5)
        self._client.close()

    def hang_up(self) -> None:
        # Shut the socket down: the reader thread, blocked in recv(), returns at once.
        response = self._response
        stream = response.extensions.get("network_stream") if response is not None else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _read(self):
        try:
            with self._client.stream("GET", self.url, headers=self.headers) as response:
                self._response = response
                self.status_code = response.status_code
                self.response_headers = response.headers
                self._opened.set()
                if response.status_code != 200:
                    response.read()
                    return
                fields: dict = {}
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self._put(Event(event=line[1:].strip(), at=time.time()))
                    elif line == "":
                        if "data" in fields:
                            self._put(Event(event=fields.get("event", "message"), data=json.loads(fields["data"]),
                                            id=fields.get("id"), at=time.time()))
                        fields = {}
                    else:
                        name, _, value = line.partition(":")
                        fields[name] = value[1:] if value.startswith(" ") else value
        except (httpx.HTTPError, RuntimeError, OSError, ValueError):
            pass  # closed by the test, or by the server
        finally:
            self._opened.set()
            self.ended.set()

    def _put(self, event: Event) -> None:
        self.seen.append(event)
        self.events.put(event)

    def next(self, event: str | None = None, *, timeout: float = 10.0, where=None) -> Event:
        """The next event (of that type, matching ``where``), skipping others; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {event or 'event'} within {timeout} s; seen: "
                                     f"{[(e.event, e.data.get('event_seq')) for e in self.seen]}")
            try:
                got = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if (event is None or got.event == event) and (where is None or where(got)):
                return got

    def data_events(self) -> list[Event]:
        return [e for e in self.seen if e.data]


class Receiver:
    """A webhook receiver on 127.0.0.1: records each POST, answers ``status`` (changeable while running)."""

    def __init__(self, *, status: int = 200, port: int | None = None):
        self.status = status
        self.port = port or free_port()
        self.requests: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                          "at": time.time()})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server_class = http.server.ThreadingHTTPServer
        self._handler = Handler
        self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{uuid.uuid4().hex[:6]}"

    def start(self) -> "Receiver":
        self._server = self._server_class(("127.0.0.1", self.port), self._handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
