"""Whatever a client sends, the answer is an error envelope with a 4xx status, never a 500 or an HTML page."""

import json

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("common.tests.urls")]

ECHO = "/api/v1/_probe/echo"
GOOD = {"name": "ok", "amount": "1.5", "count": 3}


def envelope(response, status, code):
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def post(api, body: bytes | str, content_type="application/json", **extra):
    return api.generic("POST", ECHO, body, content_type=content_type, **extra)


def test_a_valid_body_passes(api):
    r = post(api, json.dumps(GOOD))
    assert r.status_code == 200 and r.json() == {"name": "ok", "amount": "1.5"}


@pytest.mark.parametrize("raw", [b"{", b"{'name': 'single quotes'}", b"nul\x00", b"\xff\xfe\x00garbage",
                                 b'{"name": "ok",}', b"NaN", b"[" * 50_000])
def test_malformed_json_is_a_validation_error(api, raw):
    error = envelope(post(api, raw), 400, "VALIDATION_ERROR")
    assert "JSON" in error["message"] or error["details"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=xyz", "application/xml"])
def test_a_body_that_is_not_json_is_unsupported_media_type(api, content_type):
    envelope(post(api, json.dumps(GOOD), content_type=content_type), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_one_megabyte_string_is_refused_by_field(api):
    error = envelope(post(api, json.dumps({**GOOD, "name": "x" * 1_000_000})), 400, "VALIDATION_ERROR")
    assert "name" in error["details"]["fields"]


def test_a_body_over_the_upload_limit_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    error = envelope(post(api, json.dumps({**GOOD, "name": "x" * 200_000})), 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"max_bytes": 100_000}


@pytest.mark.parametrize("body, field", [
    ([GOOD], "non_field_errors"),  # a list where an object belongs
    ("just a string", "non_field_errors"),
    ({**GOOD, "amount": 1.5}, "amount"),  # a float for money
    ({**GOOD, "amount": True}, "amount"),
    ({**GOOD, "amount": "1e400"}, "amount"),
    ({**GOOD, "amount": "NaN"}, "amount"),
    ({**GOOD, "amount": "-1"}, "amount"),
    ({**GOOD, "amount": {"nested": 1}}, "amount"),
    ({**GOOD, "count": "many"}, "count"),
    ({**GOOD, "count": 10**40}, "count"),
    ({**GOOD, "count": [1]}, "count"),
    ({**GOOD, "name": None}, "name"),
    ({**GOOD, "name": {"a": 1}}, "name"),
    ({**GOOD, "name": "nul\u0000byte"}, "name"),
    ({**GOOD, "tags": "not-a-list"}, "tags"),
    ({**GOOD, "tags": ["x" * 21]}, "tags"),
    ({"name": "missing the rest"}, "amount"),
])
def test_wrong_types_are_validation_errors_naming_the_field(api, body, field):
    error = envelope(post(api, json.dumps(body)), 400, "VALIDATION_ERROR")
    assert field in error["details"]["fields"], error


def test_an_empty_body_is_a_validation_error(api):
    error = envelope(post(api, b""), 400, "VALIDATION_ERROR")
    assert "amount" in error["details"]["fields"]


def test_method_not_allowed(api):
    error = envelope(api.delete(ECHO), 405, "METHOD_NOT_ALLOWED")
    assert "DELETE" in error["message"]
    envelope(api.put("/api/v1/health/live", {}, format="json"), 405, "METHOD_NOT_ALLOWED")


def test_unacceptable_accept_header(api):
    envelope(api.get("/api/v1/health/live", HTTP_ACCEPT="application/xml"), 406, "NOT_ACCEPTABLE")


def test_not_found_raised_by_a_view(api):
    assert envelope(api.get(ECHO), 404, "NOT_FOUND")["message"] == "No such thing."


@pytest.mark.parametrize("path", ["/api/v1/no-such-endpoint", "/api/v1/x/", "/api/v1/account/balance/extra",
                                  "/api/v2/anything", "/nothing-here", "/api/v1/%00", "/api/v1/" + "a" * 5000])
def test_unknown_urls_get_the_json_envelope_even_outside_drf(api, settings, path):
    assert settings.DEBUG is False
    envelope(api.get(path), 404, "NOT_FOUND")


def test_garbage_headers_and_query_strings_do_not_break_anything(api):
    r = api.get("/api/v1/health/live?%ff%fe=%00&limit=-1&offset=abc", HTTP_X_API_KEY="\u00e9\u00e9")
    assert r.status_code == 200  # the live endpoint ignores credentials entirely
    envelope(api.get("/api/v1/account/balance", HTTP_X_API_KEY="ak_live_\u00e9" * 50), 401, "AUTHENTICATION_FAILED")
    envelope(api.get("/api/v1/account/balance", HTTP_AUTHORIZATION="Bearer not.a.jwt"), 401,
             "AUTHENTICATION_FAILED")
    envelope(api.get("/api/v1/account/balance", HTTP_AUTHORIZATION="Bearer"), 401, "AUTHENTICATION_FAILED")
