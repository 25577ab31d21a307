"""Shapes shared by several agent views (each view still nests its own Input/OutputSerializer)."""

import re
from decimal import Decimal

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from rest_framework import serializers

from agents.risk import RULES, decimal_pattern, plain_decimal, risk_changes_clean
from agents.services import MAX_STARTING_BALANCE
from common.errors import ValidationFailed
from common.fields import DecimalString

_BALANCE_PATTERN = decimal_pattern(maximum=int(MAX_STARTING_BALANCE), places=8, allow_zero=False)


class StartingBalanceField(DecimalString):
    """USDT in (0, 1000000000] with at most 8 places: a decimal string, or a JSON integer.

    Strings must match the documented pattern exactly (no exponent, sign or padding), so that what the schema
    calls valid is what the API accepts.
    """

    def __init__(self, **kwargs):
        super().__init__(positive=True, max_value=MAX_STARTING_BALANCE, input_places=8, **kwargs)

    def to_internal_value(self, data) -> Decimal:
        if isinstance(data, float) and data.is_integer():
            data = int(data)  # JSON Schema's "integer" includes 5.0
        if isinstance(data, str) and (len(data) > 64 or not re.search(_BALANCE_PATTERN, data)):
            self.fail("invalid")
        return super().to_internal_value(data.strip() if isinstance(data, str) else data)


class StartingBalanceFieldSchema(OpenApiSerializerFieldExtension):
    target_class = StartingBalanceField

    def map_serializer_field(self, auto_schema, direction):
        if direction == "response":
            return {"type": "string", "format": "decimal", "example": "10000.00000000"}
        return {"oneOf": [{"type": "string", "format": "decimal", "pattern": _BALANCE_PATTERN,
                           "example": "10000.00"},
                          {"type": "integer", "minimum": 1, "maximum": int(MAX_STARTING_BALANCE)}],
                "description": "USDT, greater than 0 and at most 1000000000, at most 8 decimal places."}


def _risk_object(*, nullable: bool, direction: str, all_required: bool = False) -> dict:
    properties = {}
    for name, rule in RULES.items():
        schema = rule.input_schema() if direction == "request" else rule.output_schema()
        if nullable:
            schema = {**schema, "nullable": True}
        properties[name] = schema
    out = {"type": "object", "properties": properties, "additionalProperties": False}
    if all_required:
        out["required"] = list(RULES)
    return out


class RiskChangesSerializer(serializers.Serializer):
    """Overrides to set (a value) or remove (``null``); fields not sent are left as they are. Unknown fields -> 400.

    Values are checked by ``agents.risk`` (one set of rules for every caller, and the source of this schema).
    """

    class Meta:
        ref_name = "RiskConfigChanges"

    def to_internal_value(self, data):
        try:
            return risk_changes_clean(data)
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.details.get("fields") or exc.message) from None


class RiskOverridesSerializer(serializers.Serializer):
    """The limits this agent overrides (decimals as strings); the others are at their defaults."""

    class Meta:
        ref_name = "RiskConfigOverrides"

    def to_representation(self, instance):
        return {k: v for k, v in (instance or {}).items() if k in RULES}


class RiskLimitsSerializer(serializers.Serializer):
    """A full set of limits."""

    class Meta:
        ref_name = "RiskLimits"

    def to_representation(self, limits):
        out = {}
        for name in RULES:
            value = getattr(limits, name)
            out[name] = plain_decimal(value) if isinstance(value, Decimal) else int(value)
        return out


class _RiskSchema(OpenApiSerializerExtension):
    def get_name(self, auto_schema, direction):
        return self.target.Meta.ref_name


class RiskChangesSchema(_RiskSchema):
    target_class = RiskChangesSerializer

    def map_serializer(self, auto_schema, direction):
        return _risk_object(nullable=True, direction="request")


class RiskOverridesSchema(_RiskSchema):
    target_class = RiskOverridesSerializer

    def map_serializer(self, auto_schema, direction):
        return _risk_object(nullable=False, direction="response")


class RiskLimitsSchema(_RiskSchema):
    target_class = RiskLimitsSerializer

    def map_serializer(self, auto_schema, direction):
        return _risk_object(nullable=False, direction="response", all_required=True)


class AgentOutputSerializer(serializers.Serializer):
    agent_id = serializers.UUIDField(source="id")
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=["active", "paused", "archived"])
    starting_balance = DecimalString()
    risk_config = RiskOverridesSerializer()
    reset_epoch = serializers.IntegerField()
    public = serializers.BooleanField(help_text="Shown on the public leaderboards")
    cloned_from = serializers.UUIDField(source="cloned_from_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Agent"


class AgentWithKeySerializer(AgentOutputSerializer):
    """An agent just created or cloned: its primary key is in the response, and never again."""

    api_key = serializers.CharField(help_text="The agent's ak_live_ key. Shown once: store it now.")

    class Meta:
        ref_name = "AgentWithKey"


def agent_with_key(agent, issued) -> dict:
    data = AgentOutputSerializer(agent).data
    data["api_key"] = issued.api_key
    return data


class AgentKeySerializer(serializers.Serializer):
    key_id = serializers.UUIDField(source="id")
    name = serializers.CharField()
    key_prefix = serializers.CharField(source="display_prefix", help_text="ak_live_ + the 8 lookup characters.")
    is_primary = serializers.BooleanField()
    scope = serializers.ChoiceField(choices=["read", "trade"])
    allowed_ips = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    last_used_ip = serializers.CharField(allow_null=True)
    signing = serializers.BooleanField(source="requires_signature")
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "AgentKey"
