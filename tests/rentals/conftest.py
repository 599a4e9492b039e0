"""Fixtures of the activation tests: a simulator upstream and a customer with money."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from providers.catalog import catalog_load
from providers.models import Country, Service
from providers.services import offers_sync, provider_add, upstream_sms_dispatch
from rentals.models import Activation
from tests.factories import ProviderFactory, UserFactory
from wallets.services import wallet_deposit, wallet_get_or_create

SIM_COST = Decimal("0.50")


def make_simulator(name: str = "Sim", **settings: object):
    """A simulator selling Telegram and WhatsApp in the USA at 0.50, no SMS on its own."""
    conf = {
        "seed": 7,
        "countries": [187],
        "services": ["tg", "wa"],
        "cost": str(SIM_COST),
        "stock": 100,
        "sms_delay": None,
        **settings,
    }
    provider = provider_add(name=name, protocol="simulator", settings=conf)
    offers_sync(provider=provider)
    return provider


def make_simple_get(fake_simple_get, country: str):
    """A provider of seed 004's protocol on ``fake_simple_get``, selling Telegram numbers of
    ``country`` (its own code: USA, NL, UK) at 0.45, three in stock."""
    provider = ProviderFactory(
        protocol="simple_get",
        base_url=fake_simple_get.url,
        service_codes={"tg": "17"},
        settings={"offers": [{"service": "tg", "country": country, "cost": "0.45", "stock": 3}]},
        timeout=Decimal("5"),  # ample on a busy machine
    )
    offers_sync(provider=provider)
    return provider


def fund(user, amount: str) -> None:
    wallet_deposit(
        wallet=wallet_get_or_create(user=user),
        amount=Decimal(amount),
        idempotency_key=f"test-deposit-{user.pk}-{amount}-{timezone.now().timestamp()}",
    )


def sms_arrives(activation: Activation, text: str = "Your Telegram code is 123456", **kw):
    """An upstream SMS for ``activation``, through the one path every upstream SMS takes."""
    upstream_sms_dispatch(
        provider=activation.provider,
        upstream_id=activation.upstream_id,
        phone=activation.phone,
        text=text,
        **kw,
    )
    activation.refresh_from_db()
    return activation


def age(activation: Activation, seconds: int) -> Activation:
    """Move an activation's clock back by ``seconds`` (as if bought that long ago)."""
    delta = timedelta(seconds=seconds)
    Activation.objects.filter(pk=activation.pk).update(
        created_at=activation.created_at - delta,
        expires_at=activation.expires_at - delta,
        number_at=(activation.number_at - delta) if activation.number_at else None,
    )
    activation.refresh_from_db()
    return activation


@pytest.fixture
def catalog(db):
    catalog_load()  # transactional tests start without the catalog of the migrations


@pytest.fixture
def telegram(catalog) -> Service:
    return Service.objects.get(code="tg")


@pytest.fixture
def usa(catalog) -> Country:
    return Country.objects.get(sms_activate_id=187)


@pytest.fixture
def simulator(catalog):
    return make_simulator()


@pytest.fixture
def customer(db):
    user = UserFactory()
    fund(user, "10.00")
    return user


@pytest.fixture
def eager_celery():
    """Run tasks inline (upstream close, webhook delivery)."""
    from smsbox.celery import app as celery_app

    conf = celery_app.conf
    previous = conf.task_always_eager, conf.task_eager_propagates
    conf.update(CELERY_TASK_ALWAYS_EAGER=True, CELERY_TASK_EAGER_PROPAGATES=True)
    yield
    conf.update(CELERY_TASK_ALWAYS_EAGER=previous[0], CELERY_TASK_EAGER_PROPAGATES=previous[1])


# Long-term rentals: their fixtures live with their helpers.
from tests.rentals.rental_support import rent_plans, rent_sim, renter  # noqa: E402, F401
