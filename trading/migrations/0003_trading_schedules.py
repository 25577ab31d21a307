"""Formerly registered the trading core's periodic tasks with django-celery-beat; now a no-op.

The schedule lives in settings (``CELERY_BEAT_SCHEDULE``, intervals from ``EQUITY_SNAPSHOT_SECONDS`` and
``EXECUTION_RECOVERY_SECONDS``); the DatabaseScheduler writes it into its tables each time beat starts, under the
same names this migration used, so the rows an earlier version created are updated in place. Kept (empty) so that
the migration graph of existing databases stays as it was.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0002_orders_fills_positions"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = []
