from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory, UserFactory
from wallets.services import wallet_deposit, wallet_get_or_create


@pytest.fixture
def customer(db):
    return UserFactory()


@pytest.fixture
def api_key(customer):
    return ApiKeyFactory(user=customer)


@pytest.fixture
def client(api_key) -> APIClient:
    """A REST client of ``customer`` authenticated with an API key (X-API-Key)."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key.raw_key)
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def fund(user, amount: str = "10.00", ref: str = "t1"):
    wallet = wallet_get_or_create(user=user)
    return wallet_deposit(wallet=wallet, amount=Decimal(amount), idempotency_key=f"{user.pk}:{ref}")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]
