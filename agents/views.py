"""Agent management (owner's JWT) and ``GET /agents/me`` (agent key). Thin: parse, one service/selector, render."""

import json
from decimal import Decimal

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.fields import empty
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import AccountJWTAuthentication
from accounts.serializers import StrictCharField, error_responses
from agents.authentication import AgentKeyAuthentication
from agents.selectors import (
    agent_get,
    agent_key_get,
    agent_key_list,
    agent_list,
    agent_overview,
    agent_primary_key,
    agent_risk_profile,
)
from agents.serializers import (
    AgentKeySerializer,
    AgentOutputSerializer,
    AgentWithKeySerializer,
    RiskChangesSerializer,
    RiskLimitsSerializer,
    RiskOverridesSerializer,
    StartingBalanceField,
    agent_with_key,
)
from agents.services import (
    agent_archive,
    agent_clone,
    agent_create,
    agent_delete,
    agent_extra_key_issue,
    agent_key_regenerate,
    agent_key_revoke,
    agent_reset,
    agent_risk_config_update,
    agent_update,
)
from agents.skill import SkillFacts, skill_markdown
from common.fields import DecimalString
from common.money import fmt
from common.permissions import IsAccount, IsAgent, agent_context

TAG = "agents"


class OwnerView(APIView):
    """Endpoints of the owner (a person, by JWT). An agent key is not accepted here (401)."""

    authentication_classes = [AccountJWTAuthentication]
    permission_classes = [IsAccount]

    def agent(self, agent_id):
        return agent_get(account=self.request.user, agent_id=agent_id)


def _parse(serializer_class, request, **kwargs):
    data = serializer_class(data=request.data, **kwargs)
    data.is_valid(raise_exception=True)
    return data.validated_data


class StrictQueryBoolean(serializers.BooleanField):
    """``true`` or ``false``, as OpenAPI serializes a boolean query parameter; anything else (even empty) is a 400;
    absent means the default."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)  # not DRF's HTML-form rules ("" or absent = False)

    def to_internal_value(self, data):
        if data in ("true", "false"):
            return data == "true"
        self.fail("invalid", input=str(data)[:20])


class StrictBoolean(serializers.BooleanField):
    """A JSON ``true`` or ``false`` only (not DRF's "yes", 1, "on"...)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=str(data)[:20])


class _IncludeArchived(serializers.Serializer):
    include_archived = StrictQueryBoolean(default=False, required=False, help_text="Also list archived agents.")


class AgentListCreateView(OwnerView):
    class InputSerializer(serializers.Serializer):
        name = StrictCharField(min_length=1, max_length=100)
        description = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
        starting_balance = StartingBalanceField(required=False)
        risk_config = RiskChangesSerializer(required=False)

        class Meta:
            ref_name = "AgentCreate"

    @extend_schema(tags=[TAG], summary="Your agents", parameters=[_IncludeArchived],
                   responses={200: AgentOutputSerializer(many=True), **error_responses(400, 401)})
    def get(self, request):
        params = _IncludeArchived(data=request.query_params)
        params.is_valid(raise_exception=True)
        agents = agent_list(account=request.user, **params.validated_data)
        return Response(AgentOutputSerializer(agents, many=True).data)

    @extend_schema(tags=[TAG], summary="Create an agent (its API key is in the response, once)",
                   request=InputSerializer, responses={201: AgentWithKeySerializer, **error_responses(400, 401)})
    def post(self, request):
        agent, issued = agent_create(account=request.user, **_parse(self.InputSerializer, request))
        return Response(agent_with_key(agent, issued), status=status.HTTP_201_CREATED)


class AgentOverviewView(OwnerView):
    class OutputSerializer(serializers.Serializer):
        agent_id = serializers.UUIDField(source="agent.id")
        name = serializers.CharField(source="agent.name")
        status = serializers.ChoiceField(choices=["active", "paused", "archived"], source="agent.status")
        reset_epoch = serializers.IntegerField(source="agent.reset_epoch")
        wallet_id = serializers.UUIDField(allow_null=True)
        starting_balance = DecimalString(help_text="Of the current epoch.")
        equity = DecimalString(help_text="USDT; assets without a price count as 0 (see unpriced_assets).")
        pnl = serializers.SerializerMethodField()
        roi_pct = serializers.SerializerMethodField()
        trade_count = serializers.IntegerField(help_text="Fills of the current epoch.")
        open_orders = serializers.IntegerField(help_text="Resting or untriggered orders.")
        unpriced_assets = serializers.ListField(child=serializers.CharField())

        class Meta:
            ref_name = "AgentOverview"

        # PnL and ROI can be negative: DecimalString (an input field too) refuses negatives, so format here.
        def get_pnl(self, summary) -> str:
            return fmt(summary.pnl)

        def get_roi_pct(self, summary) -> str:
            return f"{summary.roi_pct:f}"

    @extend_schema(tags=[TAG], summary="Every agent's equity, PnL, ROI, trade count and open orders",
                   parameters=[_IncludeArchived],
                   responses={200: OutputSerializer(many=True), **error_responses(400, 401)})
    def get(self, request):
        params = _IncludeArchived(data=request.query_params)
        params.is_valid(raise_exception=True)
        summaries = agent_overview(account=request.user, **params.validated_data)
        return Response(self.OutputSerializer(summaries, many=True).data)


class AgentDetailView(OwnerView):
    class InputSerializer(serializers.Serializer):
        name = StrictCharField(min_length=1, max_length=100, required=False)
        description = StrictCharField(max_length=2000, required=False, allow_blank=True)
        status = serializers.ChoiceField(choices=["active", "paused"], required=False)
        risk_config = RiskChangesSerializer(required=False, help_text="Merged: null removes an override.")
        public = StrictBoolean(required=False, help_text="false hides the agent from the leaderboards")

        class Meta:
            ref_name = "AgentUpdate"

    @extend_schema(tags=[TAG], summary="One agent", responses={200: AgentOutputSerializer, **error_responses(401, 404)})
    def get(self, request, agent_id):
        return Response(AgentOutputSerializer(self.agent(agent_id)).data)

    @extend_schema(tags=[TAG], summary="Update name, description, status (active|paused), risk_config or public",
                   request=InputSerializer,
                   responses={200: AgentOutputSerializer, **error_responses(400, 401, 404, 422)})
    def put(self, request, agent_id):
        agent = agent_update(agent=self.agent(agent_id), **_parse(self.InputSerializer, request))
        return Response(AgentOutputSerializer(agent).data)

    @extend_schema(tags=[TAG], summary="Delete an agent permanently (with its wallets and history)",
                   responses={204: None, **error_responses(401, 404, 409)})
    def delete(self, request, agent_id):
        agent_delete(agent=self.agent(agent_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AgentCloneView(OwnerView):
    class InputSerializer(serializers.Serializer):
        name = StrictCharField(min_length=1, max_length=100, required=False,
                               help_text='Default: "<name> (copy)".')

        class Meta:
            ref_name = "AgentClone"

    @extend_schema(tags=[TAG], summary="Clone: same description and risk profile, fresh wallet and key",
                   request=InputSerializer, responses={201: AgentWithKeySerializer, **error_responses(400, 401, 404)})
    def post(self, request, agent_id):
        agent, issued = agent_clone(agent=self.agent(agent_id), **_parse(self.InputSerializer, request))
        return Response(agent_with_key(agent, issued), status=status.HTTP_201_CREATED)


class AgentResetView(OwnerView):
    class InputSerializer(serializers.Serializer):
        starting_balance = StartingBalanceField(required=False, help_text="Default: the agent's starting balance.")

        class Meta:
            ref_name = "AgentReset"

    @extend_schema(tags=[TAG], summary="Reset: a new epoch with a fresh wallet; earlier history is kept",
                   request=InputSerializer,
                   responses={200: AgentOutputSerializer, **error_responses(400, 401, 404, 422)})
    def post(self, request, agent_id):
        agent = agent_reset(agent=self.agent(agent_id), **_parse(self.InputSerializer, request))
        return Response(AgentOutputSerializer(agent).data)


class AgentArchiveView(OwnerView):
    @extend_schema(tags=[TAG], summary="Archive (soft delete): hidden from lists, keys refused", request=None,
                   responses={200: AgentOutputSerializer, **error_responses(401, 404)})
    def post(self, request, agent_id):
        return Response(AgentOutputSerializer(agent_archive(agent=self.agent(agent_id))).data)


class IssuedKeyOutput(serializers.Serializer):
    agent_id = serializers.UUIDField(source="key.agent_id")
    key_id = serializers.UUIDField(source="key.id")
    name = serializers.CharField(source="key.name")
    key_prefix = serializers.CharField(source="key.display_prefix")
    is_primary = serializers.BooleanField(source="key.is_primary")
    scope = serializers.ChoiceField(choices=["read", "trade"], source="key.scope")
    allowed_ips = serializers.ListField(source="key.allowed_ips", child=serializers.CharField())
    expires_at = serializers.DateTimeField(source="key.expires_at", allow_null=True)
    signing = serializers.BooleanField(source="key.requires_signature")
    api_key = serializers.CharField(help_text="The key. Shown once: store it now.")
    signing_secret = serializers.CharField(allow_null=True, help_text="Only for signing keys; shown once.")
    created_at = serializers.DateTimeField(source="key.created_at")

    class Meta:
        ref_name = "AgentIssuedKey"


class AgentRegenerateKeyView(OwnerView):
    @extend_schema(tags=[TAG], summary="Revoke the primary key at once and issue a new one (shown once)",
                   request=None, responses={200: IssuedKeyOutput, **error_responses(401, 404, 422)})
    def post(self, request, agent_id):
        return Response(IssuedKeyOutput(agent_key_regenerate(agent=self.agent(agent_id))).data)


class AgentRiskProfileView(OwnerView):
    class OutputSerializer(serializers.Serializer):
        agent_id = serializers.UUIDField(source="agent.id")
        limits = RiskLimitsSerializer(help_text="Effective limits: the defaults with the overrides applied.")
        defaults = RiskLimitsSerializer()
        overrides = RiskOverridesSerializer()
        overridden = serializers.ListField(child=serializers.CharField(), help_text="Fields with an override.")

        class Meta:
            ref_name = "AgentRiskProfile"

    @extend_schema(tags=[TAG], summary="Effective risk limits and which are overridden",
                   responses={200: OutputSerializer, **error_responses(401, 404)})
    def get(self, request, agent_id):
        return Response(self.OutputSerializer(agent_risk_profile(agent=self.agent(agent_id))).data)

    @extend_schema(tags=[TAG], summary="Set (value) or remove (null) overrides; unsent fields are unchanged",
                   request=RiskChangesSerializer,
                   responses={200: OutputSerializer, **error_responses(400, 401, 404, 422)})
    def put(self, request, agent_id):
        changes = _parse(RiskChangesSerializer, request)
        agent = agent_risk_config_update(agent=self.agent(agent_id), changes=changes)
        return Response(self.OutputSerializer(agent_risk_profile(agent=agent)).data)


class AgentKeysView(OwnerView):
    class InputSerializer(serializers.Serializer):
        name = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
        scope = serializers.ChoiceField(choices=["read", "trade"])
        allowed_ips = serializers.ListField(child=StrictCharField(max_length=64), required=False,
                                            max_length=100, help_text="IPs or CIDR networks; empty: any.")
        expires_at = serializers.DateTimeField(required=False, allow_null=True)
        signing = serializers.BooleanField(required=False, default=False,
                                           help_text="Require HMAC-signed requests; the secret is shown once.")

        class Meta:
            ref_name = "AgentKeyCreate"

    @extend_schema(tags=[TAG], summary="The agent's keys (never the keys themselves)",
                   responses={200: AgentKeySerializer(many=True), **error_responses(401, 404)})
    def get(self, request, agent_id):
        return Response(AgentKeySerializer(agent_key_list(agent=self.agent(agent_id)), many=True).data)

    @extend_schema(tags=[TAG], summary="Issue an extra key (scope, allowed_ips, expiry, signing); shown once",
                   request=InputSerializer, responses={201: IssuedKeyOutput, **error_responses(400, 401, 404, 422)})
    def post(self, request, agent_id):
        issued = agent_extra_key_issue(agent=self.agent(agent_id), **_parse(self.InputSerializer, request))
        return Response(IssuedKeyOutput(issued).data, status=status.HTTP_201_CREATED)


class AgentKeyDetailView(OwnerView):
    @extend_schema(tags=[TAG], summary="Revoke a key at once", responses={204: None, **error_responses(401, 404)})
    def delete(self, request, agent_id, key_id):
        agent_key_revoke(key=agent_key_get(agent=self.agent(agent_id), key_id=key_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MarkdownRenderer(BaseRenderer):
    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        return json.dumps(data).encode(self.charset)  # not reached: errors are rendered as JSON (see the view)


def _base_fee_bps():
    """(maker, taker) bps of the lowest fee tier (settings.FEE_TIERS, the schedule /market/fees serves)."""
    tiers = getattr(settings, "FEE_TIERS", None) or []
    try:
        lowest = min(tiers, key=lambda t: Decimal(str(t["min_volume_30d"])))
        return Decimal(str(lowest["maker_bps"])), Decimal(str(lowest["taker_bps"]))
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None


class AgentSkillView(OwnerView):
    renderer_classes = [MarkdownRenderer]  # errors are switched to JSON below

    @extend_schema(tags=[TAG], summary="A Markdown brief for an LLM agent: endpoints, limits, examples",
                   responses={(200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR),
                              **error_responses(401, 404, 406)})
    def get(self, request, agent_id):
        agent = self.agent(agent_id)
        key = agent_primary_key(agent=agent)
        profile = agent_risk_profile(agent=agent)
        facts = SkillFacts(
            base_url=settings.PUBLIC_BASE_URL.rstrip("/") + "/api/v1", agent_id=str(agent.pk),
            agent_name=agent.name, agent_status=agent.status, description=agent.description,
            key_prefix=key.display_prefix if key else None, scope=key.scope if key else "read",
            limits=profile.limits, overridden=profile.overridden, starting_balance=agent.starting_balance,
            reset_epoch=agent.reset_epoch, rate_limit_per_key=settings.RATE_LIMIT_PER_KEY,
            rate_limit_window_seconds=settings.RATE_LIMIT_WINDOW_SECONDS,
            signature_window_seconds=settings.SIGNATURE_WINDOW_SECONDS, base_fee_bps=_base_fee_bps(),
        )
        filename = f"skill-{agent.pk}.md"
        return Response(skill_markdown(facts), content_type="text/markdown; charset=utf-8",
                        headers={"Content-Disposition": f'inline; filename="{filename}"'})

    def handle_exception(self, exc):
        # Errors are JSON envelopes whatever the client accepted (406 included).
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)


class AgentMeView(APIView):
    """``GET /agents/me`` with an agent key: who am I, and what may this key do."""

    authentication_classes = [AgentKeyAuthentication]
    permission_classes = [IsAgent]

    class OutputSerializer(serializers.Serializer):
        agent_id = serializers.UUIDField(source="agent.id")
        name = serializers.CharField(source="agent.name")
        status = serializers.CharField(source="agent.status")
        reset_epoch = serializers.IntegerField(source="agent.reset_epoch")
        key_id = serializers.UUIDField(source="key.id")
        key_prefix = serializers.CharField(source="key.display_prefix")
        scope = serializers.ChoiceField(choices=["read", "trade"])
        signing = serializers.BooleanField(source="key.requires_signature")
        expires_at = serializers.DateTimeField(source="key.expires_at", allow_null=True)

        class Meta:
            ref_name = "AgentMe"

    @extend_schema(tags=[TAG], summary="The agent of this X-API-Key, and the key's scope",
                   responses={200: OutputSerializer, **error_responses(401, 403)})
    def get(self, request):
        return Response(self.OutputSerializer(agent_context(request)).data)

