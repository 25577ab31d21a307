"""The real URLconf plus one analytics endpoint, as if the analytics app had just been installed."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500, urlpatterns as real_urlpatterns  # noqa: F401


class PerformanceProbe(APIView):
    permission_classes = []

    def get(self, request):
        return Response({})


urlpatterns = [path("api/v1/analytics/performance", PerformanceProbe.as_view()), *real_urlpatterns]
