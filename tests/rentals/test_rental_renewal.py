"""The auto-renew job: one renewal per period even with two workers, a notice when the balance
is too low and then the expiry, and no renewal at all when auto-renew is off."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection

from providers.adapters.simulator import SimulatorAdapter
from providers.models import SimulatedNumber
from rentals.models import Rental
from rentals.services.rentals import (
    rental_extend,
    rental_purchase,
    rental_renew,
    rental_set_auto_renew,
    rentals_expire_due,
    rentals_renew_due,
)
from tests.rentals.rental_support import balance, expire_in, rental_entries
from wallets.services import Reference, wallet_charge, wallet_get_or_create


@pytest.fixture
def rental(renter, usa, rent_sim, rent_plans) -> Rental:
    return rental_purchase(user=renter, country=usa, hours=24)


def _drain(user, leave: str = "0.50") -> None:
    wallet = wallet_get_or_create(user=user)
    wallet_charge(
        wallet=wallet, amount=wallet.balance - Decimal(leave), reference=Reference("test", user.pk)
    )


@pytest.mark.django_db
def test_a_due_rental_is_renewed_with_its_renewal_duration(rental, renter):
    rental = rental_extend(rental=rental, package="1m")  # renews with 1m from now on
    rental = expire_in(rental, timedelta(minutes=30))
    old_expiry = rental.expires_at

    assert rentals_renew_due() == 1

    rental.refresh_from_db()
    assert rental.expires_at == old_expiry + timedelta(days=30)
    renewal = rental.renewals.get(period=3)
    assert (renewal.kind, renewal.state, renewal.package) == ("renewal", "done", "1m")
    assert rental_entries(rental)[-1] == ("renewal", Decimal("-15.0000"))
    assert balance(renter) == Decimal("67.00")  # 100 - 3 - 15 - 15


@pytest.mark.django_db
def test_a_rental_is_not_renewed_before_the_lead_time(rental, renter):
    assert rentals_renew_due() == 0  # 24 h left, the lead time is 60 minutes

    assert rental.renewals.count() == 1
    assert balance(renter) == Decimal("97.00")


@pytest.mark.django_db
def test_running_the_job_twice_renews_once_per_period(rental, renter):
    rental = expire_in(rental, timedelta(minutes=30))

    assert rental_renew(rental_id=rental.pk).status == "renewed"
    assert rental_renew(rental_id=rental.pk).status == "skipped"

    assert rental.renewals.filter(kind="renewal").count() == 1
    assert balance(renter) == Decimal("94.00")


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_renew_once(rental, renter, monkeypatch):
    """The first worker's extension is held upstream until the second worker has tried the
    same rental, so the second really meets the period in progress (``RentalBusy``)."""
    rental = expire_in(rental, timedelta(minutes=30))
    old_expiry = rental.expires_at
    extending, release = threading.Event(), threading.Event()
    original = SimulatorAdapter.rent_extend

    def slow_extend(self, *, upstream_id: str, hours: int):
        extending.set()
        assert release.wait(30)
        return original(self, upstream_id=upstream_id, hours=hours)

    monkeypatch.setattr(SimulatorAdapter, "rent_extend", slow_extend)
    outcomes: dict[str, object] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            outcomes[name] = rental_renew(rental_id=rental.pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=worker, args=("first",))
    first.start()
    assert extending.wait(30)  # the first worker is extending upstream now
    second = threading.Thread(target=worker, args=("second",))
    second.start()
    second.join()
    release.set()
    first.join()

    assert errors == []
    assert (outcomes["first"].status, outcomes["second"].status) == ("renewed", "skipped")
    assert outcomes["second"].detail == "RENTAL_BUSY"
    rental.refresh_from_db()
    assert rental.expires_at == old_expiry + timedelta(hours=24)
    assert [r.kind for r in rental.renewals.order_by("period")] == ["purchase", "renewal"]
    assert [kind for kind, _ in rental_entries(rental)] == ["charge", "renewal"]
    assert balance(renter) == Decimal("94.00")


@pytest.mark.django_db
def test_too_little_balance_sends_one_notice_then_the_rental_expires(
    rental, renter, django_capture_on_commit_callbacks
):
    _drain(renter)
    rental = expire_in(rental, timedelta(minutes=30))

    with django_capture_on_commit_callbacks(execute=True):
        assert rentals_renew_due() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert rentals_renew_due() == 0  # retried, but told only once

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [renter.email]
    assert rental.phone in mail.outbox[0].subject
    assert "balance is too low" in mail.outbox[0].body
    rental.refresh_from_db()
    assert rental.renewal_notice_for == rental.expires_at
    with time_machine.travel(rental.expires_at + timedelta(seconds=1), tick=False):
        assert rentals_renew_due() == 0
        assert rentals_expire_due() == 1
    rental.refresh_from_db()
    assert rental.state == Rental.State.EXPIRED
    assert rental.renewals.count() == 1
    assert balance(renter) == Decimal("0.50")


@pytest.mark.django_db
def test_a_top_up_before_the_expiry_lets_the_retry_renew(rental, renter):
    _drain(renter)
    rental = expire_in(rental, timedelta(minutes=30))
    assert rental_renew(rental_id=rental.pk).status == "no_balance"

    from tests.rentals.rental_support import fund

    fund(renter, "10.00")

    assert rental_renew(rental_id=rental.pk).status == "renewed"


@pytest.mark.django_db
def test_with_auto_renew_off_the_rental_expires_on_time(rental, renter):
    rental_set_auto_renew(rental=rental, enabled=False)
    rental = expire_in(rental, timedelta(minutes=30))

    assert rentals_renew_due() == 0
    assert rentals_expire_due() == 0  # not yet

    with time_machine.travel(rental.expires_at + timedelta(seconds=1), tick=False):
        assert rentals_expire_due() == 1

    rental.refresh_from_db()
    assert rental.state == Rental.State.EXPIRED
    assert rental.renewals.count() == 1
    assert balance(renter) == Decimal("97.00")
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_renewal_the_upstream_refuses_is_refunded_and_told(
    rental, renter, django_capture_on_commit_callbacks
):
    rental = expire_in(rental, timedelta(minutes=30))
    SimulatedNumber.objects.filter(pk=int(rental.upstream_id)).update(status="cancelled")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = rental_renew(rental_id=rental.pk)

    assert outcome.status == "failed"
    assert rental.renewals.get(period=2).state == "failed"
    assert balance(renter) == Decimal("97.00")
    assert len(mail.outbox) == 1
