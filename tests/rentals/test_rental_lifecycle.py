"""Purchase, extension, auto-renew setting, cancel, finish, revoke and expiry of a rental, with
every refusal."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError
from django.utils import timezone

from providers.adapters import NoNumbers
from providers.models import SimulatedNumber
from rentals.models import Rental, RentalRenewal
from rentals.rental_errors import (
    AlreadyCancelled,
    AlreadyFinished,
    CantCancel,
    InvalidTime,
    MaxHoursExceed,
    RentalBusy,
    RentalNotFound,
    RentalRevoked,
    RentDie,
)
from rentals.rental_selectors import (
    rental_deletion_guard,
    rental_get_for_user,
    rentals_for_user,
)
from rentals.services.rentals import (
    rental_cancel,
    rental_expire,
    rental_extend,
    rental_finish,
    rental_purchase,
    rental_revoke,
    rental_set_auto_renew,
    rental_unused_share,
    rental_upstream_release,
    rentals_expire_due,
)
from tests.factories import StaffFactory, UserFactory
from tests.rentals.rental_support import (
    age,
    balance,
    rental_entries,
    sms_to,
)
from wallets.errors import InsufficientFunds

pytestmark = pytest.mark.django_db


@pytest.fixture
def rental(renter, usa, rent_sim, rent_plans) -> Rental:
    return rental_purchase(user=renter, country=usa, hours=24)


# --- purchase ---------------------------------------------------------------------------------
def test_a_purchase_charges_the_quote_and_rents_a_number(
    renter, usa, telegram, rent_sim, rent_plans
):
    before = timezone.now()

    rental = rental_purchase(user=renter, country=usa, service=telegram, package="1m")

    assert rental.state == Rental.State.ACTIVE
    assert rental.provider == rent_sim and rental.phone.startswith("1")
    assert (rental.package, rental.renewal_package, rental.auto_renew) == ("1m", "1m", True)
    assert before + timedelta(days=30) <= rental.expires_at <= timezone.now() + timedelta(days=30)
    assert rental.display_number.startswith("R") and rental.binding_key
    assert balance(renter) == Decimal("85.00")
    assert rental_entries(rental) == [("charge", Decimal("-15.0000"))]
    number = SimulatedNumber.objects.get(pk=int(rental.upstream_id))
    assert (number.kind, number.phone) == ("rent", rental.phone)
    period = rental.renewals.get()
    assert (period.period, period.kind, period.state) == (1, "purchase", "done")


def test_without_enough_balance_nothing_is_rented_or_written(usa, rent_sim, rent_plans):
    poor = UserFactory()

    with pytest.raises(InsufficientFunds) as caught:
        rental_purchase(user=poor, country=usa, hours=24)

    assert caught.value.code == "NO_BALANCE"
    assert not Rental.objects.exists()
    assert not SimulatedNumber.objects.exists()


def test_when_no_provider_can_rent_the_charge_is_refunded(renter, usa, rent_plans, catalog):
    from tests.rentals.rental_support import rent_simulator

    rent_simulator(fail_no_numbers=1.0)

    with pytest.raises(NoNumbers):
        rental_purchase(user=renter, country=usa, hours=24)

    rental = Rental.objects.get()
    assert rental.state == Rental.State.FAILED
    assert rental_entries(rental) == [("charge", Decimal("-3.0000")), ("refund", Decimal("3.0000"))]
    assert balance(renter) == Decimal("100.00")


def test_no_provider_at_all_is_no_numbers_before_any_charge(renter, usa, rent_plans):
    with pytest.raises(NoNumbers):
        rental_purchase(user=renter, country=usa, hours=24)

    assert not Rental.objects.exists()
    assert balance(renter) == Decimal("100.00")


def test_the_same_idempotency_key_answers_the_first_rental(renter, usa, rent_sim, rent_plans):
    first = rental_purchase(user=renter, country=usa, hours=24, idempotency_key="order-1")
    again = rental_purchase(user=renter, country=usa, hours=24, idempotency_key="order-1")

    assert again.pk == first.pk
    assert balance(renter) == Decimal("97.00")


@pytest.mark.parametrize(
    ("hours", "error"), [(2, InvalidTime), (1345, MaxHoursExceed), ("abc", InvalidTime)]
)
def test_a_purchase_with_a_bad_time_is_refused(renter, usa, rent_sim, rent_plans, hours, error):
    with pytest.raises(error):
        rental_purchase(user=renter, country=usa, hours=hours)
    assert balance(renter) == Decimal("100.00")


# --- extension --------------------------------------------------------------------------------
def test_extending_charges_and_moves_the_expiry(rental, renter):
    old_expiry = rental.expires_at

    rental = rental_extend(rental=rental, hours=48)

    assert rental.expires_at == old_expiry + timedelta(hours=48)
    assert balance(renter) == Decimal("91.00")  # 100 - 3 - 6
    assert rental_entries(rental)[-1] == ("renewal", Decimal("-6.0000"))
    period = rental.renewals.get(period=2)
    assert (period.kind, period.state, period.new_expires_at) == (
        "extension",
        "done",
        rental.expires_at,
    )
    number = SimulatedNumber.objects.get(pk=int(rental.upstream_id))
    assert number.ends_at >= rental.expires_at - timedelta(minutes=1)


def test_extending_with_another_package_changes_the_renewal_package(rental):
    assert (rental.renewal_hours, rental.renewal_package) == (24, "")

    rental = rental_extend(rental=rental, package="3m")

    assert (rental.package, rental.renewal_package, rental.renewal_hours) == ("3m", "3m", None)
    assert rental.renewal_label == "3m"


def test_a_free_extension_charges_nothing_and_names_the_operator(rental, renter):
    operator = StaffFactory()

    rental = rental_extend(rental=rental, hours=24, charge=False, actor=operator)

    assert balance(renter) == Decimal("97.00")
    assert rental.renewals.get(period=2).actor == operator


def test_an_expired_rental_cannot_be_extended(rental):
    rental = age(rental, timedelta(hours=25))

    with pytest.raises(RentDie) as caught:
        rental_extend(rental=rental, hours=24)

    assert caught.value.code == "RENT_DIE"
    rental_expire(rental=rental)
    with pytest.raises(RentDie):
        rental_extend(rental=rental, hours=24)


def test_an_extension_the_upstream_refuses_is_refunded(rental, renter):
    SimulatedNumber.objects.filter(pk=int(rental.upstream_id)).update(status="finished")

    with pytest.raises(RentDie):
        rental_extend(rental=rental, hours=24)

    rental.refresh_from_db()
    assert rental.expires_at == rental.renewals.get(period=1).new_expires_at
    assert rental.renewals.get(period=2).state == "failed"
    assert balance(renter) == Decimal("97.00")


def test_extending_without_balance_changes_nothing(rental, renter):
    from wallets.services import Reference, wallet_charge, wallet_get_or_create

    wallet_charge(
        wallet=wallet_get_or_create(user=renter),
        amount=Decimal("96.00"),
        reference=Reference("test", 1),
    )

    with pytest.raises(InsufficientFunds):
        rental_extend(rental=rental, hours=48)

    rental.refresh_from_db()
    assert (rental.period, rental.renewals.count()) == (1, 1)


# --- auto-renew setting -----------------------------------------------------------------------
def test_auto_renew_can_be_switched_off_and_on(rental):
    assert rental_set_auto_renew(rental=rental, enabled=False).auto_renew is False
    assert rental_set_auto_renew(rental=rental, enabled=True).auto_renew is True


def test_auto_renew_of_a_finished_rental_is_refused(rental):
    rental_finish(rental=rental)

    with pytest.raises(RentDie):
        rental_set_auto_renew(rental=rental, enabled=True)


# --- cancel -----------------------------------------------------------------------------------
def test_cancel_within_twenty_minutes_and_before_any_sms_refunds_everything(rental, renter):
    rental = rental_extend(rental=rental, hours=24)

    rental = rental_cancel(rental=rental)

    assert rental.state == Rental.State.CANCELLED and rental.settled_at
    assert balance(renter) == Decimal("100.00")
    assert rental_entries(rental)[-1] == ("refund", Decimal("6.0000"))


def test_cancel_after_twenty_minutes_is_cant_cancel(rental, renter):
    age(rental, timedelta(minutes=21))

    with pytest.raises(CantCancel) as caught:
        rental_cancel(rental=rental)

    assert caught.value.code == "CANT_CANCEL"
    assert balance(renter) == Decimal("97.00")


def test_cancel_after_an_sms_is_cant_cancel(rental):
    sms_to(rental, "Your code is 1234")

    with pytest.raises(CantCancel):
        rental_cancel(rental=rental)


def test_cancel_twice_is_already_cancel_and_refunds_once(rental, renter):
    rental_cancel(rental=rental)

    with pytest.raises(AlreadyCancelled) as caught:
        rental_cancel(rental=rental)

    assert caught.value.code == "ALREADY_CANCEL"
    assert balance(renter) == Decimal("100.00")


def test_cancel_is_released_upstream(rental, rent_sim):
    rental = rental_cancel(rental=rental)

    rental_upstream_release(rental=rental, how="cancel")

    assert SimulatedNumber.objects.get(pk=int(rental.upstream_id)).status == "cancelled"


# --- finish -----------------------------------------------------------------------------------
def test_finish_ends_the_rental_without_a_refund(rental, renter):
    rental = rental_finish(rental=rental)

    assert rental.state == Rental.State.FINISHED
    assert balance(renter) == Decimal("97.00")
    rental_upstream_release(rental=rental, how="finish")
    assert SimulatedNumber.objects.get(pk=int(rental.upstream_id)).status == "finished"


def test_finish_twice_is_already_finish(rental):
    rental_finish(rental=rental)

    with pytest.raises(AlreadyFinished) as caught:
        rental_finish(rental=rental)
    assert caught.value.code == "ALREADY_FINISH"
    with pytest.raises(AlreadyFinished):
        rental_cancel(rental=rental)


def test_finish_of_a_cancelled_rental_is_already_cancel(rental):
    rental_cancel(rental=rental)

    with pytest.raises(AlreadyCancelled):
        rental_finish(rental=rental)


# --- revoke -----------------------------------------------------------------------------------
def test_revoke_refunds_the_unused_share_of_every_paid_period(rental, renter):
    operator = StaffFactory()
    rental = rental_extend(rental=rental, hours=48)  # 3.00 for 24 h, then 6.00 for 48 h
    start = rental.started_at

    with time_machine.travel(start + timedelta(hours=12), tick=False):
        assert rental_unused_share(rental=rental) == Decimal("7.50")  # 1.50 + 6.00
        rental = rental_revoke(rental=rental, actor=operator)

    assert rental.state == Rental.State.REVOKED
    assert operator.email in rental.memo
    assert rental_entries(rental)[-1] == ("refund", Decimal("7.5000"))
    assert balance(renter) == Decimal("98.50")
    with pytest.raises(RentalRevoked):
        rental_finish(rental=rental)


# --- expiry -----------------------------------------------------------------------------------
def test_a_rental_expires_at_its_expiry_and_not_before(rental):
    assert rental_expire(rental=rental) is False

    with time_machine.travel(rental.expires_at + timedelta(seconds=1), tick=False):
        assert rentals_expire_due() == 1

    rental.refresh_from_db()
    assert rental.state == Rental.State.EXPIRED and rental.settled_at
    with pytest.raises(AlreadyFinished):
        rental_finish(rental=rental)


# --- ownership and the account ----------------------------------------------------------------
def test_a_rental_is_found_by_id_or_display_number_by_its_owner_only(rental, renter):
    assert rental_get_for_user(user=renter, ident=rental.pk) == rental
    assert rental_get_for_user(user=renter, ident=rental.display_number.lower()) == rental
    with pytest.raises(RentalNotFound) as caught:
        rental_get_for_user(user=UserFactory(), ident=rental.pk)
    assert caught.value.code == "NO_ID_RENT"
    with pytest.raises(RentalNotFound):
        rental_get_for_user(user=renter, ident="")
    assert list(rentals_for_user(user=renter, state="active")) == [rental]
    assert list(rentals_for_user(user=renter, state="expired")) == []


def test_an_account_with_an_active_rental_is_kept(rental, renter):
    from smsbox.lifecycle import account_deletion_blockers

    assert rental_deletion_guard(renter) == "active rental"
    assert "active rental" in account_deletion_blockers(user=renter)
    rental_finish(rental=rental)
    assert rental_deletion_guard(renter) is None


def test_the_database_refuses_a_second_charge_row_for_one_period(rental):
    with pytest.raises(IntegrityError):
        RentalRenewal.objects.create(rental=rental, period=1, kind="renewal", price=Decimal("1"))


# --- what a crashed worker leaves behind ------------------------------------------------------
def test_a_purchase_left_processing_is_refunded_and_a_late_number_given_back(
    renter, usa, rent_sim, rent_plans
):
    from rentals.rental_selectors import rental_duration
    from rentals.services.rentals import _purchase_activate, _purchase_open, rentals_settle_stale

    rental = _purchase_open(
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
    assert rentals_settle_stale() == 0  # still young

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert rentals_settle_stale() == 1
    rental.refresh_from_db()
    assert rental.state == Rental.State.FAILED
    assert balance(renter) == Decimal("100.00")

    late = _purchase_activate(rental, rent_sim, "12345", "15550001111")
    assert late.state == Rental.State.FAILED and late.phone == ""


def test_a_period_left_pending_is_refunded_and_no_longer_blocks_the_expiry(rental, renter):
    from rentals.rental_selectors import rental_duration
    from rentals.services.rentals import _period_open, rentals_settle_stale

    renewal = _period_open(
        rental_id=rental.pk,
        duration=rental_duration(hours=24),
        price=Decimal("3.00"),
        kind="renewal",
    )
    assert balance(renter) == Decimal("94.00")
    with pytest.raises(RentalBusy):
        rental_extend(rental=rental, hours=24)

    with time_machine.travel(rental.expires_at + timedelta(seconds=1)):
        assert rentals_expire_due() == 0  # an extension is under way
        assert rentals_settle_stale() == 1
        assert rentals_expire_due() == 1

    renewal.refresh_from_db()
    assert renewal.state == "failed"
    assert balance(renter) == Decimal("97.00")


def test_a_rental_that_may_still_be_cancelled_is_frozen_in_the_wallet(rental, renter):
    from wallets.selectors import wallet_summary
    from wallets.services import wallet_get_or_create

    assert wallet_summary(wallet=wallet_get_or_create(user=renter)).frozen_amount == Decimal("3.00")
    age(rental, timedelta(minutes=21))
    assert wallet_summary(wallet=wallet_get_or_create(user=renter)).frozen_amount == Decimal("0")
