from django.contrib import admin

from market.models import Candle, Instrument
from market.prices import instruments_cache_clear


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ("symbol", "base", "quote", "status", "tick_size", "step_size", "min_qty", "min_notional",
                    "filters_source", "updated_at")
    list_filter = ("status", "quote", "filters_source")
    search_fields = ("symbol", "base")
    readonly_fields = ("updated_at",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        instruments_cache_clear()


@admin.register(Candle)
class CandleAdmin(admin.ModelAdmin):
    list_display = ("symbol", "open_time", "open", "high", "low", "close", "volume")
    list_filter = ("symbol",)
    date_hierarchy = "open_time"
    show_full_result_count = False  # the table is large; counting it on every page is slow

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # candles come from the feed and imports, not from hand edits
