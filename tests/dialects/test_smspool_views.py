"""SMSPool's API on smsbox: every endpoint's success and error answers, the transport variants
real clients use, ownership and the rate limit."""

import time
from decimal import Decimal

import pytest
import time_machine
from django.test import override_settings

from rentals.models import Activation, Rental
from rentals.services.rentals import rental_plans_seed_demo
from tests.dialects.conftest import Dialect, deliver_rent_sms, deliver_sms
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db


def refused(response, code: str) -> dict:
    body = response.json()
    assert body["success"] == 0 and body["type"] == code, body
    assert body["message"]
    return body


def buy(smspool, **params) -> dict:
    body = smspool.get("purchase/sms", country="US", service="Telegram", **params).json()
    assert body["success"] == 1, body
    return body


# --- transport --------------------------------------------------------------------------------


def test_balance_with_key_parameter_bearer_form_body_and_php_paths(smspool, raw_key, customer):
    assert smspool.get("request/balance").json() == {"balance": "10.00"}
    bearer = Dialect("/smspool/", raw_key, bearer=True)
    assert bearer.get("request/balance").json() == {"balance": "10.00"}
    assert smspool.post("request/balance").json() == {"balance": "10.00"}
    assert smspool.get("request/balance.php").json() == {"balance": "10.00"}
    assert smspool.get("request/balance/").json() == {"balance": "10.00"}


def test_a_missing_or_wrong_key_is_401_in_smspool_shape(db):
    anonymous = Dialect("/smspool/", None, bearer=False)
    response = anonymous.get("request/balance")
    assert response.status_code == 401
    refused(response, "BAD_KEY")
    wrong = Dialect("/smspool/", "x" * 40, bearer=False).get("request/balance")
    assert wrong.status_code == 401


def test_order_id_and_orderid_both_name_the_order(smspool, offer):
    order = buy(smspool)
    by_underscore = smspool.get("sms/check", order_id=order["order_id"]).json()
    by_plain = smspool.post("sms/check.php", orderid=order["order_id"]).json()
    assert by_underscore == by_plain and by_plain["status"] == 1
    numeric = Activation.objects.get(display_number=order["order_id"]).pk
    assert smspool.get("sms/check", orderid=str(numeric)).json()["order_id"] == order["order_id"]


# --- catalog and price ------------------------------------------------------------------------


def test_countries_and_services_need_no_key(offer):
    anonymous = Dialect("/smspool/", None, bearer=False)
    countries = anonymous.get("country/retrieve_all").json()
    assert {"ID": 2, "name": "United Kingdom", "short_name": "GB", "cc": "44", "region": ""} in (
        countries
    )
    assert {"ID": "RU", "name": "Russia", "short_name": "RU", "cc": "7", "region": ""} in countries
    in_stock = anonymous.get("service/retrieve_all", country="1").json()
    assert in_stock == [{"ID": "tg", "name": "Telegram"}]
    assert len(anonymous.get("service/retrieve_all").json()) > 50
    refused(anonymous.get("service/retrieve_all", country="Atlantis"), "BAD_COUNTRY")


def test_price_of_a_service_and_its_errors(smspool, offer):
    quoted = smspool.get("request/price", country="1", service="telegram", pool="2").json()
    assert quoted == {"success": 1, "price": "0.50", "high_price": "0.50", "stock": 10, "pool": 1}
    refused(smspool.get("request/price", country="US", service="WhatsApp"), "NO_NUMBERS")
    refused(smspool.get("request/price", country="US", service="nope"), "BAD_SERVICE")
    refused(smspool.get("request/price", service="tg"), "BAD_COUNTRY")


# --- purchase ---------------------------------------------------------------------------------


def test_purchase_answers_the_order_and_charges_once(smspool, offer, customer):
    order = buy(smspool, pool="Alpha")
    activation = Activation.objects.get(display_number=order["order_id"])
    assert order["number"] == activation.phone and order["cc"] == "1"
    assert order["number"] == "1" + order["phonenumber"]
    assert (order["cost"], order["cost_in_cents"]) == ("0.50", 50)
    assert order["country"] == "United States"
    assert 0 < order["expires_in"] <= 1200
    assert wallet_for_user(user=customer).balance == Decimal("9.50")


def test_purchase_errors(smspool, offer, customer):
    refused(
        smspool.get("purchase/sms", country="US", service="tg", max_price="0.10"), "WRONG_MAX_PRICE"
    )
    refused(
        smspool.get("purchase/sms", country="US", service="tg", max_price="abc"), "WRONG_MAX_PRICE"
    )
    refused(smspool.get("purchase/sms", country="US", service="wa"), "NO_NUMBERS")
    refused(smspool.get("purchase/sms", country="US", service="tg", quantity="0"), "BAD_DATA")
    for _ in range(20):
        smspool.get("purchase/sms", country="US", service="tg")
    refused(smspool.get("purchase/sms", country="US", service="tg"), "NO_BALANCE")
    assert Activation.objects.filter(user=customer).count() == 20


def test_purchase_of_several_numbers(smspool, offer):
    body = smspool.get("purchase/sms", country="US", service="tg", quantity="3").json()
    assert body["success"] == 1 and len(body["orders"]) == 3 and body["failed"] == []
    assert len({o["order_id"] for o in body["orders"]}) == 3


# --- one order --------------------------------------------------------------------------------


def test_check_resend_and_the_statuses(smspool, offer):
    order = buy(smspool)
    pending = smspool.get("sms/check", order_id=order["order_id"]).json()
    assert (pending["status"], pending["sms"], pending["full_sms"]) == (1, "0", "0")
    refused(smspool.get("sms/resend", order_id=order["order_id"]), "BAD_STATUS")
    deliver_sms(Activation.objects.get(display_number=order["order_id"]).pk, "777111")
    done = smspool.get("sms/check", order_id=order["order_id"]).json()
    assert (done["status"], done["sms"]) == (3, "777111")
    again = smspool.get("sms/resend", order_id=order["order_id"]).json()
    assert again == {"success": 1, "message": "Number has been requested again", "resend": 1}
    assert smspool.get("sms/check", order_id=order["order_id"]).json()["status"] == 4


def test_cancel_is_refused_early_then_refunds(smspool, offer, customer):
    order = buy(smspool)
    refused(smspool.get("sms/cancel", order_id=order["order_id"]), "EARLY_CANCEL_DENIED")
    with override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0):
        assert smspool.get("sms/cancel", order_id=order["order_id"]).json()["success"] == 1
    assert smspool.get("sms/check", order_id=order["order_id"]).json()["status"] == 5
    assert wallet_for_user(user=customer).balance == Decimal("10.00")


def test_another_customers_order_is_not_found(smspool, offer, other_key):
    order = buy(smspool)
    for endpoint in ("sms/check", "sms/resend", "sms/cancel"):
        body = refused(
            smspool.get(endpoint, key=other_key, order_id=order["order_id"]), "NO_ACTIVATION"
        )
        assert body["message"] == "Order not found."
    refused(smspool.get("sms/check"), "NO_ACTIVATION")
    assert smspool.get("request/active", key=other_key).json() == []


def test_active_and_history(smspool, offer):
    first, second = buy(smspool), buy(smspool)
    deliver_sms(Activation.objects.get(display_number=first["order_id"]).pk)
    active = smspool.get("request/active").json()
    assert [a["order_code"] for a in active] == [second["order_id"], first["order_id"]]
    assert [a["status"] for a in active] == ["pending", "completed"]
    assert active[1]["code"] == "123456" and active[0]["code"] == "0"
    history = smspool.get("request/history", start="1", length="1").json()
    assert [h["order_code"] for h in history] == [first["order_id"]]
    refused(smspool.get("request/history", length="500"), "BAD_DATA")


# --- rentals ----------------------------------------------------------------------------------


@pytest.fixture
def rentable(offer):
    rental_plans_seed_demo(country_ids=[187])


def test_rentals_offered_and_bought(smspool, rentable, customer):
    offered = Dialect("/smspool/", None, bearer=False).get("rental/retrieve_all").json()
    assert offered["1"]["name"] == "United States" and '"7":' in offered["1"]["pricing"]
    rented = smspool.get("purchase/rental", rental_id="1", days="1").json()
    rental = Rental.objects.get(display_number=rented["rental_code"])
    assert rented["phonenumber"] == rental.phone and rented["days"] == 1
    assert wallet_for_user(user=customer).balance == Decimal("10.00") - rental.price
    status = smspool.get("rental/retrieve_status", rental_code=rented["rental_code"]).json()
    assert status["status"]["available"] == 1 and status["status"]["state"] == "active"
    assert (
        smspool.get("rental/retrieve_messages", rental_code=rental.display_number).json()[
            "messages"
        ]
        == {}
    )
    deliver_rent_sms(rental)
    messages = smspool.get("rental/retrieve_messages", rental_code=rental.display_number).json()
    assert messages["messages"]["0"]["message"] == "Code 5555"


def test_rental_errors_and_refund(smspool, rentable, customer, other_key):
    refused(smspool.get("purchase/rental", rental_id="999", days="1"), "BAD_COUNTRY")
    refused(smspool.get("purchase/rental", rental_id="1", days="0"), "BAD_DATA")
    rented = smspool.get("purchase/rental", rental_id="1", days="1").json()
    code = rented["rental_code"]
    for endpoint in (
        "rental/retrieve_status",
        "rental/retrieve_messages",
        "rental/extend",
        "rental/refund",
    ):
        refused(smspool.get(endpoint, key=other_key, rental_code=code), "NO_ID_RENT")
    refused(smspool.get("rental/refund"), "NO_ID_RENT")
    extended = smspool.get("rental/extend.php", rental_code=code, days="1").json()
    assert extended["success"] == 1 and extended["expiry"] > rented["expiry"]
    assert smspool.get("rental/refund", rental_code=code).json()["success"] == 1
    assert Rental.objects.get(display_number=code).state == Rental.State.CANCELLED
    assert wallet_for_user(user=customer).balance == Decimal("10.00")


# --- limits -----------------------------------------------------------------------------------


@override_settings(SMSBOX_RATE_LIMIT_STANDARD=3)
def test_over_the_rate_limit_is_429_with_retry_after(smspool):
    with time_machine.travel(time.time() // 1, tick=False):  # one clock second
        answers = [smspool.get("request/balance") for _ in range(5)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    limited = answers[-1]
    assert limited.status_code == 429 and limited["Retry-After"] == "1"
    assert refused(limited, "RATE_LIMITED")["message"].endswith("3 requests per second.")


@override_settings(SMSBOX_FAILED_LIMIT=2)
def test_too_many_failed_requests_block_the_account(smspool):
    for _ in range(3):
        refused(smspool.get("sms/check", order_id="NOPE"), "NO_ACTIVATION")
    blocked = smspool.get("request/balance")
    assert blocked.status_code == 429
    refused(blocked, "ACCOUNT_BLOCKED")
