"""The SMSPool and 5sim dialects have no "pending" answer to a purchase either: a purchase whose
upstream answer is not known is told no, abandoned, and refunded by reconciliation."""

from decimal import Decimal

import pytest

from providers.models import SimulatedNumber
from rentals.models import Activation
from rentals.services import activations_reconcile
from tests.rentals.orphan_support import assert_money_settled, later
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def timing_out(offer):
    """The simulator sells, then its answer times out."""
    provider = offer.provider
    provider.settings = {**provider.settings, "fail_timeout": 1.0}
    provider.save()
    return provider


def _settled_as_abandoned(customer) -> None:
    activation = Activation.objects.get()
    assert activation.abandoned and activation.state == Activation.State.UNKNOWN
    assert activations_reconcile(now=later(31)) == 1
    activation.refresh_from_db()
    assert activation.state == Activation.State.FAILED and activation.phone == ""
    assert SimulatedNumber.objects.get().status == "cancelled"
    assert wallet_for_user(user=customer).balance == Decimal("10.00")
    assert_money_settled()


def test_smspool_purchase(smspool, customer, timing_out):
    response = smspool.get("purchase/sms", country="US", service="tg")
    assert response.json()["type"] == "NO_NUMBERS", response.content
    _settled_as_abandoned(customer)


def test_fivesim_purchase(fivesim, customer, timing_out):
    response = fivesim.get("user/buy/activation/usa/any/telegram")
    assert (response.status_code, response.content) == (400, b"no free phones")
    _settled_as_abandoned(customer)
