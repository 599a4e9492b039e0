"""A rent call of unknown outcome (a timeout): the rental waits ``unknown``, charged, and the
expiry job settles it against the upstream: the number rented there goes to the customer, a
number not rented is refunded, a number found too late is given back, and an upstream that
cannot be asked is refunded after the cancel window. The settle sweep works in batches."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from providers.adapters import Unsupported
from providers.adapters.simulator import SimulatorAdapter
from providers.models import SimulatedNumber
from rentals.models import Rental
from rentals.rental_selectors import rental_duration, rentals_frozen_amount
from rentals.services.rentals import _purchase_open, rental_purchase, rentals_settle_stale
from tests.rentals.rental_support import balance, rent_simulator, rental_entries
from wallets.services import wallet_get_or_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def timeout_sim(catalog):
    """A simulator whose every rent takes effect but answers with a timeout."""
    return rent_simulator(name="TimeoutSim", fail_timeout=1.0)


@pytest.fixture
def unknown(renter, usa, timeout_sim, rent_plans) -> Rental:
    return rental_purchase(user=renter, country=usa, hours=24)


def _later(minutes: float):
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=False)


def test_a_rent_that_timed_out_stays_unknown_and_charged(unknown, renter, timeout_sim):
    assert unknown.state == Rental.State.UNKNOWN
    assert unknown.provider == timeout_sim and unknown.phone == ""
    assert balance(renter) == Decimal("97.00")
    assert rental_entries(unknown) == [("charge", Decimal("-3.0000"))]
    assert rentals_frozen_amount(wallet_get_or_create(user=renter)) == Decimal("3.00")
    # it was rented upstream after all
    assert SimulatedNumber.objects.get(kind="rent").status == "waiting"


def test_an_unknown_rental_is_not_settled_before_the_reconcile_delay(unknown):
    assert rentals_settle_stale() == 0

    unknown.refresh_from_db()
    assert unknown.state == Rental.State.UNKNOWN


def test_the_number_rented_upstream_is_given_to_the_customer(unknown, renter):
    number = SimulatedNumber.objects.get(kind="rent")

    with _later(1):
        assert rentals_settle_stale() == 1

    unknown.refresh_from_db()
    assert unknown.state == Rental.State.ACTIVE
    assert (unknown.upstream_id, unknown.phone) == (str(number.pk), number.phone)
    assert unknown.expires_at == unknown.created_at + timedelta(hours=24)
    period = unknown.renewals.get()
    assert (period.state, period.new_expires_at) == ("done", unknown.expires_at)
    assert balance(renter) == Decimal("97.00")
    assert rental_entries(unknown) == [("charge", Decimal("-3.0000"))]
    with _later(2):
        assert rentals_settle_stale() == 0  # settled once


def test_a_number_the_upstream_does_not_hold_is_refunded(unknown, renter):
    SimulatedNumber.objects.filter(kind="rent").update(status="failed")

    with _later(1):
        assert rentals_settle_stale() == 1

    unknown.refresh_from_db()
    assert unknown.state == Rental.State.FAILED and "not rented" in unknown.memo
    assert balance(renter) == Decimal("100.00")
    assert rental_entries(unknown)[-1] == ("refund", Decimal("3.0000"))


def test_two_unknown_rentals_each_get_their_own_number(unknown, renter, usa):
    other = rental_purchase(user=renter, country=usa, hours=24)  # unknown as well

    with _later(1):
        assert rentals_settle_stale() == 2

    rentals = Rental.objects.filter(pk__in=[unknown.pk, other.pk])
    assert set(rentals.values_list("state", flat=True)) == {"active"}
    numbers = {str(pk) for pk in SimulatedNumber.objects.values_list("pk", flat=True)}
    assert set(rentals.values_list("upstream_id", flat=True)) == numbers
    assert len(numbers) == 2


def test_a_number_found_after_its_period_is_given_back_and_refunded(unknown, renter):
    number = SimulatedNumber.objects.get(kind="rent")

    with time_machine.travel(unknown.created_at + timedelta(hours=25), tick=False):
        assert rentals_settle_stale() == 1

    unknown.refresh_from_db()
    assert unknown.state == Rental.State.FAILED
    assert balance(renter) == Decimal("100.00")
    number.refresh_from_db()
    assert number.status == "cancelled"


def test_an_upstream_that_cannot_be_asked_is_refunded_after_the_cancel_window(
    unknown, renter, monkeypatch
):
    def cannot_say(self):
        raise Unsupported("This upstream cannot list its rents.")

    monkeypatch.setattr(SimulatorAdapter, "active_rents", cannot_say)

    with _later(5):
        assert rentals_settle_stale() == 0  # asked again next run
    unknown.refresh_from_db()
    assert unknown.state == Rental.State.UNKNOWN
    assert balance(renter) == Decimal("97.00")

    with _later(21):
        assert rentals_settle_stale() == 1
    unknown.refresh_from_db()
    assert unknown.state == Rental.State.FAILED
    assert "could not be asked" in unknown.memo
    assert balance(renter) == Decimal("100.00")


def test_the_stale_sweep_settles_at_most_limit_rows_per_run(renter, usa, rent_sim, rent_plans):
    for _ in range(3):
        _purchase_open(
            user=renter,
            country=usa,
            service=None,
            duration=rental_duration(hours=24),
            price=Decimal("3.00"),
            auto_renew=True,
            webhook_url="",
            idempotency_key=None,
            operator="",
        )

    with _later(6):
        assert rentals_settle_stale(limit=2) == 2
        assert rentals_settle_stale(limit=2) == 1

    assert set(Rental.objects.values_list("state", flat=True)) == {"failed"}
    assert balance(renter) == Decimal("100.00")


# --- SMS-Activate lists its rents (getRentList) ------------------------------------------------
def test_sms_activate_lists_its_rents(catalog):
    from providers.adapters import adapter_for
    from tests.factories import ProviderFactory
    from tests.providers.fakes import FakeSmsActivate, as_json

    fake = FakeSmsActivate().start()
    try:
        provider = ProviderFactory(
            protocol="sms_activate", base_url=fake.handler_url, timeout=Decimal("2")
        )
        fake.respond_next(
            as_json(
                {
                    "status": "success",
                    "values": {"0": {"id": "12345", "phone": "+7 918 123-45-67"}},
                }
            )
        )
        fake.respond_next(as_json({"status": "error", "message": "NO_NUMBERS"}))

        rents = adapter_for(provider).active_rents()
        none = adapter_for(provider).active_rents()
    finally:
        fake.stop()

    assert [(r.upstream_id, r.phone, r.service_code) for r in rents] == [
        ("12345", "79181234567", None)
    ]
    assert none == []
    assert [r.params["action"] for r in fake.requests] == ["getRentList", "getRentList"]


def test_a_rent_started_after_the_purchase_is_not_taken_for_it(unknown, renter, usa, timeout_sim):
    from providers.adapters import OutcomeUnknown, adapter_for

    SimulatedNumber.objects.filter(kind="rent").update(status="failed")  # ours was not rented
    with _later(6):
        with pytest.raises(OutcomeUnknown):  # another purchase, still in flight
            adapter_for(timeout_sim).rent(service=None, country=usa, hours=24)
        assert rentals_settle_stale() == 1

    unknown.refresh_from_db()
    assert (unknown.state, unknown.upstream_id) == (Rental.State.FAILED, "")
    assert balance(renter) == Decimal("100.00")


def test_a_number_the_settle_job_gave_away_meanwhile_is_refunded_to_the_late_purchase(
    renter, usa, rent_sim, rent_plans, unknown
):
    from providers.adapters import NoNumbers
    from rentals.services.rentals import _purchase_activate

    processing = _purchase_open(
        user=renter,
        country=usa,
        service=None,
        duration=rental_duration(hours=24),
        price=Decimal("3.00"),
        auto_renew=True,
        webhook_url="",
        idempotency_key=None,
        operator="",
    )
    Rental.objects.filter(pk=unknown.pk).update(
        state="active", provider=rent_sim, upstream_id="777", phone="15550001111"
    )

    with pytest.raises(NoNumbers):
        _purchase_activate(processing, rent_sim, "777", "15550001111")

    processing.refresh_from_db()
    assert processing.state == Rental.State.FAILED
    assert rental_entries(processing)[-1] == ("refund", Decimal("3.0000"))
