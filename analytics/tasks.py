"""Celery tasks of the analytics app: a few lines each, the work is in ``analytics.services``.

All three take the same row lock, so a slow run delays the next instead of racing it; each is idempotent (cursors
move in the same transaction as the states they fed).
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

TRANSIENT = {"autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 1, "retry_backoff_max": 10,
             "retry_jitter": True, "max_retries": 5}


@shared_task(name="analytics.update_metrics", ignore_result=True, **TRANSIENT)
def update_metrics() -> dict:
    """Every minute (beat): push new equity snapshots and closed trades into the streaming metrics, rebuild the
    leaderboards."""
    from analytics.services import metrics_update

    r = metrics_update()
    return {"snapshots": r.snapshots, "trades": r.trades, "wallets": r.wallets, "rebuilt": r.rebuilt}


@shared_task(name="analytics.recompute_metrics", ignore_result=True, **TRANSIENT)
def recompute_metrics() -> dict:
    """Daily (beat): recompute every state from the stored data, repair the ones that differ."""
    from analytics.services import leaderboards_build, metrics_recompute

    r = metrics_recompute(repair=True)
    if r.repaired:
        leaderboards_build()
    return {"checked": r.checked, "mismatched": r.mismatched, "repaired": r.repaired}


@shared_task(name="analytics.downsample_equity", ignore_result=True, **TRANSIENT)
def downsample_equity() -> dict:
    """Daily (beat): thin one-minute snapshots older than 8 days to 5 minutes, 5-minute points older than 32 days
    to 1 hour."""
    from analytics.services import equity_downsample

    r = equity_downsample()
    return {"wallets": r.wallets, "raw_in": r.raw_in, "kept_5m": r.kept_5m, "five_in": r.five_in,
            "kept_1h": r.kept_1h}
