"""``GET /account/info`` and ``GET /account/balance``: what an agent's key sees of itself and its wallet."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.serializers import RiskLimitsSerializer
from common.fields import DecimalString
from common.money import fmt
from common.permissions import IsAgent, agent_context
from trading.engine.limits import RiskLimits
from trading.selectors import wallet_balances, wallet_current

AGENT_KEY = [{"AgentKey": []}]


class AccountInfoView(APIView):
    permission_classes = [IsAgent]

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="agent_id", help_text="The agent's id.")
        agent_id = serializers.UUIDField()
        name = serializers.CharField()
        status = serializers.ChoiceField(choices=["active", "paused", "archived"])
        key_prefix = serializers.CharField(help_text="The first characters of the key making this request")
        key_scope = serializers.ChoiceField(choices=["read", "trade"])
        wallet_id = serializers.UUIDField()
        epoch = serializers.IntegerField(help_text="Reset epoch of the current wallet")
        starting_balance = DecimalString()
        risk_limits = RiskLimitsSerializer(help_text="Effective limits: the defaults with the agent's overrides")
        created_at = serializers.DateTimeField()

    @extend_schema(operation_id="account_info", tags=["account"], auth=AGENT_KEY,
                   responses={200: OutputSerializer})
    def get(self, request):
        ctx = agent_context(request)
        agent = ctx.agent
        wallet = wallet_current(agent=agent)
        return Response(self.OutputSerializer({
            "agent_id": agent.pk,
            "name": agent.name,
            "status": agent.status,
            "key_prefix": ctx.key.display_prefix,
            "key_scope": ctx.key.scope,
            "wallet_id": wallet.pk,
            "epoch": wallet.epoch,
            "starting_balance": wallet.starting_balance,
            "risk_limits": RiskLimits().merged(agent.risk_config or {}),
            "created_at": agent.created_at,
        }).data)


class AccountBalanceView(APIView):
    permission_classes = [IsAgent]

    class OutputSerializer(serializers.Serializer):
        class AssetSerializer(serializers.Serializer):
            asset = serializers.CharField()
            available = DecimalString()
            locked = DecimalString(help_text="Held by open orders")
            total = DecimalString()

        wallet_id = serializers.UUIDField()
        epoch = serializers.IntegerField()
        balances = AssetSerializer(many=True)
        total_equity_usdt = DecimalString(help_text="USDT at 1, other assets at their last price")
        unpriced_assets = serializers.ListField(
            child=serializers.CharField(), help_text="Assets held but without a last price, left out of the equity")

        def to_representation(self, result):
            # The fields above are the contract (and the schema); this renders the same thing directly, because
            # field-by-field serialization would be a visible share of this hot endpoint's cost.
            return {
                "wallet_id": result.wallet_id,
                "epoch": result.epoch,
                "balances": [{"asset": b.asset, "available": fmt(b.available), "locked": fmt(b.locked),
                              "total": fmt(b.total)} for b in result.balances],
                "total_equity_usdt": fmt(result.total_equity_usdt),
                "unpriced_assets": list(result.unpriced_assets),
            }

    @extend_schema(operation_id="account_balance", tags=["account"], auth=AGENT_KEY,
                   responses={200: OutputSerializer},
                   examples=[OpenApiExample("fresh agent", response_only=True, value={
                       "wallet_id": "8f0c1f7e-3a52-4c55-9a8e-2f1f5f7f2c11", "epoch": 0,
                       "balances": [{"asset": "USDT", "available": "10000.00000000", "locked": "0.00000000",
                                     "total": "10000.00000000"}],
                       "total_equity_usdt": "10000.00000000", "unpriced_assets": []})])
    def get(self, request):
        result = wallet_balances(agent=agent_context(request).agent)
        return Response(self.OutputSerializer(result).data)
