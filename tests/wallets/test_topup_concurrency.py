"""Duplicate deliveries in parallel, on PostgreSQL with real threads: one credit."""

import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import UserFactory
from wallets.models import LedgerEntry, TopUp
from wallets.topup_services import payment_callback_receive, topup_create

pytestmark = pytest.mark.django_db(transaction=True)

DELIVERIES = 20


def test_twenty_identical_callbacks_at_once_credit_once(fake_cryptomus, cryptomus):
    top_up = topup_create(
        user=UserFactory(),
        amount="20.00",
        processor_name="cryptomus",
        pay_currency="USDT",
        base_url="http://testserver",
    )
    fake_cryptomus.pay(top_up.processor_ref, "paid", paid="20.00", txid="ab" * 32)
    body, headers = fake_cryptomus.callback(top_up.processor_ref)
    start = threading.Barrier(DELIVERIES)
    answers, errors = [], []

    def deliver() -> None:
        try:
            start.wait()
            answers.append(
                payment_callback_receive(
                    processor_name="cryptomus", body=body, headers=headers, remote_addr="127.0.0.1"
                )[0]
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(DELIVERIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    top_up.refresh_from_db()
    assert errors == [] and answers == [200] * DELIVERIES
    entries = LedgerEntry.objects.filter(reference_kind="top_up", reference_id=top_up.pk)
    assert [e.amount for e in entries] == [Decimal("20.00")]
    assert (top_up.status, top_up.amount_credited) == (TopUp.Status.PAID, Decimal("20.00"))
    assert top_up.wallet.balance == Decimal("20.00")
    assert top_up.callbacks.count() == DELIVERIES
    call_command("check_ledger")
