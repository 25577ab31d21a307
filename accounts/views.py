"""Auth endpoints: register, login (API key pair or email/password), refresh, logout. Open to anyone."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import StrictCharField, StrictEmailField, error_responses
from accounts.services import (
    account_by_api_credentials,
    account_by_password,
    account_logout,
    account_register,
    account_token_refresh,
    account_tokens_issue,
)


class _OpenView(APIView):
    """No authentication is attempted (a stale Bearer header must not block a login); rate-limited per IP."""

    permission_classes = [AllowAny]
    authentication_classes = []


class TokenPairOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Access token: send as Authorization: Bearer <token>.")
    refresh = serializers.CharField(help_text="Refresh token for POST /auth/refresh and /auth/logout.")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")

    class Meta:
        ref_name = "AuthTokenPair"


def _tokens(account) -> Response:
    issued = account_tokens_issue(account=account)
    return Response(TokenPairOutput(issued).data)


class RegisterView(_OpenView):
    class InputSerializer(serializers.Serializer):
        email = StrictEmailField(max_length=254)
        password = StrictCharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})
        display_name = StrictCharField(max_length=100)

        class Meta:
            ref_name = "AuthRegister"

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="account.id")
        account_id = serializers.UUIDField(source="account.id", help_text="Alias of id.")
        api_key = serializers.CharField(help_text="ak_live_… — shown once.")
        api_secret = serializers.CharField(help_text="sk_live_… — shown once.")

        class Meta:
            ref_name = "AuthRegistered"

    @extend_schema(tags=["auth"], summary="Register an account", request=InputSerializer,
                   responses={201: OutputSerializer, **error_responses(400, 409)}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        registered = account_register(**data.validated_data)
        return Response(self.OutputSerializer(registered).data, status=status.HTTP_201_CREATED)


class LoginView(_OpenView):
    class InputSerializer(serializers.Serializer):
        api_key = StrictCharField(max_length=128)
        api_secret = StrictCharField(max_length=128, trim_whitespace=False)

        class Meta:
            ref_name = "AuthLogin"

    @extend_schema(tags=["auth"], summary="Log in with the account's API key pair", request=InputSerializer,
                   responses={200: TokenPairOutput, **error_responses(400, 401)}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _tokens(account_by_api_credentials(**data.validated_data))


class UserLoginView(_OpenView):
    class InputSerializer(serializers.Serializer):
        email = StrictCharField(max_length=254)  # not EmailField: a malformed email is just a failed login
        password = StrictCharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})

        class Meta:
            ref_name = "AuthUserLogin"

    @extend_schema(tags=["auth"], summary="Log in with email and password", request=InputSerializer,
                   responses={200: TokenPairOutput, **error_responses(400, 401)}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _tokens(account_by_password(**data.validated_data))


class _RefreshInput(serializers.Serializer):
    refresh = StrictCharField(max_length=4096)

    class Meta:
        ref_name = "AuthRefreshToken"


class RefreshView(_OpenView):
    InputSerializer = _RefreshInput

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_in = serializers.IntegerField()

        class Meta:
            ref_name = "AuthAccessToken"

    @extend_schema(tags=["auth"], summary="A new access token from a refresh token", request=InputSerializer,
                   responses={200: OutputSerializer, **error_responses(400, 401)}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = account_token_refresh(**data.validated_data)
        return Response(self.OutputSerializer(issued).data)


class LogoutView(_OpenView):
    InputSerializer = _RefreshInput

    @extend_schema(tags=["auth"], summary="Revoke (blacklist) a refresh token", request=InputSerializer,
                   responses={204: None, **error_responses(400, 401)}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account_logout(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
