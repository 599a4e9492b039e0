"""Spend policy, the frozen amount, the deletion guard, the customer webhook on every SMS."""

import json
from decimal import Decimal

import pytest

from rentals.errors import ChannelsLimit, DailyCapReached, MaxPriceLimit
from rentals.models import Activation, WebhookDelivery, WebhookSecret
from rentals.selectors import (
    activation_get_for_user,
    activations_for_user,
    messages_for_user,
)
from rentals.services import (
    activation_cancel,
    activation_purchase,
    spend_policy_effective,
    spend_policy_set,
)
from smsbox.errors import InvalidInput
from smsbox.lifecycle import account_deletion_blockers
from smsbox.models import User
from tests.factories import UserFactory
from tests.rentals.conftest import age, fund, sms_arrives
from wallets.selectors import wallet_for_user, wallet_summary

pytestmark = pytest.mark.django_db
State = Activation.State


def buy(user, telegram, usa, **kw) -> Activation:
    return activation_purchase(user=user, service=telegram, country=usa, **kw)


# --- spend policy -----------------------------------------------------------------------------


def test_a_max_price_per_activation_refuses_dearer_numbers(customer, simulator, telegram, usa):
    spend_policy_set(user=customer, max_price=Decimal("0.40"))
    with pytest.raises(MaxPriceLimit) as caught:
        buy(customer, telegram, usa)
    assert caught.value.code == "WRONG_MAX_PRICE"
    assert not Activation.objects.exists()
    spend_policy_set(user=customer, max_price=Decimal("0.50"))
    assert buy(customer, telegram, usa).state == State.WAITING


def test_a_daily_cap_counts_what_was_not_refunded(customer, simulator, telegram, usa):
    spend_policy_set(user=customer, daily_cap=Decimal("1.00"))
    first = buy(customer, telegram, usa)
    buy(customer, telegram, usa)
    with pytest.raises(DailyCapReached) as caught:
        buy(customer, telegram, usa)
    assert caught.value.code == "DAILY_CAP"
    # a refunded activation does not count
    age(first, 200)
    activation_cancel(activation=first)
    assert buy(customer, telegram, usa).state == State.WAITING


def test_concurrent_activations_are_limited(customer, simulator, telegram, usa):
    spend_policy_set(user=customer, max_concurrent=2)
    first = buy(customer, telegram, usa)
    buy(customer, telegram, usa)
    with pytest.raises(ChannelsLimit) as caught:
        buy(customer, telegram, usa)
    assert caught.value.code == "CHANNELS_LIMIT"
    sms_arrives(first, "code 123456")
    from rentals.services import activation_finish

    activation_finish(activation=first)
    assert buy(customer, telegram, usa).state == State.WAITING


def test_tier_defaults_apply_without_a_policy_of_ones_own(settings, customer):
    settings.SMSBOX_MAX_CONCURRENT_STANDARD = 3
    settings.SMSBOX_MAX_CONCURRENT_BUSINESS = None
    settings.SMSBOX_DAILY_CAP_BUSINESS = Decimal("500")
    assert spend_policy_effective(user=customer).max_concurrent == 3
    customer.tier = User.Tier.BUSINESS
    policy = spend_policy_effective(user=customer)
    assert (policy.max_concurrent, policy.daily_cap) == (None, Decimal("500"))
    spend_policy_set(user=customer, max_concurrent=7)
    assert spend_policy_effective(user=customer).max_concurrent == 7


@pytest.mark.parametrize(
    "limits",
    [{"max_price": Decimal("0")}, {"daily_cap": Decimal("-1")}, {"max_concurrent": -1}],
)
def test_a_policy_with_nonsense_limits_is_refused(customer, limits):
    with pytest.raises(InvalidInput):
        spend_policy_set(user=customer, **limits)


# --- frozen amount and deletion ---------------------------------------------------------------


def test_the_frozen_amount_is_what_may_still_be_refunded(customer, simulator, telegram, usa):
    waiting = buy(customer, telegram, usa)
    received = buy(customer, telegram, usa)
    cancelled = buy(customer, telegram, usa)
    sms_arrives(received, "code 123456")
    age(cancelled, 200)
    activation_cancel(activation=cancelled)
    summary = wallet_summary(wallet=wallet_for_user(user=customer))
    assert summary.frozen_amount == waiting.price == Decimal("0.50")
    assert summary.balance == Decimal("9.00")


def test_an_account_with_an_open_activation_is_not_deleted(customer, simulator, telegram, usa):
    activation = buy(customer, telegram, usa)
    assert "open activation" in account_deletion_blockers(user=customer)
    age(activation, 200)
    activation_cancel(activation=activation)
    assert "open activation" not in account_deletion_blockers(user=customer)


# --- ownership --------------------------------------------------------------------------------


def test_an_activation_is_found_by_id_or_display_number_by_its_owner_only(
    customer, simulator, telegram, usa
):
    from rentals.errors import NoActivation

    activation = buy(customer, telegram, usa)
    assert activation_get_for_user(user=customer, ident=activation.pk) == activation
    assert activation_get_for_user(user=customer, ident=str(activation.pk)) == activation
    found = activation_get_for_user(user=customer, ident=activation.display_number.lower())
    assert found == activation
    stranger = UserFactory()
    for ident in (activation.pk, activation.display_number, "nonsense", "", "9" * 30):
        with pytest.raises(NoActivation):
            activation_get_for_user(user=stranger, ident=ident)


def test_the_customer_lists_filter_by_state_and_service(customer, simulator, telegram, usa):
    first = buy(customer, telegram, usa)
    second = buy(customer, telegram, usa)
    sms_arrives(second, "code 123456")
    assert list(activations_for_user(user=customer)) == [second, first]
    assert list(activations_for_user(user=customer, state="received")) == [second]
    assert list(activations_for_user(user=customer, service="wa")) == []
    assert list(activations_for_user(user=customer, country=187)) == [second, first]
    assert [m.code for m in messages_for_user(user=customer)] == ["123456"]
    assert not messages_for_user(user=UserFactory()).exists()


# --- the customer webhook ---------------------------------------------------------------------


@pytest.fixture
def receiver():
    from tests.rentals.test_webhooks import Receiver

    server = Receiver()
    yield server
    server.close()


def test_every_sms_is_posted_signed_to_the_customers_url(
    receiver, settings, simulator, telegram, usa, eager_celery, django_capture_on_commit_callbacks
):
    # given
    settings.SMSBOX_WEBHOOK_ALLOW_PRIVATE = True
    user = UserFactory(webhook_url=receiver.url)
    fund(user, "1.00")
    activation = buy(user, telegram, usa)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sms_arrives(activation, "Your Telegram code is 314159")
    # then
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.reference_id) == ("succeeded", str(activation.pk))
    request = receiver.requests[0]
    payload = json.loads(request["body"])
    assert payload["activationId"] == activation.pk
    assert (payload["service"], payload["code"], payload["country"]) == ("tg", "314159", 187)
    assert payload["text"] == "Your Telegram code is 314159"
    from rentals.webhooks import webhook_signature

    secret = WebhookSecret.objects.get(user=user).secret
    timestamp = request["headers"]["X-Smsbox-Timestamp"]
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=request["body"])
    assert request["headers"]["X-Smsbox-Signature"] == expected


def test_a_per_order_url_receives_the_sms_of_that_order(customer, simulator, telegram, usa):
    activation = buy(customer, telegram, usa, webhook_url="https://hooks.example.com/order")
    sms_arrives(activation, "code 123456")
    assert WebhookDelivery.objects.get().url == "https://hooks.example.com/order"


def test_a_loopback_url_is_refused_unless_allowed(
    receiver, simulator, telegram, usa, eager_celery, django_capture_on_commit_callbacks
):
    user = UserFactory(webhook_url=receiver.url)
    fund(user, "1.00")
    activation = buy(user, telegram, usa)
    with django_capture_on_commit_callbacks(execute=True):
        sms_arrives(activation, "code 123456")
    assert WebhookDelivery.objects.get().status == "failed"
    assert receiver.requests == []


@pytest.mark.parametrize("field", ["blocked_at", "purchases_suspended_at"])
def test_a_blocked_or_suspended_account_buys_nothing_and_is_charged_nothing(
    customer, simulator, telegram, usa, field
):
    # given: an account an operator blocked, or the abuse rule suspended
    from django.utils import timezone

    from rentals.errors import PurchasesSuspended

    User.objects.filter(pk=customer.pk).update(**{field: timezone.now()})
    customer.refresh_from_db()
    balance = wallet_for_user(user=customer).balance

    # when / then
    with pytest.raises(PurchasesSuspended):
        buy(customer, telegram, usa)
    assert not Activation.objects.exists()
    assert wallet_for_user(user=customer).balance == balance
