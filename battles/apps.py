from django.apps import AppConfig


class BattlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "battles"

    def ready(self):
        # /live reuses its statement's row per process while the battle's generation stands still
        # (battles.selectors._live_row): every save or delete of a battle or a standings round moves it. Code that
        # changes a battle's row with a queryset .update() must bump it too (services._write_round does, by
        # inserting the round's snapshot in the same transaction).
        from django.db.models.signals import post_delete, post_save

        from battles.models import Battle, StandingsSnapshot
        from battles.selectors import live_generation
        from common import generation

        def battle_changed(sender, instance, **kwargs):
            generation.bump(live_generation(instance.pk))

        def round_changed(sender, instance, **kwargs):
            generation.bump(live_generation(instance.battle_id))

        for name, signal in (("save", post_save), ("delete", post_delete)):
            signal.connect(battle_changed, sender=Battle, dispatch_uid=f"battle-live-{name}-battle", weak=False)
            signal.connect(round_changed, sender=StandingsSnapshot, dispatch_uid=f"battle-live-{name}-round",
                           weak=False)
