"""Every periodic job of smsbox is scheduled by a migration, editable in the admin, and names a
task the workers know."""

from unittest import mock

import pytest
from django_celery_beat.models import PeriodicTask

from providers import tasks
from smsbox.celery import app
from smsbox.models import JobRun
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db

EVERY_JOB = {
    "activation expiry": "rentals.tasks.activations_expire",
    "activation SMS polling": "rentals.tasks.activations_poll",
    "reconciliation": "rentals.tasks.activations_reconcile",
    "upstream order audit": "rentals.tasks.upstream_audit",
    "offer sync": "providers.tasks.offers_sync_all",
    "simulator catch-up": "providers.tasks.simulator_deliver_due_all",
    "upstream balances": "providers.tasks.balances_refresh_all",
    "rental auto-renew": "rentals.tasks.rentals_renew",
    "rental expiry": "rentals.tasks.rentals_expire",
    "rental SMS polling": "rentals.tasks.rentals_poll",
    "webhook retries": "rentals.tasks.webhooks_retry_due",
    "unverified accounts": "smsbox.tasks.accounts_delete_unverified",
    "inactivity notices": "smsbox.tasks.accounts_notify_inactive",
    "inactive accounts": "smsbox.tasks.accounts_delete_inactive",
    "task outbox": "smsbox.tasks.deferred_tasks_flush",
}


def test_every_periodic_job_is_scheduled_by_a_migration():
    scheduled = set(PeriodicTask.objects.filter(enabled=True).values_list("task", flat=True))

    missing = {job: task for job, task in EVERY_JOB.items() if task not in scheduled}

    assert missing == {}


def test_every_scheduled_task_is_known_to_the_workers():
    app.loader.import_default_modules()
    scheduled = PeriodicTask.objects.exclude(task="celery.backend_cleanup")

    unknown = [task.task for task in scheduled if task.task not in app.tasks]

    assert unknown == []


def test_offer_sync_enqueues_one_sync_per_enabled_provider_and_records_its_run():
    enabled = ProviderFactory.create_batch(2)
    ProviderFactory(enabled=False)
    with mock.patch.object(tasks.offers_sync, "delay") as delay:
        tasks.offers_sync_all()

    assert sorted(call.args[0] for call in delay.call_args_list) == sorted(p.pk for p in enabled)
    run = JobRun.objects.get(name="providers.offers_sync_all")
    assert (run.status, run.rows) == (JobRun.Status.OK, 2)
