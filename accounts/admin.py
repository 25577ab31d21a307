from django.contrib import admin

from accounts.models import Account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Accounts are created through ``POST /auth/register`` (or ``createsuperuser``), which hashes the password
    and issues the API key pair; the admin edits names and flags only, and never shows a hash."""

    list_display = ["email", "display_name", "is_active", "is_staff", "date_joined", "last_login", "agent_count"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["email", "display_name"]
    ordering = ["-date_joined"]
    fields = ["id", "email", "display_name", "api_key_prefix", "is_active", "is_staff", "is_superuser",
              "date_joined", "last_login"]
    readonly_fields = ["id", "email", "api_key_prefix", "date_joined", "last_login"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_agents=Count("agents"))

    @admin.display(description="agents", ordering="_agents")
    def agent_count(self, obj):
        return obj._agents

    @admin.display(description="API key")
    def api_key_prefix(self, obj):
        return f"ak_live_{obj.api_key_lookup}…" if obj.api_key_lookup else "—"
