"""What this deployment routes: the URL conf is the one truth about which endpoints exist.

skill.md, the ``/api/v1/`` index and the landing page list an endpoint only when it resolves here, so a section
appears by itself the moment the app that serves it is installed, and nobody is sent to a 404.
"""

import re

from django.urls import Resolver404, resolve

API_PREFIX = "/api/v1"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Sample values for path placeholders: a pair's symbol, otherwise an id (every id in the API is a UUID).
_SAMPLES = {"symbol": "BTCUSDT"}
_SAMPLE_ID = "00000000-0000-4000-8000-000000000000"


def path_is_routed(method: str, path: str, *, prefix: str = API_PREFIX) -> bool:
    """Whether ``METHOD path`` (``/trade/order/{id}``, query string ignored) reaches a view that answers
    ``method``."""
    concrete = _PLACEHOLDER.sub(lambda m: _SAMPLES.get(m.group(1), _SAMPLE_ID), path.split("?")[0])
    try:
        match = resolve(prefix + concrete)
    except Resolver404:
        return False
    actions = getattr(match.func, "actions", None)  # a ViewSet route maps methods to actions
    if actions is not None:
        return method.lower() in actions
    view_class = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
    if view_class is None:  # a plain function view: the route is all we can know
        return True
    return hasattr(view_class, method.lower())
