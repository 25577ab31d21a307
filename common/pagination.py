from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination


class DefaultPagination(LimitOffsetPagination):
    """``?limit=&offset=``; responses are ``{count, next, previous, results}``."""

    default_limit = 50
    max_limit = 500


def paginated(serializer_class, name: str | None = None):
    """The OpenAPI shape of a :class:`DefaultPagination` page of ``serializer_class`` items.

    A plain ``APIView`` that paginates by hand must say so in its schema, or the schema promises a bare array:
    ``@extend_schema(responses={200: paginated(OrderOutputSerializer)})``.
    """
    name = name or "Paginated" + serializer_class.__qualname__.replace(".", "").removesuffix("Serializer")
    return inline_serializer(name, {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
    })
