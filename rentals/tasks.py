"""Celery tasks of rentals: thin, id in → service call; safe to run twice or concurrently."""

import logging

from celery import shared_task
from django.conf import settings

from providers.adapters import Transient
from rentals import webhooks
from rentals.backoffice import alerts
from smsbox.errors import NotFound
from smsbox.jobs import tracked_job

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
    """Attempt the customer webhook deliveries that are due (retries with back-off)."""
    with tracked_job("rentals.webhooks_retry_due") as job:
        job.rows += webhooks.webhooks_retry_due()
    return job.rows


# --- activations ------------------------------------------------------------------------------
@shared_task(name="rentals.tasks.activations_expire", soft_time_limit=240, time_limit=270)
def activations_expire() -> int:
    """Expire due activations (refunding those without an SMS); safe on several workers."""
    from rentals.services import activations_expire_due

    with tracked_job("rentals.activations_expire") as job:
        job.rows += activations_expire_due(limit=settings.SMSBOX_JOB_BATCH_SIZE * 10)
    return job.rows


@shared_task(name="rentals.tasks.activations_poll", soft_time_limit=150, time_limit=180)
def activations_poll() -> int:
    """Ask the upstreams about activations still waiting for a code."""
    from rentals.services import activations_poll as poll

    with tracked_job("rentals.activations_poll") as job:
        job.rows += poll(batch_size=settings.SMSBOX_JOB_BATCH_SIZE, on_failure=job.fail)
    return job.rows


@shared_task(name="rentals.tasks.activations_reconcile", soft_time_limit=240, time_limit=270)
def activations_reconcile() -> int:
    """Settle purchases of unknown outcome and purchases left processing by a crash."""
    from rentals.services import activations_reconcile as reconcile

    with tracked_job("rentals.activations_reconcile") as job:
        job.rows += reconcile(limit=settings.SMSBOX_JOB_BATCH_SIZE, on_failure=job.fail)
    return job.rows


@shared_task(
    name="rentals.tasks.activation_upstream_close",
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(Transient,),
    retry_backoff=30,
    max_retries=3,
)
def activation_upstream_close(activation_id: int, action: str) -> None:
    """Tell the upstream we are done with an activation's number (finish or cancel)."""
    from rentals.services.activations import activation_upstream_close as close

    close(activation_id=activation_id, action=action)


@shared_task(name="rentals.tasks.activations_upstream_close", soft_time_limit=240, time_limit=270)
def activations_upstream_close(activation_ids: list[int], action: str) -> None:
    """The upstream closes of one expiry batch, in one message; a transient failure is handed
    to ``activation_upstream_close`` for that activation, which retries with back-off."""
    from rentals.services.activations import activation_upstream_close as close

    for activation_id in activation_ids:
        try:
            close(activation_id=activation_id, action=action)
        except Transient:
            activation_upstream_close.delay(activation_id, action)


# --- long-term rentals ------------------------------------------------------------------------
@shared_task(name="rentals.tasks.rentals_renew", soft_time_limit=240, time_limit=270)
def rentals_renew() -> int:
    """Auto-renew the rentals due within the lead time; safe on several workers at once."""
    from rentals.services.rentals import rentals_renew_due

    with tracked_job("rentals.rentals_renew") as job:
        job.rows += rentals_renew_due(
            limit=settings.SMSBOX_JOB_BATCH_SIZE * 10, on_failure=job.fail
        )
    return job.rows


@shared_task(name="rentals.tasks.rentals_expire", soft_time_limit=240, time_limit=270)
def rentals_expire() -> int:
    """Expire the rentals whose time is over; settle purchases of unknown outcome against their
    upstream and refund what a crashed worker left half done."""
    from rentals.services.rentals import rentals_expire_due, rentals_settle_stale

    with tracked_job("rentals.rentals_expire") as job:
        job.rows += rentals_settle_stale(limit=settings.SMSBOX_JOB_BATCH_SIZE, on_failure=job.fail)
        job.rows += rentals_expire_due(
            limit=settings.SMSBOX_JOB_BATCH_SIZE * 10, on_failure=job.fail
        )
    return job.rows


@shared_task(name="rentals.tasks.rentals_poll", soft_time_limit=150, time_limit=180)
def rentals_poll() -> int:
    """Ask the upstreams for the SMS of active rentals (pushed SMS arrive without it)."""
    from rentals.services.rentals import rentals_poll as poll

    with tracked_job("rentals.rentals_poll") as job:
        job.rows += poll(limit=settings.SMSBOX_JOB_BATCH_SIZE, on_failure=job.fail)
    return job.rows


@shared_task(
    name="rentals.tasks.rental_upstream_release",
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(Transient,),
    retry_backoff=30,
    max_retries=3,
)
def rental_upstream_release(rental_id: int, how: str) -> None:
    """Tell the upstream a rental ended (``cancel`` or ``finish``)."""
    from rentals.models import Rental
    from rentals.services.rentals import rental_upstream_release as release

    rental = Rental.objects.select_related("provider").filter(pk=rental_id).first()
    if rental is None or rental.provider is None:
        logger.info("rental %s is gone or was never rented upstream", rental_id)
        return
    release(rental=rental, how=how)


@shared_task(name="rentals.tasks.backoffice_alerts")
def backoffice_alerts() -> int:
    """Operator alerts (runway, breaker, success rate), once per episode."""
    return alerts.alerts_run()


@shared_task(name="rentals.tasks.backoffice_report_days")
def backoffice_report_days() -> int:
    """The reports' daily roll-up: the days that can still change, and any never rolled up."""
    from rentals.backoffice.rollup import report_days_run

    return report_days_run()


@shared_task(name="rentals.tasks.backoffice_abuse")
def backoffice_abuse() -> int:
    """The abuse rule (off unless SMSBOX_ABUSE_SUCCESS_RATE is set)."""
    return alerts.abuse_run()


@shared_task(name="rentals.tasks.upstream_audit", soft_time_limit=240, time_limit=270)
def upstream_audit() -> int:
    """Cancel upstream orders no activation or rental holds (orphans); answers how many were
    released this run."""
    from rentals.services.upstream_audit import upstream_audit as audit

    with tracked_job("rentals.upstream_audit") as job:
        job.rows += sum(found.released for found in audit(fix=True))
    return job.rows
