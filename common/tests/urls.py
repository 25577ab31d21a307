"""The real URLconf plus a few probe views, so that the error envelope and rate limits can be tested on request
bodies and permissions whatever endpoints the other apps have grown."""

from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import NotFound
from common.fields import DecimalString
from common.permissions import IsAccount
from config.urls import handler400, handler403, handler404, handler500, urlpatterns as real_urlpatterns  # noqa: F401


class EchoView(APIView):
    """POST a typed body; echoes it back once valid."""

    permission_classes = []

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        amount = DecimalString(positive=True)
        count = serializers.IntegerField(min_value=0, max_value=1000)
        tags = serializers.ListField(child=serializers.CharField(max_length=20), max_length=5, required=False)

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"name": data.validated_data["name"], "amount": str(data.validated_data["amount"])})

    def get(self, request):
        raise NotFound("No such thing.")


class AccountOnlyView(APIView):
    permission_classes = [IsAccount]

    def get(self, request):
        return Response({"account_id": str(request.user.pk)})


urlpatterns = [
    path("api/v1/_probe/echo", EchoView.as_view()),
    path("api/v1/_probe/account", AccountOnlyView.as_view()),
    *real_urlpatterns,
]
