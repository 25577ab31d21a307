"""Reads of the streams app: stream snapshots, credential re-checks, the outbox, webhooks. All synchronous (the async
code runs them through ``streams.aio.run_sync``)."""

import time
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone

from common.errors import NotFound
from streams.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from streams.payloads import (
    PUBLIC_TRADE_FIELDS,
    book_levels,
    epoch,
    fill_items,
    order_items,
    position_items,
    public_trades,
)


# --- stream snapshots -------------------------------------------------------------------------------------------------
@dataclass
class Snapshot:
    """The agent's part of what a stream starts from. Items have the bus shape (``{"id", "v"?, "data"}``)."""

    wallet_id: str
    taken_at: float
    orders: list[dict] = field(default_factory=list)  # open orders
    fills: list[dict] = field(default_factory=list)  # the agent's recent fills, newest first
    positions: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class MarketSnapshot:
    """The public part of a ``/stream/events`` snapshot: the same for every agent watching the pair."""

    taken_at: float
    trades: list[dict]  # public trades, newest first
    book: dict | None  # {"bids": [[p, q]...], "asks": [...]}, or None before the feed wrote one
    book_ts: float | None


def stream_snapshot(*, agent, symbol: str | None = None, recent: int = 50) -> Snapshot:
    """The agent's current wallet as the pull endpoints show it (of one symbol only, when ``symbol`` is given)."""
    from trading import selectors_orders as orders_sel
    from trading.selectors import wallet_current

    wallet = wallet_current(agent=agent)
    snap = Snapshot(wallet_id=str(wallet.pk), taken_at=time.time())
    snap.orders = order_items(list(orders_sel.orders_open(wallet=wallet, symbol=symbol)))
    fills = orders_sel.fill_list(wallet=wallet, filters={"symbol": symbol} if symbol else None)[:recent]
    snap.fills = fill_items(list(fills))
    snap.positions = position_items(wallet_id=wallet.pk, symbols={symbol} if symbol else None)
    return snap


def market_snapshot(*, symbol: str, depth: int, recent: int = 50) -> MarketSnapshot:
    """The pair's book (to ``depth``) and its last ``recent`` public trades (platform fills, anonymous)."""
    from trading.models import Fill

    taken_at = time.time()
    trades = public_trades(Fill.objects.filter(symbol=symbol).order_by("-created_at", "-id")
                           .values(*PUBLIC_TRADE_FIELDS)[:recent])
    book, book_ts = book_read(symbol=symbol, depth=depth)
    return MarketSnapshot(taken_at=taken_at, trades=trades, book=book, book_ts=book_ts)


def book_read(*, symbol: str, depth: int) -> tuple[dict | None, float | None]:
    """``({"bids", "asks"}, source epoch)`` of the pair's latest book, or ``(None, None)`` before the feed wrote it."""
    from market.errors import PriceUnavailable
    from market.prices import get_book

    try:
        book = get_book(symbol, depth)
    except PriceUnavailable:
        return None, None
    return {"bids": book_levels(book.bids, depth), "asks": book_levels(book.asks, depth)}, epoch(book.ts)


def stream_symbol_check(*, symbol: str) -> str:
    """The symbol, if it is a listed pair; else 404 UNKNOWN_SYMBOL (market.errors.UnknownSymbol)."""
    from market.prices import get_instrument

    return get_instrument(symbol).symbol


# --- credentials of open streams --------------------------------------------------------------------------------------
def stream_key_valid(*, key_id) -> bool:
    """Is the agent key still usable (not revoked or expired, agent not archived, owner active)?"""
    from agents.models import Agent, AgentKey

    now = timezone.now()
    return (AgentKey.objects.filter(pk=key_id, revoked_at__isnull=True, agent__account__is_active=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .exclude(agent__status=Agent.Status.ARCHIVED).exists())


def stream_owner_valid(*, account_id, agent_id) -> bool:
    """Does the account (still) own the agent, and is neither disabled?"""
    from agents.models import Agent

    return (Agent.objects.filter(pk=agent_id, account_id=account_id, account__is_active=True)
            .exclude(status=Agent.Status.ARCHIVED).exists())


# --- the outbox (embedded-mode bus) -----------------------------------------------------------------------------------
def outbox_last_id() -> int:
    return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def outbox_read(*, after_id: int, also_ids: list[int], limit: int = 1000) -> list[tuple[int, dict]]:
    """Rows after ``after_id`` plus the given ids (earlier ids that were not visible yet), in id order."""
    match = Q(id__gt=after_id)
    if also_ids:
        match |= Q(id__in=also_ids)
    return list(OutboxEvent.objects.filter(match).order_by("id").values_list("id", "message")[:limit])


# --- webhooks ---------------------------------------------------------------------------------------------------------
def webhook_endpoint_list(*, agent) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(agent=agent).order_by("created_at", "id")


def webhook_endpoint_get(*, agent, endpoint_id) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(agent=agent, pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook.", details={"webhook_id": str(endpoint_id)})
    return endpoint


def webhook_delivery_list(*, endpoint: WebhookEndpoint, status: str | None = None) -> QuerySet[WebhookDelivery]:
    qs = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
    return qs.filter(status=status) if status else qs


def webhook_delivery_get(*, agent, delivery_id) -> WebhookDelivery:
    delivery = (WebhookDelivery.objects.select_related("endpoint")
                .filter(endpoint__agent=agent, pk=delivery_id).first())
    if delivery is None:
        raise NotFound("No such delivery.", details={"delivery_id": str(delivery_id)})
    return delivery
