from django.contrib import admin, messages
from django.utils import timezone

from agents.models import Agent, AgentKey
from agents.services import agent_archive, agent_key_revoke
from common.money import fmt

# Never shown anywhere in the admin: the key hash and the (encrypted) signing secret.
_KEY_FIELDS = ["id", "agent", "name", "key_prefix", "is_primary", "scope", "allowed_ips", "expires_at",
               "revoked_at", "signing", "last_used_at", "last_used_ip", "created_at"]


class AgentKeyInline(admin.TabularInline):
    model = AgentKey
    extra = 0
    can_delete = False
    fields = ["key_prefix", "name", "is_primary", "scope", "allowed_ips", "expires_at", "revoked_at",
              "last_used_at", "last_used_ip"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="key")
    def key_prefix(self, obj):
        return f"{obj.display_prefix}…"


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    """Agents are created through the API (a wallet and a key come with each); here they can be renamed,
    paused and archived. Money (starting balance, epochs) changes only through the services."""

    list_display = ["name", "account", "status", "starting_balance_shown", "reset_epoch", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "account__email", "id"]
    list_select_related = ["account"]
    fields = ["id", "account", "name", "description", "status", "starting_balance_shown", "risk_config",
              "reset_epoch", "cloned_from", "created_at", "updated_at"]
    readonly_fields = ["id", "account", "starting_balance_shown", "risk_config", "reset_epoch", "cloned_from",
                       "created_at", "updated_at"]
    inlines = [AgentKeyInline]
    actions = ["archive_selected"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="starting balance (USDT)", ordering="starting_balance")
    def starting_balance_shown(self, obj):
        return fmt(obj.starting_balance)  # USDT at the API's 8 places (the column keeps 12)

    @admin.action(description="Archive the selected agents (their keys stop working)")
    def archive_selected(self, request, queryset):
        for agent in queryset:
            agent_archive(agent=agent)
        self.message_user(request, f"Archived {queryset.count()} agent(s).", messages.SUCCESS)


@admin.register(AgentKey)
class AgentKeyAdmin(admin.ModelAdmin):
    """Keys are read-only here; the one change allowed is revoking them (at once)."""

    list_display = ["key_prefix", "agent", "name", "is_primary", "scope", "status", "expires_at", "last_used_at"]
    list_filter = ["scope", "is_primary", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["lookup", "name", "agent__name", "agent__account__email"]
    list_select_related = ["agent"]
    fields = _KEY_FIELDS
    readonly_fields = _KEY_FIELDS
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row (and its last use) stays for the record

    @admin.display(description="key")
    def key_prefix(self, obj):
        return f"{obj.display_prefix}…"

    @admin.display(description="signing", boolean=True)
    def signing(self, obj):
        return obj.requires_signature

    @admin.display(description="status")
    def status(self, obj):
        if obj.revoked_at:
            return "revoked"
        if obj.expires_at and obj.expires_at <= timezone.now():
            return "expired"
        return "live"

    @admin.action(description="Revoke the selected keys now")
    def revoke_selected(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            agent_key_revoke(key=key)
        self.message_user(request, f"Revoked {len(keys)} key(s).", messages.SUCCESS)
