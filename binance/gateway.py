"""The Binance door's one adapter onto the platform.

Every call the ``binance`` app makes into ``trading`` (services and selectors: place, cancel, cancel-all, order and
fill lookups, balances, fee rate) and into ``market`` (instruments, prices, tickers, books, candles) is in this
module, so that a change of those apps' signatures is adapted here and nowhere else. Nothing here decides a
trading rule: validation, risk, locking, matching and fees are the services' (and the engine's); this module only
turns Binance's vocabulary into theirs and back, and finds rows by Binance's identifiers.

Binance identifies orders by a 64-bit integer ``orderId``; the platform's are UUIDs. The public ``orderId`` of an
order is the top 53 bits of its UUID (safe as a JSON number in JavaScript clients too), and an ``orderId`` is found
again with a primary-key range scan inside the caller's wallet: no table, no write, and the same id whichever door
placed the order. Two orders of one wallet sharing 53 UUID bits (49 of them random) are improbable; if it happens
the lookup refuses to guess and asks for ``origClientOrderId``.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from common.errors import NotFound
from market import prices as market_prices
from market import selectors as market_selectors
from trading import selectors_orders as orders_sel
from trading.engine.limits import RiskLimits
from trading.engine.types import OrderIntent
from trading.models import Fill, Order
from trading.selectors import wallet_balances, wallet_current
from trading.services import notify
from trading.services import orders as order_services
from trading.services.fees import wallet_fee_rate

ORDER_ID_BITS = 53
_SHIFT = 128 - ORDER_ID_BITS
MAX_ORDER_ID = (1 << ORDER_ID_BITS) - 1

# Order types and statuses of the platform (``trading.models.Order``), for the translation tables in ``orders``.
NATIVE_ORDER_TYPES = frozenset(Order.Type.values)
OPEN_STATUSES = frozenset(("new", "partially_filled", "triggered"))


# --- identifiers ------------------------------------------------------------------------------------------------------
def public_order_id(order) -> int:
    return order_id_of(order.pk)


def order_id_of(order_uuid: uuid.UUID | str) -> int:
    return uuid.UUID(str(order_uuid)).int >> _SHIFT


def public_client_order_id(order) -> str:
    """The order's client id, or for one placed without, its UUID hex (which ``origClientOrderId`` also finds)."""
    return order.client_order_id or uuid.UUID(str(order.pk)).hex


# --- wallets and balances ---------------------------------------------------------------------------------------------
def wallet_for(agent):
    """The wallet a request of ``agent`` acts on: the native door's choice (``wallet_current``), battle routing
    included, so both doors always act on the same wallet."""
    return wallet_current(agent=agent)


def balances(agent) -> list:
    """``[AssetBalance(asset, available, locked)]`` of the agent's current wallet (the native /account/balance)."""
    return wallet_balances(agent=agent).balances


def fee_rate(wallet):
    """The wallet's maker/taker rate in bps (``FeeRate``), by its 30-day volume tier."""
    return wallet_fee_rate(wallet_id=wallet.pk)


def order_rate_limit() -> int:
    """The default orders-per-minute limit of the risk profile (exchangeInfo's ORDERS rate limit)."""
    return RiskLimits().order_rate_limit


# --- placing and cancelling -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool  # False: a retry with the same client id and body returned the original order
    awaits_execution: bool


def order_place(*, agent, wallet, symbol: str, side: str, type: str, quantity: Decimal | None,
                quote_quantity: Decimal | None, price: Decimal | None, trigger_price: Decimal | None,
                time_in_force: str, post_only: bool, client_order_id: str | None) -> Placed:
    """Place through the platform's one placement service (validation, risk, locks, idempotency are its own)."""
    intent = OrderIntent(symbol=symbol, side=side, type=type, quantity=quantity, quote_quantity=quote_quantity,
                         price=price, trigger_price=trigger_price, time_in_force=time_in_force, post_only=post_only,
                         reduce_only=False)
    placement = order_services.order_place(agent=agent, wallet=wallet, intent=intent,
                                           client_order_id=client_order_id)
    return Placed(order=placement.order, created=placement.created, awaits_execution=placement.awaits_execution)


def order_wait(placed: Placed, *, timeout_ms: int) -> Order:
    """The order once a worker has executed it (at most ``timeout_ms``), as the native ``?wait_ms=`` does."""
    order = placed.order
    if placed.awaits_execution and timeout_ms > 0:
        notify.order_done_wait(order_id=order.pk, timeout_ms=timeout_ms,
                               is_done=lambda: not order_services.order_awaits_execution(order_id=order.pk))
        order.refresh_from_db()
    return order


def order_cancel(*, wallet, order) -> Order:
    return order_services.order_cancel(wallet=wallet, ref=str(order.pk))


def orders_cancel_all(*, wallet, symbol: str) -> list[Order]:
    return order_services.order_cancel_all(wallet=wallet, symbol=symbol, reason="cancel-all requested (Binance API)")


# --- reading orders and fills -----------------------------------------------------------------------------------------
def order_find(*, wallet, symbol: str, order_id: int | None = None, client_order_id: str | None = None) -> Order:
    """An order of ``wallet`` on ``symbol`` by Binance ``orderId`` (preferred, as Binance does) or client id.

    ``common.errors.NotFound`` when there is none (the views say -2013 or -2011).
    """
    order = None
    if order_id is not None:
        lo, hi = uuid.UUID(int=order_id << _SHIFT), uuid.UUID(int=((order_id + 1) << _SHIFT) - 1)
        matches = list(Order.objects.filter(wallet=wallet, pk__gte=lo, pk__lte=hi)[:2])
        if len(matches) > 1:
            raise NotFound(f"orderId {order_id} matches more than one order; use origClientOrderId.")
        order = matches[0] if matches else None
    elif client_order_id is not None:
        order = orders_sel.order_get(wallet=wallet, ref=client_order_id)
    if order is None or order.symbol != symbol:
        raise NotFound("Order does not exist.")
    return order


def orders_open(*, wallet, symbol: str | None) -> list[Order]:
    return list(orders_sel.orders_open(wallet=wallet, symbol=symbol))[::-1]  # oldest first, like Binance


def _window(start: datetime | None, end: datetime | None) -> dict:
    filters = {}
    if start is not None:
        filters["since"] = start
    if end is not None:
        filters["until"] = end + timedelta(milliseconds=1)  # Binance's endTime is inclusive
    return filters


def orders_all(*, wallet, symbol: str, start: datetime | None, end: datetime | None, from_order: Order | None,
               limit: int) -> list[Order]:
    """Orders of one pair, oldest first: from ``start`` / ``from_order`` on if given, else the most recent."""
    qs = orders_sel.order_list(wallet=wallet, filters={"symbol": symbol, **_window(start, end)})
    if from_order is not None:
        qs = qs.filter(created_at__gte=from_order.created_at)
    if start is not None or from_order is not None:
        return list(qs.order_by("created_at", "id")[:limit])
    return list(qs[:limit])[::-1]


def fills_list(*, wallet, symbol: str, order: Order | None, start: datetime | None, end: datetime | None,
               from_id: int | None, limit: int) -> list[Fill]:
    """The wallet's fills of one pair (``/trade/history``), oldest first, by Binance's myTrades rules."""
    filters = {"symbol": symbol, **_window(start, end)}
    if order is not None:
        filters["order_id"] = str(order.pk)
    qs = orders_sel.fill_list(wallet=wallet, filters=filters)
    if from_id is not None:
        return list(qs.filter(id__gte=from_id).order_by("id")[:limit])
    if start is not None:
        return list(qs.order_by("created_at", "id")[:limit])
    return list(qs[:limit])[::-1]


def fills_of(order) -> list[Fill]:
    return orders_sel.fills_of(order=order) if order.fill_count else []


def public_trades(*, symbol: str, limit: int) -> list[Fill]:
    """The pair's latest executions on the platform (every agent's fills, anonymous), oldest first."""
    market_prices.get_instrument(symbol)
    return list(Fill.objects.filter(symbol=symbol).order_by("-created_at", "-id")
                .only("id", "price", "quantity", "quote_amount", "side", "liquidity", "created_at")[:limit])[::-1]


# --- market data ------------------------------------------------------------------------------------------------------
KLINE_INTERVALS = market_selectors.INTERVALS  # name -> seconds (1m, 5m, 15m, 1h, 4h, 1d)
MAX_KLINES = market_selectors.MAX_CANDLES


def instruments() -> list:
    return market_prices.list_instruments()


def instrument(symbol: str):
    return market_prices.get_instrument(symbol)  # UnknownSymbol (-> -1121)


def ticker(symbol: str):
    return market_prices.get_ticker(symbol)


def book(symbol: str, depth: int):
    return market_prices.get_book(symbol, depth=depth)


def price(symbol: str):
    return market_prices.get_price(symbol)


def last_prices(symbols: list[str] | None = None) -> dict:
    return market_prices.get_prices(symbols)


def candles(*, symbol: str, interval: str, limit: int, start: datetime | None, end: datetime | None) -> list:
    return market_selectors.candle_list(symbol=symbol, interval=interval, limit=limit, start=start, end=end)


def order_wait_ms() -> int:
    return settings.BINANCE_ORDER_WAIT_MS
