"""Races on PostgreSQL with real threads: money moves once whatever runs at the same time."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from providers.models import Country, Service
from providers.services import upstream_sms_dispatch
from rentals.models import Activation
from rentals.services import (
    activation_cancel,
    activation_expire,
    activation_purchase,
    activations_expire_due,
)
from smsbox.errors import ApplicationError
from tests.factories import UserFactory
from tests.rentals.conftest import fund, make_simulator
from wallets.models import LedgerEntry
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db(transaction=True)
State = Activation.State


def run_at_once(*jobs, timeout: float = 120) -> tuple[list, list[BaseException]]:
    """Start every job on its own thread behind one barrier; answers (results, errors)."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []
    lock = threading.Lock()

    def worker(job) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = job()
            with lock:
                results.append(outcome)
        except BaseException as exc:  # collected for the assertions
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


def check_ledger() -> None:
    call_command("check_ledger")  # raises CommandError when a wallet is out of balance


def refunds(activation: Activation) -> int:
    return LedgerEntry.objects.filter(
        kind="refund", reference_kind="activation", reference_id=activation.pk
    ).count()


@pytest.fixture
def market(catalog):
    make_simulator()
    return Service.objects.get(code="tg"), Country.objects.get(sms_activate_id=187)


@pytest.mark.parametrize("round_", range(4))
def test_cancel_expiry_and_an_arriving_sms_refund_at_most_once(market, round_):
    # given: an activation that may be cancelled and is due to expire
    service, country = market
    user = UserFactory()
    fund(user, "1.00")
    activation = activation_purchase(user=user, service=service, country=country)
    Activation.objects.filter(pk=activation.pk).update(
        created_at=activation.created_at - timedelta(seconds=1300),
        number_at=activation.number_at - timedelta(seconds=1300),
        expires_at=activation.expires_at - timedelta(seconds=1300),
    )
    activation.refresh_from_db()

    def sms() -> None:
        upstream_sms_dispatch(
            provider=activation.provider,
            upstream_id=activation.upstream_id,
            phone=activation.phone,
            text="Your code is 778899",
        )

    jobs = [
        lambda: activation_cancel(activation=activation),
        lambda: activation_expire(activation=activation),
        lambda: activations_expire_due(),
        sms,
    ]
    # when
    _, errors = run_at_once(*jobs[round_:], *jobs[:round_])
    # then: only typed refusals, one consistent outcome
    assert all(isinstance(e, ApplicationError) for e in errors), errors
    activation.refresh_from_db()
    assert activation.state in (State.CANCELLED, State.EXPIRED, State.COMPLETED)
    expected_refunds = 1 if activation.state in Activation.REFUNDED_STATES else 0
    assert refunds(activation) == expected_refunds
    balance = wallet_for_user(user=user).balance
    assert balance == Decimal("1.00") - Decimal("0.50") * (1 - expected_refunds)
    if activation.state == State.COMPLETED:
        assert activation.code == "778899"
    check_ledger()


def test_fifty_purchases_at_once_on_a_wallet_that_pays_for_twenty(market):
    # given
    service, country = market
    user = UserFactory()
    fund(user, "10.00")  # 20 times 0.50

    def buy() -> Activation:
        return activation_purchase(user=user, service=service, country=country)

    # when
    results, errors = run_at_once(*([buy] * 50), timeout=300)
    # then
    assert len(results) == 20
    assert len(errors) == 30
    assert {e.code for e in errors} == {"NO_BALANCE"}, errors[:3]
    assert wallet_for_user(user=user).balance == Decimal("0")
    assert Activation.objects.filter(user=user, state=State.WAITING).count() == 20
    assert len({a.phone for a in results}) == 20
    assert not Activation.objects.filter(state__in=Activation.PENDING_STATES).exists()
    check_ledger()


def test_two_expiry_sweeps_at_once_refund_each_activation_once(market):
    service, country = market
    user = UserFactory()
    fund(user, "5.00")
    bought = [activation_purchase(user=user, service=service, country=country) for _ in range(8)]
    Activation.objects.filter(pk__in=[a.pk for a in bought]).update(
        expires_at=bought[0].created_at - timedelta(seconds=1)
    )
    results, errors = run_at_once(activations_expire_due, activations_expire_due)
    assert not errors
    assert sum(results) == 8
    assert Activation.objects.filter(state=State.EXPIRED).count() == 8
    assert LedgerEntry.objects.filter(kind="refund").count() == 8
    assert wallet_for_user(user=user).balance == Decimal("5.00")
    check_ledger()
