"""``/battles``: the owner's (JWT) battle API. Thin: parse, one service or selector, render."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import AccountJWTAuthentication, AccountJWTDeferredAuthentication
from accounts.serializers import StrictCharField, error_responses
from agents import keycache
from agents.models import Agent
from battles import selectors, services
from battles.models import Battle
from battles.presets import PRESETS
from common.errors import NotFound
from common.fields import DecimalString
from common.money import fmt
from common.permissions import IsAccount

TAG = "battles"


class OwnerView(APIView):
    authentication_classes = [AccountJWTAuthentication]
    permission_classes = [IsAccount]

    def battle(self, battle_id) -> Battle:
        return selectors.battle_get(account=self.request.user, battle_id=battle_id)


def _parse(serializer_class, request):
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return s.validated_data


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": r"^\d+[smhd]?$"}],
                      "nullable": True, "example": "4h"})
class DurationField(serializers.Field):
    """Seconds (integer) or a string like ``"4h"``; ``null`` for no time limit."""

    def to_internal_value(self, data):
        return services.parse_duration(data)

    def to_representation(self, value):
        return value


class ConfigSerializer(serializers.Serializer):
    name = StrictCharField(min_length=1, max_length=100)
    mode = serializers.ChoiceField(choices=Battle.Mode.choices, required=False,
                                   help_text="default: the preset's mode (historical_* presets), else live")
    ranking_metric = serializers.ChoiceField(choices=Battle.Metric.choices, required=False)
    preset = serializers.ChoiceField(choices=sorted(PRESETS), required=False)
    duration = DurationField(required=False, allow_null=True, help_text="Seconds, or \"15m\", \"4h\", \"7d\"; "
                                                                          "null = no time limit")
    starting_balance = DecimalString(positive=True, required=False)
    pairs = serializers.ListField(child=StrictCharField(max_length=20), required=False, max_length=100)
    elimination_threshold_pct = DecimalString(positive=True, max_value=100, places=2, required=False,
                                              allow_null=True, help_text="Survival: eliminated below this % of "
                                                                         "the starting balance")
    start_time = serializers.DateTimeField(required=False, allow_null=True)
    end_time = serializers.DateTimeField(required=False, allow_null=True)
    interval = serializers.ChoiceField(choices=["1m", "5m", "15m", "1h", "4h", "1d"], required=False)

    class Meta:
        ref_name = "BattleConfig"


class UpdateSerializer(ConfigSerializer):
    name = StrictCharField(min_length=1, max_length=100, required=False)
    mode = serializers.ChoiceField(choices=Battle.Mode.choices, required=False)

    class Meta:
        ref_name = "BattleUpdate"


class ParticipantSerializer(serializers.Serializer):
    agent_id = serializers.UUIDField()
    agent_name = serializers.CharField(source="agent.name")
    owner = serializers.EmailField(source="agent.account.email")
    status = serializers.CharField()
    wallet_id = serializers.UUIDField(allow_null=True)
    session_id = serializers.UUIDField(allow_null=True)
    eliminated_at = serializers.DateTimeField(allow_null=True)
    final_rank = serializers.IntegerField(allow_null=True)
    joined_at = serializers.DateTimeField()


class BattleSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    owner = serializers.EmailField(source="owner.email")
    mode = serializers.CharField()
    status = serializers.CharField()
    ranking_metric = serializers.CharField()
    preset = serializers.CharField()
    duration = serializers.IntegerField(source="duration_seconds", allow_null=True)
    starting_balance = DecimalString()
    pairs = serializers.ListField(child=serializers.CharField())
    elimination_threshold_pct = DecimalString(places=2, allow_null=True)
    start_time = serializers.DateTimeField(allow_null=True)
    end_time = serializers.DateTimeField(allow_null=True)
    interval = serializers.CharField()
    virtual_time = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    paused_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField()
    elapsed_seconds = serializers.SerializerMethodField()
    remaining_seconds = serializers.SerializerMethodField()
    rematch_of = serializers.UUIDField(source="rematch_of_id", allow_null=True)
    participants = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_elapsed_seconds(self, obj) -> int:
        return selectors.battle_clock(obj).elapsed_seconds

    def get_remaining_seconds(self, obj) -> int | None:
        return selectors.battle_clock(obj).remaining_seconds

    @extend_schema(responses=ParticipantSerializer(many=True))
    def get_participants(self, obj) -> list:
        return ParticipantSerializer(selectors.participants_of(battle=obj), many=True).data


class StandingRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    agent_id = serializers.UUIDField()
    agent_name = serializers.CharField()
    status = serializers.CharField()
    equity = serializers.CharField()
    roi_pct = serializers.CharField(allow_null=True)
    total_pnl = serializers.CharField(allow_null=True)
    sharpe_ratio = serializers.CharField(allow_null=True)
    max_drawdown_pct = serializers.CharField(allow_null=True)
    win_rate = serializers.CharField(allow_null=True)
    profit_factor = serializers.CharField(allow_null=True)
    total_trades = serializers.IntegerField()
    value = serializers.CharField(allow_null=True, help_text="The ranking metric's value")
    sortino_ratio = serializers.CharField(allow_null=True)
    calmar_ratio = serializers.CharField(allow_null=True)
    eliminated_at = serializers.DateTimeField(allow_null=True)


class StandingsSerializer(serializers.Serializer):
    battle_id = serializers.UUIDField()
    status = serializers.CharField()
    ranking_metric = serializers.CharField()
    elapsed_seconds = serializers.IntegerField()
    remaining_seconds = serializers.IntegerField(allow_null=True)
    virtual_time = serializers.DateTimeField(allow_null=True)
    as_of = serializers.DateTimeField(allow_null=True)
    round = serializers.IntegerField()
    final = serializers.BooleanField()
    standings = StandingRowSerializer(many=True)


def _battle(battle: Battle, code=status.HTTP_200_OK) -> Response:
    return Response(BattleSerializer(battle).data, status=code)


class _ListParams(serializers.Serializer):
    status = serializers.ChoiceField(choices=Battle.Status.choices, required=False)
    mode = serializers.ChoiceField(choices=Battle.Mode.choices, required=False)


class BattleListCreateView(OwnerView):
    @extend_schema(tags=[TAG], summary="Your battles (staff: all)", parameters=[_ListParams],
                   responses={200: BattleSerializer(many=True), **error_responses(400, 401)})
    def get(self, request):
        params = _ListParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        battles = selectors.battle_list(account=request.user, **params.validated_data)
        return Response(BattleSerializer(battles, many=True).data)

    @extend_schema(tags=[TAG], summary="Create a battle (a draft)", request=ConfigSerializer,
                   responses={201: BattleSerializer, **error_responses(400, 401, 422)})
    def post(self, request):
        data = _parse(ConfigSerializer, request)
        return _battle(services.battle_create(owner=request.user, **data), status.HTTP_201_CREATED)


class PresetSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    duration = serializers.IntegerField(allow_null=True, help_text="seconds; null = no time limit")
    starting_balance = serializers.CharField()
    pairs = serializers.ListField(child=serializers.CharField())
    ranking_metric = serializers.CharField()
    elimination_threshold_pct = serializers.CharField(allow_null=True)
    mode = serializers.CharField()
    interval = serializers.CharField(allow_null=True, help_text="historical presets: the candle interval")


class PresetsView(OwnerView):
    @extend_schema(tags=[TAG], summary="Battle presets", responses={200: PresetSerializer(many=True),
                                                                    **error_responses(401)})
    def get(self, request):
        return Response([
            {"name": name, "description": p["description"], "duration": p["duration"],
             "starting_balance": fmt(p["starting_balance"]), "pairs": p["pairs"],
             "ranking_metric": p["ranking_metric"],
             "elimination_threshold_pct": fmt(p["elimination_threshold_pct"], 2)
             if p.get("elimination_threshold_pct") is not None else None,
             "mode": p.get("mode", "live"), "interval": p.get("interval")}
            for name, p in PRESETS.items()])


class BattleDetailView(OwnerView):
    @extend_schema(tags=[TAG], summary="A battle", responses={200: BattleSerializer, **error_responses(401, 404)})
    def get(self, request, battle_id):
        return _battle(self.battle(battle_id))

    @extend_schema(tags=[TAG], summary="Change a draft", request=UpdateSerializer,
                   responses={200: BattleSerializer, **error_responses(400, 401, 404, 422)})
    def put(self, request, battle_id):
        battle = self.battle(battle_id)
        return _battle(services.battle_update(battle=battle, **_parse(UpdateSerializer, request)))

    @extend_schema(tags=[TAG], summary="Delete a draft or cancelled battle", responses={204: None,
                                                                                         **error_responses(401, 404, 422)})
    def delete(self, request, battle_id):
        services.battle_delete(battle=self.battle(battle_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ParticipantAddView(OwnerView):
    class InputSerializer(serializers.Serializer):
        agent_id = serializers.UUIDField()

        class Meta:
            ref_name = "BattleParticipantAdd"

    @extend_schema(tags=[TAG], summary="Add an agent to a draft", request=InputSerializer,
                   responses={201: BattleSerializer, **error_responses(400, 401, 404, 409, 422)})
    def post(self, request, battle_id):
        battle = self.battle(battle_id)
        agent_id = _parse(self.InputSerializer, request)["agent_id"]
        agent = Agent.objects.filter(pk=agent_id).first()
        if agent is None:
            raise NotFound("No such agent.")
        services.participant_add(battle=battle, agent=agent, actor=request.user)
        return _battle(selectors.battle_get(account=request.user, battle_id=battle.pk), status.HTTP_201_CREATED)


class ParticipantRemoveView(OwnerView):
    @extend_schema(tags=[TAG], summary="Remove an agent from a draft",
                   responses={204: None, **error_responses(401, 404, 422)})
    def delete(self, request, battle_id, agent_id):
        services.participant_remove(battle=self.battle(battle_id), agent_id=agent_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _action_view(action, summary):
    class ActionView(OwnerView):
        @extend_schema(tags=[TAG], summary=summary, request=None,
                       responses={200: BattleSerializer, **error_responses(401, 404, 422)})
        def post(self, request, battle_id):
            return _battle(action(battle=self.battle(battle_id)))

    ActionView.__name__ = ActionView.__qualname__ = f"Battle{action.__name__.split('_')[-1].title()}View"
    return ActionView


BattleStartView = _action_view(services.battle_start, "Start (or schedule, with a future start_time)")
BattlePauseView = _action_view(services.battle_pause, "Pause: the clock stops, new orders are refused")
BattleResumeView = _action_view(services.battle_resume, "Resume a paused battle")
BattleStopView = _action_view(services.battle_stop, "Stop: complete (results frozen), or cancel a draft/pending")


class BattleStepView(OwnerView):
    @extend_schema(tags=[TAG], summary="Historical battle: advance the shared clock by one candle", request=None,
                   responses={200: StandingsSerializer, **error_responses(401, 404, 422)})
    def post(self, request, battle_id):
        battle = services.battle_step(battle=self.battle(battle_id), steps=1)
        return Response(selectors.battle_standings(battle=battle))


class BattleStepBatchView(OwnerView):
    class InputSerializer(serializers.Serializer):
        steps = serializers.IntegerField(min_value=1, max_value=10_000)

        class Meta:
            ref_name = "BattleStepBatch"

    @extend_schema(tags=[TAG], summary="Historical battle: advance the shared clock by {steps} candles",
                   request=InputSerializer, responses={200: StandingsSerializer, **error_responses(400, 401, 404, 422)})
    def post(self, request, battle_id):
        steps = _parse(self.InputSerializer, request)["steps"]
        battle = services.battle_step(battle=self.battle(battle_id), steps=steps)
        return Response(selectors.battle_standings(battle=battle))


class BattleLiveView(OwnerView):
    # A hot, polled endpoint: the token is checked here without loading the account; the one query of
    # battle_live_body checks the account (exists, active, staff) with the battle, and the round's rows are rendered
    # once per process (docs/decisions.md "Read-path performance"). DRF still authenticates, throttles and renders
    # errors, so the envelope and the rate limit headers are those of every other view.
    authentication_classes = [AccountJWTDeferredAuthentication]

    @property
    def prefetch_generations(self) -> tuple[str, str]:
        """Read by the rate limiter in its own round trip (common.ratelimit): what battle_live_body's row depends on."""
        return (keycache.GENERATION, selectors.live_generation(self.kwargs["battle_id"]))

    @extend_schema(tags=[TAG], summary="Ranked standings (latest round)", auth=[{"jwtAuth": []}],
                   responses={200: StandingsSerializer, **error_responses(401, 404)})
    def get(self, request, battle_id):
        try:
            body = selectors.battle_live_body(
                account_id=request.user.pk, battle_id=battle_id,
                generations=getattr(request._request, "prefetched_generations", None))
        except selectors.LiveAuthFailed:
            raise AuthenticationFailed("User not found or inactive.", code="user_not_found") from None
        return HttpResponse(body, content_type="application/json")


class BattleResultsView(OwnerView):
    @extend_schema(tags=[TAG], summary="Final standings (frozen at completion)",
                   responses={200: StandingsSerializer, **error_responses(401, 404, 422)})
    def get(self, request, battle_id):
        battle = self.battle(battle_id)
        if battle.status != Battle.Status.COMPLETED:
            raise services.BattleState("Results exist once the battle has completed.",
                                       details={"battle_id": str(battle.pk), "status": battle.status})
        return Response(selectors.battle_standings(battle=battle))


class BattleRematchView(OwnerView):
    @extend_schema(tags=[TAG], summary="A new draft with the same configuration and participants", request=None,
                   responses={201: BattleSerializer, **error_responses(401, 404)})
    def post(self, request, battle_id):
        battle = self.battle(battle_id)
        return _battle(services.battle_rematch(battle=battle, owner=request.user), status.HTTP_201_CREATED)
