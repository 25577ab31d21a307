import logging
import os

from celery import Celery, signals

from config.embedded_broker import register as register_embedded_broker

register_embedded_broker()  # the "atomicfs://" broker of embedded mode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("paper_trading")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _task_name(record: logging.LogRecord) -> str | None:
    """The task a Celery INFO line is about: the worker's lines carry a dict, beat's "Sending due task %s (%s)" a
    (schedule entry, task) tuple."""
    if isinstance(record.args, dict):
        return record.args.get("name")
    if record.name == "celery.beat" and isinstance(record.args, tuple) and len(record.args) == 2:
        return record.args[1]
    return None


class QuietTaskFilter(logging.Filter):
    """Demotes the per-task INFO lines of the tasks in ``settings.CELERY_QUIET_TASKS`` to DEBUG (the worker's "Task
    x[id] received" / "... succeeded in", beat's "Sending due task"): sweeps run several times a second and the
    battles' tick every 5 s, and an operator at the default level wants starts, failures and recoveries. Failures
    (ERROR, WARNING) always pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        from django.conf import settings

        if _task_name(record) not in settings.CELERY_QUIET_TASKS:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


# The loggers of the "received" (worker strategy) and "succeeded" (trace) lines; filters on a logger survive
# Celery's own logging setup.
for _name in ("celery.worker.strategy", "celery.app.trace", "celery.beat"):
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
