"""Honest answers on the REST API: a purchase whose upstream answer is not known yet is
accepted (202) with its id and status 7 (processing), and can be polled until it settles."""

import pytest

from rentals.models import Activation
from rentals.services import activations_reconcile
from tests.api.conftest import fund
from tests.rentals.orphan_support import assert_money_settled, later, sms_activate_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def stalling(fake_sms_activate, db):
    fake_sms_activate.after_sale, fake_sms_activate.stall_seconds = "stall", 2.0
    return sms_activate_provider(fake_sms_activate)


def test_a_purchase_of_unknown_outcome_is_accepted_as_processing_and_pollable(
    client, customer, stalling, fake_sms_activate
):
    fund(customer)
    # when
    response = client.post("/api/v1/activations/", {"service": "tg", "country": "US"}, "json")
    # then
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["statusLabel"], body["phone"]) == (7, "processing", None)
    polled = client.get(f"/api/v1/activations/{body['id']}/")
    assert polled.status_code == 200 and polled.json()["status"] == 7
    assert Activation.objects.get(pk=body["id"]).abandoned is False  # the client was told
    # when: reconciliation finds the number the upstream sold
    fake_sms_activate.after_sale = ""
    assert activations_reconcile(now=later(31)) == 1
    # then: the client's next poll has it
    polled = client.get(f"/api/v1/activations/{body['id']}/").json()
    assert polled["status"] == 1 and polled["phone"]
    assert_money_settled()


def test_a_purchase_bought_at_once_is_still_201(client, customer, fake_sms_activate, db):
    sms_activate_provider(fake_sms_activate)
    fund(customer)
    response = client.post("/api/v1/activations/", {"service": "tg", "country": "US"}, "json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == 1


def test_a_rental_of_unknown_outcome_is_accepted_as_processing(
    client, customer, stalling, fake_sms_activate
):
    from rentals.models import Rental
    from tests.rentals.rental_support import usa_plans

    usa_plans()
    fund(customer)
    response = client.post(
        "/api/v1/rentals/", {"country": "US", "service": "tg", "hours": 4}, "json"
    )
    assert response.status_code == 202, response.content
    rental = Rental.objects.get(pk=response.json()["id"])
    assert rental.state == Rental.State.UNKNOWN and rental.abandoned is False
