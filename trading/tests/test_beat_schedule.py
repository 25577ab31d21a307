"""The beat schedule lives in settings (CELERY_BEAT_SCHEDULE) and reaches django-celery-beat's tables when beat starts."""

import json
import os
import subprocess
import sys

from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery_app import app

SNAPSHOTS, RECOVERY = "trading: equity snapshots", "trading: recover lost executions"


def _rows():
    return {t.name: (t.task, t.interval.every, t.interval.period, t.enabled)
            for t in PeriodicTask.objects.filter(interval__isnull=False).select_related("interval")}


def test_every_scheduled_task_exists():
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_beat_start_writes_the_settings_schedule(transactional_db):  # the scheduler closes connections
    assert not PeriodicTask.objects.filter(name__in=[SNAPSHOTS, RECOVERY]).exists()  # no migration creates them
    DatabaseScheduler(app=app)  # what `celery beat` does at start (setup_schedule)
    rows = _rows()
    assert rows[SNAPSHOTS] == ("trading.snapshot_equity", settings.EQUITY_SNAPSHOT_SECONDS, "seconds", True)
    assert rows[RECOVERY] == ("trading.recover_executions", settings.EXECUTION_RECOVERY_SECONDS, "seconds", True)


def test_a_row_left_by_the_old_migration_is_updated_in_place(transactional_db):
    stale = IntervalSchedule.objects.create(every=999, period="seconds")
    PeriodicTask.objects.create(name=SNAPSHOTS, task="trading.snapshot_equity", interval=stale, enabled=True)
    DatabaseScheduler(app=app)
    assert PeriodicTask.objects.filter(name=SNAPSHOTS).count() == 1
    assert _rows()[SNAPSHOTS][1] == settings.EQUITY_SNAPSHOT_SECONDS


def test_the_intervals_come_from_the_environment():
    code = ("import django; django.setup(); import json; from django.conf import settings; "
            "print(json.dumps({k: v['schedule'] for k, v in settings.CELERY_BEAT_SCHEDULE.items() "
            "if k.startswith('trading')}))")
    env = {**os.environ, "EQUITY_SNAPSHOT_SECONDS": "7", "EXECUTION_RECOVERY_SECONDS": "11",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {SNAPSHOTS: 7.0, RECOVERY: 11.0}
