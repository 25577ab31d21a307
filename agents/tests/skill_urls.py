"""The real URLconf without the analytics app, plus one analytics endpoint: as if analytics had just been installed
with only that endpoint (skill.md must show it and none of the section's other endpoints)."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import api_v1
from config.urls import handler400, handler403, handler404, handler500, urlpatterns as real_urlpatterns  # noqa: F401


class PerformanceProbe(APIView):
    permission_classes = []

    def get(self, request):
        return Response({})


def _without_analytics(patterns):
    return [p for p in patterns if not str(p.pattern).startswith("analytics/")]


urlpatterns = [
    path("api/v1/analytics/performance", PerformanceProbe.as_view()),
    path("api/v1/", include(_without_analytics(api_v1))),
    *[p for p in real_urlpatterns if str(p.pattern) != "api/v1/"],
]
