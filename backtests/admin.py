"""Backtests in the admin: every session with a progress bar, its clock, status and results; read only (a session
changes only through its API, which keeps the action log and the row lock)."""

from django.contrib import admin
from django.utils.html import format_html

from .models import BacktestAction, BacktestSession
from .services import session_status


def _bar(s: BacktestSession) -> str:
    pct = s.progress_pct
    colour = {"completed": "#2e7d32", "cancelled": "#9e9e9e"}.get(s.status, "#1565c0")
    return format_html(
        '<div style="width:160px;background:#eee;border-radius:3px" title="{} / {} steps">'
        '<div class="backtest-progress" style="width:{}%;background:{};color:#fff;font-size:11px;'
        'padding:1px 4px;box-sizing:border-box;border-radius:3px;white-space:nowrap">{}%</div></div>',
        s.step, s.total_steps, f"{pct:.2f}", colour, f"{pct:.2f}")


class ActionInline(admin.TabularInline):
    model = BacktestAction
    fields = ("seq", "step", "kind", "payload")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ("seq",)


@admin.register(BacktestSession)
class BacktestSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "agent", "strategy_label", "status", "progress", "step", "total_steps", "interval",
                    "start_time", "end_time", "roi", "created_at")
    list_filter = ("status", "interval")
    search_fields = ("id", "strategy_label", "agent__name")
    readonly_fields = ("progress", "eta", "roi") + tuple(f.name for f in BacktestSession._meta.fields)
    inlines = [ActionInline]
    list_select_related = ("agent",)

    @admin.display(description="progress")
    def progress(self, obj):
        return _bar(obj)

    @admin.display(description="ETA (s)")
    def eta(self, obj):
        return session_status(obj)["eta_seconds"]

    @admin.display(description="ROI %")
    def roi(self, obj):
        return (obj.results or {}).get("roi_pct")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
