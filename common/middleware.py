"""Django's browser-session middleware, skipped for API requests that carry no cookie.

Sessions, CSRF, Django's own authentication and messages serve the admin and the pages a person opens in a
browser. An agent's request to the API (``/api/v1/``, ``/binance/``) authenticates with its key or a JWT through
DRF, and with no ``Cookie`` header these four have nothing to do: no session cookie to load, no CSRF cookie to
read, an anonymous user nobody asks for (DRF sets ``request.user`` itself), no messages. Yet they cost ~0.1 ms of
CPU per request (measured on ``/api/v1/health/live`` in process), most of it building objects nobody uses.

Each class here IS the Django middleware (a subclass, so the admin's checks E408-E410 still find it in
``MIDDLEWARE``) and behaves as it exactly, except that for such a request it hands the request straight on.
A request with any cookie, or to any other path (the admin, ``/api/docs/``, the landing page), goes through the
whole middleware as before. CSRF's ``process_view`` still runs for every request: it only reads what its
``process_request`` would have set from a cookie, and there is none.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware as DjangoCsrfViewMiddleware

API_PATHS = ("/api/v1/", "/binance/")


def cookieless_api_request(request) -> bool:
    return not request.META.get("HTTP_COOKIE") and request.path_info.startswith(API_PATHS)


class _SkippedForCookielessAPI:
    def __call__(self, request):
        if cookieless_api_request(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_SkippedForCookielessAPI, DjangoSessionMiddleware):
    pass


class CsrfViewMiddleware(_SkippedForCookielessAPI, DjangoCsrfViewMiddleware):
    pass


class AuthenticationMiddleware(_SkippedForCookielessAPI, DjangoAuthenticationMiddleware):
    pass


class MessageMiddleware(_SkippedForCookielessAPI, DjangoMessageMiddleware):
    pass
