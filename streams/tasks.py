"""Celery tasks of the streams app: a few lines that call a service."""

from celery import shared_task

from streams.services import webhook_delivery_attempt


@shared_task(bind=True, max_retries=None, acks_late=True, ignore_result=True)
def webhook_deliver(self, delivery_id: str) -> str | None:
    """Attempt one webhook delivery; if it failed with attempts left, retry after the exponential back-off.

    The attempt count and the limit live on the delivery row (``WEBHOOK_MAX_ATTEMPTS``), not in Celery, so a
    re-send or a worker restart never loses track of them.
    """
    outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
