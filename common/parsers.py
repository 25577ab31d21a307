"""DRF's JSON parser, minus the one malformed body it turns into a 500."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # ``[[[[...`` nested deeper than the interpreter's recursion limit: json raises RecursionError, which
            # DRF (catching ValueError only) would let through as a 500.
            raise ParseError("JSON parse error - nested too deeply.") from None
