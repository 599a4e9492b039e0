"""The periodic activation jobs: scheduled by migration, recorded in the job history, thin."""

from decimal import Decimal

import pytest
from django_celery_beat.models import PeriodicTask

from rentals import tasks
from rentals.models import Activation
from rentals.services import activation_purchase
from smsbox.models import JobRun
from tests.rentals.conftest import age
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db
JOBS = {
    "rentals.tasks.activations_expire": (30, "seconds"),
    "rentals.tasks.activations_poll": (20, "seconds"),
    "rentals.tasks.activations_reconcile": (1, "minutes"),
}


def test_the_migration_scheduled_the_activation_jobs():
    from smsbox.celery import app

    app.loader.import_default_modules()
    for name, (every, period) in JOBS.items():
        task = PeriodicTask.objects.get(name=name)
        assert task.enabled and task.task in app.tasks
        assert (task.interval.every, task.interval.period) == (every, period)


def test_the_expiry_job_refunds_and_records_its_run(customer, simulator, telegram, usa):
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    age(activation, 1300)
    assert tasks.activations_expire() == 1
    activation.refresh_from_db()
    assert activation.state == Activation.State.EXPIRED
    assert wallet_for_user(user=customer).balance == Decimal("10.00")
    run = JobRun.objects.get(name="rentals.activations_expire")
    assert (run.status, run.rows) == ("ok", 1)


def test_the_poll_and_reconcile_jobs_run_with_nothing_to_do(db):
    assert tasks.activations_poll() == 0
    assert tasks.activations_reconcile() == 0
    assert set(JobRun.objects.values_list("name", flat=True)) == {
        "rentals.activations_poll",
        "rentals.activations_reconcile",
    }


def test_the_upstream_close_task_tells_the_upstream(customer, simulator, telegram, usa):
    from providers.models import SimulatedNumber

    activation = activation_purchase(user=customer, service=telegram, country=usa)
    tasks.activation_upstream_close(activation.pk, "cancel")
    assert SimulatedNumber.objects.get(pk=activation.upstream_id).status == "cancelled"
    tasks.activation_upstream_close(999999, "cancel")  # gone: nothing to do


def test_the_webhook_retry_job_records_its_run(db):
    assert tasks.webhooks_retry_due() == 0
    run = JobRun.objects.get(name="rentals.webhooks_retry_due")
    assert (run.status, run.rows) == ("ok", 0)


def test_a_row_the_poll_job_could_not_ask_is_in_its_run(
    customer, simulator, telegram, usa, monkeypatch
):
    from providers.adapters import Transient
    from providers.adapters.simulator import SimulatorAdapter

    activation = activation_purchase(user=customer, service=telegram, country=usa)

    def down(self, *, upstream_id):
        raise Transient("upstream down")

    monkeypatch.setattr(SimulatorAdapter, "status", down)
    assert tasks.activations_poll() == 1
    run = JobRun.objects.get(name="rentals.activations_poll")
    assert (run.status, run.errors) == ("ok", 1)
    assert f"{activation.pk}: Transient" in run.error


def test_a_row_the_reconcile_job_could_not_settle_is_in_its_run(
    customer, simulator, telegram, usa, monkeypatch
):
    from rentals.services import reconcile

    activation = activation_purchase(user=customer, service=telegram, country=usa)
    Activation.objects.filter(pk=activation.pk).update(state=Activation.State.UNKNOWN)
    age(activation, 60)

    def broken(activation):
        raise RuntimeError("cannot read")

    monkeypatch.setattr(reconcile, "_find_bought", broken)
    assert tasks.activations_reconcile() == 0
    run = JobRun.objects.get(name="rentals.activations_reconcile")
    assert (run.status, run.errors) == ("ok", 1)
    assert f"{activation.pk}: RuntimeError: cannot read" in run.error
