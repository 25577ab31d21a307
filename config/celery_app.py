import logging
import os

from celery import Celery, signals

from config.embedded_broker import register as register_embedded_broker

register_embedded_broker()  # the "atomicfs://" broker of embedded mode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("paper_trading")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class QuietTaskFilter(logging.Filter):
    """Demotes the worker's per-task INFO lines ("Task x[id] received", "... succeeded in") of the tasks in
    ``settings.CELERY_QUIET_TASKS`` to DEBUG: sweeps run several times a second, and an operator at the default level
    wants starts, failures and recoveries. Failures (ERROR, WARNING) always pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.args, dict):
            return True
        from django.conf import settings

        if record.args.get("name") not in settings.CELERY_QUIET_TASKS:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


# The loggers of the "received" (worker strategy) and "succeeded" (trace) lines; filters on a logger survive
# Celery's own logging setup.
for _name in ("celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(QuietTaskFilter())


_heartbeats = []


@signals.worker_ready.connect
def _worker_heartbeat(**_):
    from common.heartbeat import Heartbeat

    _heartbeats.append(Heartbeat("worker").start())


@signals.beat_init.connect
def _beat_heartbeat(**_):
    from common.heartbeat import Heartbeat

    _heartbeats.append(Heartbeat("beat").start())


@signals.worker_shutting_down.connect
def _worker_stopping(**_):
    for heartbeat in _heartbeats:
        heartbeat.stop()
