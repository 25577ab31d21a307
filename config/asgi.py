import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Under ASGI each request's sync code runs in a thread of its own, so persistent connections (CONN_MAX_AGE > 0) pile
# up, one per request, until PostgreSQL refuses new clients; Django's docs say to turn them off under ASGI.
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
application = get_asgi_application()

# SSE streams go to a handler that holds no thread per open connection (see streams/asgi.py).
from streams.asgi import with_streams  # noqa: E402 - needs the settings configured above

application = with_streams(application)
