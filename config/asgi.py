import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Under ASGI each request's sync code runs in a thread of its own, so persistent connections (CONN_MAX_AGE > 0) pile
# up, one per request, until PostgreSQL refuses new clients; a connection pool is the fix (see settings, DB_POOL).
os.environ.setdefault("DB_POOL", "1")
application = get_asgi_application()

# SSE streams go to a handler that holds no thread per open connection (see streams/asgi.py).
from streams.asgi import with_streams  # noqa: E402 - needs the settings configured above

application = with_streams(application)

# Outermost: the client address is settled before anything reads it (common/proxy.py, TRUSTED_PROXIES).
from django.conf import settings  # noqa: E402
from common.proxy import ClientAddressMiddleware  # noqa: E402

application = ClientAddressMiddleware(application, settings.TRUSTED_PROXIES)
