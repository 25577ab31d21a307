"""The public market API (API.md "Market data"): no authentication needed, the default throttle applies."""

from datetime import UTC, datetime

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import error_responses
from common.fields import DecimalString
from common.money import fmt
from market import prices, selectors

DEFAULT_DEPTH = 20
MAX_DEPTH = 100


def _symbol(raw: str) -> str:
    return raw.strip().upper()


class TimestampField(serializers.Field):
    """ISO-8601 (UTC assumed when no offset) or epoch milliseconds (Binance's ``startTime``) -> aware datetime."""

    default_error_messages = {"invalid": "Must be an ISO-8601 time or epoch milliseconds.",
                              "range": "Must be between 1970-01-01 and 2999-12-31."}
    EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
    LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)  # far from datetime.max: buckets are added to it

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int)) or len(str(data)) > 40:
            self.fail("invalid")
        text = str(data).strip()
        try:
            if text.isdigit():
                return datetime.fromtimestamp(int(text) / 1000, UTC)
            value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
        except (ValueError, OverflowError, OSError):
            self.fail("invalid")
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        if not self.EARLIEST <= value <= self.LATEST:
            self.fail("range")
        return value

    def to_representation(self, value):
        return value.isoformat()


class PriceOut(serializers.Serializer):
    symbol = serializers.CharField()
    price = DecimalString(allow_null=True)
    ts = serializers.DateTimeField(allow_null=True, help_text="Source timestamp (exchange or candle time).")
    received_at = serializers.DateTimeField(allow_null=True, help_text="When the feed received the price.")
    source = serializers.CharField(allow_null=True, help_text="live | replay | synthetic")
    stale = serializers.BooleanField()


def _price_row(symbol: str, snap) -> dict:
    if snap is None:
        return {"symbol": symbol, "price": None, "ts": None, "received_at": None, "source": None, "stale": True}
    return {"symbol": symbol, "price": snap.price, "ts": snap.ts, "received_at": snap.received_at,
            "source": snap.source, "stale": snap.stale}


class PublicAPIView(APIView):
    permission_classes = [AllowAny]


class PairListApi(PublicAPIView):
    class OutputSerializer(serializers.Serializer):
        symbol = serializers.CharField()
        base = serializers.CharField()
        quote = serializers.CharField()
        status = serializers.CharField()
        tick_size = DecimalString()
        step_size = DecimalString()
        min_qty = DecimalString()
        min_notional = DecimalString()

    @extend_schema(responses={200: inline_serializer("PairList", {"pairs": OutputSerializer(many=True)}),
                              **error_responses()}, summary="Tradable pairs and their filters")
    def get(self, request):
        pairs = selectors.instrument_list()
        return Response({"pairs": self.OutputSerializer(pairs, many=True).data})


class PriceApi(PublicAPIView):
    @extend_schema(responses={200: PriceOut, **error_responses(404, 503)}, summary="Latest price of a pair",
                   description="404 UNKNOWN_SYMBOL for a pair that is not listed; 503 PRICE_UNAVAILABLE while the "
                               "feed has not written a price for it.")
    def get(self, request, symbol: str):
        snap = prices.get_price(_symbol(symbol))
        return Response(PriceOut(_price_row(snap.symbol, snap)).data)


class PriceListApi(PublicAPIView):
    @extend_schema(responses={200: inline_serializer("PriceList", {"prices": PriceOut(many=True)}),
                              **error_responses()},
                   summary="Latest price of every trading pair (price null while the feed has none)")
    def get(self, request):
        rows = [_price_row(symbol, snap) for symbol, snap in prices.get_prices().items()]
        return Response({"prices": PriceOut(rows, many=True).data})


class TickerApi(PublicAPIView):
    class OutputSerializer(serializers.Serializer):
        symbol = serializers.CharField()
        open = DecimalString()
        high = DecimalString()
        low = DecimalString()
        last = DecimalString()
        volume = DecimalString(help_text="Base-asset volume over 24 h.")
        quote_volume = DecimalString(allow_null=True, help_text="Quote-asset volume over 24 h (an estimate for "
                                                                "replay and synthetic sources).")
        change = serializers.CharField()
        change_pct = serializers.CharField(allow_null=True)
        ts = serializers.DateTimeField()
        source = serializers.CharField()
        stale = serializers.BooleanField()

    @extend_schema(responses={200: OutputSerializer, **error_responses(404, 503)},
                   summary="24 h rolling ticker of a pair")
    def get(self, request, symbol: str):
        snap = prices.get_ticker(_symbol(symbol))
        t = snap.ticker
        data = {"symbol": snap.symbol, "open": t.open, "high": t.high, "low": t.low, "last": t.last,
                "volume": t.volume, "quote_volume": t.quote_volume, "change": _signed(t.change, 8),
                "change_pct": None if t.change_pct is None else _signed(t.change_pct, 4),
                "ts": snap.ts, "source": snap.source, "stale": snap.stale}
        return Response(self.OutputSerializer(data).data)


def _signed(value, places: int) -> str:
    return fmt(value, places) if value >= 0 else "-" + fmt(-value, places)


class CandleListApi(PublicAPIView):
    class InputSerializer(serializers.Serializer):
        interval = serializers.ChoiceField(choices=list(selectors.INTERVALS), default="1m")
        limit = serializers.IntegerField(min_value=1, max_value=selectors.MAX_CANDLES,
                                         default=selectors.DEFAULT_CANDLES)
        start = TimestampField(required=False)
        end = TimestampField(required=False)

        def validate(self, attrs):
            if "start" in attrs and "end" in attrs and attrs["start"] > attrs["end"]:
                raise serializers.ValidationError({"end": "Must not be before start."})
            return attrs

    class OutputSerializer(serializers.Serializer):
        open_time = serializers.DateTimeField()
        close_time = serializers.DateTimeField()
        open = DecimalString()
        high = DecimalString()
        low = DecimalString()
        close = DecimalString()
        volume = DecimalString()

    @extend_schema(
        parameters=[
            OpenApiParameter("interval", str, enum=list(selectors.INTERVALS), default="1m"),
            OpenApiParameter("limit", int, description=f"1..{selectors.MAX_CANDLES}",
                             default=selectors.DEFAULT_CANDLES),
            OpenApiParameter("start", str, description="ISO-8601 or epoch ms; buckets opening at or after it"),
            OpenApiParameter("end", str, description="ISO-8601 or epoch ms; buckets opening at or before it"),
        ],
        responses={200: inline_serializer("CandleList", {"symbol": serializers.CharField(),
                                                         "interval": serializers.CharField(),
                                                         "candles": OutputSerializer(many=True)}),
                   **error_responses(400, 404)},
        summary="OHLCV candles aggregated from 1-minute candles",
    )
    def get(self, request, symbol: str):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        symbol = _symbol(symbol)
        bars = selectors.candle_list(symbol=symbol, **params.validated_data)
        return Response({"symbol": symbol, "interval": params.validated_data["interval"],
                         "candles": self.OutputSerializer(bars, many=True).data})


class OrderBookApi(PublicAPIView):
    class InputSerializer(serializers.Serializer):
        depth = serializers.IntegerField(min_value=1, max_value=MAX_DEPTH, default=DEFAULT_DEPTH)

    class OutputSerializer(serializers.Serializer):
        symbol = serializers.CharField()
        bids = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
        asks = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
        ts = serializers.DateTimeField()
        source = serializers.CharField()
        stale = serializers.BooleanField()

    @extend_schema(parameters=[OpenApiParameter("depth", int, description=f"levels per side, 1..{MAX_DEPTH}",
                                                default=DEFAULT_DEPTH)],
                   responses={200: OutputSerializer, **error_responses(400, 404, 503)},
                   summary="Top of the order book ([price, quantity] strings)")
    def get(self, request, symbol: str):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        book = prices.get_book(_symbol(symbol), depth=params.validated_data["depth"])
        data = {"symbol": book.symbol, "bids": [[fmt(lv.price), fmt(lv.quantity)] for lv in book.bids],
                "asks": [[fmt(lv.price), fmt(lv.quantity)] for lv in book.asks], "ts": book.ts,
                "source": book.source, "stale": book.stale}
        return Response(self.OutputSerializer(data).data)


class FeeScheduleApi(PublicAPIView):
    class OutputSerializer(serializers.Serializer):
        tier = serializers.IntegerField()
        min_volume_30d = DecimalString(places=2)
        maker_bps = serializers.CharField()
        taker_bps = serializers.CharField()
        maker_pct = serializers.CharField()
        taker_pct = serializers.CharField()

    @extend_schema(responses={200: inline_serializer("FeeSchedule", {
                       "fee_asset": serializers.CharField(), "volume_basis": serializers.CharField(),
                       "tiers": OutputSerializer(many=True)}), **error_responses()},
                   summary="Maker/taker fees (bps) by rolling 30-day quote volume")
    def get(self, request):
        tiers = [{"tier": t.tier, "min_volume_30d": t.min_volume_30d, "maker_bps": _plain(t.maker_bps),
                  "taker_bps": _plain(t.taker_bps), "maker_pct": _plain(t.maker_bps / 100),
                  "taker_pct": _plain(t.taker_bps / 100)} for t in selectors.fee_tier_list()]
        return Response({"fee_asset": "quote", "volume_basis": "rolling 30-day quote volume",
                         "tiers": self.OutputSerializer(tiers, many=True).data})


def _plain(value) -> str:
    return format(value.normalize(), "f")
