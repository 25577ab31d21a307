"""DRF's content negotiation, with its answer for the usual request worked out without parsing anything.

Agents' clients send no ``Accept`` header or ``Accept: */*`` (requests, httpx, ccxt, curl), and for those DRF's
``DefaultContentNegotiation`` always answers with the first renderer and its own media type - after parsing the
header into media types and sorting them by precedence: ~5 % of a backtest step's CPU. That answer is returned
directly here; any other ``Accept`` header, a ``?format=`` or a format suffix goes through DRF unchanged.
``common/tests/test_negotiation.py`` holds the two equal.
"""

from rest_framework.negotiation import DefaultContentNegotiation

_ANYTHING = "*/*"


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (renderers and not format_suffix and request.META.get("HTTP_ACCEPT", _ANYTHING) == _ANYTHING
                and self.settings.URL_FORMAT_OVERRIDE not in request.query_params):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
