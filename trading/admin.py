"""Wallets and their ledger in the admin: to look at, never to edit.

Balances change only through ``trading.wallet.wallet_post`` (which writes the ledger row that explains the
change), so the admin shows them read-only; ledger rows are append-only and the admin can neither add, change nor
delete one. A correction is a new ``adjustment`` posting made in code, never an edit.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from common.money import fmt
from trading.models import Balance, LedgerEntry, Wallet


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

    # Amounts at the wire's 8 places, as the API shows them (the column keeps 12).
    @admin.display(description="available")
    def available_display(self, obj):
        return fmt(obj.available)

    @admin.display(description="locked")
    def locked_display(self, obj):
        return fmt(obj.locked)

    @admin.display(description="total")
    def total_display(self, obj):
        return fmt(obj.total)


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "agent", "kind", "epoch", "starting_balance", "created_at", "retired_at")
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
        return fmt(obj.delta_available)

    @admin.display(description="Δ locked", ordering="delta_locked")
    def locked_change(self, obj):
        return fmt(obj.delta_locked)

    @admin.display(description="reason", ordering="reason")
    def reason_code(self, obj):
        return obj.reason  # the code, as in the API and in queries ("order_lock"), not its label
