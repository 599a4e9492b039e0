from decimal import Decimal

import pytest
from django.test import Client

from rentals.models import Activation, Rental
from rentals.services import activation_receive_sms
from rentals.services.rentals import rental_receive_sms
from tests.factories import ApiKeyFactory, OfferFactory, UserFactory
from tests.handler.conftest import fund


@pytest.fixture
def customer(db):
    user = UserFactory()
    fund(user, "10.00")
    return user


@pytest.fixture
def raw_key(customer) -> str:
    return ApiKeyFactory(user=customer).raw_key


@pytest.fixture
def offer(db):
    """Telegram in the USA at 0.50 from a simulator that never sends an SMS by itself."""
    return OfferFactory(cost=Decimal("0.50"), stock=10)


@pytest.fixture
def other_key(db) -> str:
    """Another customer's key, with money."""
    user = UserFactory()
    fund(user, "10.00", ref="other")
    return ApiKeyFactory(user=user).raw_key


def deliver_sms(activation_id: int, code: str = "123456") -> None:
    """What an upstream push does: the SMS arrives for the activation's upstream order."""
    activation = Activation.objects.get(pk=activation_id)
    activation_receive_sms(
        provider=activation.provider,
        upstream_id=activation.upstream_id,
        text=f"Your Telegram code is {code}",
    )


def deliver_rent_sms(rental: Rental) -> None:
    rental_receive_sms(rental=rental, text="Code 5555", sender="Bank")


class Dialect:
    """A test client for one dialect: ``get(path, **params)`` with the key where the dialect
    wants it."""

    def __init__(self, prefix: str, raw_key: str | None, *, bearer: bool) -> None:
        self.prefix = prefix
        self.raw_key = raw_key
        self.bearer = bearer
        self.client = Client()

    def _headers(self, raw_key: str | None) -> dict:
        key = raw_key or self.raw_key
        return {"HTTP_AUTHORIZATION": f"Bearer {key}"} if self.bearer and key else {}

    def get(self, path: str, *, key: str | None = None, **params):
        if not self.bearer and (key or self.raw_key):
            params = {"key": key or self.raw_key, **params}
        return self.client.get(f"{self.prefix}{path}", params, **self._headers(key))

    def post(self, path: str, *, key: str | None = None, **params):
        if not self.bearer and (key or self.raw_key):
            params = {"key": key or self.raw_key, **params}
        return self.client.post(f"{self.prefix}{path}", params, **self._headers(key))


@pytest.fixture
def smspool(raw_key) -> Dialect:
    return Dialect("/smspool/", raw_key, bearer=False)


@pytest.fixture
def fivesim(raw_key) -> Dialect:
    return Dialect("/5sim/v1/", raw_key, bearer=True)
