import pytest

from tests.api.conftest import assert_error, fund

pytestmark = pytest.mark.django_db


def test_summary_of_a_customer_without_wallet_is_zero(client):
    body = client.get("/api/v1/wallet/").json()
    assert body == {
        "balance": "0.00",
        "frozenAmount": "0.00",
        "totalRecharge": "0.00",
        "totalConsume": "0.00",
        "currency": "USD",
    }


def test_summary_after_a_deposit(client, customer):
    fund(customer, "12.5")
    body = client.get("/api/v1/wallet/").json()
    assert body["balance"] == "12.50" and body["totalRecharge"] == "12.50"


def test_transactions_are_paginated_and_filtered(client, customer):
    for n in range(3):
        fund(customer, "1.00", ref=f"d{n}")
    body = client.get("/api/v1/wallet/transactions/?pageSize=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2
    assert body["results"][0]["kind"] == "deposit" and body["results"][0]["amount"] == "1.00"
    assert client.get("/api/v1/wallet/transactions/?kind=charge").json()["count"] == 0


def test_transactions_unknown_kind(client):
    assert_error(client.get("/api/v1/wallet/transactions/?kind=gift"), 400, "INVALID_KIND")


def test_transactions_are_only_mine(client, customer):
    from tests.factories import UserFactory

    fund(UserFactory(), "5.00")
    assert client.get("/api/v1/wallet/transactions/").json()["count"] == 0
