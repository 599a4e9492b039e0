from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import ApiKeyFactory, OfferFactory, UserFactory
from wallets.services import wallet_deposit, wallet_get_or_create

URL = "/stubs/handler_api.php"


@pytest.fixture
def customer(db):
    return UserFactory()


@pytest.fixture
def api_key(customer):
    return ApiKeyFactory(user=customer)


@pytest.fixture
def offer(db):
    """Telegram in the USA (187) from a simulator that never sends an SMS by itself."""
    return OfferFactory(cost=Decimal("0.50"), stock=10)


class Handler:
    def __init__(self, raw_key: str) -> None:
        self.raw_key = raw_key
        self.client = Client()

    def __call__(self, action: str, method: str = "get", **params):
        params = {"api_key": self.raw_key, "action": action, **params}
        response = getattr(self.client, method)(URL, params)
        assert response.status_code == 200
        return response

    def text(self, action: str, **params) -> str:
        response = self(action, **params)
        assert response["Content-Type"].startswith("text/plain"), response.content
        return response.content.decode()

    def json(self, action: str, **params):
        response = self(action, **params)
        assert response["Content-Type"] == "application/json", response.content
        return response.json()


@pytest.fixture
def handler(api_key) -> Handler:
    return Handler(api_key.raw_key)


def fund(user, amount: str = "10.00", ref: str = "h1") -> None:
    wallet_deposit(
        wallet=wallet_get_or_create(user=user),
        amount=Decimal(amount),
        idempotency_key=f"{user.pk}:{ref}",
    )
