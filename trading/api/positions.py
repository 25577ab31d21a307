"""``GET /account/positions`` and ``GET /account/portfolio``: the wallet's positions at mark and its valuation."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.fields import DecimalString
from common.permissions import IsAgent, agent_context
from trading.selectors import wallet_current
from trading.services.positions import portfolio_get, positions_at_mark

AGENT_KEY = [{"AgentKey": []}]


class PositionSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    base_asset = serializers.CharField()
    quote_asset = serializers.CharField()
    quantity = DecimalString()
    avg_entry_price = DecimalString()
    cost_basis = DecimalString(help_text="Quote paid for the quantity held (fees excluded)")
    mark_price = DecimalString(allow_null=True, help_text="Last price; null if the pair has none")
    market_value = DecimalString(allow_null=True)
    unrealized_pnl = DecimalString(allow_null=True)
    unrealized_pnl_pct = DecimalString(places=4, allow_null=True)
    realized_pnl = DecimalString(help_text="Realized on sells (average cost), fees excluded")
    fees_paid = DecimalString()
    updated_at = serializers.DateTimeField()


class PositionsView(APIView):
    permission_classes = [IsAgent]

    @extend_schema(operation_id="account_positions", tags=["account"], auth=AGENT_KEY,
                   responses={200: PositionSerializer(many=True)})
    def get(self, request):
        include_closed = request.query_params.get("include_closed", "").lower() in ("1", "true", "yes")
        wallet = wallet_current(agent=agent_context(request).agent)
        return Response(PositionSerializer(positions_at_mark(wallet=wallet, include_closed=include_closed),
                                           many=True).data)


class PortfolioView(APIView):
    permission_classes = [IsAgent]

    class OutputSerializer(serializers.Serializer):
        wallet_id = serializers.UUIDField()
        epoch = serializers.IntegerField()
        starting_balance = DecimalString()
        cash = DecimalString(help_text="Quote asset held, available + locked")
        cash_available = DecimalString()
        positions_value = DecimalString(help_text="Other assets at their last price")
        equity = DecimalString()
        realized_pnl = DecimalString()
        unrealized_pnl = DecimalString()
        fees_paid = DecimalString()
        total_pnl = DecimalString(help_text="equity - starting_balance (fees included)")
        roi_pct = DecimalString(places=4)
        positions = PositionSerializer(many=True)
        unpriced_assets = serializers.ListField(child=serializers.CharField())

    @extend_schema(operation_id="account_portfolio", tags=["account"], auth=AGENT_KEY,
                   responses={200: OutputSerializer})
    def get(self, request):
        wallet = wallet_current(agent=agent_context(request).agent)
        return Response(self.OutputSerializer(portfolio_get(wallet=wallet)).data)
