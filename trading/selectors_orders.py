"""Reads of orders, fills and positions (the wallet reads are ``trading.selectors``).

Everything is scoped to one wallet: an order of another wallet is "not found", never "forbidden".
"""

import re
import uuid
from datetime import timezone as dt_timezone

import django_filters
from django.db.models import Q, QuerySet

from common.errors import NotFound
from trading.models import OPEN_ORDER_STATUSES, Fill, Order, Wallet

SYMBOL_RE = re.compile(r"[A-Z0-9]{2,32}")
CLIENT_ORDER_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


def _symbol_filter(queryset, value):
    symbol = value.strip().upper()
    if not SYMBOL_RE.fullmatch(symbol):
        from rest_framework.exceptions import ValidationError

        raise ValidationError({"symbol": ["not a symbol: 2-32 letters and digits, e.g. BTCUSDT"]})
    return queryset.filter(symbol=symbol)


def order_get(*, wallet: Wallet, ref: str) -> Order:
    """An order of ``wallet`` by its id, or else by its ``client_order_id``."""
    ref = (ref or "").strip()
    match = Q(client_order_id=ref) if CLIENT_ORDER_ID_RE.fullmatch(ref) else Q(pk__in=[])
    try:
        match |= Q(pk=uuid.UUID(ref))
    except ValueError:
        pass
    order = Order.objects.filter(match, wallet=wallet).first() if ref else None
    if order is None:
        raise NotFound(f"No order {ref!r} in this wallet.", details={"order": ref})
    return order


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO-8601 bound, taken to UTC before it reaches the database (PostgreSQL refuses offsets beyond ±16 h
    that Python accepts, e.g. ``-21:18``)."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(dt_timezone.utc) if value.tzinfo else value
            except OverflowError:
                from rest_framework.exceptions import ValidationError

                raise ValidationError({self.field_name: ["date out of range"]}) from None
        return super().filter(qs, value)


class OrderFilter(django_filters.FilterSet):
    """``?status=&symbol=&side=&type=&since=&until=``; ``status`` also takes ``open`` and comma lists."""

    status = django_filters.CharFilter(method="filter_status")
    symbol = django_filters.CharFilter(method="filter_symbol")
    side = django_filters.ChoiceFilter(choices=Order.Side.choices)
    type = django_filters.ChoiceFilter(choices=Order.Type.choices)
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["status", "symbol", "side", "type", "since", "until"]

    def filter_status(self, queryset, name, value):
        wanted = set()
        for part in value.split(","):
            part = part.strip().lower()
            if part == "open":
                wanted.update(OPEN_ORDER_STATUSES)
            elif part in Order.Status.values:
                wanted.add(part)
            elif part:
                from rest_framework.exceptions import ValidationError

                raise ValidationError({"status": [f"unknown status {part!r}; one of open, "
                                                  f"{', '.join(Order.Status.values)}"]})
        return queryset.filter(status__in=wanted) if wanted else queryset

    def filter_symbol(self, queryset, name, value):
        return _symbol_filter(queryset, value)


class FillFilter(django_filters.FilterSet):
    symbol = django_filters.CharFilter(method="filter_symbol")
    side = django_filters.ChoiceFilter(choices=Order.Side.choices)
    order_id = django_filters.UUIDFilter(field_name="order_id")
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Fill
        fields = ["symbol", "side", "order_id", "since", "until"]

    def filter_symbol(self, queryset, name, value):
        return _symbol_filter(queryset, value)


def order_list(*, wallet: Wallet, filters: dict | None = None) -> QuerySet[Order]:
    qs = Order.objects.filter(wallet=wallet).order_by("-created_at", "-id")
    return _filtered(OrderFilter, filters, qs)


def orders_open(*, wallet: Wallet, symbol: str | None = None) -> QuerySet[Order]:
    qs = Order.objects.filter(wallet=wallet, status__in=OPEN_ORDER_STATUSES)
    if symbol:
        qs = _symbol_filter(qs, symbol)
    return qs.order_by("-created_at", "-id")


def fill_list(*, wallet: Wallet, filters: dict | None = None) -> QuerySet[Fill]:
    qs = Fill.objects.filter(wallet=wallet).select_related("order").order_by("-created_at", "-id")
    return _filtered(FillFilter, filters, qs)


def fills_of(*, order: Order) -> list[Fill]:
    """The order's fills by seq, each with ``.order`` set (the fill serializer reads ``order.client_order_id``).
    An order the settlement has just filled in this process carries all of its fills already (``all_fills``):
    no query then."""
    fills = getattr(order, "all_fills", None)
    if fills is None:
        fills = list(order.fills.order_by("seq"))
    for f in fills:
        f.order = order
    return fills


def _filtered(filterset_cls, filters, qs):
    if not filters:
        return qs
    fs = filterset_cls(data=filters, queryset=qs)
    if not fs.is_valid():
        from rest_framework.exceptions import ValidationError

        raise ValidationError(fs.errors)
    return fs.qs

