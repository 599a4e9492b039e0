from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from rentals.services.activations import activation_reference
from tests.factories import ActivationFactory, StaffFactory, UserFactory
from wallets.services import wallet_charge, wallet_deposit, wallet_get_or_create

ROLES = ("Support", "Finance", "Owner")


def make_operator(role: str | None, **fields):
    """A staff user in the role's group (None: staff without any group)."""
    operator = StaffFactory(is_superuser=False, **fields)
    if role is not None:
        operator.groups.add(Group.objects.get(name=role))
    return operator


@pytest.fixture
def operator_of():
    return make_operator


@pytest.fixture
def customer():
    user = UserFactory(email="alice@example.com")
    wallet_deposit(
        wallet=wallet_get_or_create(user=user), amount=Decimal("50.00"), idempotency_key="seed"
    )
    return user


def bought(user, **fields):
    """An activation charged through the ledger, as a purchase leaves it."""
    activation = ActivationFactory(user=user, **fields)
    wallet_charge(
        wallet=wallet_get_or_create(user=user),
        amount=activation.price,
        reference=activation_reference(activation),
    )
    return activation


@pytest.fixture
def order(customer):
    return bought(customer, price=Decimal("2.50"))


def client_for(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture(autouse=True)
def _catalog_and_roles(db):
    """Transactional tests start without the data of the migrations."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from providers.catalog import catalog_load
    from providers.models import Service
    from rentals.backoffice.roles import roles_sync

    if not Service.objects.exists():
        catalog_load()
    if not Group.objects.filter(name="Owner").exists():
        roles_sync(apps=apps)
