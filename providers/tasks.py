"""Celery tasks of the providers app: ids in, a service call, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from providers.adapters import Transient, UpstreamError
from providers.adapters.simulator import simulator_deliver, simulator_deliver_due
from providers.models import Provider
from providers.services import offers_sync as offers_sync_service
from providers.services import provider_balance_refresh
from smsbox.jobs import tracked_job

logger = logging.getLogger(__name__)
BALANCE_MAX_AGE = 10 * 60  # the job runs every 2 minutes: a missed run or two shows no gap


@shared_task(bind=True, max_retries=3, time_limit=300, soft_time_limit=270)
def offers_sync(self, provider_id: int) -> None:
    provider = Provider.objects.filter(pk=provider_id, enabled=True).first()
    if provider is None:
        logger.info("Provider %s is gone or disabled; no offers to sync.", provider_id)
        return
    try:
        offers_sync_service(provider=provider)
    except Transient as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
    except UpstreamError as exc:
        logger.warning("Offers of %s not synced: %s", provider, exc.message)


@shared_task(time_limit=60)
def offers_sync_all() -> None:
    """Enqueue one sync per enabled provider, so one slow upstream delays no other."""
    with tracked_job("providers.offers_sync_all") as job:
        for provider_id in Provider.objects.filter(enabled=True).values_list("pk", flat=True):
            offers_sync.delay(provider_id)
            job.rows += 1


@shared_task(time_limit=60)
def simulator_deliver_sms(number_id: int) -> None:
    """The simulator's SMS for one number, scheduled at its delay; a no-op if not due or done."""
    simulator_deliver(number_id=number_id)


@shared_task(time_limit=120)
def simulator_deliver_due_all() -> None:
    """Catch up on simulator SMS whose scheduled task was lost (e.g. a worker restart)."""
    with tracked_job("providers.simulator_deliver_due_all") as job:
        job.rows = simulator_deliver_due()


@shared_task(time_limit=240, soft_time_limit=220)
def balances_refresh_all() -> None:
    """Ask every enabled provider for our balance and cache it for the admin's list, which
    never calls an upstream itself; a dead upstream costs at most a few seconds here."""
    with tracked_job("providers.balances_refresh_all") as job:
        for provider in Provider.objects.filter(enabled=True):
            provider_balance_refresh(provider=provider, timeout=5.0, max_age=BALANCE_MAX_AGE)
            job.rows += 1
