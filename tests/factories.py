"""Factories shared by the whole suite."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from smsbox.models import User
from wallets.models import Wallet


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    is_verified = True
    verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save(update_fields=["password"])


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"operator{n}@example.com")
    is_staff = True
    is_superuser = True


class WalletFactory(factory.django.DjangoModelFactory):
    """An empty wallet; give it money through ``wallet_deposit`` so the ledger stays whole."""

    class Meta:
        model = Wallet

    user = factory.SubFactory(UserFactory)
    balance = Decimal("0")


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """A live key made by ``api_key_create``; the raw key is on ``.raw_key`` (tests only).

    Pass ``raw_key="..."`` to install a chosen key.
    """

    class Meta:
        model = "apikeys.ApiKey"

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"key {n}")
    raw_key = None

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object) -> object:
        from apikeys.services import api_key_create

        api_key, raw_key = api_key_create(**kwargs)
        api_key.raw_key = raw_key
        return api_key


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """A webhook delivery that is due now (no task enqueued: ``webhook_enqueue`` does that)."""

    class Meta:
        model = "rentals.WebhookDelivery"

    user = factory.SubFactory(UserFactory)
    url = "https://hooks.example.com/smsbox"
    event = "activation.sms"
    payload = factory.Sequence(lambda n: {"activationId": n, "service": "tg", "code": "12345"})
    reference_kind = "activation"
    reference_id = factory.Sequence(str)
    next_attempt_at = factory.LazyFunction(timezone.now)


class ProviderFactory(factory.django.DjangoModelFactory):
    """A simulator provider (no network); pass ``protocol`` and ``base_url`` for the others."""

    class Meta:
        model = "providers.Provider"

    name = factory.Sequence(lambda n: f"provider-{n}")
    protocol = "simulator"
    api_key = "upstream-secret"
    settings = factory.LazyFunction(lambda: {"sms_delay": None})
    timeout = Decimal("5")


class OfferFactory(factory.django.DjangoModelFactory):
    """An offer for Telegram in the USA unless told otherwise."""

    class Meta:
        model = "providers.Offer"

    provider = factory.SubFactory(ProviderFactory)
    service = factory.LazyFunction(lambda: _catalog("Service", code="tg"))
    country = factory.LazyFunction(lambda: _catalog("Country", sms_activate_id=187))
    cost = Decimal("0.50")
    stock = 10
    updated_at = factory.LazyFunction(timezone.now)


def _catalog(model: str, **lookup: object) -> object:
    from django.apps import apps

    return apps.get_model("providers", model).objects.get(**lookup)


class RentalPlanFactory(factory.django.DjangoModelFactory):
    """An "any service" plan of 24 hours at 3.00 in the USA unless told otherwise."""

    class Meta:
        model = "rentals.RentalPlan"

    country = factory.LazyFunction(lambda: _catalog("Country", sms_activate_id=187))
    service = None
    unit = "hours"
    length = 24
    package = ""
    price = Decimal("3.00")


class ActivationFactory(factory.django.DjangoModelFactory):
    """A waiting Telegram activation in the USA with a number, charged nothing (no ledger
    entries): for reads and rendering. Buy through ``activation_purchase`` to test money."""

    class Meta:
        model = "rentals.Activation"

    user = factory.SubFactory(UserFactory)
    service = factory.LazyFunction(lambda: _catalog("Service", code="tg"))
    country = factory.LazyFunction(lambda: _catalog("Country", sms_activate_id=187))
    provider = factory.SubFactory(ProviderFactory)
    upstream_id = factory.Sequence(lambda n: f"up-{n}")
    phone = factory.Sequence(lambda n: f"1555{n:07d}")
    price = Decimal("0.50")
    cost = Decimal("0.40")
    state = "waiting"
    created_at = factory.LazyFunction(timezone.now)
    number_at = factory.LazyAttribute(lambda o: o.created_at)
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(seconds=1200))
    display_number = factory.Sequence(lambda n: f"A000000{n:08d}")
    binding_key = factory.Sequence(lambda n: f"binding-key-{n:040d}")
