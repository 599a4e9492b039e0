"""What an account's deletion leaves behind, with real orders bought from the simulator.

A customer who ever bought something is anonymised rather than deleted (their activations and
rentals protect the row, the ledger refers to them); these tests check that nothing personal of
theirs survives anywhere in the database all the same, and that the books still balance.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.db.models.functions import Cast
from django.test import Client
from rest_framework.test import APIClient

from apikeys.models import ApiKey, ApiKeyEvent
from apikeys.selectors import api_key_authenticate
from providers.catalog import catalog_load
from providers.models import Country, PurchaseAttempt, Service, SimulatedNumber
from rentals.lifecycle import ERASED_PHONE
from rentals.models import (
    Activation,
    NumberBan,
    Rental,
    SmsMessage,
    SpendPolicy,
    WebhookDelivery,
    WebhookSecret,
)
from rentals.services import (
    activation_finish,
    activation_purchase,
    activations_expire_due,
    number_skip,
    spend_policy_set,
)
from rentals.services.rentals import rental_finish, rental_purchase, rentals_expire_due
from rentals.webhooks import webhook_secret_get_or_create
from smsbox import lifecycle
from smsbox.models import User
from smsbox.services import user_record_activity
from tests.factories import ActivationFactory, ApiKeyFactory, UserFactory
from tests.rentals.conftest import make_simulator, sms_arrives
from tests.rentals.rental_support import rent_simulator, sms_to, usa_plans
from wallets.models import LedgerEntry, Wallet
from wallets.selectors import wallets_out_of_balance
from wallets.services import wallet_deposit, wallet_get_or_create

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DELETION_DAY = T0 + timedelta(days=366)
ACTIVATION_SMS = "Telegram code 739461, do not share it (Alice Example)"
RENTAL_SMS = "Bank of Alice: your login code is 518240"
ORDER_HOOK = "https://hooks.example.com/alice-order"
RENT_HOOK = "https://hooks.example.com/alice-rent"
ACCOUNT_HOOK = "https://hooks.example.com/alice-account"


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.SMSBOX_INACTIVE_ACCOUNT_DAYS = 365
    settings.SMSBOX_INACTIVITY_NOTICE_DAYS = [30, 7]


def open_shop() -> None:
    """The catalog, a simulator selling activations and one renting numbers, rent plans."""
    catalog_load()
    make_simulator()
    rent_simulator()
    usa_plans()


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def customer(email: str, amount: str = "50.00") -> User:
    """A customer last active at T0, with money, who got both inactivity notices on time."""
    with at(T0):
        user = UserFactory(email=email, webhook_url=ACCOUNT_HOOK)
        user_record_activity(user=user)
        wallet_deposit(
            wallet=wallet_get_or_create(user=user),
            amount=Decimal(amount),
            idempotency_key=f"deposit-{user.pk}",
        )
    for lead in (30, 7):
        with at(T0 + timedelta(days=365 - lead)):
            lifecycle.accounts_notify_inactive()
    return User.objects.get(pk=user.pk)


def telegram() -> Service:
    return Service.objects.get(code="tg")


def usa() -> Country:
    return Country.objects.get(sms_activate_id=187)


def finished_activation(user: User) -> Activation:
    """Bought with a per-order webhook, one SMS (a webhook delivery), its number banned,
    finished."""
    with at(T0):
        activation = activation_purchase(
            user=user, service=telegram(), country=usa(), webhook_url=ORDER_HOOK
        )
        activation = sms_arrives(activation, ACTIVATION_SMS)
        number_skip(activation=activation)
        activation = activation_finish(activation=activation)
    assert activation.state == Activation.State.COMPLETED
    return activation


def finished_rental(user: User) -> Rental:
    with at(T0):
        rental = rental_purchase(user=user, country=usa(), hours=24, webhook_url=RENT_HOOK)
        rental = sms_to(rental, RENTAL_SMS)
        rental = rental_finish(rental=rental)
    assert rental.state == Rental.State.FINISHED
    return rental


def text_fields(model: type[models.Model]) -> list[models.Field]:
    kinds = (models.CharField, models.TextField, models.JSONField)
    return [f for f in model._meta.concrete_fields if isinstance(f, kinds)]


def rows_holding(needle: str) -> list[str]:
    """Every (model, field) of the whole database whose value contains ``needle``.

    ``SimulatedNumber`` is left out: it is the simulated upstream's own record of what it sold,
    standing in for a provider's database outside smsbox.
    """
    hits = []
    for model in apps.get_models():
        if model is SimulatedNumber:
            continue
        for field in text_fields(model):
            rows = model._base_manager.annotate(_as_text=Cast(field.name, models.TextField()))
            if rows.filter(_as_text__contains=needle).exists():
                hits.append(f"{model._meta.label}.{field.name}")
    return hits


def test_an_anonymised_customer_keeps_no_personal_data_anywhere(capsys):
    # given: a customer with orders, an API key, a webhook secret and deliveries, a spend
    # policy, a number ban and a balance; and another customer who stays
    open_shop()
    alice = customer("alice@example.com")
    activation = finished_activation(alice)
    rental = finished_rental(alice)
    spend_policy_set(user=alice, max_price=Decimal("2.00"))
    webhook_secret_get_or_create(user=alice)
    key = ApiKeyFactory(user=alice)
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=key.raw_key)
    with at(T0):  # (using the API is activity)
        assert api.get("/api/v1/wallet/").status_code == 200
        assert api_key_authenticate(key.raw_key) is not None  # and now the check is cached
    old_binding_key = activation.binding_key
    assert Client().get("/api/sms/record", {"key": old_binding_key}).status_code == 200
    assert WebhookDelivery.objects.filter(user=alice).count() == 2
    assert NumberBan.objects.filter(user=alice).exists()
    phones = [activation.phone, rental.phone]
    personal = [
        *phones,
        ACTIVATION_SMS,
        "739461",
        RENTAL_SMS,
        ORDER_HOOK,
        RENT_HOOK,
        ACCOUNT_HOOK,
        "alice@example.com",
    ]
    assert all(rows_holding(value) for value in personal)  # the scan finds what is there
    balance = wallet_get_or_create(user=alice).balance
    assert balance > 0
    wallet = Wallet.objects.get(user=alice)

    # when
    with at(DELETION_DAY):
        assert lifecycle.accounts_delete_inactive() == 1

    # then: anonymised in place (history refers to the row)
    alice = User.objects.get(pk=alice.pk)
    assert alice.deleted_at is not None and not alice.is_active
    # the key neither authenticates (cached or not) nor exists
    assert api_key_authenticate(key.raw_key) is None
    assert api.get("/api/v1/wallet/").status_code in (401, 403)
    assert not ApiKey.objects.filter(user=alice).exists()
    assert not ApiKeyEvent.objects.filter(user=alice).exists()
    # what belonged to the person is deleted
    assert not WebhookSecret.objects.filter(user=alice).exists()
    assert not WebhookDelivery.objects.filter(user=alice).exists()
    assert not NumberBan.objects.filter(user=alice).exists()
    assert not SpendPolicy.objects.filter(user=alice).exists()
    assert not SmsMessage.objects.filter(activation__user=alice).exists()
    assert not SmsMessage.objects.filter(rental__user=alice).exists()
    # no phone number, SMS text, webhook URL or e-mail of theirs is left in any table
    for value in personal:
        assert rows_holding(value) == [], value
    # the public record links are dead
    assert Client().get("/api/sms/record", {"key": old_binding_key}).status_code == 404
    assert Client().get("/api/sms/record", {"key": rental.binding_key}).status_code == 404
    # the orders the ledger refers to stay, with their ids, prices and states
    kept = Activation.objects.get(pk=activation.pk)
    assert (kept.state, kept.price, kept.phone) == ("completed", activation.price, ERASED_PHONE)
    assert (kept.code, kept.webhook_url) == ("", "")
    assert kept.display_number == activation.display_number
    assert kept.binding_key != old_binding_key
    kept_rental = Rental.objects.get(pk=rental.pk)
    assert (kept_rental.state, kept_rental.price) == ("finished", rental.price)
    assert LedgerEntry.objects.filter(
        reference_kind="activation", reference_id=str(activation.pk)
    ).exists()
    # the balance was forfeited and the books balance
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0")
    forfeit = LedgerEntry.objects.get(wallet=wallet, kind=LedgerEntry.Kind.FORFEIT)
    assert forfeit.amount == -balance
    assert not wallets_out_of_balance().exists()
    call_command("check_ledger")
    assert "ledger ok" in capsys.readouterr().out
    assert not PurchaseAttempt.objects.filter(phone__in=phones).exists()


def test_the_erasure_leaves_other_customers_alone():
    open_shop()
    alice = customer("alice@example.com")
    finished_activation(alice)
    with at(T0):
        carol = UserFactory(email="carol@example.com", webhook_url=ACCOUNT_HOOK)
        wallet_deposit(
            wallet=wallet_get_or_create(user=carol), amount=Decimal("9"), idempotency_key="c"
        )
    carols = finished_activation(carol)  # carol is active from T0 + 366 days on
    carol_key = ApiKeyFactory(user=carol)
    with at(DELETION_DAY):
        user_record_activity(user=carol)
        assert lifecycle.accounts_delete_inactive() == 1

    assert rows_holding(carols.phone)
    assert rows_holding(ACTIVATION_SMS)  # carol's SMS, carol's webhook delivery
    assert WebhookDelivery.objects.filter(user=carol).exists()
    assert api_key_authenticate(carol_key.raw_key) is not None
    assert Activation.objects.get(pk=carols.pk).binding_key == carols.binding_key


def test_a_customer_without_history_is_deleted_and_the_keys_go_with_the_row():
    alice = customer("alice@example.com")
    key = ApiKeyFactory(user=alice)
    assert api_key_authenticate(key.raw_key) is not None

    with at(DELETION_DAY):
        assert lifecycle.accounts_delete_inactive() == 1

    assert not User.objects.filter(pk=alice.pk).exists()
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert api_key_authenticate(key.raw_key) is None


@pytest.mark.parametrize("kind", ["activation", "rental"])
def test_an_open_order_keeps_the_account_until_it_has_ended(kind):
    open_shop()
    alice = customer("alice@example.com")
    with at(T0):
        if kind == "activation":
            order = activation_purchase(user=alice, service=telegram(), country=usa())
            assert order.state == Activation.State.WAITING
        else:
            order = rental_purchase(user=alice, country=usa(), hours=24, auto_renew=False)
            assert order.state == Rental.State.ACTIVE

    with at(DELETION_DAY):
        assert lifecycle.accounts_delete_inactive() == 0
    assert User.objects.get(pk=alice.pk).deleted_at is None
    assert type(order).objects.get(pk=order.pk).phone == order.phone

    # the expiry job ends it; the next sweep removes the account
    with at(DELETION_DAY + timedelta(minutes=1)):
        ended = activations_expire_due() if kind == "activation" else rentals_expire_due()
        assert ended == 1
        assert lifecycle.accounts_delete_inactive() == 1
    assert User.objects.get(pk=alice.pk).deleted_at is not None
    assert rows_holding(order.phone) == []
    assert Wallet.objects.get(user=alice).balance == 0


def test_a_failing_handler_rolls_back_every_other_handler():
    open_shop()
    alice = customer("alice@example.com")
    activation = finished_activation(alice)
    key = ApiKeyFactory(user=alice)
    balance = wallet_get_or_create(user=alice).balance

    def broken(user: User) -> None:
        raise RuntimeError("the last handler fails")

    lifecycle.register_deletion_handler(broken)  # after the handlers of the apps
    try:
        with at(DELETION_DAY):
            assert lifecycle.accounts_delete_inactive() == 0
    finally:
        lifecycle.unregister_deletion_handler(broken)

    assert User.objects.get(pk=alice.pk).deleted_at is None
    assert wallet_get_or_create(user=alice).balance == balance
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.FORFEIT).exists()
    assert api_key_authenticate(key.raw_key) is not None
    assert WebhookDelivery.objects.filter(user=alice).exists()
    assert Activation.objects.get(pk=activation.pk).phone == activation.phone


def test_an_order_that_appears_during_the_deletion_keeps_the_account():
    open_shop()
    alice = customer("alice@example.com")
    finished_activation(alice)
    key = ApiKeyFactory(user=alice)
    balance = wallet_get_or_create(user=alice).balance

    def purchase_meanwhile(user: User) -> None:
        # As if a purchase had committed while the handlers waited for their locks.
        ActivationFactory(user=user, state=Activation.State.PROCESSING, phone="")

    lifecycle.register_deletion_handler(purchase_meanwhile)
    try:
        with at(DELETION_DAY):
            outcome = lifecycle.account_delete(user_id=alice.pk)
    finally:
        lifecycle.unregister_deletion_handler(purchase_meanwhile)

    assert (outcome.deleted, outcome.reason) == (False, "open activation")
    assert User.objects.get(pk=alice.pk).deleted_at is None
    assert wallet_get_or_create(user=alice).balance == balance
    assert api_key_authenticate(key.raw_key) is not None
    assert WebhookDelivery.objects.filter(user=alice).exists()
    assert not Activation.objects.filter(user=alice, state="processing").exists()


# --- Dry run ----------------------------------------------------------------------------------


def test_the_dry_run_says_anonymise_when_history_protects_the_account(capsys):
    open_shop()
    buyer = customer("buyer@example.com")
    finished_activation(buyer)
    renter = customer("renter@example.com")
    finished_rental(renter)
    saver = customer("saver@example.com")  # money, never bought anything
    before = [(u.pk, u.email, u.deleted_at) for u in User.objects.order_by("pk")]

    with at(DELETION_DAY):
        call_command("accounts_lifecycle", "--dry-run", "--job", "delete-inactive")

    out = capsys.readouterr().out
    assert f"would anonymise inactive user {buyer.pk} <buyer@example.com>" in out
    assert f"would anonymise inactive user {renter.pk} <renter@example.com>" in out
    assert f"would delete inactive user {saver.pk} <saver@example.com>" in out
    assert f"would delete inactive user {buyer.pk} <" not in out
    assert before == [(u.pk, u.email, u.deleted_at) for u in User.objects.order_by("pk")]
    assert WebhookDelivery.objects.filter(user=buyer).exists()

    # and the real run does what the dry run said
    with at(DELETION_DAY):
        assert lifecycle.accounts_delete_inactive() == 3
    assert User.objects.get(pk=buyer.pk).deleted_at is not None
    assert User.objects.get(pk=renter.pk).deleted_at is not None
    assert not User.objects.filter(pk=saver.pk).exists()
