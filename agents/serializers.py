"""Shapes shared by several agent views (each view still nests its own Input/OutputSerializer)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.risk import RULES, plain_decimal, risk_changes_clean
from agents.services import MAX_STARTING_BALANCE
from common.errors import ValidationFailed
from common.fields import DecimalString


@extend_schema_field({"type": "string", "format": "decimal", "example": "10000.00",
                      "pattern": r"^[0-9]{1,10}(\.[0-9]{1,8})?$",
                      "description": "USDT, a decimal string greater than 0 and at most 1000000000."})
class StartingBalanceField(DecimalString):
    def __init__(self, **kwargs):
        super().__init__(positive=True, max_value=MAX_STARTING_BALANCE, input_places=8, **kwargs)


def _risk_value_schema(name: str, nullable: bool) -> dict:
    rule = RULES[name]
    if rule.kind is int:
        schema = {"type": "integer", "minimum": int(rule.minimum), "maximum": int(rule.maximum)}
    else:
        schema = {"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,7}(\.[0-9]{1,%d})?$" % rule.places,
                  "example": "25"}
    schema["description"] = rule.help
    if nullable:
        schema["nullable"] = True
    return schema


class _RiskFields(serializers.Serializer):
    """Documents every risk field; the values are checked by ``agents.risk`` (one set of rules for all callers)."""

    NULLABLE = False

    def get_fields(self):
        fields = {}
        for name in RULES:
            field = serializers.JSONField(required=False, allow_null=self.NULLABLE)
            fields[name] = extend_schema_field(_risk_value_schema(name, self.NULLABLE))(field)
        return fields


class RiskChangesSerializer(_RiskFields):
    """Overrides to set (a value) or remove (``null``); fields not sent are left as they are. Unknown fields -> 400."""

    NULLABLE = True

    class Meta:
        ref_name = "RiskConfigChanges"

    def to_internal_value(self, data):
        try:
            return risk_changes_clean(data)
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.details.get("fields") or exc.message) from None


class RiskOverridesSerializer(_RiskFields):
    """The limits this agent overrides (decimals as strings); the others are at their defaults."""

    class Meta:
        ref_name = "RiskConfigOverrides"

    def to_representation(self, instance):
        return {k: v for k, v in (instance or {}).items() if k in RULES}


class RiskLimitsSerializer(_RiskFields):
    """A full set of limits."""

    class Meta:
        ref_name = "RiskLimits"

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = True
        return fields

    def to_representation(self, limits):
        out = {}
        for name in RULES:
            value = getattr(limits, name)
            out[name] = plain_decimal(value) if isinstance(value, Decimal) else int(value)
        return out


class AgentOutputSerializer(serializers.Serializer):
    agent_id = serializers.UUIDField(source="id")
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=["active", "paused", "archived"])
    starting_balance = DecimalString()
    risk_config = RiskOverridesSerializer()
    reset_epoch = serializers.IntegerField()
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
