"""The public record link: no authentication, the binding key authorizes."""

from decimal import Decimal

import pytest
from django.test import Client

from rentals.services import activation_purchase, activation_receive_sms
from tests.api.conftest import fund
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def activation(customer):
    offer = OfferFactory(cost=Decimal("0.50"))
    fund(customer)
    return activation_purchase(user=customer, service=offer.service, country=offer.country)


def test_waiting_record_in_json_and_text(activation):
    body = Client().get("/api/sms/record", {"key": activation.binding_key}).json()
    assert body["state"] == "waiting" and body["phone"] == activation.phone
    assert body["latestCode"] is None and body["messages"] == []
    text = Client().get("/api/sms/record", {"key": activation.binding_key, "format": "txt"})
    assert text["Content-Type"].startswith("text/plain") and text.content == b"NO|"


def test_received_record(activation):
    activation_receive_sms(
        provider=activation.provider, upstream_id=activation.upstream_id, text="Your code is 123456"
    )
    body = Client().get("/api/sms/record", {"key": activation.binding_key}).json()
    assert body["latestCode"] == "123456" and body["status"] == 3
    assert [m["code"] for m in body["messages"]] == ["123456"]
    text = Client().get("/api/sms/record", {"key": activation.binding_key, "format": "txt"})
    assert text.content == b"YES|123456"


def test_unknown_key():
    response = Client().get("/api/sms/record", {"key": "nope"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    assert Client().get("/api/sms/record").status_code == 404
    text = Client().get("/api/sms/record", {"key": "nope", "format": "txt"})
    assert text.status_code == 404 and text.content == b"NO|"
