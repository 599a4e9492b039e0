"""Continuing a rental that has ended: its number is ordered again from the same upstream as a
new rental (a new id), charged once at the current quote through the purchase saga — or
``RentDie`` with the money back when the number cannot be had again."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from providers.adapters import NoNumbers, Transient
from providers.models import SimulatedNumber
from rentals.models import Rental
from rentals.rental_errors import RentDie
from rentals.rental_selectors import rental_continue_quote
from rentals.services.rental_reorder import rental_continue, rental_reorder
from rentals.services.rentals import (
    rental_cancel,
    rental_expire,
    rental_finish,
    rental_purchase,
    rental_revoke,
    rentals_settle_stale,
)
from tests.factories import StaffFactory
from tests.rentals.rental_support import age, balance, rental_entries
from wallets.errors import InsufficientFunds
from wallets.services import Reference, wallet_charge, wallet_get_or_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(renter, usa, telegram, rent_sim, rent_plans) -> Rental:
    """A 4 h Telegram rental (1.00) the customer finished; 99.00 left."""
    rental = rental_purchase(
        user=renter, country=usa, service=telegram, hours=4, operator="any", auto_renew=False
    )
    return rental_finish(rental=rental)


def _set_simulator(provider, **settings) -> None:
    provider.settings = {**provider.settings, **settings}
    provider.save(update_fields=["settings"])


def test_the_number_of_a_finished_rental_is_ordered_again_as_a_new_rental(finished, renter):
    before = timezone.now()

    new = rental_reorder(rental=finished, hours=24)

    assert new.pk != finished.pk and new.state == Rental.State.ACTIVE
    assert (new.phone, new.provider_id) == (finished.phone, finished.provider_id)
    assert new.upstream_id != finished.upstream_id
    assert (new.country, new.service, new.operator, new.auto_renew, new.webhook_url) == (
        finished.country,
        finished.service,
        "any",
        False,
        finished.webhook_url,
    )
    assert (new.hours, new.price) == (24, Decimal("3.00"))
    assert before + timedelta(hours=24) <= new.expires_at <= timezone.now() + timedelta(hours=24)
    period = new.renewals.get()
    assert (period.period, period.kind, period.state) == (1, "purchase", "done")
    # charged once, as a purchase of the new rental; the old one's books are untouched
    assert rental_entries(new) == [("charge", Decimal("-3.0000"))]
    assert rental_entries(finished) == [("charge", Decimal("-1.0000"))]
    assert balance(renter) == Decimal("96.00")
    call_command("check_ledger")
    # the old rent was closed upstream before the number was asked for again
    old_number = SimulatedNumber.objects.get(pk=int(finished.upstream_id))
    new_number = SimulatedNumber.objects.get(pk=int(new.upstream_id))
    assert old_number.status == "finished"
    assert (new_number.kind, new_number.phone, new_number.status) == ("rent", new.phone, "waiting")
    finished.refresh_from_db()
    assert finished.state == Rental.State.FINISHED


def test_a_second_re_order_of_the_same_number_is_refused_before_any_charge(finished, renter):
    rental_reorder(rental=finished, hours=4)
    numbers = SimulatedNumber.objects.count()

    with pytest.raises(RentDie):
        rental_reorder(rental=finished, hours=4)

    assert balance(renter) == Decimal("98.00")
    assert Rental.objects.filter(user=renter).count() == 2
    assert SimulatedNumber.objects.count() == numbers


def test_continue_extends_a_running_rental_and_reorders_an_ended_one(
    renter, usa, rent_sim, rent_plans
):
    rental = rental_purchase(user=renter, country=usa, hours=4)
    old_expiry = rental.expires_at

    extended = rental_continue(rental=rental, hours=24)

    assert extended.pk == rental.pk and extended.expires_at == old_expiry + timedelta(hours=24)
    again = rental_continue(rental=rental_finish(rental=extended), hours=4)
    assert again.pk != rental.pk and again.phone == rental.phone
    assert balance(renter) == Decimal("95.00")  # 100 - 1 - 3 - 1


def test_an_expired_rental_and_one_whose_time_ran_out_are_ordered_again(
    renter, usa, rent_sim, rent_plans
):
    expired = age(rental_purchase(user=renter, country=usa, hours=4), timedelta(hours=5))
    assert rental_expire(rental=expired)
    ran_out = age(rental_purchase(user=renter, country=usa, hours=4), timedelta(hours=5))

    first = rental_reorder(rental=expired, hours=4)
    second = rental_continue(rental=ran_out, hours=4)

    assert (first.phone, second.phone) == (expired.phone, ran_out.phone)
    assert first.state == second.state == Rental.State.ACTIVE
    ran_out.refresh_from_db()
    assert ran_out.state == Rental.State.EXPIRED  # expired first, then ordered again
    call_command("check_ledger")


def test_a_cancelled_rental_is_ordered_again(renter, usa, rent_sim, rent_plans):
    cancelled = rental_cancel(rental=rental_purchase(user=renter, country=usa, hours=4))

    new = rental_reorder(rental=cancelled, hours=4)

    assert new.phone == cancelled.phone
    assert SimulatedNumber.objects.get(pk=int(cancelled.upstream_id)).status == "cancelled"
    assert balance(renter) == Decimal("99.00")


def test_the_price_is_quoted_for_a_running_and_an_ended_rental(finished):
    assert rental_continue_quote(rental=finished, hours=24).price == Decimal("3.00")


# --- refusals ---------------------------------------------------------------------------------
def test_the_upstream_refusing_the_number_is_rent_die_and_refunded(finished, renter, rent_sim):
    # the upstream sold the number to somebody else meanwhile
    SimulatedNumber.objects.create(
        provider=rent_sim,
        sequence=999,
        kind="activation",
        service_code="tg",
        country_id_sa=187,
        phone=finished.phone,
        cost=Decimal("0.50"),
    )

    with pytest.raises(RentDie) as caught:
        rental_reorder(rental=finished, hours=24)

    assert caught.value.code == "RENT_DIE"
    failed = Rental.objects.exclude(pk=finished.pk).get()
    assert failed.state == Rental.State.FAILED and "did not give" in failed.memo
    assert rental_entries(failed) == [("charge", Decimal("-3.0000")), ("refund", Decimal("3.0000"))]
    assert balance(renter) == Decimal("99.00")
    call_command("check_ledger")


def test_without_enough_balance_nothing_is_ordered_or_written(finished, renter):
    wallet_charge(
        wallet=wallet_get_or_create(user=renter),
        amount=Decimal("98.00"),
        reference=Reference("test", 1),
    )
    numbers = SimulatedNumber.objects.count()

    with pytest.raises(InsufficientFunds):
        rental_reorder(rental=finished, hours=24)

    assert Rental.objects.filter(user=renter).count() == 1
    assert SimulatedNumber.objects.count() == numbers
    assert balance(renter) == Decimal("1.00")


def test_a_rental_that_ended_too_long_ago_is_rent_die_without_a_charge(finished, renter):
    with time_machine.travel(timezone.now() + timedelta(days=8)), pytest.raises(RentDie):
        rental_reorder(rental=finished, hours=4)

    assert Rental.objects.filter(user=renter).count() == 1
    assert balance(renter) == Decimal("99.00")


def test_the_window_is_a_setting_and_zero_turns_it_off(finished, renter, settings):
    settings.SMSBOX_RENTAL_REORDER_DAYS = 0

    with pytest.raises(RentDie):
        rental_reorder(rental=finished, hours=4)

    assert balance(renter) == Decimal("99.00")


def test_revoked_and_undelivered_rentals_are_never_ordered_again(renter, usa, rent_sim, rent_plans):
    revoked = rental_revoke(
        rental=rental_purchase(user=renter, country=usa, hours=4), actor=StaffFactory()
    )
    _set_simulator(rent_sim, fail_no_numbers=1.0)
    with pytest.raises(NoNumbers):  # refunded
        rental_purchase(user=renter, country=usa, hours=4)
    undelivered = Rental.objects.get(state=Rental.State.FAILED)
    _set_simulator(rent_sim, fail_no_numbers=0.0)

    for rental in (revoked, undelivered):
        with pytest.raises(RentDie):
            rental_reorder(rental=rental, hours=4)

    assert Rental.objects.filter(user=renter).count() == 2
    call_command("check_ledger")


def test_a_transient_upstream_is_refunded_and_raised(finished, renter, rent_sim):
    _set_simulator(rent_sim, fail_transient=1.0)

    with pytest.raises(Transient):
        rental_reorder(rental=finished, hours=4)

    failed = Rental.objects.exclude(pk=finished.pk).get()
    assert failed.state == Rental.State.FAILED
    assert balance(renter) == Decimal("99.00")


# --- unknown outcome --------------------------------------------------------------------------
def test_an_answer_lost_leaves_the_new_rental_unknown_until_settled_with_the_number(
    finished, renter, rent_sim
):
    _set_simulator(rent_sim, fail_timeout=1.0)

    new = rental_reorder(rental=finished, hours=24)

    assert new.state == Rental.State.UNKNOWN and new.pk != finished.pk
    assert balance(renter) == Decimal("96.00")  # charged until settled
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        assert rentals_settle_stale() == 1
    new.refresh_from_db()
    assert new.state == Rental.State.ACTIVE and new.phone == finished.phone
    number = SimulatedNumber.objects.get(pk=int(new.upstream_id))
    assert number.phone == finished.phone and number.pk != int(finished.upstream_id)
    assert rental_entries(new) == [("charge", Decimal("-3.0000"))]
    call_command("check_ledger")
