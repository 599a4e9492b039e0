"""Rent actions of the handler protocol on the rental services."""

from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from rentals.models import Rental
from rentals.services.rentals import rental_plans_seed_demo, rental_receive_sms
from tests.factories import ApiKeyFactory, OfferFactory
from tests.handler.conftest import Handler, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(customer):
    OfferFactory(cost=Decimal("0.50"), stock=10)
    rental_plans_seed_demo(country_ids=[187])
    fund(customer, "50.00")


def _error(body) -> str:
    assert body["status"] == "error", body
    return body["message"]


def rent(handler: Handler, **params) -> dict:
    body = handler.json("getRentNumber", service="tg", time="4", country="187", **params)
    assert body["status"] == "success", body
    return body["phone"]


def test_services_and_countries(handler, market):
    body = handler.json("getRentServicesAndCountries", time="4", country="187")
    assert body["countries"] == {"0": 187} and body["currency"] == 840
    assert body["services"]["full"] == {"cost": 1.0, "quant": 10}
    assert body["services"]["tg"]["quant"] == 10
    assert _error(handler.json("getRentServicesAndCountries", country="0")) == "OUT_OF_STOCK"
    assert _error(handler.json("getRentServicesAndCountries", time="2")) == "INVALID_TIME"


def test_rent_number_shape(handler, market):
    phone = rent(handler)
    rental = Rental.objects.get(pk=phone["id"])
    assert phone["number"] == rental.phone and "T" in phone["endDate"]
    assert handler.text("getBalance") == "ACCESS_BALANCE:49.00"


def test_rent_number_errors(handler, market):
    assert _error(handler.json("getRentNumber")) == "BAD_SERVICE"
    assert _error(handler.json("getRentNumber", service="nope")) == "BAD_SERVICE"
    assert _error(handler.json("getRentNumber", service="tg", country="0")) == "NO_NUMBERS"
    assert _error(handler.json("getRentNumber", service="tg", country="187", time="1")) == (
        "INVALID_TIME"
    )
    body = handler.json("getRentNumber", service="tg", country="187", time="99999")
    assert body == {"status": "error", "message": "MAX_HOURS_EXCEED", "info": {"max": 1344}}


def test_rent_number_without_money(handler, offer):
    rental_plans_seed_demo(country_ids=[187])
    assert _error(handler.json("getRentNumber", service="tg", country="187")) == "NO_BALANCE"


def test_rent_status_list_and_finish(handler, market):
    phone = rent(handler)
    assert _error(handler.json("getRentStatus", id=phone["id"])) == "STATUS_WAIT_CODE"
    rental = Rental.objects.get(pk=phone["id"])
    rental_receive_sms(rental=rental, text="Code 1111", sender="Bank")
    rental_receive_sms(rental=rental, text="Code 2222", sender="Shop")
    body = handler.json("getRentStatus", id=phone["id"], page="0", size="1")
    assert body["status"] == "success" and body["quantity"] == "2"
    assert body["values"]["0"]["text"] == "Code 2222" and body["values"]["0"]["service"] == "tg"
    listed = handler.json("getRentList")
    assert listed["values"]["0"] == {"id": str(phone["id"]), "phone": phone["number"]}
    assert _error(handler.json("setRentStatus", id=phone["id"], status="2")) == "CANT_CANCEL"
    assert handler.json("setRentStatus", id=phone["id"], status="1") == {"status": "success"}
    assert _error(handler.json("getRentStatus", id=phone["id"])) == "STATUS_FINISH"
    assert _error(handler.json("setRentStatus", id=phone["id"], status="1")) == "ALREADY_FINISH"
    assert _error(handler.json("getRentList")) == "NO_NUMBERS"


def test_cancel_through_get_rent_status_with_a_status(handler, market):
    phone = rent(handler)
    assert handler.json("getRentStatus", id=phone["id"], status="2") == {"status": "success"}
    assert handler.text("getBalance") == "ACCESS_BALANCE:50.00"
    assert _error(handler.json("getRentStatus", id=phone["id"])) == "STATUS_CANCEL"
    assert _error(handler.json("setRentStatus", id=phone["id"], status="2")) == "ALREADY_CANCEL"


def test_cancel_window(handler, market):
    phone = rent(handler)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=21)):
        assert _error(handler.json("setRentStatus", id=phone["id"], status="2")) == "CANT_CANCEL"


def test_continue_and_price(handler, market):
    phone = rent(handler)
    price = handler.json("getContinueRentPriceNumber", id=phone["id"], rent_time="24")
    assert price == {"status": "success", "price": 3.0, "currency": 840}
    body = handler.json("continueRentNumber", id=phone["id"], rent_time="24")
    assert body["status"] == "success" and body["phone"]["id"] == phone["id"]
    assert body["phone"]["endDate"] > phone["endDate"]
    assert handler.text("getBalance") == "ACCESS_BALANCE:46.00"
    assert _error(handler.json("continueRentNumber", id=phone["id"], rent_time="2")) == (
        "INVALID_TIME"
    )
    body = handler.json("continueRentNumber", id=phone["id"], rent_time="5000")
    assert body["message"] == "MAX_HOURS_EXCEED" and body["info"] == {"max": 1344}
    handler.json("setRentStatus", id=phone["id"], status="1")
    assert _error(handler.json("continueRentNumber", id=phone["id"], rent_time="4")) == "RENT_DIE"
    assert _error(handler.json("getContinueRentPriceNumber", id=phone["id"])) == "RENT_DIE"


@pytest.mark.parametrize(
    "action", ["getRentStatus", "setRentStatus", "continueRentNumber", "getContinueRentPriceNumber"]
)
def test_rent_id_errors(handler, market, action):
    assert _error(handler.json(action, status="1")) == "NO_ID_RENT"
    assert _error(handler.json(action, id="123456", status="1")) == "INVALID_PHONE"


def test_set_rent_status_bad_status(handler, market):
    phone = rent(handler)
    assert _error(handler.json("setRentStatus", id=phone["id"], status="9")) == "INCORECT_STATUS"


def test_another_customers_rent_is_invalid_phone(handler, market):
    phone = rent(handler)
    stranger = Handler(ApiKeyFactory().raw_key)
    for action in ("getRentStatus", "continueRentNumber", "getContinueRentPriceNumber"):
        assert _error(stranger.json(action, id=phone["id"])) == "INVALID_PHONE"
    assert _error(stranger.json("setRentStatus", id=phone["id"], status="1")) == "INVALID_PHONE"
    assert Rental.objects.get(pk=phone["id"]).state == "active"
