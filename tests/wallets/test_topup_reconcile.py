"""The beat job asks the processors about open invoices (callbacks get lost) and expires the
unpaid ones past due."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from smsbox.celery import app
from smsbox.models import JobRun
from tests.factories import UserFactory
from wallets import tasks
from wallets.models import TopUp
from wallets.topup_services import topup_create

pytestmark = pytest.mark.django_db


def new_top_up(name="cryptomus", currency="USDT", amount="20.00") -> TopUp:
    return topup_create(
        user=UserFactory(),
        amount=amount,
        processor_name=name,
        pay_currency=currency,
        base_url="http://testserver",
    )


def test_the_job_is_scheduled_by_a_migration_and_known_to_the_workers():
    app.loader.import_default_modules()

    job = PeriodicTask.objects.get(task="wallets.tasks.topups_reconcile")

    assert job.enabled and job.interval.every == 1 and job.interval.period == "minutes"
    assert job.task in app.tasks


def test_reconciliation_credits_an_invoice_whose_callback_never_came(fake_cryptomus, cryptomus):
    top_up = new_top_up()
    fake_cryptomus.pay(top_up.processor_ref, "paid", paid="20.00", txid="c0ffee")

    tasks.topups_reconcile()

    top_up.refresh_from_db()
    assert (top_up.status, top_up.wallet.balance, top_up.tx_hashes) == (
        "paid",
        Decimal("20.00"),
        "c0ffee",
    )
    assert top_up.callbacks.get().source == "reconciliation"
    run = JobRun.objects.get(name="wallets.topups_reconcile")
    assert (run.status, run.rows) == (JobRun.Status.OK, 1)
    call_command("check_ledger")


def test_a_second_run_right_after_asks_nobody(fake_cryptomus, cryptomus):
    new_top_up()
    tasks.topups_reconcile()
    asked = len(fake_cryptomus.requests)

    tasks.topups_reconcile()

    assert len(fake_cryptomus.requests) == asked


def test_unpaid_invoices_past_due_expire_and_a_late_payment_still_credits(
    fake_cryptomus, cryptomus, settings
):
    settings.SMSBOX_TOPUP_RECONCILE_SECONDS = 0
    top_up = new_top_up()
    TopUp.objects.filter(pk=top_up.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    tasks.topups_reconcile()
    top_up.refresh_from_db()
    assert top_up.status == "expired"

    fake_cryptomus.pay(top_up.processor_ref, "paid", paid="20.00")
    tasks.topups_reconcile()

    top_up.refresh_from_db()
    assert (top_up.status, top_up.wallet.balance) == ("paid", Decimal("20.00"))


def test_an_unreachable_processor_is_a_failed_row_not_a_failed_job(fake_cryptomus, cryptomus):
    top_up = new_top_up()
    fake_cryptomus.stop()

    tasks.topups_reconcile()

    run = JobRun.objects.get(name="wallets.topups_reconcile")
    assert (run.status, run.errors) == (JobRun.Status.OK, 1)
    top_up.refresh_from_db()
    assert top_up.status == "pending"


def test_nowpayments_is_asked_once_its_payment_is_known(fake_nowpayments, nowpayments, client):
    top_up = new_top_up("nowpayments", "btc", "10.00")
    payment_id = fake_nowpayments.pay(top_up.processor_ref, "confirming", actually_paid=0.0004)
    TopUp.objects.filter(pk=top_up.pk).update(processor_payment_id=payment_id)
    fake_nowpayments.payments[payment_id]["payment_status"] = "finished"

    tasks.topups_reconcile()

    top_up.refresh_from_db()
    assert (top_up.status, top_up.wallet.balance) == ("paid", Decimal("10.00"))
