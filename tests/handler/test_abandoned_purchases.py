"""Honest answers: a getNumber whose upstream sold but answered too late is told NO_NUMBERS, so
the purchase is abandoned: reconciliation cancels the order upstream and refunds at once instead
of delivering a number the client will never poll."""

import pytest

from rentals.models import Activation
from rentals.services import activations_reconcile
from tests.handler.conftest import fund
from tests.rentals.orphan_support import (
    assert_money_settled,
    later,
    leaked,
    sms_activate_provider,
)
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db
State = Activation.State


@pytest.fixture
def stalling(fake_sms_activate, db):
    """An SMS-Activate upstream that sells, then answers past our 1 s timeout."""
    fake_sms_activate.after_sale, fake_sms_activate.stall_seconds = "stall", 2.0
    return sms_activate_provider(fake_sms_activate)


@pytest.mark.parametrize("action", ["getNumber", "getNumberV2"])
def test_a_client_told_no_numbers_is_refunded_and_the_order_cancelled_upstream(
    action, handler, customer, stalling, fake_sms_activate
):
    fund(customer, "10.00")
    # when: the upstream sold, but answered after the timeout
    answer = handler(action, service="tg", country="187").content.decode()
    # then: the client is told no, and the purchase is abandoned (still charged, for now)
    assert "NO_NUMBERS" in answer
    activation = Activation.objects.get()
    assert (activation.state, activation.abandoned) == (State.UNKNOWN, True)
    [sold] = fake_sms_activate.open_orders()
    fake_sms_activate.after_sale = ""
    # when: reconciliation runs (long before the activation's lifetime is over)
    assert activations_reconcile(now=later(31)) == 1
    # then: never delivered; refunded and cancelled upstream
    activation.refresh_from_db()
    assert (activation.state, activation.phone) == (State.FAILED, "")
    assert wallet_for_user(user=customer).balance == fund_amount()
    assert fake_sms_activate.activations[int(sold)]["status"] == "cancel"
    assert leaked(fake_sms_activate, stalling) == set()
    assert handler.text("getStatus", id=activation.pk) == "STATUS_CANCEL"
    assert_money_settled()


def test_an_abandoned_purchase_is_refunded_even_when_the_upstream_cannot_be_asked(
    handler, customer, stalling, fake_sms_activate
):
    from rentals.services.upstream_audit import upstream_audit
    from tests.rentals.orphan_support import unreachable

    fund(customer, "10.00")
    assert handler.text("getNumber", service="tg", country="187") == "NO_NUMBERS"
    fake_sms_activate.after_sale = ""
    with unreachable(stalling):
        assert activations_reconcile(now=later(31)) == 1
    assert wallet_for_user(user=customer).balance == fund_amount()
    # what the upstream sold meanwhile is the audit's, once it answers again
    upstream_audit(now=later(700))
    assert leaked(fake_sms_activate, stalling) == set()
    assert_money_settled()


def fund_amount():
    from decimal import Decimal

    return Decimal("10.00")


def test_a_rent_told_no_numbers_is_refunded_and_given_back_upstream(
    handler, customer, stalling, fake_sms_activate
):
    from rentals.models import Rental
    from rentals.services.rentals import rentals_settle_stale
    from tests.rentals.rental_support import usa_plans

    usa_plans()
    fund(customer, "10.00")
    # when: the upstream rented, but answered after the timeout
    body = handler.json("getRentNumber", service="tg", time="4", country="187")
    # then: told no; the rental is abandoned, charged for now
    assert body == {"status": "error", "message": "NO_NUMBERS"}
    rental = Rental.objects.get()
    assert (rental.state, rental.abandoned) == (Rental.State.UNKNOWN, True)
    [sold] = fake_sms_activate.open_orders()
    fake_sms_activate.after_sale = ""
    # when: the settle job runs (the rent's period is far from over)
    assert rentals_settle_stale(now=later(31)) == 1
    # then: never delivered; refunded, and the rent given back upstream
    rental.refresh_from_db()
    assert (rental.state, rental.phone) == (Rental.State.FAILED, "")
    assert wallet_for_user(user=customer).balance == fund_amount()
    assert fake_sms_activate.open_orders() == set() and sold.startswith("rent:")
    assert_money_settled()
