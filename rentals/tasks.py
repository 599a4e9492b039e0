"""Celery tasks of rentals: thin, id in → service call; safe to run twice or concurrently."""

import logging

from celery import shared_task

from rentals import webhooks
from smsbox.errors import NotFound

logger = logging.getLogger(__name__)


@shared_task(name="rentals.tasks.webhook_deliver", soft_time_limit=30, time_limit=60)
def webhook_deliver(delivery_id: int) -> None:
    """The first attempt of a delivery (and the one a redeliver asks for); the retries are
    made by ``webhooks_retry_due``, which beat runs every minute."""
    try:
        webhooks.webhook_deliver(delivery_id=delivery_id)
    except NotFound:
        logger.info("webhook delivery %s is gone", delivery_id)


@shared_task(name="rentals.tasks.webhooks_retry_due", soft_time_limit=200, time_limit=230)
def webhooks_retry_due() -> int:
    return webhooks.webhooks_retry_due()
