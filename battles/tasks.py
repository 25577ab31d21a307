"""Celery tasks of battles: a few lines each, the work is in ``battles.services``."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

TRANSIENT = {"autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 1, "retry_backoff_max": 10,
             "retry_jitter": True, "max_retries": 3}


@shared_task(name="battles.tick", ignore_result=True, **TRANSIENT)
def tick() -> dict:
    """Every BATTLE_SNAPSHOT_SECONDS (beat): activate due battles, stop those whose time is up, standings rounds."""
    from battles.services import battles_tick

    return battles_tick()
