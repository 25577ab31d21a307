"""The Binance-compatible API (API.md "Binance-compatible API"): ``/binance/api/v3/...``.

Thin views, as everywhere: parse Binance's parameters (``binance.params``), call the gateway (the one adapter onto
``trading`` and ``market``), render Binance's JSON (``binance.render``). Errors are Binance's (``binance.errors``).
"""

import json
from decimal import Decimal
import time

from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from binance import gateway, render
from binance.auth import BinanceKeyAuthentication, IsSignedAgent
from binance.errors import MSG_NO_ORDER, MSG_UNKNOWN_ORDER, BinanceError, binance_exception_handler, not_required
from binance.params import SYMBOL_RE, Params
from common.money import fmt

ZERO_S = "0.00000000"
MAX_BOOK_DEPTH = 100  # the platform keeps this many levels per side (market.views.MAX_DEPTH)


class BinanceView(APIView):
    """Public (market data) endpoints: no key, counted against the caller's IP like the native public API."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []  # parameters are read raw (binance.params): the signature covers their exact text
    renderer_classes = [JSONRenderer]
    not_found = (-2013, MSG_NO_ORDER)  # what a platform NOT_FOUND means in this view
    schema = None  # not part of the native OpenAPI document: Binance's own documentation describes it

    def get_exception_handler(self):
        return binance_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        state = getattr(request._request, "rate_limit_state", None)
        if state is not None:
            used = str(state.limit - state.remaining if state.allowed else state.limit)
            response["X-MBX-USED-WEIGHT"] = used
            response["X-MBX-USED-WEIGHT-1M"] = used
        return response

    def params(self) -> Params:
        return Params.of(self.request)


class SignedView(BinanceView):
    """SIGNED (TRADE / USER_DATA) endpoints: X-MBX-APIKEY + signature (binance.auth)."""

    authentication_classes = [BinanceKeyAuthentication]
    permission_classes = [IsSignedAgent]

    @property
    def agent(self):
        return self.request.auth.agent

    def wallet(self):
        return gateway.wallet_for(self.agent)


# --- general ----------------------------------------------------------------------------------------------------------
class PingView(BinanceView):
    def get(self, request):
        return Response({})


class TimeView(BinanceView):
    def get(self, request):
        return Response({"serverTime": int(time.time() * 1000)})


def _symbols_param(params: Params) -> list[str] | None:
    """``symbol=BTCUSDT`` or ``symbols=["BTCUSDT","ETHUSDT"]`` -> the list; None for all."""
    if "symbol" in params and "symbols" in params:
        raise BinanceError(-1128, "Combination of optional parameters invalid: send symbol or symbols, not both.")
    if "symbol" in params:
        symbol = params.symbol()
        gateway.instrument(symbol)
        return [symbol]
    raw = params.get("symbols")
    if raw is None:
        return None
    try:
        symbols = json.loads(raw)
    except ValueError:
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'; legal range is "
                                  "'^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.") from None
    if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
    out = []
    for s in symbols:
        s = s.strip().upper()
        if not SYMBOL_RE.fullmatch(s):
            raise BinanceError(-1121, "Invalid symbol.")
        gateway.instrument(s)
        out.append(s)
    return out


class ExchangeInfoView(BinanceView):
    def get(self, request):
        params = self.params()
        wanted = _symbols_param(params)
        instruments = [i for i in gateway.instruments() if wanted is None or i.symbol in wanted]
        return Response({
            "timezone": "UTC",
            "serverTime": int(time.time() * 1000),
            "rateLimits": _rate_limits(),
            "exchangeFilters": [],
            "symbols": [render.symbol_info(i, order_types=render.TYPES_OFFERED) for i in instruments],
        })


def _rate_limits() -> list[dict]:
    from django.conf import settings

    window = settings.RATE_LIMIT_WINDOW_SECONDS
    unit, num = ("MINUTE", window // 60) if window % 60 == 0 else ("SECOND", window)
    return [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": unit, "intervalNum": num,
         "limit": settings.RATE_LIMIT_PER_KEY},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": gateway.order_rate_limit()},
    ]


# --- market data ------------------------------------------------------------------------------------------------------
def _respond_symbols(params: Params, row):
    """One object for ``symbol=``, a list for ``symbols=`` or for all pairs (Binance's shapes)."""
    symbols = _symbols_param(params)
    if symbols is None:
        symbols = [i.symbol for i in gateway.instruments() if i.is_trading]
        rows = []
        for s in symbols:
            try:
                rows.append(row(s))
            except Exception as exc:  # noqa: BLE001 - a pair the feed has not priced yet is left out of "all"
                if getattr(exc, "code", None) != "PRICE_UNAVAILABLE":
                    raise
        return rows
    rows = [row(s) for s in symbols]
    return rows[0] if "symbol" in params else rows


class TickerPriceView(BinanceView):
    def get(self, request):
        def row(symbol):
            return {"symbol": symbol, "price": fmt(gateway.price(symbol).price)}

        return Response(_respond_symbols(self.params(), row))


def _best(levels):
    return (fmt(levels[0].price), fmt(levels[0].quantity)) if levels else ("0.00000000", "0.00000000")


class BookTickerView(BinanceView):
    def get(self, request):
        def row(symbol):
            book = gateway.book(symbol, 1)
            (bp, bq), (ap, aq) = _best(book.bids), _best(book.asks)
            return {"symbol": symbol, "bidPrice": bp, "bidQty": bq, "askPrice": ap, "askQty": aq}

        return Response(_respond_symbols(self.params(), row))


class Ticker24hView(BinanceView):
    def get(self, request):
        def row(symbol):
            snap = gateway.ticker(symbol)
            t = snap.ticker
            book = gateway.book(symbol, 1)
            (bp, bq), (ap, aq) = _best(book.bids), _best(book.asks)
            close_ms = render.ms(snap.ts)
            change = t.last - t.open
            quote_volume = t.quote_volume if t.quote_volume is not None else t.volume * t.last
            weighted = quote_volume / t.volume if t.volume else t.last
            return {
                "symbol": symbol, "priceChange": _signed(change, 8),
                "priceChangePercent": _signed(t.change_pct or Decimal(0), 3), "weightedAvgPrice": fmt(weighted),
                "prevClosePrice": fmt(t.open), "lastPrice": fmt(t.last), "lastQty": "0.00000000",
                "bidPrice": bp, "bidQty": bq, "askPrice": ap, "askQty": aq, "openPrice": fmt(t.open),
                "highPrice": fmt(t.high), "lowPrice": fmt(t.low), "volume": fmt(t.volume),
                "quoteVolume": fmt(quote_volume), "openTime": close_ms - 86_400_000, "closeTime": close_ms,
                "firstId": -1, "lastId": -1, "count": 0,
            }

        return Response(_respond_symbols(self.params(), row))


def _signed(value, places: int) -> str:
    return fmt(value, places) if value >= 0 else "-" + fmt(-value, places)


class AvgPriceView(BinanceView):
    def get(self, request):
        snap = gateway.price(self.params().symbol())
        return Response({"mins": 0, "price": fmt(snap.price), "closeTime": render.ms(snap.ts)})


class DepthView(BinanceView):
    def get(self, request):
        params = self.params()
        symbol = params.symbol()
        limit = params.integer("limit", default=100, lo=1, hi=5000)
        book = gateway.book(symbol, min(limit, MAX_BOOK_DEPTH))
        return Response({"lastUpdateId": render.ms(book.ts),
                         "bids": [[fmt(lv.price), fmt(lv.quantity)] for lv in book.bids],
                         "asks": [[fmt(lv.price), fmt(lv.quantity)] for lv in book.asks]})


class KlinesView(BinanceView):
    def get(self, request):
        params = self.params()
        symbol = params.symbol()
        interval = params.text("interval", required=True)
        if interval not in gateway.KLINE_INTERVALS:
            raise BinanceError(-1120, f"Invalid interval. This venue has {', '.join(gateway.KLINE_INTERVALS)}.")
        limit = params.integer("limit", default=500, lo=1, hi=gateway.MAX_KLINES)
        start, end = params.millis("startTime"), params.millis("endTime")
        if start and end and start > end:
            raise BinanceError(-1127, "startTime must not be after endTime.")
        gateway.instrument(symbol)
        bars = gateway.candles(symbol=symbol, interval=interval, limit=limit, start=start, end=end)
        return Response([render.kline(b) for b in bars])


class TradesView(BinanceView):
    def get(self, request):
        params = self.params()
        symbol = params.symbol()
        limit = params.integer("limit", default=500, lo=1, hi=1000)
        return Response([render.public_trade(f) for f in gateway.public_trades(symbol=symbol, limit=limit)])


class AggTradesView(BinanceView):
    """ccxt's default for fetch_trades: every platform execution is its own aggregate trade."""

    def get(self, request):
        params = self.params()
        symbol = params.symbol()
        limit = params.integer("limit", default=500, lo=1, hi=1000)
        return Response([render.agg_trade(f) for f in gateway.public_trades(symbol=symbol, limit=limit)])


# --- account and orders (signed) --------------------------------------------------------------------------------------
class AccountView(SignedView):
    def get(self, request):
        params = self.params()
        omit_zero = (params.get("omitZeroBalances") or "false").lower() == "true"
        wallet = self.wallet()
        rate = gateway.fee_rate(wallet)
        maker, taker = rate.maker_bps / 10000, rate.taker_bps / 10000
        ctx = request.auth
        balances = [{"asset": b.asset, "free": fmt(b.available), "locked": fmt(b.locked)}
                    for b in gateway.balances(self.agent) if not omit_zero or b.available or b.locked]
        return Response({
            "makerCommission": int(rate.maker_bps), "takerCommission": int(rate.taker_bps),
            "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": fmt(maker), "taker": fmt(taker), "buyer": ZERO_S, "seller": ZERO_S},
            "canTrade": ctx.scope == "trade", "canWithdraw": False, "canDeposit": False, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": int(time.time() * 1000), "accountType": "SPOT", "balances": balances,
            "permissions": ["SPOT"], "uid": wallet.pk.int >> 75,
        })


SIDES = {"BUY": "buy", "SELL": "sell"}
TIF = {"GTC": "gtc", "IOC": "ioc", "FOK": "fok"}
RESP_TYPES = ("ACK", "RESULT", "FULL")
# Binance's mandatory parameters per order type (besides symbol, side, type).
REQUIRED = {
    "LIMIT": ("timeInForce", "quantity", "price"),
    "MARKET": (),
    "STOP_LOSS": ("quantity", "stopPrice"),
    "STOP_LOSS_LIMIT": ("timeInForce", "quantity", "price", "stopPrice"),
    "TAKE_PROFIT": ("quantity", "stopPrice"),
    "TAKE_PROFIT_LIMIT": ("timeInForce", "quantity", "price", "stopPrice"),
    "LIMIT_MAKER": ("quantity", "price"),
}
PRICED = {"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"}
STOPPED = {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}
UNSUPPORTED = ("icebergQty", "trailingDelta", "strategyId", "strategyType", "pegPriceType", "pegOffsetValue",
               "pegOffsetType")


def _order_lookup(params: Params) -> tuple[int | None, str | None]:
    order_id = params.integer("orderId", lo=0, hi=gateway.MAX_ORDER_ID)
    client_id = params.client_id("origClientOrderId")
    if order_id is None and client_id is None:
        raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    return order_id, client_id


class OrderView(SignedView):
    def post(self, request):
        params = self.params()
        symbol = params.symbol()
        side = params.choice("side", SIDES, required=True, error=(-1117, "Invalid side."))
        btype = params.choice("type", render.ORDER_TYPES, required=True, error=(-1116, "Invalid orderType."))
        for name in REQUIRED[btype]:
            params.text(name, required=True)
        for name in UNSUPPORTED:
            if name in params and (name != "icebergQty" or params.get(name) not in ("0", "0.0")):
                raise not_required(name)
        if btype not in render.TYPES_OFFERED:
            raise BinanceError(-2010, "Order type not supported for this symbol.")
        quantity = params.decimal("quantity")
        quote_quantity = params.decimal("quoteOrderQty")
        if btype == "MARKET":
            if quantity is None and quote_quantity is None:
                raise BinanceError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were "
                                          "empty/null!")
            if quantity is not None and quote_quantity is not None:
                raise not_required("quoteOrderQty")
        elif quote_quantity is not None:
            raise not_required("quoteOrderQty")
        price = params.decimal("price")
        if price is not None and btype not in PRICED:
            raise not_required("price")
        stop_price = params.decimal("stopPrice")
        if stop_price is not None and btype not in STOPPED:
            raise not_required("stopPrice")
        tif = params.choice("timeInForce", TIF, error=(-1115, "Invalid timeInForce."))
        native_type, post_only = render.ORDER_TYPES[btype]
        if btype == "LIMIT_MAKER":
            tif = None  # a maker-only order rests: gtc
        resp_type = params.choice("newOrderRespType", RESP_TYPES, error=(-1100, "Illegal characters found in "
                                  "parameter 'newOrderRespType'; legal range is 'ACK, RESULT, FULL'."))
        resp_type = resp_type or ("FULL" if btype in ("MARKET", "LIMIT") else "ACK")
        placed = gateway.order_place(
            agent=self.agent, wallet=self.wallet(), symbol=symbol, side=SIDES[side], type=native_type,
            quantity=quantity, quote_quantity=quote_quantity, price=price, trigger_price=stop_price,
            time_in_force=TIF[tif] if tif and btype != "MARKET" else "gtc", post_only=post_only,
            client_order_id=params.client_id("newClientOrderId"))
        if resp_type == "ACK":
            return Response(render.order_ack(placed.order))
        order = gateway.order_wait(placed, timeout_ms=gateway.order_wait_ms())
        if resp_type == "RESULT":
            return Response(render.order_result(order))
        return Response(render.order_full(order, gateway.fills_of(order)))

    def get(self, request):
        params = self.params()
        symbol = params.symbol()
        order_id, client_id = _order_lookup(params)
        order = gateway.order_find(wallet=self.wallet(), symbol=symbol, order_id=order_id, client_order_id=client_id)
        return Response(render.order_query(order))

    def delete(self, request):
        self.not_found = (-2011, MSG_UNKNOWN_ORDER)
        params = self.params()
        symbol = params.symbol()
        order_id, client_id = _order_lookup(params)
        wallet = self.wallet()
        order = gateway.order_find(wallet=wallet, symbol=symbol, order_id=order_id, client_order_id=client_id)
        if order.status == "cancelled":
            raise BinanceError(-2011, MSG_UNKNOWN_ORDER)  # Binance does not cancel an order twice
        order = gateway.order_cancel(wallet=wallet, order=order)
        return Response(render.order_cancelled(order, orig_client_order_id=client_id,
                                               transact_time=int(time.time() * 1000)))


class OpenOrdersView(SignedView):
    not_found = (-2011, MSG_UNKNOWN_ORDER)

    def get(self, request):
        params = self.params()
        symbol = params.symbol(required=False)
        if symbol:
            gateway.instrument(symbol)
        return Response([render.order_query(o) for o in gateway.orders_open(wallet=self.wallet(), symbol=symbol)])

    def delete(self, request):
        params = self.params()
        symbol = params.symbol()
        gateway.instrument(symbol)
        orders = gateway.orders_cancel_all(wallet=self.wallet(), symbol=symbol)
        if not orders:
            raise BinanceError(-2011, MSG_UNKNOWN_ORDER)  # Binance: nothing open to cancel
        now = int(time.time() * 1000)
        return Response([render.order_cancelled(o, orig_client_order_id=None, transact_time=now)
                         for o in sorted(orders, key=lambda o: (o.created_at, o.pk))])


class AllOrdersView(SignedView):
    def get(self, request):
        params = self.params()
        symbol = params.symbol()
        gateway.instrument(symbol)
        limit = params.integer("limit", default=500, lo=1, hi=1000)
        start, end = params.millis("startTime"), params.millis("endTime")
        order_id = params.integer("orderId", lo=0, hi=gateway.MAX_ORDER_ID)
        wallet = self.wallet()
        from_order = None
        if order_id is not None:
            from_order = gateway.order_find(wallet=wallet, symbol=symbol, order_id=order_id)
        orders = gateway.orders_all(wallet=wallet, symbol=symbol, start=start, end=end, from_order=from_order,
                                    limit=limit)
        return Response([render.order_query(o) for o in orders])


class MyTradesView(SignedView):
    def get(self, request):
        params = self.params()
        symbol = params.symbol()
        gateway.instrument(symbol)
        limit = params.integer("limit", default=500, lo=1, hi=1000)
        start, end = params.millis("startTime"), params.millis("endTime")
        from_id = params.integer("fromId", lo=0, hi=2**63 - 1)
        if from_id is not None and (start or end):
            raise BinanceError(-1128, "Combination of optional parameters invalid: fromId with startTime/endTime.")
        order_id = params.integer("orderId", lo=0, hi=gateway.MAX_ORDER_ID)
        wallet = self.wallet()
        order = None
        if order_id is not None:
            order = gateway.order_find(wallet=wallet, symbol=symbol, order_id=order_id)
        fills = gateway.fills_list(wallet=wallet, symbol=symbol, order=order, start=start, end=end, from_id=from_id,
                                   limit=limit)
        return Response([render.my_trade(f) for f in fills])

