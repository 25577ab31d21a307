"""The ASGI application uvicorn serves: the SSE streams on an async handler, everything else on Django's sync stack.

Django's own ASGI handler runs a sync view by opening a ``ThreadSensitiveContext`` per request: a new thread for
each request, started and joined around it, and a database connection that cannot outlive it. Measured with
``bench/auth_read.py --kind uvicorn --workers 1`` against gthread on the same machine, that costs ~1.1 ms of CPU per
request (``/health/live`` 1,837 us vs 722 us per request) - more than most of our views spend on their own work.
So every non-stream request goes through Django's WSGI handler on a fixed pool of threads inside the uvicorn
process (config/wsgi_bridge.py: one hand-off to the pool and one back), as gunicorn's gthread workers run it: the
sync stack end to end, no thread hop per middleware, and one persistent database connection per pool thread
(``CONN_MAX_AGE``), a bounded number (``WEB_THREADS``). The streams keep their async handler (streams/asgi.py): an
open stream must not hold a thread.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

django_wsgi = get_wsgi_application()

from config.wsgi_bridge import WSGIBridge  # noqa: E402 - needs the apps loaded above

application = WSGIBridge(django_wsgi, threads=settings.WEB_THREADS)

# SSE streams go to a handler that holds no thread per open connection (see streams/asgi.py).
from streams.asgi import with_streams  # noqa: E402 - needs the settings configured above

application = with_streams(application)

# Outermost: the client address is settled before anything reads it (common/proxy.py, TRUSTED_PROXIES).
from common.proxy import ClientAddressMiddleware  # noqa: E402

application = ClientAddressMiddleware(application, settings.TRUSTED_PROXIES)
