"""5sim's API on smsbox: every endpoint's success and error answers (plain text with 5sim's
HTTP statuses), ownership and the rate limit."""

import time
from decimal import Decimal

import pytest
import time_machine
from django.test import override_settings

from rentals.dialects.fivesim import HOSTING_BASE
from rentals.models import Activation, NumberBan, Rental
from rentals.services.rentals import rental_plans_seed_demo
from tests.dialects.conftest import Dialect, deliver_rent_sms, deliver_sms
from tests.factories import OfferFactory
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db


def refused(response, status: int, text: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == text


def buy(fivesim, country: str = "usa", product: str = "telegram") -> dict:
    response = fivesim.get(f"user/buy/activation/{country}/any/{product}")
    assert response.status_code == 200, response.content
    return response.json()


# --- the account ------------------------------------------------------------------------------


def test_profile_with_a_bearer_token(fivesim, customer):
    profile = fivesim.get("user/profile").json()
    assert (profile["id"], profile["email"], profile["balance"]) == (
        customer.pk,
        customer.email,
        10.0,
    )
    assert profile["frozen_balance"] == 0.0 and profile["rating"] == 100
    assert profile["default_operator"] == {"name": "any"}


def test_a_missing_or_wrong_token_is_401(db):
    refused(Dialect("/5sim/v1/", None, bearer=True).get("user/profile"), 401, "Unauthorized")
    refused(Dialect("/5sim/v1/", "x" * 40, bearer=True).get("user/profile"), 401, "Unauthorized")


# --- buying -----------------------------------------------------------------------------------


def test_buy_answers_the_order_and_charges_once(fivesim, offer, customer):
    order = buy(fivesim)
    activation = Activation.objects.get(pk=order["id"])
    assert order["phone"] == f"+{activation.phone}"
    assert (order["product"], order["country"], order["operator"]) == ("telegram", "usa", "any")
    assert (order["price"], order["status"], order["sms"]) == (0.5, "PENDING", [])
    assert order["expires"].endswith("Z") and order["created_at"] < order["expires"]
    assert wallet_for_user(user=customer).balance == Decimal("9.50")
    assert fivesim.get("user/profile").json()["frozen_balance"] == 0.5


def test_any_country_buys_where_the_product_is_cheapest(fivesim, offer):
    OfferFactory(cost=Decimal("0.20"), country=_country(16))
    assert buy(fivesim, country="any")["country"] == "england"


def _country(sms_activate_id: int):
    from providers.models import Country

    return Country.objects.get(sms_activate_id=sms_activate_id)


def test_buy_errors(fivesim, offer, customer):
    refused(fivesim.get("user/buy/activation/usa/any/whatsapp"), 400, "no free phones")
    refused(fivesim.get("user/buy/activation/atlantis/any/telegram"), 400, "bad country")
    refused(fivesim.get("user/buy/activation/usa/any/nothing"), 400, "no product")
    refused(fivesim.get("user/buy/activation/usa/any/telegram?maxPrice=0.1"), 400, "no free phones")
    refused(fivesim.get("user/buy/activation/usa/any/telegram?maxPrice=x"), 400, "bad maxPrice")
    for _ in range(20):
        buy(fivesim)
    refused(fivesim.get("user/buy/activation/usa/any/telegram"), 400, "not enough user balance")
    assert Activation.objects.filter(user=customer).count() == 20


# --- one order --------------------------------------------------------------------------------


def test_check_and_finish_with_a_code(fivesim, offer, customer):
    order = buy(fivesim)
    deliver_sms(order["id"], "909090")
    checked = fivesim.get(f"user/check/{order['id']}").json()
    assert checked["status"] == "RECEIVED"
    assert [(s["code"], s["text"]) for s in checked["sms"]] == [
        ("909090", "Your Telegram code is 909090")
    ]
    finished = fivesim.get(f"user/finish/{order['id']}").json()
    assert finished["status"] == "FINISHED"
    refused(fivesim.get(f"user/cancel/{order['id']}"), 400, "order has sms")
    refused(fivesim.get(f"user/finish/{order['id']}"), 400, "order is not active")
    assert wallet_for_user(user=customer).balance == Decimal("9.50")


def test_cancel_is_refused_early_then_refunds(fivesim, offer, customer):
    order = buy(fivesim)
    refused(fivesim.get(f"user/cancel/{order['id']}"), 400, "you need to wait time")
    with override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0):
        assert fivesim.get(f"user/cancel/{order['id']}").json()["status"] == "CANCELED"
    assert wallet_for_user(user=customer).balance == Decimal("10.00")


@override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0)
def test_ban_cancels_refunds_and_never_sells_the_number_again(fivesim, offer, customer):
    order = buy(fivesim)
    banned = fivesim.get(f"user/ban/{order['id']}").json()
    assert banned["status"] == "BANNED"
    assert fivesim.get(f"user/check/{order['id']}").json()["status"] == "BANNED"
    activation = Activation.objects.get(pk=order["id"])
    assert NumberBan.objects.filter(user=customer, phone=activation.phone).exists()
    assert wallet_for_user(user=customer).balance == Decimal("10.00")


def test_another_customers_order_is_not_found(fivesim, offer, other_key):
    order = buy(fivesim)
    for action in ("check", "finish", "cancel", "ban", "sms/inbox"):
        refused(fivesim.get(f"user/{action}/{order['id']}", key=other_key), 404, "order not found")
    refused(fivesim.get("user/check/nonsense"), 404, "order not found")
    refused(fivesim.get(f"user/check/{HOSTING_BASE + 5}"), 404, "order not found")
    assert fivesim.get("user/orders", key=other_key).json()["Total"] == 0


def test_orders_and_payments(fivesim, offer):
    first, second = buy(fivesim), buy(fivesim)
    history = fivesim.get("user/orders?category=activation&limit=1").json()
    assert [o["id"] for o in history["Data"]] == [second["id"]] and history["Total"] == 2
    oldest = fivesim.get("user/orders?reverse=true&limit=1").json()
    assert [o["id"] for o in oldest["Data"]] == [first["id"]]
    assert history["ProductNames"] == [{"Name": "telegram"}]
    refused(fivesim.get("user/orders?category=other"), 400, "bad category")
    refused(fivesim.get("user/orders?limit=x"), 400, "bad limit or offset")
    payments = fivesim.get("user/payments").json()
    assert [(p["TypeName"], p["Amount"]) for p in payments["Data"]] == [
        ("charge", -0.5),
        ("charge", -0.5),
        ("deposit", 10.0),
    ]
    assert payments["Data"][0]["Balance"] == 9.0 and payments["Total"] == 3


# --- hosting (long-term rentals) --------------------------------------------------------------


def test_hosting_is_bought_read_and_finished(fivesim, offer, customer):
    rental_plans_seed_demo(country_ids=[187])
    response = fivesim.get("user/buy/hosting/usa/any/1day")
    assert response.status_code == 200, response.content
    order = response.json()
    rental = Rental.objects.get(pk=order["id"] - HOSTING_BASE)
    assert (order["product"], order["status"], order["phone"]) == (
        "1day",
        "RECEIVED",
        f"+{rental.phone}",
    )
    deliver_rent_sms(rental)
    inbox = fivesim.get(f"user/sms/inbox/{order['id']}").json()
    assert inbox["Total"] == 1 and inbox["Data"][0]["text"] == "Code 5555"
    refused(fivesim.get(f"user/ban/{order['id']}"), 400, "hosting order")
    assert fivesim.get(f"user/finish/{order['id']}").json()["status"] == "FINISHED"
    hosting = fivesim.get("user/orders?category=hosting").json()
    assert [o["id"] for o in hosting["Data"]] == [order["id"]]
    refused(fivesim.get("user/buy/hosting/usa/any/3hours"), 400, "no product")  # < 4 hours
    refused(fivesim.get("user/buy/hosting/any/any/1day"), 400, "bad country")


# --- guest endpoints --------------------------------------------------------------------------


def test_products_prices_and_countries_need_no_token(offer):
    rental_plans_seed_demo(country_ids=[187])
    guest = Dialect("/5sim/v1/", None, bearer=True)
    products = guest.get("guest/products/usa/any").json()
    assert products["telegram"] == {"Category": "activation", "Qty": 10, "Price": 0.5}
    assert products["1day"]["Category"] == "hosting"
    assert guest.get("guest/products/any/any").json()["telegram"]["Qty"] == 10
    refused(guest.get("guest/products/atlantis/any"), 400, "bad country")
    line = {"any": {"cost": 0.5, "count": 10, "rate": 0}}
    assert guest.get("guest/prices").json() == {"usa": {"telegram": line}}
    assert guest.get("guest/prices?product=telegram").json() == {"telegram": {"usa": line}}
    assert guest.get("guest/prices?country=usa&product=telegram").json() == {
        "usa": {"telegram": line}
    }
    refused(guest.get("guest/prices?product=nothing"), 400, "no product")
    countries = guest.get("guest/countries").json()
    assert countries["england"] == {
        "iso": {"gb": 1},
        "prefix": {"+44": 1},
        "text_en": "United Kingdom",
        "text_ru": "Великобритания",
    }


# --- limits -----------------------------------------------------------------------------------


@override_settings(SMSBOX_RATE_LIMIT_STANDARD=3)
def test_over_the_rate_limit_is_429_with_retry_after(fivesim):
    with time_machine.travel(time.time() // 1, tick=False):  # one clock second
        answers = [fivesim.get("user/profile") for _ in range(5)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    refused(answers[-1], 429, "api limit is 3 requests per second")
    assert answers[-1]["Retry-After"] == "1"


@override_settings(SMSBOX_FAILED_LIMIT=2)
def test_too_many_failed_requests_block_the_account(fivesim):
    for _ in range(3):
        refused(fivesim.get("user/check/999"), 404, "order not found")
    refused(
        fivesim.get("user/profile"), 429, "too many failed requests, account blocked for a while"
    )
