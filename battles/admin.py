"""The battles admin (staff): Django's own admin, customised.

Why not a theme: the rest of the platform's admin is Django's (agents, keys, wallets, ledger), staff already know
it, and a theme would be one more dependency to keep up for a handful of pages. Battles add to it:

- the changelist (filter by status, mode, preset, metric; search by name, owner or participant) with start, pause,
  resume and stop actions;
- "Add battle" creates one from a preset;
- each battle's page is a control room: start/pause/resume/stop/rematch buttons, participants (add by searching
  agents by name or owner, remove), and the live standings table and equity chart (one line per participant,
  Chart.js served from this app's static files) that poll ``live.json`` every 2 s, with each participant's trades;
- a results page with the frozen standings.

Every action goes through ``battles.services``: the admin has no rules of its own.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from battles import selectors, services
from battles.models import Battle, Participant, StandingsSnapshot
from battles.presets import PRESETS
from common.errors import ApplicationError

ACTIONS = {"start": services.battle_start, "pause": services.battle_pause, "resume": services.battle_resume,
           "stop": services.battle_stop}


class ParticipantInline(admin.TabularInline):
    model = Participant
    fields = ["agent", "status", "wallet", "final_rank", "eliminated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Battle)
class BattleAdmin(admin.ModelAdmin):
    list_display = ["name", "control", "owner", "mode", "status", "preset", "ranking_metric", "n_participants",
                    "started_at", "ended_at"]
    list_filter = ["status", "mode", "preset", "ranking_metric"]
    search_fields = ["name", "owner__email", "participants__agent__name"]
    list_select_related = ["owner"]
    actions = ["start_selected", "pause_selected", "resume_selected", "stop_selected"]
    readonly_fields = [f.name for f in Battle._meta.fields]
    inlines = [ParticipantInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("participants"))

    @admin.display(description="participants", ordering="n")
    def n_participants(self, obj):
        return obj.n

    @admin.display(description="")
    def control(self, obj):
        return format_html('<a class="button" href="{}">open</a>', reverse("admin:battles_battle_manage",
                                                                         args=[obj.pk]))

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    # --- changelist actions --------------------------------------------------------------------------------------
    def _bulk(self, request, queryset, action):
        done = 0
        for battle in queryset:
            try:
                ACTIONS[action](battle=battle)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{battle.name}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{action.title()}: {done} battle(s).", messages.SUCCESS)

    @admin.action(description="Start the selected battles")
    def start_selected(self, request, queryset):
        self._bulk(request, queryset, "start")

    @admin.action(description="Pause the selected battles")
    def pause_selected(self, request, queryset):
        self._bulk(request, queryset, "pause")

    @admin.action(description="Resume the selected battles")
    def resume_selected(self, request, queryset):
        self._bulk(request, queryset, "resume")

    @admin.action(description="Stop the selected battles")
    def stop_selected(self, request, queryset):
        self._bulk(request, queryset, "stop")

    # --- pages ---------------------------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("new/", view(self.create_view), name="battles_battle_create"),
            path("<uuid:battle_id>/manage/", view(self.manage_view), name="battles_battle_manage"),
            path("<uuid:battle_id>/live.json", view(self.live_json), name="battles_battle_live"),
            path("<uuid:battle_id>/results/", view(self.results_view), name="battles_battle_results"),
        ] + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:battles_battle_create")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect("admin:battles_battle_manage", battle_id=object_id)

    def _battle(self, request, battle_id) -> Battle:
        if not request.user.is_staff:
            raise PermissionDenied
        battle = Battle.objects.select_related("owner").filter(pk=battle_id).first()
        if battle is None:
            raise Http404("No such battle.")
        return battle

    def _context(self, request, title, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **extra}

    def create_view(self, request):
        error = None
        if request.method == "POST":
            name = request.POST.get("name", "").strip()
            preset = request.POST.get("preset", "")
            if not name or preset not in PRESETS:
                error = "A name and a preset, please."
            else:
                try:
                    battle = services.battle_create(owner=request.user, name=name[:100], preset=preset)
                except ApplicationError as exc:
                    error = exc.message
                else:
                    self.message_user(request, f"Battle “{battle.name}” created.", messages.SUCCESS)
                    return redirect("admin:battles_battle_manage", battle_id=battle.pk)
        return TemplateResponse(request, "admin/battles/battle/create.html", self._context(
            request, "New battle", presets=PRESETS, error=error))

    def manage_view(self, request, battle_id):
        battle = self._battle(request, battle_id)
        if request.method == "POST":
            self._post(request, battle)
            target = request.POST.get("next") or reverse("admin:battles_battle_manage", args=[battle.pk])
            if request.POST.get("op") == "rematch" and getattr(request, "_rematch", None):
                target = reverse("admin:battles_battle_manage", args=[request._rematch.pk])
            return redirect(target)
        query = request.GET.get("q", "").strip()
        found = list(selectors.agent_search(account=request.user, query=query)) if query else []
        in_battle = set(battle.participants.values_list("agent_id", flat=True))
        return TemplateResponse(request, "admin/battles/battle/manage.html", self._context(
            request, battle.name, battle=battle, participants=selectors.participants_of(battle=battle),
            query=query, found=[a for a in found if a.pk not in in_battle],
            live_url=reverse("admin:battles_battle_live", args=[battle.pk]),
            results_url=reverse("admin:battles_battle_results", args=[battle.pk])))

    def _post(self, request, battle):
        op = request.POST.get("op", "")
        try:
            if op in ACTIONS:
                ACTIONS[op](battle=battle)
                self.message_user(request, f"{op.title()}: done.", messages.SUCCESS)
            elif op == "add":
                from agents.models import Agent

                agent = Agent.objects.filter(pk=request.POST.get("agent_id")).first()
                if agent is None:
                    raise Http404("No such agent.")
                services.participant_add(battle=battle, agent=agent, actor=request.user)
                self.message_user(request, f"Added {agent.name}.", messages.SUCCESS)
            elif op == "remove":
                services.participant_remove(battle=battle, agent_id=request.POST.get("agent_id"))
                self.message_user(request, "Removed.", messages.SUCCESS)
            elif op == "rematch":
                request._rematch = services.battle_rematch(battle=battle, owner=request.user)
                self.message_user(request, "Rematch created (a draft).", messages.SUCCESS)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def live_json(self, request, battle_id):
        """The live page's poll: ``/battles/{id}/live``'s body, plus the equity series and each one's trades."""
        battle = self._battle(request, battle_id)
        body = selectors.battle_standings(battle=battle)
        started = battle.started_at
        names = {row["agent_id"]: row["agent_name"] for row in body["standings"]}
        body["series"] = [
            {"agent_id": agent_id, "agent_name": names.get(agent_id, agent_id),
             "points": [[round((ts - started).total_seconds(), 1), f"{equity:.2f}"] for ts, equity in points]}
            for agent_id, points in selectors.equity_series(battle=battle, max_points=300).items()] if started else []
        body["trades"] = selectors.participant_trades(battle=battle)
        return JsonResponse(body, json_dumps_params={"default": str})

    def results_view(self, request, battle_id):
        battle = self._battle(request, battle_id)
        final = StandingsSnapshot.objects.filter(battle=battle, final=True).first()
        return TemplateResponse(request, "admin/battles/battle/results.html", self._context(
            request, f"Results: {battle.name}", battle=battle, final=final,
            live_url=reverse("admin:battles_battle_live", args=[battle.pk])))


@admin.register(StandingsSnapshot)
class StandingsSnapshotAdmin(admin.ModelAdmin):
    list_display = ["battle", "seq", "ts", "final"]
    list_filter = ["final"]
    readonly_fields = ["battle", "seq", "ts", "final", "standings"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
