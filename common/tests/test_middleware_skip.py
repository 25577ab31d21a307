"""``common.middleware``: Django's session, CSRF, auth and messages middleware pass over cookieless API requests."""

import pytest
from django.test import RequestFactory

from common import middleware

pytestmark = pytest.mark.django_db


def _run(mw_class, request):
    seen = {}

    def view(req):
        seen["session"] = hasattr(req, "session")
        seen["user"] = hasattr(req, "user")
        seen["messages"] = hasattr(req, "_messages")
        from django.http import HttpResponse

        return HttpResponse("ok")

    mw_class(view)(request)
    return seen


@pytest.mark.parametrize("path", ["/api/v1/account/balance", "/binance/api/v3/ping"])
def test_a_cookieless_api_request_skips_them(path):
    request = RequestFactory().get(path)
    request.META.pop("HTTP_COOKIE", None)
    assert _run(middleware.SessionMiddleware, request) == {"session": False, "user": False, "messages": False}
    assert _run(middleware.AuthenticationMiddleware, request)["user"] is False
    assert _run(middleware.MessageMiddleware, request)["messages"] is False
    request.META["HTTP_COOKIE"] = ""  # an empty Cookie header carries no cookie either
    assert _run(middleware.SessionMiddleware, request)["session"] is False


@pytest.mark.parametrize("path, cookie", [("/api/v1/account/balance", "sessionid=abc"), ("/admin/", ""),
                                          ("/api/docs/", ""), ("/", "")])
def test_other_requests_get_them_whole(path, cookie):
    request = RequestFactory().get(path, HTTP_COOKIE=cookie)
    assert _run(middleware.SessionMiddleware, request)["session"] is True
    request = RequestFactory().get(path, HTTP_COOKIE=cookie)
    request.session = {}
    assert _run(middleware.AuthenticationMiddleware, request)["user"] is True


def test_they_are_the_django_middleware_the_admin_checks_for():
    from django.conf import settings
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.core import checks
    from django.middleware.csrf import CsrfViewMiddleware

    assert issubclass(middleware.SessionMiddleware, SessionMiddleware)
    assert issubclass(middleware.CsrfViewMiddleware, CsrfViewMiddleware)
    assert issubclass(middleware.AuthenticationMiddleware, AuthenticationMiddleware)
    assert issubclass(middleware.MessageMiddleware, MessageMiddleware)
    assert "common.middleware.SessionMiddleware" in settings.MIDDLEWARE
    assert not [e for e in checks.run_checks() if e.id in ("admin.E408", "admin.E409", "admin.E410")]


def test_an_api_response_keeps_its_headers(api):
    response = api.get("/api/v1/health/live")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY" and "Cookie" not in response.get("Vary", "")
