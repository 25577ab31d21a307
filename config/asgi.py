import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

# SSE streams go to a handler that holds no thread per open connection (see streams/asgi.py).
from streams.asgi import with_streams  # noqa: E402 - needs the settings configured above

application = with_streams(application)
