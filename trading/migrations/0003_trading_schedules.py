"""Register the trading core's periodic tasks with django-celery-beat (the DatabaseScheduler in settings).

- ``trading.snapshot_equity`` every EQUITY_SNAPSHOT_SECONDS (60): the equity curve of every live wallet.
- ``trading.recover_executions`` every EXECUTION_RECOVERY_SECONDS (30): re-enqueue lost executions and sweeps.

Idempotent (update_or_create by name); an operator may change the intervals in the admin afterwards.
"""

from django.conf import settings
from django.db import migrations

SCHEDULES = [
    ("trading: equity snapshots", "trading.snapshot_equity", "EQUITY_SNAPSHOT_SECONDS", 60),
    ("trading: recover lost executions", "trading.recover_executions", "EXECUTION_RECOVERY_SECONDS", 30),
]


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, setting, default in SCHEDULES:
        every = int(getattr(settings, setting, default))
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "interval": interval,
                                                                   "enabled": True})


def unregister(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0002_orders_fills_positions"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [migrations.RunPython(register, unregister)]
