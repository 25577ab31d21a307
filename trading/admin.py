"""Wallets, their ledger, orders, fills and positions in the admin: to look at, never to edit.

Balances change only through ``trading.wallet.wallet_post`` (which writes the ledger row that explains the
change), so the admin shows them read-only; ledger rows are append-only and the admin can neither add, change nor
delete one. A correction is a new ``adjustment`` posting made in code, never an edit. Orders, fills and positions
change only through the trading services (the engine decides): staff can find and read them, not touch them.

Amounts are shown at their asset's precision (``market.prices``): prices at the pair's tick size, base quantities
at its step size, quote amounts (USDT balances, notionals, fees, PnL) at the API's 8 places; the columns keep 12.
"""

from decimal import Decimal

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from common.money import AMOUNT_PLACES, fmt
from market.prices import list_instruments
from trading.models import Balance, Fill, LedgerEntry, Order, Position, Wallet


def _places(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)


def price_places(symbol: str) -> int:
    info = next((i for i in list_instruments() if i.symbol == symbol), None)
    return _places(info.tick_size) if info else AMOUNT_PLACES


def asset_places(asset: str) -> int:
    """A base asset at the step size of its pair (the finest, if it has several); quote assets at 8 places."""
    steps = [i.step_size for i in list_instruments() if i.base == asset]
    return max(_places(s) for s in steps) if steps else AMOUNT_PLACES


def asset_fmt(value, asset: str) -> str | None:
    return fmt(value, asset_places(asset)) if value is not None else None


def price_fmt(value, symbol: str) -> str | None:
    return fmt(value, price_places(symbol)) if value is not None else None


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BalanceInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Balance
    fields = ("asset", "available_display", "locked_display", "total_display", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    # Amounts at the asset's precision (the column keeps 12 places).
    @admin.display(description="available")
    def available_display(self, obj):
        return asset_fmt(obj.available, obj.asset)

    @admin.display(description="locked")
    def locked_display(self, obj):
        return asset_fmt(obj.locked, obj.asset)

    @admin.display(description="total")
    def total_display(self, obj):
        return asset_fmt(obj.total, obj.asset)


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "agent", "kind", "epoch", "starting_balance_display", "created_at", "retired_at")
    list_filter = ("kind", "retired_at")
    search_fields = ("id", "agent__name", "agent__id", "agent__account__email")
    list_select_related = ("agent",)
    fields = ("id", "agent", "kind", "epoch", "starting_balance_display", "battle_id", "created_at", "retired_at",
              "ledger_link")
    readonly_fields = fields
    inlines = [BalanceInline]
    date_hierarchy = "created_at"

    @admin.display(description="starting balance")
    def starting_balance_display(self, obj):
        return fmt(obj.starting_balance)

    @admin.display(description="ledger")
    def ledger_link(self, obj):
        url = reverse("admin:trading_ledgerentry_changelist") + f"?wallet__id__exact={obj.pk}"
        return format_html('<a href="{}">ledger entries ({})</a>', url, obj.ledger.count())


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "created_at", "wallet", "asset", "available_change", "locked_change", "reason_code",
                    "ref_type", "ref_id")
    list_filter = ("reason", "asset")
    search_fields = ("wallet__id", "ref_id", "wallet__agent__name")
    list_select_related = ("wallet",)
    readonly_fields = [f.name for f in LedgerEntry._meta.fields]
    date_hierarchy = "created_at"
    actions = None  # not even the bulk "delete selected" action

    @admin.display(description="Δ available", ordering="delta_available")
    def available_change(self, obj):
        return asset_fmt(obj.delta_available, obj.asset)

    @admin.display(description="Δ locked", ordering="delta_locked")
    def locked_change(self, obj):
        return asset_fmt(obj.delta_locked, obj.asset)

    @admin.display(description="reason", ordering="reason")
    def reason_code(self, obj):
        return obj.reason  # the code, as in the API and in queries ("order_lock"), not its label


class _AmountsMixin:
    """``<field>_shown`` columns: prices at the pair's tick, base quantities at its step, quote amounts at 8."""

    PRICE_FIELDS: tuple = ()
    BASE_FIELDS: tuple = ()
    QUOTE_FIELDS: tuple = ()

    def shown(self, obj, field):
        value = getattr(obj, field)
        if field in self.PRICE_FIELDS:
            return price_fmt(value, obj.symbol)
        if field in self.BASE_FIELDS:
            return asset_fmt(value, _base_of(obj))
        return fmt(value) if value is not None else None


def _base_of(obj) -> str:
    base = getattr(obj, "base_asset", None)
    if base:
        return base
    info = next((i for i in list_instruments() if i.symbol == obj.symbol), None)
    return info.base if info else ""


def _column(field: str, label: str):
    @admin.display(description=label, ordering=field)
    def column(self, obj):
        return self.shown(obj, field)

    column.__name__ = f"{field}_shown"
    return column


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, _AmountsMixin, admin.ModelAdmin):
    PRICE_FIELDS = ("price", "trigger_price", "reference_price", "sweep_price")
    BASE_FIELDS = ("quantity", "filled_quantity")
    list_display = ("id", "created_at", "agent", "symbol", "side", "type", "status", "quantity_shown",
                    "price_shown", "filled_quantity_shown", "client_order_id")
    list_filter = ("status", "symbol", "side", "type", ("agent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=id", "client_order_id", "agent__name", "=agent__id", "agent__account__email", "symbol")
    list_select_related = ("agent",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = None
    fields = ("id", "agent", "wallet", "symbol", "side", "type", "time_in_force", "status", "status_reason",
              "reject_code", "quantity_shown", "quote_quantity_shown", "price_shown", "trigger_price_shown",
              "post_only", "reduce_only", "client_order_id", "filled_quantity_shown", "filled_quote_shown",
              "fees_paid_shown", "locked_asset", "locked_amount_shown", "created_at", "updated_at",
              "triggered_at", "closed_at", "fills_link")
    readonly_fields = fields

    quantity_shown = _column("quantity", "quantity")
    quote_quantity_shown = _column("quote_quantity", "quote quantity")
    price_shown = _column("price", "price")
    trigger_price_shown = _column("trigger_price", "trigger price")
    filled_quantity_shown = _column("filled_quantity", "filled")
    filled_quote_shown = _column("filled_quote", "filled quote")
    fees_paid_shown = _column("fees_paid", "fees paid")

    @admin.display(description="locked amount")
    def locked_amount_shown(self, obj):
        return asset_fmt(obj.locked_amount, obj.locked_asset)

    @admin.display(description="fills")
    def fills_link(self, obj):
        url = reverse("admin:trading_fill_changelist") + f"?order__id__exact={obj.pk}"
        return format_html('<a href="{}">fills ({})</a>', url, obj.fills.count())


@admin.register(Fill)
class FillAdmin(ReadOnlyAdminMixin, _AmountsMixin, admin.ModelAdmin):
    PRICE_FIELDS = ("price",)
    BASE_FIELDS = ("quantity",)
    list_display = ("id", "created_at", "agent", "symbol", "side", "price_shown", "quantity_shown",
                    "quote_amount_shown", "fee_shown", "fee_asset", "liquidity", "realized_pnl_shown")
    list_filter = ("symbol", "side", "liquidity", ("agent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=order__id", "order__client_order_id", "agent__name", "=agent__id", "symbol")
    list_select_related = ("agent",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = None
    fields = ("id", "order", "seq", "agent", "wallet", "symbol", "side", "price_shown", "quantity_shown",
              "quote_amount_shown", "fee_shown", "fee_asset", "liquidity", "slippage_pct", "realized_pnl_shown",
              "created_at")
    readonly_fields = fields

    price_shown = _column("price", "price")
    quantity_shown = _column("quantity", "quantity")
    quote_amount_shown = _column("quote_amount", "quote amount")
    realized_pnl_shown = _column("realized_pnl", "realized PnL")

    @admin.display(description="fee", ordering="fee")
    def fee_shown(self, obj):
        return asset_fmt(obj.fee, obj.fee_asset)


class OpenPositionFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", "open (quantity > 0)"), ("flat", "flat")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(quantity__gt=0)
        if self.value() == "flat":
            return queryset.filter(quantity=0)
        return queryset


@admin.register(Position)
class PositionAdmin(ReadOnlyAdminMixin, _AmountsMixin, admin.ModelAdmin):
    PRICE_FIELDS = ("avg_entry_price",)
    BASE_FIELDS = ("quantity",)
    list_display = ("symbol", "agent", "quantity_shown", "avg_entry_price_shown", "cost_basis_shown",
                    "realized_pnl_shown", "fees_paid_shown", "updated_at")
    list_filter = (OpenPositionFilter, "symbol", ("agent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("agent__name", "=agent__id", "agent__account__email", "symbol")
    list_select_related = ("agent",)
    actions = None
    fields = ("id", "agent", "wallet", "symbol", "base_asset", "quote_asset", "quantity_shown",
              "avg_entry_price_shown", "cost_basis_shown", "realized_pnl_shown", "fees_paid_shown", "updated_at")
    readonly_fields = fields

    quantity_shown = _column("quantity", "quantity")
    avg_entry_price_shown = _column("avg_entry_price", "avg entry price")
    cost_basis_shown = _column("cost_basis", "cost basis")
    realized_pnl_shown = _column("realized_pnl", "realized PnL")
    fees_paid_shown = _column("fees_paid", "fees paid")
