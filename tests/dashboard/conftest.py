"""Fixtures of the dashboard's view tests: a simulator upstream, a funded customer logged in
with the test client, and a second customer whose objects must stay out of reach."""

import pytest

from rentals.services.rentals import rental_plans_seed_demo
from tests.factories import UserFactory
from tests.rentals.conftest import catalog, fund, make_simulator, telegram, usa  # noqa: F401


@pytest.fixture
def simulator(catalog):  # noqa: F811
    provider = make_simulator()
    rental_plans_seed_demo(country_ids=[187])
    return provider


@pytest.fixture
def customer(db):
    user = UserFactory(email="customer@example.com", is_verified=True)
    fund(user, "20.00")
    return user


@pytest.fixture
def other(db):
    return UserFactory(email="other@example.com", is_verified=True)


@pytest.fixture
def client_in(client, customer):
    client.force_login(customer)
    return client


def messages_of(response) -> list[str]:
    """The flash messages a page shows."""
    return [str(m) for m in response.context["messages"]] if response.context else []


def shown_version(fragment: str) -> str:
    """The version of the order list that a rendered My Numbers fragment polls with."""
    return fragment.split("?v=")[1].split('"')[0]
