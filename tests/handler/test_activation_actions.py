"""Activation actions of the handler: success shapes and every error token."""

from decimal import Decimal

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from rentals.models import Activation
from rentals.services import activation_receive_sms
from rentals.services.activations import activation_upstream_close
from tests.factories import ApiKeyFactory
from tests.handler.conftest import Handler, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(customer, offer):
    fund(customer, "10.00")
    return customer


def buy(handler: Handler, **params) -> Activation:
    answer = handler.text("getNumber", service="tg", country="187", **params)
    assert answer.startswith("ACCESS_NUMBER:"), answer
    _, activation_id, phone = answer.split(":")
    activation = Activation.objects.get(pk=int(activation_id))
    assert activation.phone == phone and phone.isdigit()
    return activation


def sms(activation: Activation, text: str = "Your Telegram code is 123456") -> None:
    activation_receive_sms(
        provider=activation.provider, upstream_id=activation.upstream_id, text=text
    )


# --- getNumber / getNumberV2 / getMultiServiceNumber -------------------------------------------


def test_get_number_charges_the_retail_price(handler, funded):
    buy(handler)
    assert handler.text("getBalance") == "ACCESS_BALANCE:9.50"


def test_get_number_with_order_id_is_idempotent(handler, funded):
    first = buy(handler, orderId="order-1")
    again = buy(handler, orderId="order-1")
    assert again.pk == first.pk
    assert handler.text("getBalance") == "ACCESS_BALANCE:9.50"
    answer = handler.text("getNumber", service="wa", country="187", orderId="order-1")
    assert answer == "ORDER_ALREADY_EXISTS"


@pytest.mark.parametrize(
    ("params", "token"),
    [
        ({"service": "nope", "country": "187"}, "BAD_SERVICE"),
        ({"country": "187"}, "BAD_SERVICE"),
        ({"service": "tg", "country": "9999"}, "BAD_COUNTRY"),
        ({"service": "tg", "country": "US"}, "BAD_COUNTRY"),
        ({"service": "wa", "country": "187"}, "NO_NUMBERS"),
        ({"service": "tg", "country": "187", "maxPrice": "0.10"}, "WRONG_MAX_PRICE:0.50"),
        ({"service": "tg", "country": "187", "maxPrice": "abc"}, "WRONG_MAX_PRICE"),
        ({"service": "tg", "country": "187", "phoneException": "7999x"}, "WRONG_EXCEPTION_PHONE"),
    ],
)
def test_get_number_errors(handler, funded, params, token):
    assert handler.text("getNumber", **params) == token


def test_get_number_without_money(handler, offer):
    assert handler.text("getNumber", service="tg", country="187") == "NO_BALANCE"
    assert handler.json("getNumberV2", service="tg", country="187") == {
        "status": "error",
        "message": "NO_BALANCE",
    }


def test_get_number_v2_shape(handler, funded):
    body = handler.json("getNumberV2", service="tg", country="187", orderId="v2")
    activation = Activation.objects.get(pk=body["activationId"])
    assert body["phoneNumber"] == activation.phone and isinstance(body["phoneNumber"], str)
    assert body["activationCost"] == 0.5
    assert body["currency"] == 840
    assert body["countryCode"] == "187"
    assert body["canGetAnotherSms"] is True
    assert body["activationOperator"] == "any"
    for field in ("activationTime", "activationEndTime"):
        assert len(body[field]) == 19 and "T" not in body[field]


def test_multi_service_number(handler, funded, offer):
    from tests.factories import OfferFactory

    OfferFactory(provider=offer.provider, service=_service("wa"), cost=Decimal("0.30"))
    body = handler.json("getMultiServiceNumber", multiService="tg,wa", country="187")
    assert [item["service"] for item in body] == ["tg", "wa"]
    assert all(item["phone"].isdigit() and item["activation"].isdigit() for item in body)
    assert body[0]["phone"] == body[1]["phone"]  # one number for both services
    assert handler.json("getMultiServiceNumber", multiService="")["message"] == "BAD_SERVICE"


# --- setStatus / getStatus / getStatusV2 / getFullSms -----------------------------------------


def test_the_whole_flow_with_finish(handler, funded):
    activation = buy(handler)
    assert handler.text("getStatus", id=activation.pk) == "STATUS_WAIT_CODE"
    assert handler.text("setStatus", id=activation.pk, status="1") == "ACCESS_READY"
    assert handler.json("getStatusV2", id=activation.pk) == {
        "verificationType": 0,
        "sms": None,
        "call": None,
    }
    assert handler.text("getFullSms", id=activation.pk) == "STATUS_WAIT_CODE"
    sms(activation)
    assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:123456"
    v2 = handler.json("getStatusV2", id=activation.pk)
    assert v2["sms"]["code"] == "123456" and v2["sms"]["text"].endswith("123456")
    assert handler.text("getFullSms", id=activation.pk) == "FULL_SMS:Your Telegram code is 123456"
    assert handler.text("setStatus", id=activation.pk, status="3") == "ACCESS_RETRY_GET"
    assert handler.text("getStatus", id=activation.pk) == "STATUS_WAIT_RETRY:123456"
    sms(activation, "Your Telegram code is 654321")
    assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:654321"
    assert handler.text("setStatus", id=activation.pk, status="6") == "ACCESS_ACTIVATION"
    assert handler.text("getBalance") == "ACCESS_BALANCE:9.50"


@override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0)
@pytest.mark.parametrize("status", ["8", "-1"])
def test_cancel_refunds(handler, funded, status):
    activation = buy(handler)
    assert handler.text("setStatus", id=activation.pk, status=status) == "ACCESS_CANCEL"
    assert handler.text("getStatus", id=activation.pk) == "STATUS_CANCEL"
    assert handler.text("getBalance") == "ACCESS_BALANCE:10.00"
    assert handler.text("getStatusV2", id=activation.pk) == "STATUS_CANCEL"
    assert handler.text("getFullSms", id=activation.pk) == "STATUS_CANCEL"


def test_early_cancel_is_denied(handler, funded):
    activation = buy(handler)
    assert handler.text("setStatus", id=activation.pk, status="8") == "EARLY_CANCEL_DENIED"
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=3)):
        assert handler.text("setStatus", id=activation.pk, status="8") == "ACCESS_CANCEL"


def test_set_status_errors(handler, funded):
    activation = buy(handler)
    assert handler.text("setStatus", id=activation.pk, status="5") == "BAD_STATUS"
    assert handler.text("setStatus", id=activation.pk, status="3") == "BAD_STATUS"  # no code yet
    assert handler.text("setStatus", id="abc", status="1") == "WRONG_ACTIVATION_ID"
    assert handler.text("setStatus", id="999999", status="1") == "NO_ACTIVATION"


def test_status_of_an_unknown_id(handler):
    assert handler.text("getStatus", id="424242") == "NO_ACTIVATION"
    assert handler.text("getStatus") == "WRONG_ACTIVATION_ID"
    assert handler.json("getStatusV2", id="424242")["message"] == "NO_ACTIVATION"
    assert handler.text("getFullSms", id="424242") == "NO_ACTIVATION"


def test_another_customers_activation_is_unknown_everywhere(handler, funded):
    activation = buy(handler)
    stranger = Handler(ApiKeyFactory().raw_key)
    assert stranger.text("getStatus", id=activation.pk) == "NO_ACTIVATION"
    assert stranger.text("setStatus", id=activation.pk, status="1") == "NO_ACTIVATION"
    assert stranger.json("getStatusV2", id=activation.pk)["message"] == "NO_ACTIVATION"
    assert stranger.text("getFullSms", id=activation.pk) == "NO_ACTIVATION"
    assert stranger.text("getExtraActivation", activationId=activation.pk) == "WRONG_ACTIVATION_ID"
    assert stranger.json("getActiveActivations")["message"] == "NO_ACTIVATIONS"
    assert stranger.json("getHistory")["data"] == []


# --- lists ------------------------------------------------------------------------------------


def test_active_activations(handler, funded):
    assert handler.json("getActiveActivations") == {
        "status": "error",
        "message": "NO_ACTIVATIONS",
    }
    activation = buy(handler)
    sms(activation)
    body = handler.json("getActiveActivations")
    assert body["activeActivations"] == body["data"]
    (item,) = body["data"]
    assert item["activationId"] == str(activation.pk)
    assert item["smsCode"] == "123456" and item["activationStatus"] == "2"
    assert item["currency"] == "840" and item["countryCode"] == "187"
    assert all(value is None or isinstance(value, str) for value in item.values())


def test_history(handler, funded):
    first, second = buy(handler), buy(handler)
    sms(first)
    body = handler.json("getHistory", limit="1")
    assert body["status"] == "success"
    assert [row["id"] for row in body["data"]] == [str(second.pk)]
    rows = handler.json("getHistory", offset="1")["data"]
    assert rows[0]["id"] == str(first.pk) and rows[0]["sms"] == '["123456"]'
    assert rows[0]["cost"] == "0.50" and rows[0]["currency"] == "840"
    assert handler.json("getHistory", start="abc")["message"] == "WRONG_DATE"
    future = str(int(timezone.now().timestamp()) + 3600)
    assert handler.json("getHistory", start=future)["data"] == []


# --- extra activation, additional service, calls ----------------------------------------------


def test_extra_activation_after_completion(handler, funded):
    activation = buy(handler)
    assert handler.json("checkExtraActivation", activationId=activation.pk) == {
        "status": "error",
        "message": "RENEW_ACTIVATION_NOT_AVAILABLE",
    }
    assert (
        handler.text("getExtraActivation", activationId=activation.pk)
        == "RENEW_ACTIVATION_NOT_AVAILABLE"
    )
    sms(activation)
    handler.text("setStatus", id=activation.pk, status="6")
    activation_upstream_close(activation_id=activation.pk, action="finish")  # the worker's part
    check = handler.json("checkExtraActivation", activationId=activation.pk)
    assert check == {
        "status": "success",
        "cost": 0.5,
        "service": "tg",
        "phone": activation.phone,
        "country": 187,
    }
    answer = handler.text("getExtraActivation", activationId=activation.pk)
    _, new_id, phone = answer.split(":")
    assert phone == activation.phone and int(new_id) != activation.pk
    assert handler.text("getExtraActivation", activationId="x") == "WRONG_ACTIVATION_ID"


def test_additional_service_is_not_sold(handler, funded):
    activation = buy(handler)
    answer = handler.text("getAdditionalService", service="wa", id=activation.pk)
    assert answer == "WRONG_ADDITIONAL_SERVICE"
    assert handler.text("getAdditionalService", service="wa", id="1") == "WRONG_ACTIVATION_ID"


def test_incoming_call_status(handler, funded):
    activation = buy(handler)
    assert handler.json("getIncomingCallStatus", id=activation.pk) == {
        "status": 2,
        "phone": activation.phone,
    }
    bad = handler.json("getIncomingCallStatus", id="777777")
    assert bad == {"status": "error", "message": "INVALID_ACTIVATION_ID"}


def _service(code: str):
    from providers.models import Service

    return Service.objects.get(code=code)
