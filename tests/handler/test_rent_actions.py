"""Rent actions of the handler protocol on the rental services."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from providers.models import SimulatedNumber
from rentals.models import Rental
from rentals.services.rentals import rental_plans_seed_demo, rental_receive_sms
from tests.factories import ApiKeyFactory, OfferFactory
from tests.handler.conftest import Handler, fund
from wallets.models import LedgerEntry
from wallets.services import Reference, wallet_charge, wallet_get_or_create

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


def _ledger(customer) -> list[tuple[str, str, Decimal]]:
    entries = LedgerEntry.objects.filter(wallet__user=customer).exclude(kind="deposit")
    return list(entries.order_by("pk").values_list("kind", "reference_id", "amount"))


def test_continue_a_finished_rent_orders_its_number_again_under_a_new_id(handler, market, customer):
    phone = rent(handler)
    assert handler.json("setRentStatus", id=phone["id"], status="1") == {"status": "success"}
    price = handler.json("getContinueRentPriceNumber", id=phone["id"], rent_time="24")
    assert price == {"status": "success", "price": 3.0, "currency": 840}

    body = handler.json("continueRentNumber", id=phone["id"], rent_time="24")

    assert body["status"] == "success", body
    new = Rental.objects.get(pk=body["phone"]["id"])
    assert new.pk != phone["id"] and body["phone"]["number"] == phone["number"] == new.phone
    assert body["phone"]["endDate"] == new.expires_at.strftime("%Y-%m-%dT%H:%M:%S")
    assert new.expires_at - timezone.now() > timedelta(hours=23, minutes=59)
    assert handler.text("getBalance") == "ACCESS_BALANCE:46.00"
    assert _ledger(customer) == [
        ("charge", str(phone["id"]), Decimal("-1.0000")),
        ("charge", str(new.pk), Decimal("-3.0000")),
    ]
    call_command("check_ledger")
    assert _error(handler.json("getRentStatus", id=phone["id"])) == "STATUS_FINISH"
    assert _error(handler.json("getRentStatus", id=new.pk)) == "STATUS_WAIT_CODE"
    listed = handler.json("getRentList")
    assert listed["values"] == {"0": {"id": str(new.pk), "phone": phone["number"]}}
    # the number is held again: a second re-order of the old id is refused, free of charge
    assert _error(handler.json("continueRentNumber", id=phone["id"], rent_time="4")) == "RENT_DIE"
    assert handler.text("getBalance") == "ACCESS_BALANCE:46.00"


def test_continue_a_rent_whose_number_the_upstream_refuses_is_rent_die(handler, market, customer):
    phone = rent(handler)
    handler.json("setRentStatus", id=phone["id"], status="1")
    rental = Rental.objects.get(pk=phone["id"])
    SimulatedNumber.objects.create(  # the upstream sold the number to somebody else meanwhile
        provider=rental.provider,
        sequence=999,
        kind="activation",
        service_code="tg",
        country_id_sa=187,
        phone=rental.phone,
        cost=Decimal("0.50"),
    )

    assert _error(handler.json("continueRentNumber", id=phone["id"], rent_time="4")) == "RENT_DIE"

    assert handler.text("getBalance") == "ACCESS_BALANCE:49.00"
    failed = Rental.objects.exclude(pk=rental.pk).get()
    assert failed.state == Rental.State.FAILED
    assert _ledger(customer) == [
        ("charge", str(rental.pk), Decimal("-1.0000")),
        ("charge", str(failed.pk), Decimal("-1.0000")),
        ("refund", str(failed.pk), Decimal("1.0000")),
    ]
    call_command("check_ledger")
    assert _error(handler.json("getRentList")) == "NO_NUMBERS"


def test_continue_a_finished_rent_without_balance_is_no_balance(handler, market, customer):
    phone = rent(handler)
    handler.json("setRentStatus", id=phone["id"], status="1")
    wallet_charge(
        wallet=wallet_get_or_create(user=customer),
        amount=Decimal("48.00"),
        reference=Reference("test", 1),
    )

    assert _error(handler.json("continueRentNumber", id=phone["id"], rent_time="24")) == (
        "NO_BALANCE"
    )

    assert Rental.objects.filter(user=customer).count() == 1
    assert handler.text("getBalance") == "ACCESS_BALANCE:1.00"


def test_continue_a_rent_that_ended_too_long_ago_is_rent_die(handler, market):
    phone = rent(handler)
    handler.json("setRentStatus", id=phone["id"], status="1")

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        body = handler.json("continueRentNumber", id=phone["id"], rent_time="4")
        price = handler.json("getContinueRentPriceNumber", id=phone["id"], rent_time="4")

    assert _error(body) == _error(price) == "RENT_DIE"
    assert Rental.objects.count() == 1
    assert handler.text("getBalance") == "ACCESS_BALANCE:49.00"


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


def test_another_customers_finished_rent_is_not_ordered_again(handler, market):
    phone = rent(handler)
    handler.json("setRentStatus", id=phone["id"], status="1")
    stranger_key = ApiKeyFactory()
    fund(stranger_key.user, "50.00")
    stranger = Handler(stranger_key.raw_key)

    body = stranger.json("continueRentNumber", id=phone["id"], rent_time="4")

    assert _error(body) == "INVALID_PHONE"
    assert Rental.objects.count() == 1
    assert stranger.text("getBalance") == "ACCESS_BALANCE:50.00"
