"""config/wsgi_bridge.py: Django's sync stack served by uvicorn through one hand-off each way. Against a real
uvicorn process, as bin/run serves."""

import json
import socket

import httpx
import pytest

from streams.tests.support import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server():
    s = ServerProcess(name="bridge", env={"RATE_LIMIT_ANONYMOUS": "100000"}).start()
    yield s
    s.stop()


def test_get_keeps_status_headers_and_body(server):
    r = httpx.get(server.url("/api/v1/health/live"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    assert "x-ratelimit-limit" in r.headers  # Django's middleware ran
    assert r.json()["status"] == "ok"


def test_a_request_body_reaches_django(server):
    """A JSON body sent in several TCP pieces is read whole before Django sees it: only the field it lacks is
    reported missing."""
    body = json.dumps({"api_key": "ak_live_" + "x" * 40}).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n")
        s.sendall(body[:10])
        s.sendall(body[10:])
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    error = json.loads(payload)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert set(error["details"]["fields"]) == {"api_secret"}


def test_head_has_no_body(server):
    r = httpx.head(server.url("/api/v1/health/live"))
    assert r.status_code == 200
    assert r.content == b""


def test_an_oversized_body_is_refused_before_django(server):
    from config.wsgi_bridge import MAX_BODY_BYTES

    r = httpx.post(server.url("/api/v1/auth/login"), content=b"x" * (MAX_BODY_BYTES + 1),
                   headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_unknown_path_is_the_json_404(server):
    r = httpx.get(server.url("/api/v1/no/such/thing"))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_admin_pages_and_static_files_still_work(server):
    r = httpx.get(server.url("/admin/login/"))
    assert r.status_code == 200 and b"<form" in r.content
    assert r.headers["x-frame-options"] == "DENY"  # the full middleware stack
    css = httpx.get(server.url("/static/admin/css/base.css"))
    assert css.status_code == 200 and int(css.headers["content-length"]) == len(css.content) > 1000
