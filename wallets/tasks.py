"""Periodic jobs of wallets: thin, each a service call."""

import logging

from celery import shared_task
from django.conf import settings

from smsbox.errors import ApplicationError
from smsbox.jobs import tracked_job
from wallets.topup_services import topup_reconcile, topups_due_for_reconciliation, topups_expire_due

logger = logging.getLogger(__name__)


@shared_task(soft_time_limit=240, time_limit=300)
def topups_reconcile() -> int:
    """Ask the processors about open invoices (callbacks get lost), then expire the unpaid."""
    with tracked_job("wallets.topups_reconcile") as job:
        for top_up_id in topups_due_for_reconciliation(batch=settings.SMSBOX_JOB_BATCH_SIZE):
            try:
                topup_reconcile(top_up_id=top_up_id)
            except ApplicationError as error:
                job.fail(top_up_id, error)
            else:
                job.rows += 1
        job.rows += topups_expire_due(batch=settings.SMSBOX_JOB_BATCH_SIZE)
    return job.rows
