"""REST rentals: plans and quote, purchase, list, one, extend, auto-renew, cancel, finish,
messages; another customer's rental is not found."""

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from rentals.models import Rental
from rentals.services.rentals import rental_plans_seed_demo, rental_receive_sms
from tests.api.conftest import assert_error, fund
from tests.factories import ApiKeyFactory, OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(db):
    OfferFactory(cost=Decimal("0.50"), stock=10)
    rental_plans_seed_demo(country_ids=[187])


@pytest.fixture
def funded(customer, market):
    fund(customer, "100.00")
    return customer


def rent(client, **extra) -> dict:
    response = client.post(
        "/api/v1/rentals/", {"country": "US", "hours": 4, **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_plans_and_quote(client, market):
    plans = client.get("/api/v1/rental-plans/?country=US").json()
    assert {(p["unit"], p["length"], p["package"], p["price"]) for p in plans} >= {
        ("hours", 4, "", "1.00"),
        ("package", None, "1m", "15.00"),
    }
    quote = client.get("/api/v1/rental-plans/quote/?country=187&days=7").json()
    assert quote == {
        "country": 187,
        "service": None,
        "hours": 168,
        "package": None,
        "price": "8.00",
        "rule": "exact",
    }
    assert (
        client.get("/api/v1/rental-plans/quote/?country=us&package=1m").json()["price"] == "15.00"
    )
    assert_error(client.get("/api/v1/rental-plans/quote/?country=us&hours=2"), 400, "INVALID_TIME")
    assert_error(
        client.get("/api/v1/rental-plans/quote/?country=us&hours=5000"), 400, "MAX_HOURS_EXCEED"
    )
    assert_error(
        client.get("/api/v1/rental-plans/quote/?country=Russia&hours=4"), 409, "NO_NUMBERS"
    )


def test_purchase_list_and_detail(client, funded):
    rental = rent(client, autoRenew=False)
    assert rental["state"] == "active" and rental["phone"].isdigit()
    assert rental["price"] == "1.00" and rental["autoRenew"] is False
    assert client.get("/api/v1/wallet/").json()["balance"] == "99.00"
    assert client.get(f"/api/v1/rentals/{rental['id']}/").json()["id"] == rental["id"]
    by_number = client.get(f"/api/v1/rentals/{rental['displayNumber']}/").json()
    assert by_number["id"] == rental["id"]
    listed = client.get("/api/v1/rentals/?state=active").json()
    assert [r["id"] for r in listed["results"]] == [rental["id"]]
    assert_error(client.get("/api/v1/rentals/?state=lost"), 400, "INVALID_INPUT")


def test_purchase_by_days_and_idempotency(client, funded):
    first = rent(client, hours=None, days=1, orderId="r-1")
    again = rent(client, hours=None, days=1, orderId="r-1")
    assert again["id"] == first["id"] and first["hours"] == 24
    assert client.get("/api/v1/wallet/").json()["balance"] == "97.00"
    # rentDays, as seed 001 names it: the same as days
    assert rent(client, hours=None, rentDays=1, orderId="r-2")["hours"] == 24


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"country": "US", "hours": 2}, 400, "INVALID_TIME"),
        ({"country": "US"}, 400, "INVALID_TIME"),
        ({"country": "US", "days": 31}, 400, "INVALID_INPUT"),
        ({"country": "US", "rentDays": 31}, 400, "INVALID_INPUT"),
        ({"country": "US", "days": 1, "rentDays": 2}, 400, "INVALID_INPUT"),
        ({"country": "Atlantis", "hours": 4}, 400, "BAD_COUNTRY"),
        ({"country": "RU", "hours": 4}, 409, "NO_NUMBERS"),
    ],
)
def test_purchase_errors(client, funded, body, status, code):
    assert_error(client.post("/api/v1/rentals/", body, format="json"), status, code)


def test_purchase_without_money(client, market):
    response = client.post("/api/v1/rentals/", {"country": "US", "hours": 4}, format="json")
    assert_error(response, 402, "NO_BALANCE")


def test_extend_auto_renew_messages_and_finish(client, funded):
    rental = rent(client)
    url = f"/api/v1/rentals/{rental['id']}"
    extended = client.post(f"{url}/extend/", {"days": 1}, format="json").json()
    assert extended["expiresAt"] > rental["expiresAt"]
    assert client.get("/api/v1/wallet/").json()["balance"] == "96.00"
    off = client.post(f"{url}/auto-renew/", {"enabled": False}, format="json").json()
    assert off["autoRenew"] is False
    assert_error(client.post(f"{url}/auto-renew/", {}, format="json"), 400, "INVALID_INPUT")
    rental_receive_sms(
        rental=Rental.objects.get(pk=rental["id"]), text="Code 777888", sender="Bank"
    )
    messages = client.get(f"{url}/messages/").json()
    assert [m["text"] for m in messages["results"]] == ["Code 777888"]
    # all my SMS (seed 001) hold the rental's too
    [every] = client.get("/api/v1/messages/").json()["results"]
    assert (every["text"], every["rentalId"], every["activationId"]) == (
        "Code 777888",
        rental["id"],
        None,
    )
    assert_error(client.post(f"{url}/cancel/"), 409, "CANT_CANCEL")
    assert client.post(f"{url}/finish/").json()["state"] == "finished"
    assert_error(client.post(f"{url}/finish/"), 409, "ALREADY_FINISH")


def test_extending_an_ended_rental_orders_its_number_again(client, funded):
    rental = rent(client)
    url = f"/api/v1/rentals/{rental['id']}"
    client.post(f"{url}/finish/")

    response = client.post(f"{url}/extend/", {"days": 1}, format="json")

    assert response.status_code == 200, response.content
    again = response.json()
    assert again["id"] != rental["id"] and again["phone"] == rental["phone"]
    assert (again["state"], again["hours"], again["price"]) == ("active", 24, "3.00")
    assert client.get("/api/v1/wallet/").json()["balance"] == "96.00"
    # the number is held by the new rental now
    assert_error(client.post(f"{url}/extend/", {"hours": 4}, format="json"), 409, "RENT_DIE")
    assert client.get("/api/v1/wallet/").json()["balance"] == "96.00"


def test_cancel_refunds_then_not_again(client, funded):
    rental = rent(client)
    url = f"/api/v1/rentals/{rental['id']}"
    assert client.post(f"{url}/cancel/").json()["state"] == "cancelled"
    assert client.get("/api/v1/wallet/").json()["balance"] == "100.00"
    assert_error(client.post(f"{url}/cancel/"), 409, "ALREADY_CANCEL")


def test_cancel_after_the_window_is_refused(client, funded):
    rental = rent(client)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=21)):
        assert_error(client.post(f"/api/v1/rentals/{rental['id']}/cancel/"), 409, "CANT_CANCEL")


def test_another_customers_rental_is_not_found(client, funded):
    rental = rent(client)
    stranger = APIClient()
    stranger.credentials(HTTP_X_API_KEY=ApiKeyFactory().raw_key)
    for ident in (rental["id"], rental["displayNumber"]):
        url = f"/api/v1/rentals/{ident}"
        assert_error(stranger.get(f"{url}/"), 404, "NO_ID_RENT")
        assert_error(stranger.get(f"{url}/messages/"), 404, "NO_ID_RENT")
        for action in ("cancel", "finish"):
            assert_error(stranger.post(f"{url}/{action}/"), 404, "NO_ID_RENT")
        assert_error(
            stranger.post(f"{url}/extend/", {"hours": 4}, format="json"), 404, "NO_ID_RENT"
        )
        assert_error(
            stranger.post(f"{url}/auto-renew/", {"enabled": False}, format="json"),
            404,
            "NO_ID_RENT",
        )
    assert stranger.get("/api/v1/rentals/").json()["count"] == 0
    assert Rental.objects.get(pk=rental["id"]).state == "active"


def test_rentals_in_token_export_query_and_the_record_link(client, funded):
    from django.test import Client

    renewing = rent(client)
    plain = rent(client, autoRenew=False)
    rental_receive_sms(
        rental=Rental.objects.get(pk=plain["id"]), text="Your code is 424242", sender="Bank"
    )
    renewal = client.post("/api/v1/tokens/export/", {"scope": "renewal"}, format="json").json()
    assert renewal["count"] == 1 and renewal["lines"][0].startswith(renewing["phone"] + "----")
    everything = client.post("/api/v1/tokens/export/", {"scope": "all"}, format="json").json()
    assert everything["count"] == 2
    selected = client.post(
        "/api/v1/tokens/export/",
        {"scope": "selected", "ids": [plain["displayNumber"]]},
        format="json",
    ).json()
    assert selected["count"] == 1
    record_url = selected["lines"][0].split("----")[1]
    assert record_url.endswith(f"key={plain['apiBindingKey']}")
    found = client.post("/api/v1/tokens/query/", {"terms": [plain["phone"]]}, format="json").json()
    assert [(f["displayNumber"], f["latestCode"]) for f in found] == [
        (plain["displayNumber"], "424242")
    ]
    assert plain["recordUrl"] == record_url
    link = urlsplit(plain["recordUrl"])
    record = Client().get(link.path + "?" + link.query).json()
    assert record["state"] == "active" and record["latestCode"] == "424242"
    assert [m["text"] for m in record["messages"]] == ["Your code is 424242"]
    text = Client().get("/api/sms/record", {"key": plain["apiBindingKey"], "format": "txt"})
    assert text.content == b"YES|424242"
    waiting = Client().get("/api/sms/record", {"key": renewing["apiBindingKey"], "format": "txt"})
    assert waiting.content == b"NO|"
    stranger = APIClient()
    stranger.credentials(HTTP_X_API_KEY=ApiKeyFactory().raw_key)
    assert (
        stranger.post(
            "/api/v1/tokens/query/",
            {"terms": [plain["phone"], plain["apiBindingKey"]]},
            format="json",
        ).json()
        == []
    )
    assert (
        stranger.post(
            "/api/v1/tokens/export/",
            {"scope": "selected", "ids": [plain["displayNumber"]]},
            format="json",
        ).json()["count"]
        == 0
    )
