"""``GET /stream/user`` and ``GET /stream/events`` (async SSE views) and the webhook API (DRF, agent key).

The stream views are plain async Django views returning a ``StreamingHttpResponse`` over an async iterator, so a
connection costs a coroutine and a queue, not a thread. DRF's authentication and throttling only run inside DRF
views, so the stream views call them themselves (on the streams' thread pool) and render refusals with the one
exception handler: a bad key is the usual 401 envelope, never a stream.
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from agents.authentication import AgentContext
from common import ratelimit
from common.ratelimit import RateLimitHeadersMiddleware
from common.errors import AuthenticationFailed, NotFound, ValidationFailed
from common.exception_handler import envelope_exception_handler, error_body
from common.pagination import DefaultPagination, paginate
from common.permissions import IsAgent, agent_context
from streams import selectors, services
from streams.aio import run_sync
from streams.connection import StreamAuth, StreamConnection, StreamSpec
from streams.hub import get_hub
from streams.models import WebhookDelivery

MIN_INTERVAL_MS, MAX_INTERVAL_MS = 100, 5000
DEFAULT_DEPTH, MAX_DEPTH = 25, 250


# --- SSE ------------------------------------------------------------------------------------------------------------
class _StreamView(View):
    kind = ""
    interval_setting = ""  # the setting holding this stream's default interval_ms
    http_method_names = ["get"]

    class InputSerializer(serializers.Serializer):
        interval_ms = serializers.IntegerField(min_value=MIN_INTERVAL_MS, max_value=MAX_INTERVAL_MS, required=False)
        open_only = serializers.BooleanField(required=False, default=False)
        agent_id = serializers.UUIDField(required=False, help_text="With an owner's JWT: which of its agents")

    def default_interval_ms(self) -> int:
        return getattr(settings, self.interval_setting)

    def spec_for(self, agent, params: dict, last_event_id: str | None) -> StreamSpec:
        return StreamSpec(kind=self.kind, agent=agent, open_only=params["open_only"], last_event_id=last_event_id,
                          interval_ms=params.get("interval_ms") or self.default_interval_ms())

    async def get(self, request):
        prepared = await run_sync(self._prepare, request)
        if isinstance(prepared, HttpResponse):
            return prepared
        spec, auth = prepared
        connection = StreamConnection(spec=spec, auth=auth, hub=get_hub())
        response = StreamingHttpResponse(connection.frames(), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return _rate_limit_headers(request, response)

    def _prepare(self, request) -> tuple[StreamSpec, StreamAuth] | HttpResponse:
        """Authenticate, count against the rate limit, validate: a spec to stream, or the error response."""
        drf_request = Request(request, authenticators=[cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES])
        try:
            user, auth = drf_request.user, drf_request.auth
            if user is None:
                raise AuthenticationFailed("Send X-API-Key (or ?api_key= for EventSource), or an owner's "
                                           "Authorization: Bearer <JWT> with ?agent_id=.")
            state = ratelimit.count(request, auth=auth, user=user)
            if state is not None and not state.allowed:
                raise drf_exceptions.Throttled(wait=state.retry_after)
            params = self.InputSerializer(data=request.GET)
            params.is_valid(raise_exception=True)
            agent, stream_auth = _subject(user, auth, params.validated_data.get("agent_id"))
            last_event_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or None
            return self.spec_for(agent, params.validated_data, last_event_id), stream_auth
        except Exception as exc:  # noqa: BLE001 - rendered like any DRF view's error, or re-raised if unexpected
            response = envelope_exception_handler(exc, {"request": drf_request})
            if response is None:
                raise
            return _rendered(request, response)

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = JsonResponse(error_body("METHOD_NOT_ALLOWED", f"Method {request.method} not allowed."),
                                status=405)
        response["Allow"] = "GET"

        async def respond():
            return response

        return respond()


class UserStreamView(_StreamView):
    """``GET /stream/user?open_only=&interval_ms=``: the agent's orders, fills and positions, all symbols."""

    kind = "user"
    interval_setting = "STREAMS_USER_INTERVAL_MS"


class EventsStreamView(_StreamView):
    """``GET /stream/events?symbol=&depth=&interval_ms=``: one pair's book and trades plus the agent's part in it."""

    kind = "events"
    interval_setting = "STREAMS_EVENTS_INTERVAL_MS"

    class InputSerializer(_StreamView.InputSerializer):
        symbol = serializers.CharField(max_length=20)
        depth = serializers.IntegerField(min_value=1, max_value=MAX_DEPTH, required=False, default=DEFAULT_DEPTH)

    def spec_for(self, agent, params: dict, last_event_id: str | None) -> StreamSpec:
        symbol = selectors.stream_symbol_check(symbol=params["symbol"].strip().upper())
        return StreamSpec(kind=self.kind, agent=agent, open_only=params["open_only"], last_event_id=last_event_id,
                          interval_ms=params.get("interval_ms") or self.default_interval_ms(), symbol=symbol,
                          depth=params["depth"])


def _subject(user, auth, agent_id) -> tuple[object, StreamAuth]:
    """Whose stream: the key's agent, or (owner's JWT) the agent named by ``agent_id``, which must be theirs."""
    from agents.models import Agent
    from agents.selectors import agent_get

    if isinstance(auth, AgentContext):
        agent = auth.agent
        if agent_id is not None and agent_id != agent.pk:
            raise NotFound("No such agent.", details={"agent_id": str(agent_id)})
        return agent, StreamAuth(agent_id=str(agent.pk), account_id=str(agent.account_id), key_id=str(auth.key.pk))
    if agent_id is None:
        raise ValidationFailed("agent_id is required with an account token: which of your agents to stream.",
                               details={"fields": {"agent_id": ["This field is required with a JWT."]}})
    agent = agent_get(account=user, agent_id=agent_id)
    if agent.status == Agent.Status.ARCHIVED:
        raise NotFound("No such agent.", details={"agent_id": str(agent_id)})
    exp = auth.payload.get("exp") if hasattr(auth, "payload") else None
    return agent, StreamAuth(agent_id=str(agent.pk), account_id=str(user.pk), token_exp=exp)


def _rate_limit_headers(request, response):
    """``X-RateLimit-*`` by the middleware that writes them on every other response (it is not in the streams'
    middleware stack, see streams/asgi.py). The request was counted in ``_prepare``, so this does no I/O."""
    return RateLimitHeadersMiddleware(lambda _request: response)(request)


def _rendered(request, response: Response) -> Response:
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {}
    response.render()
    return _rate_limit_headers(request, response)


# --- webhooks -------------------------------------------------------------------------------------------------------
AGENT_KEY = [{"AgentKey": []}]
TAG = "webhooks"


class WebhookEndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    event_types = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookDeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    webhook_id = serializers.UUIDField(source="endpoint_id")
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    resend_of = serializers.UUIDField(source="resend_of_id", allow_null=True)
    created_at = serializers.DateTimeField()
    payload = serializers.JSONField(help_text="The body POSTed to the receiver")


class WebhookListCreateView(APIView):
    permission_classes = [IsAgent]
    pagination_class = DefaultPagination  # also tells the schema that the list is paginated

    class InputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=2000)
        event_types = serializers.ListField(
            child=serializers.CharField(max_length=64), min_length=1, max_length=20,
            help_text="order.filled, order.cancelled, order.expired, order.rejected, risk.breach, or a family "
                      "wildcard (order.*, risk.*, battle.*) or *")
        description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class CreatedSerializer(WebhookEndpointOutputSerializer):
        secret = serializers.CharField(help_text="Signing secret, shown once: verify X-Webhook-Signature with it")

    @extend_schema(operation_id="webhooks_list", tags=[TAG], auth=AGENT_KEY,
                   responses={200: WebhookEndpointOutputSerializer(many=True)})
    def get(self, request):
        endpoints = selectors.webhook_endpoint_list(agent=agent_context(request).agent)
        return paginate(request=request, queryset=endpoints, serializer_class=WebhookEndpointOutputSerializer,
                        view=self)

    @extend_schema(operation_id="webhooks_create", tags=[TAG], auth=AGENT_KEY, request=InputSerializer,
                   responses={201: CreatedSerializer})
    def post(self, request):
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        created = services.webhook_endpoint_create(agent=agent_context(request).agent, **params.validated_data)
        data = dict(WebhookEndpointOutputSerializer(created.endpoint).data, secret=created.secret)
        return Response(self.CreatedSerializer(data).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    permission_classes = [IsAgent]

    @extend_schema(operation_id="webhooks_get", tags=[TAG], auth=AGENT_KEY,
                   responses={200: WebhookEndpointOutputSerializer})
    def get(self, request, webhook_id):
        endpoint = selectors.webhook_endpoint_get(agent=agent_context(request).agent, endpoint_id=webhook_id)
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(operation_id="webhooks_delete", tags=[TAG], auth=AGENT_KEY, responses={204: None})
    def delete(self, request, webhook_id):
        endpoint = selectors.webhook_endpoint_get(agent=agent_context(request).agent, endpoint_id=webhook_id)
        services.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookTestView(APIView):
    permission_classes = [IsAgent]

    @extend_schema(operation_id="webhooks_test", tags=[TAG], auth=AGENT_KEY, request=None,
                   responses={202: WebhookDeliveryOutputSerializer})
    def post(self, request, webhook_id):
        endpoint = selectors.webhook_endpoint_get(agent=agent_context(request).agent, endpoint_id=webhook_id)
        delivery = services.webhook_endpoint_test(endpoint=endpoint)
        return Response(WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryListView(APIView):
    permission_classes = [IsAgent]
    pagination_class = DefaultPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)

    @extend_schema(operation_id="webhooks_deliveries", tags=[TAG], auth=AGENT_KEY, parameters=[FilterSerializer],
                   responses={200: WebhookDeliveryOutputSerializer(many=True)})
    def get(self, request, webhook_id):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        endpoint = selectors.webhook_endpoint_get(agent=agent_context(request).agent, endpoint_id=webhook_id)
        return paginate(request=request, view=self, serializer_class=WebhookDeliveryOutputSerializer,
                        queryset=selectors.webhook_delivery_list(endpoint=endpoint,
                                                                 status=filters.validated_data.get("status")))


class WebhookDeliveryResendView(APIView):
    permission_classes = [IsAgent]

    @extend_schema(operation_id="webhooks_delivery_resend", tags=[TAG], auth=AGENT_KEY, request=None,
                   responses={202: WebhookDeliveryOutputSerializer})
    def post(self, request, delivery_id):
        delivery = selectors.webhook_delivery_get(agent=agent_context(request).agent, delivery_id=delivery_id)
        copy = services.webhook_delivery_resend(delivery=delivery)
        return Response(WebhookDeliveryOutputSerializer(copy).data, status=status.HTTP_202_ACCEPTED)
