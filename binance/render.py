"""Platform rows -> Binance JSON: names, enums, number formats (decimal strings with 8 places), ms timestamps."""

from decimal import Decimal

from common.money import ZERO, fmt

from binance import gateway

# Binance order type -> (platform type, post_only).
ORDER_TYPES = {
    "LIMIT": ("limit", False),
    "MARKET": ("market", False),
    "STOP_LOSS": ("stop_loss", False),
    "STOP_LOSS_LIMIT": ("stop_limit", False),
    "TAKE_PROFIT": ("take_profit", False),
    "TAKE_PROFIT_LIMIT": ("take_profit_limit", False),
    "LIMIT_MAKER": ("limit", True),
}
# What exchangeInfo lists: the Binance types whose platform type the engine has (today all of them). A type the
# engine lacked would not be offered (a client would place it and be refused).
TYPES_OFFERED = [t for t, (native, _) in ORDER_TYPES.items() if native in gateway.NATIVE_ORDER_TYPES]
CONDITIONAL = {"stop_loss", "stop_limit", "take_profit", "take_profit_limit"}

STATUS = {"new": "NEW", "partially_filled": "PARTIALLY_FILLED", "filled": "FILLED", "cancelled": "CANCELED",
          "rejected": "REJECTED", "expired": "EXPIRED",
          # a conditional order that has fired is a working order on Binance: NEW (or partially filled)
          "triggered": "NEW"}


def ms(dt) -> int | None:
    return None if dt is None else int(dt.timestamp() * 1000)


def _num(value) -> str:
    return fmt(Decimal(value) if value is not None else ZERO)


def binance_type(order) -> str:
    if order.type == "limit" and order.post_only:
        return "LIMIT_MAKER"
    for name, (native, post_only) in ORDER_TYPES.items():
        if native == order.type and not post_only:
            return name
    return order.type.upper()


def binance_status(order) -> str:
    if order.status == "triggered" and order.filled_quantity > 0:
        return "PARTIALLY_FILLED"
    return STATUS.get(order.status, order.status.upper())


def _orig_qty(order):
    # A market order by quoteOrderQty has no base quantity until it executes: Binance shows what it bought.
    return order.quantity if order.quantity is not None else order.filled_quantity


def _working_time(order) -> int:
    if order.type in CONDITIONAL:
        return ms(order.triggered_at) if order.triggered_at else -1
    return ms(order.created_at)


def order_ack(order) -> dict:
    return {"symbol": order.symbol, "orderId": gateway.public_order_id(order), "orderListId": -1,
            "clientOrderId": gateway.public_client_order_id(order), "transactTime": ms(order.created_at)}


def _order_core(order) -> dict:
    return {
        "price": _num(order.price), "origQty": _num(_orig_qty(order)), "executedQty": _num(order.filled_quantity),
        "cummulativeQuoteQty": _num(order.filled_quote), "status": binance_status(order),
        "timeInForce": order.time_in_force.upper(), "type": binance_type(order), "side": order.side.upper(),
    }


def order_result(order) -> dict:
    """newOrderRespType=RESULT."""
    return {**order_ack(order), **_order_core(order), "origQuoteOrderQty": _num(order.quote_quantity),
            "workingTime": _working_time(order), "selfTradePreventionMode": "NONE",
            **({"stopPrice": _num(order.trigger_price)} if order.trigger_price is not None else {})}


def fill_of_order(fill) -> dict:
    return {"price": _num(fill.price), "qty": _num(fill.quantity), "commission": _num(fill.fee),
            "commissionAsset": fill.fee_asset, "tradeId": fill.id}


def order_full(order, fills) -> dict:
    """newOrderRespType=FULL: RESULT plus the fills."""
    return {**order_result(order), "fills": [fill_of_order(f) for f in fills]}


def order_query(order) -> dict:
    """GET /api/v3/order, openOrders, allOrders."""
    return {
        "symbol": order.symbol, "orderId": gateway.public_order_id(order), "orderListId": -1,
        "clientOrderId": gateway.public_client_order_id(order), **_order_core(order),
        "stopPrice": _num(order.trigger_price), "icebergQty": _num(None), "time": ms(order.created_at),
        "updateTime": ms(order.updated_at), "isWorking": _working_time(order) != -1 and order.status in
        gateway.OPEN_STATUSES, "workingTime": _working_time(order), "origQuoteOrderQty": _num(order.quote_quantity),
        "selfTradePreventionMode": "NONE",
    }


def order_cancelled(order, *, orig_client_order_id: str | None, transact_time: int) -> dict:
    """DELETE /api/v3/order and each element of DELETE /api/v3/openOrders."""
    return {
        "symbol": order.symbol, "origClientOrderId": orig_client_order_id or gateway.public_client_order_id(order),
        "orderId": gateway.public_order_id(order), "orderListId": -1,
        "clientOrderId": gateway.public_client_order_id(order), "transactTime": transact_time,
        **_order_core(order), "origQuoteOrderQty": _num(order.quote_quantity), "selfTradePreventionMode": "NONE",
        **({"stopPrice": _num(order.trigger_price)} if order.trigger_price is not None else {}),
    }


def my_trade(fill) -> dict:
    return {"symbol": fill.symbol, "id": fill.id, "orderId": gateway.order_id_of(fill.order_id), "orderListId": -1, "price": _num(fill.price),
            "qty": _num(fill.quantity), "quoteQty": _num(fill.quote_amount), "commission": _num(fill.fee),
            "commissionAsset": fill.fee_asset, "time": ms(fill.created_at), "isBuyer": fill.side == "buy",
            "isMaker": fill.liquidity == "maker", "isBestMatch": True}


def public_trade(fill) -> dict:
    # The platform's executions are agents against the book: the buyer was the maker when a resting buy filled
    # (maker buy) or a taker sold.
    buyer_maker = (fill.side == "buy") == (fill.liquidity == "maker")
    return {"id": fill.id, "price": _num(fill.price), "qty": _num(fill.quantity), "quoteQty": _num(fill.quote_amount),
            "time": ms(fill.created_at), "isBuyerMaker": buyer_maker, "isBestMatch": True}


def agg_trade(fill) -> dict:
    t = public_trade(fill)
    return {"a": t["id"], "p": t["price"], "q": t["qty"], "f": t["id"], "l": t["id"], "T": t["time"],
            "m": t["isBuyerMaker"], "M": True}


def symbol_info(inst, *, order_types: list[str]) -> dict:
    """One exchangeInfo symbol from an instrument (its tick, step, min qty and min notional)."""
    return {
        "symbol": inst.symbol, "status": "TRADING" if inst.is_trading else "BREAK",
        "baseAsset": inst.base, "baseAssetPrecision": 8, "quoteAsset": inst.quote, "quotePrecision": 8,
        "quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": order_types, "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": False, "cancelReplaceAllowed": False,
        "amendAllowed": False, "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": fmt(inst.tick_size), "maxPrice": "100000000.00000000",
             "tickSize": fmt(inst.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": fmt(inst.min_qty), "maxQty": "900000000.00000000",
             "stepSize": fmt(inst.step_size)},
            {"filterType": "MIN_NOTIONAL", "minNotional": fmt(inst.min_notional), "applyToMarket": True,
             "avgPriceMins": 0},
            {"filterType": "NOTIONAL", "minNotional": fmt(inst.min_notional), "applyMinToMarket": True,
             "maxNotional": "9000000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 0},
        ],
        "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def kline(bar) -> list:
    # The candle store keeps base volume only: the quote volume is estimated as volume x the bar's mean price, and
    # trade counts are not recorded (0).
    quote_volume = bar.volume * (bar.open + bar.high + bar.low + bar.close) / 4
    return [ms(bar.open_time), _num(bar.open), _num(bar.high), _num(bar.low), _num(bar.close), _num(bar.volume),
            ms(bar.close_time), _num(quote_volume), 0, "0.00000000", "0.00000000", "0"]
