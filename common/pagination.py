"""The one pagination of the API: ``?limit=&offset=`` pages ``{count, next, previous, results}``.

Views call :func:`paginate` (HackSoft's ``get_paginated_response``); their schema says ``paginated(...)``.
``limit`` and ``offset`` are validated like every other parameter: a value that is not a whole number in range is
a 400 ``VALIDATION_ERROR`` naming the parameter, never silently replaced by the default.
"""

import re

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

_WHOLE = re.compile(r"[0-9]{1,9}")


class DefaultPagination(LimitOffsetPagination):
    """``?limit=`` (1..500, default 50) and ``?offset=`` (>= 0, default 0)."""

    default_limit = 50
    max_limit = 500

    def get_limit(self, request) -> int:
        return self._parse(request, self.limit_query_param, default=self.default_limit, low=1, high=self.max_limit)

    def get_offset(self, request) -> int:
        return self._parse(request, self.offset_query_param, default=0, low=0, high=None)

    @staticmethod
    def _parse(request, name: str, *, default: int, low: int, high: int | None) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        value = int(raw) if _WHOLE.fullmatch(raw) else None
        if value is None or value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise ValidationError({name: [f"Must be a whole number, {bound}."]})
        return value


PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description=f"1..{DefaultPagination.max_limit}, default "
                                               f"{DefaultPagination.default_limit}"),
    OpenApiParameter("offset", int, description=">= 0, default 0"),
]


def paginate(*, request, queryset, serializer_class, view=None) -> Response:
    """One page of ``queryset`` rendered with ``serializer_class``, as a ``{count, next, previous, results}``
    response. 400 for a bad ``limit`` / ``offset`` (before the query runs)."""
    paginator = DefaultPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def paginated(serializer_class, name: str | None = None):
    """The OpenAPI shape of a :class:`DefaultPagination` page of ``serializer_class`` items.

    A plain ``APIView`` that paginates by hand must say so in its schema, or the schema promises a bare array:
    ``@extend_schema(responses={200: paginated(OrderOutputSerializer)}, parameters=PAGE_PARAMETERS)``.
    """
    name = name or "Paginated" + serializer_class.__qualname__.replace(".", "").removesuffix("Serializer")
    return inline_serializer(name, {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
    })
