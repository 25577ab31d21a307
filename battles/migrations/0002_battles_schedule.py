"""Register ``battles.tick`` with django-celery-beat every BATTLE_SNAPSHOT_SECONDS (5): standings rounds, the
automatic stop at end time and the activation of pending battles. Idempotent; editable in the admin afterwards."""

from django.conf import settings
from django.db import migrations

NAME = "battles: standings rounds, automatic stop"


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every = int(getattr(settings, "BATTLE_SNAPSHOT_SECONDS", 5))
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
    PeriodicTask.objects.update_or_create(name=NAME, defaults={"task": "battles.tick", "interval": interval,
                                                               "enabled": True})


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("battles", "0001_battles"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [migrations.RunPython(register, unregister)]
