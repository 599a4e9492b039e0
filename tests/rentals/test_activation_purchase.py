"""The purchase saga with the simulator upstream: charge, buy, record or refund."""

from decimal import Decimal

import pytest

from providers.adapters import NoNumbers
from providers.models import Offer, PurchaseAttempt
from providers.router import MaxPriceTooLow
from rentals.errors import OrderAlreadyExists
from rentals.models import Activation
from rentals.services import activation_purchase, activation_purchase_batch, number_skip
from rentals.services import activations as activations_module
from rentals.status import handler_status, smspool_code
from tests.rentals.conftest import make_simulator
from wallets.errors import InsufficientFunds
from wallets.models import LedgerEntry
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db
State = Activation.State


def balance(user) -> Decimal:
    return wallet_for_user(user=user).balance


def test_a_purchase_charges_the_quoted_price_once_and_gives_a_number(
    customer, simulator, telegram, usa
):
    # when
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    # then
    assert activation.state == State.WAITING
    assert activation.phone.startswith("1") and activation.upstream_id
    assert activation.provider == simulator
    assert (activation.price, activation.cost) == (Decimal("0.50"), Decimal("0.50"))
    assert activation.display_number.startswith("A") and len(activation.binding_key) >= 32
    assert (activation.expires_at - activation.created_at).total_seconds() == 1200
    assert balance(customer) == Decimal("9.50")
    charges = LedgerEntry.objects.filter(reference_kind="activation", reference_id=activation.pk)
    assert [(e.kind, e.amount) for e in charges] == [("charge", Decimal("-0.5000"))]
    assert smspool_code(activation) == 1
    assert handler_status(activation) == "STATUS_WAIT_CODE"


def test_the_same_idempotency_key_twice_charges_once_and_returns_the_same_activation(
    customer, simulator, telegram, usa
):
    first = activation_purchase(user=customer, service=telegram, country=usa, idempotency_key="k1")
    second = activation_purchase(user=customer, service=telegram, country=usa, idempotency_key="k1")
    assert second.pk == first.pk
    assert balance(customer) == Decimal("9.50")
    assert Activation.objects.filter(user=customer).count() == 1


def test_a_key_reused_for_another_order_is_refused(customer, simulator, telegram, usa):
    from providers.models import Service

    activation_purchase(user=customer, service=telegram, country=usa, idempotency_key="k1")
    whatsapp = Service.objects.get(code="wa")
    with pytest.raises(OrderAlreadyExists) as caught:
        activation_purchase(user=customer, service=whatsapp, country=usa, idempotency_key="k1")
    assert caught.value.code == "ORDER_ALREADY_EXISTS"
    assert balance(customer) == Decimal("9.50")


def test_keys_are_per_customer(customer, simulator, telegram, usa):
    from tests.factories import UserFactory
    from tests.rentals.conftest import fund

    other = UserFactory()
    fund(other, "1.00")
    mine = activation_purchase(user=customer, service=telegram, country=usa, idempotency_key="k")
    theirs = activation_purchase(user=other, service=telegram, country=usa, idempotency_key="k")
    assert mine.pk != theirs.pk


def test_not_enough_money_charges_nothing_and_records_nothing(simulator, telegram, usa):
    from tests.factories import UserFactory
    from tests.rentals.conftest import fund

    poor = UserFactory()
    fund(poor, "0.20")
    with pytest.raises(InsufficientFunds) as caught:
        activation_purchase(user=poor, service=telegram, country=usa)
    assert caught.value.code == "NO_BALANCE"
    assert not Activation.objects.filter(user=poor).exists()
    assert balance(poor) == Decimal("0.20")


def test_no_numbers_anywhere_refunds_and_leaves_nothing_processing(customer, telegram, usa):
    # given: a provider with offers whose upstream answers NO_NUMBERS to every buy
    make_simulator(fail_no_numbers=1.0)
    # when
    with pytest.raises(NoNumbers):
        activation_purchase(user=customer, service=telegram, country=usa)
    # then
    activation = Activation.objects.get(user=customer)
    assert activation.state == State.FAILED
    assert balance(customer) == Decimal("10.00")
    assert not Activation.objects.filter(state__in=Activation.PENDING_STATES).exists()
    assert smspool_code(activation) == 6
    assert handler_status(activation) == "STATUS_CANCEL"


def test_no_offer_at_all_is_no_numbers_without_a_charge(customer, telegram, usa):
    with pytest.raises(NoNumbers):
        activation_purchase(user=customer, service=telegram, country=usa)
    assert not Activation.objects.exists()
    assert balance(customer) == Decimal("10.00")


def test_a_failed_purchase_replayed_with_its_key_is_no_numbers_again(customer, telegram, usa):
    make_simulator(fail_no_numbers=1.0)
    with pytest.raises(NoNumbers):
        activation_purchase(user=customer, service=telegram, country=usa, idempotency_key="x")
    with pytest.raises(NoNumbers):
        activation_purchase(user=customer, service=telegram, country=usa, idempotency_key="x")
    assert Activation.objects.filter(user=customer).count() == 1
    assert balance(customer) == Decimal("10.00")


def test_a_max_price_below_every_offer_is_wrong_max_price(customer, simulator, telegram, usa):
    with pytest.raises(MaxPriceTooLow) as caught:
        activation_purchase(user=customer, service=telegram, country=usa, max_price=Decimal("0.10"))
    assert caught.value.code == "WRONG_MAX_PRICE"
    assert not Activation.objects.exists()


def test_failover_to_the_next_provider_at_the_quoted_price(customer, telegram, usa):
    # given: the first provider fails transiently, another one sells at the same price
    first = make_simulator("First", cost="0.40", fail_transient=1.0)
    second = make_simulator("Second", cost="0.40")
    # when
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    # then
    assert activation.provider == second
    assert (activation.price, activation.cost) == (Decimal("0.40"), Decimal("0.40"))
    assert balance(customer) == Decimal("9.60")
    outcomes = list(
        PurchaseAttempt.objects.order_by("created_at").values_list("provider", "outcome")
    )
    assert outcomes == [(first.pk, "transient"), (second.pk, "bought")]


def test_failover_never_buys_an_offer_pricier_than_the_charge(customer, telegram, usa):
    # given: the cheap offer has no numbers, a far pricier one has
    make_simulator("Cheap", cost="0.10", fail_no_numbers=1.0)
    dear = make_simulator("Dear", cost="5.00")
    # when
    with pytest.raises(NoNumbers):
        activation_purchase(user=customer, service=telegram, country=usa)
    # then: refunded, and nothing was bought at 5.00 for a 0.10 charge
    activation = Activation.objects.get(user=customer)
    assert (activation.state, activation.price) == (State.FAILED, Decimal("0.10"))
    assert balance(customer) == Decimal("10.00")
    assert not PurchaseAttempt.objects.filter(provider=dear).exists()


def test_a_display_number_that_is_taken_is_drawn_again(customer, simulator, telegram, usa):
    # given: the random source repeats itself once
    draws = iter([42, 42, 43])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(activations_module, "_random_digits", lambda: next(draws))
        first = activation_purchase(user=customer, service=telegram, country=usa)
        # when
        second = activation_purchase(user=customer, service=telegram, country=usa)
    # then
    assert first.display_number.endswith("00000042")
    assert second.display_number.endswith("00000043")
    assert second.state == State.WAITING
    assert balance(customer) == Decimal("9.00")


def test_a_banned_number_is_never_given_to_that_customer_again(customer, telegram, usa):
    from providers.models import SimulatedNumber
    from tests.factories import UserFactory
    from tests.rentals.conftest import fund

    # given: an upstream with a single number, bought once, banned, then free upstream again
    make_simulator(pool_size=1)
    first = activation_purchase(user=customer, service=telegram, country=usa)
    ban = number_skip(activation=first)
    SimulatedNumber.objects.update(status="finished")
    # when: the customer buys again, the upstream only has the banned number
    with pytest.raises(NoNumbers):
        activation_purchase(user=customer, service=telegram, country=usa)
    # then: refunded; another customer still gets that number
    assert ban.phone == first.phone
    assert balance(customer) == Decimal("9.50")
    other = UserFactory()
    fund(other, "1.00")
    assert activation_purchase(user=other, service=telegram, country=usa).phone == first.phone


def test_the_offer_stock_is_marked_empty_after_no_numbers(customer, telegram, usa):
    provider = make_simulator(fail_no_numbers=1.0)
    with pytest.raises(NoNumbers):
        activation_purchase(user=customer, service=telegram, country=usa)
    assert Offer.objects.get(provider=provider, service=telegram, country=usa).stock == 0


# --- batch ------------------------------------------------------------------------------------


def test_a_batch_buys_each_item_as_its_own_saga(customer, simulator, telegram, usa):
    result = activation_purchase_batch(user=customer, service=telegram, country=usa, quantity=3)
    assert (result.success_count, result.failed_count) == (3, 0)
    assert len({item.activation.phone for item in result.items}) == 3
    assert balance(customer) == Decimal("8.50")


def test_a_batch_reports_the_items_the_money_did_not_cover(simulator, telegram, usa):
    from tests.factories import UserFactory
    from tests.rentals.conftest import fund

    user = UserFactory()
    fund(user, "1.20")
    result = activation_purchase_batch(user=user, service=telegram, country=usa, quantity=4)
    assert (result.success_count, result.failed_count) == (2, 2)
    assert [item.error.code for item in result.items if item.error] == ["NO_BALANCE"] * 2
    assert balance(user) == Decimal("0.20")


@pytest.mark.parametrize("quantity", [0, 51, -1, True, "3"])
def test_a_batch_quantity_must_be_1_to_50(customer, simulator, telegram, usa, quantity):
    from rentals.errors import BadQuantity

    with pytest.raises(BadQuantity):
        activation_purchase_batch(user=customer, service=telegram, country=usa, quantity=quantity)
    assert not Activation.objects.exists()
