"""OpenAPI generation (drf-spectacular) tuned for this codebase's conventions."""

import re

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

_SUFFIX = re.compile(r"(Serializer|APIView|ApiView|View|Api)$")


class AutoSchema(SpectacularAutoSchema):
    """Names components after where a serializer is declared, not only after its class name.

    Views here nest their ``InputSerializer`` / ``OutputSerializer`` (HackSoft style), so dozens of classes share
    those names and drf-spectacular would give them one component ``Output``, silently describing every endpoint's
    response with whichever came last. ``AccountBalanceView.OutputSerializer`` becomes ``AccountBalanceOutput``.
    """

    def get_serializer_name(self, serializer, direction):
        qualname = serializer.__class__.__qualname__
        if "." not in qualname or "<locals>" in qualname:
            return super().get_serializer_name(serializer, direction)
        return "".join(_SUFFIX.sub("", part) or part for part in qualname.split("."))
