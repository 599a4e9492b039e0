"""REST activation endpoints: purchase, batch, list, detail by id or display number, actions,
messages; another customer's activation is not found anywhere."""

from decimal import Decimal

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from rentals.models import Activation
from rentals.services import activation_receive_sms
from tests.api.conftest import assert_error, fund
from tests.factories import ApiKeyFactory, OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(db):
    return OfferFactory(cost=Decimal("0.50"), stock=10)


@pytest.fixture
def funded(customer, offer):
    fund(customer, "10.00")
    return customer


def buy(client, **extra) -> dict:
    response = client.post(
        "/api/v1/activations/", {"service": "Telegram", "country": "us", **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def sms(activation_id: int, text: str = "Your Telegram code is 123456") -> None:
    activation = Activation.objects.get(pk=activation_id)
    activation_receive_sms(
        provider=activation.provider, upstream_id=activation.upstream_id, text=text
    )


def test_purchase_answers_the_activation(client, funded):
    body = buy(client)
    assert body["service"] == "tg" and body["country"] == 187
    assert body["status"] == 1 and body["statusLabel"] == "pending"
    assert body["price"] == "0.50" and body["phone"].isdigit()
    assert body["available_actions"] == ["ready", "skip"]
    assert 0 < body["cooldowns"]["cancel"] <= 120
    assert body["recordUrl"].endswith(f"key={body['apiBindingKey']}")
    assert client.get("/api/v1/wallet/").json()["balance"] == "9.50"


def test_purchase_is_idempotent_by_header_and_by_order_id(client, funded):
    first = client.post(
        "/api/v1/activations/",
        {"service": "tg", "country": "187"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    ).json()
    again = client.post(
        "/api/v1/activations/",
        {"service": "tg", "country": "187"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    ).json()
    assert again["id"] == first["id"]
    assert buy(client, orderId="o-1")["id"] == buy(client, orderId="o-1")["id"]
    assert client.get("/api/v1/wallet/").json()["balance"] == "9.00"
    response = client.post(
        "/api/v1/activations/", {"service": "wa", "country": "187", "orderId": "o-1"}, format="json"
    )
    assert_error(response, 409, "ORDER_ALREADY_EXISTS")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"service": "tg"}, 400, "INVALID_INPUT"),
        ({"service": "nope", "country": "US"}, 400, "BAD_SERVICE"),
        ({"service": "tg", "country": "Atlantis"}, 400, "BAD_COUNTRY"),
        ({"service": "wa", "country": "US"}, 409, "NO_NUMBERS"),
        ({"service": "tg", "country": "US", "maxPrice": "0.10"}, 409, "WRONG_MAX_PRICE"),
        ({"service": "tg", "country": "US", "maxPrice": "-1"}, 400, "INVALID_INPUT"),
    ],
)
def test_purchase_errors(client, funded, body, status, code):
    error = assert_error(client.post("/api/v1/activations/", body, format="json"), status, code)
    if code == "WRONG_MAX_PRICE":
        assert error["details"]["min_price"] == "0.50"


def test_purchase_without_money_is_402(client, offer):
    response = client.post(
        "/api/v1/activations/", {"service": "tg", "country": "US"}, format="json"
    )
    assert_error(response, 402, "NO_BALANCE")


def test_batch_purchase_reports_each_item(client, customer, offer):
    fund(customer, "1.00")
    response = client.post(
        "/api/v1/activations/batch/",
        {"service": "tg", "country": "US", "quantity": 3},
        format="json",
    )
    body = response.json()
    assert (body["successCount"], body["failedCount"]) == (2, 1)
    assert body["items"][2] == {
        "ok": False,
        "activation": None,
        "error": {"code": "NO_BALANCE", "message": body["items"][2]["error"]["message"]},
    }
    bad = client.post(
        "/api/v1/activations/batch/",
        {"service": "tg", "country": "US", "quantity": 51},
        format="json",
    )
    assert_error(bad, 400, "INVALID_INPUT")


def test_detail_by_id_and_by_display_number(client, funded):
    bought = buy(client)
    assert client.get(f"/api/v1/activations/{bought['id']}/").json()["id"] == bought["id"]
    by_number = client.get(f"/api/v1/activations/{bought['displayNumber'].lower()}/")
    assert by_number.json()["id"] == bought["id"]
    assert_error(client.get("/api/v1/activations/99999999/"), 404, "NO_ACTIVATION")
    assert_error(client.get("/api/v1/activations/NOPE/"), 404, "NO_ACTIVATION")


def test_detail_is_one_query_after_the_key_check(client, funded, django_assert_max_num_queries):
    bought = buy(client)
    client.get(f"/api/v1/activations/{bought['id']}/")  # the key check is cached now
    with django_assert_max_num_queries(1):
        assert client.get(f"/api/v1/activations/{bought['id']}/").status_code == 200


def test_list_filters_and_pagination(client, funded):
    first, second = buy(client), buy(client)
    sms(first["id"])
    body = client.get("/api/v1/activations/?pageSize=1").json()
    assert body["count"] == 2 and [a["id"] for a in body["results"]] == [second["id"]]
    assert [
        a["id"] for a in client.get("/api/v1/activations/?state=received").json()["results"]
    ] == [first["id"]]
    assert client.get("/api/v1/activations/?state=1").json()["count"] == 1
    # status: the same filter, by the name of the field that shows the code (seed 001)
    pending = client.get("/api/v1/activations/?status=1").json()["results"]
    assert [a["id"] for a in pending] == [second["id"]] and pending[0]["status"] == 1
    assert client.get("/api/v1/activations/?status=received&state=received").json()["count"] == 1
    assert_error(client.get("/api/v1/activations/?state=1&status=3"), 400, "INVALID_FILTER")
    assert client.get("/api/v1/activations/?service=telegram&country=US").json()["count"] == 2
    assert client.get("/api/v1/activations/?service=wa").json()["count"] == 0
    today = timezone.localdate().isoformat()
    assert client.get(f"/api/v1/activations/?date={today}").json()["count"] == 2
    assert client.get("/api/v1/activations/?date=2001-01-01").json()["count"] == 0
    assert_error(client.get("/api/v1/activations/?state=lost"), 400, "INVALID_FILTER")
    assert_error(client.get("/api/v1/activations/?date=yesterday"), 400, "INVALID_FILTER")
    assert_error(client.get("/api/v1/activations/?country=Atlantis"), 400, "BAD_COUNTRY")


def test_actions_answer_the_updated_activation(client, funded):
    bought = buy(client)
    url = f"/api/v1/activations/{bought['id']}"
    ready = client.post(f"{url}/ready/").json()
    assert (
        ready["ready"] is True
        and ready["status"] == 8
        and "ready" not in ready["available_actions"]
    )
    assert_error(client.post(f"{url}/resend/"), 409, "BAD_STATUS")
    sms(bought["id"])
    received = client.get(f"{url}/").json()
    assert received["latestCode"] == "123456"
    assert set(received["available_actions"]) >= {"resend", "finish"}
    resent = client.post(f"{url}/resend/").json()
    assert resent["statusLabel"] == "resend" and resent["cooldowns"]["resend"] > 0
    assert "resend" not in resent["available_actions"]
    sms(bought["id"], "Your Telegram code is 654321")
    assert_error(client.post(f"{url}/resend/"), 409, "RESEND_COOLDOWN")
    finished = client.post(f"{url}/finish/").json()
    assert finished["state"] == "completed" and finished["latestCode"] == "654321"
    assert_error(client.post(f"{url}/cancel/"), 409, "BAD_STATUS")


def test_cancel_is_refused_early_then_refunds(client, funded):
    bought = buy(client)
    url = f"/api/v1/activations/{bought['id']}"
    assert_error(client.post(f"{url}/cancel/"), 409, "EARLY_CANCEL_DENIED")
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=3)):
        cancelled = client.post(f"{url}/cancel/").json()
    assert cancelled["statusLabel"] == "cancelled" and cancelled["available_actions"] == ["skip"]
    assert client.get("/api/v1/wallet/").json()["balance"] == "10.00"


@override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0)
def test_replace_answers_the_new_activation(client, funded):
    bought = buy(client)
    replaced = client.post(f"/api/v1/activations/{bought['id']}/replace/").json()
    assert replaced["id"] != bought["id"] and replaced["phone"] != bought["phone"]
    old = client.get(f"/api/v1/activations/{bought['id']}/").json()
    assert old["statusLabel"] == "cancelled"


def test_skip_and_reuse(client, funded):
    from rentals.services.activations import activation_upstream_close

    bought = buy(client)
    skipped = client.post(f"/api/v1/activations/{bought['id']}/skip/").json()
    assert skipped["id"] == bought["id"]
    assert_error(
        client.post(f"/api/v1/activations/{bought['id']}/reuse/"),
        409,
        "RENEW_ACTIVATION_NOT_AVAILABLE",
    )
    sms(bought["id"])
    client.post(f"/api/v1/activations/{bought['id']}/finish/")
    activation_upstream_close(activation_id=bought["id"], action="finish")
    reused = client.post(f"/api/v1/activations/{bought['id']}/reuse/").json()
    assert reused["id"] != bought["id"] and reused["phone"] == bought["phone"]


def test_messages_of_one_and_of_all(client, funded):
    first, second = buy(client), buy(client)
    sms(first["id"])
    sms(second["id"], "Telegram code 55555")
    messages = client.get(f"/api/v1/activations/{first['id']}/messages/").json()
    assert [m["code"] for m in messages["results"]] == ["123456"]
    everything = client.get("/api/v1/messages/").json()
    assert [m["activationId"] for m in everything["results"]] == [second["id"], first["id"]]


def test_another_customers_activation_is_not_found_everywhere(client, funded):
    bought = buy(client)
    sms(bought["id"])
    stranger = APIClient()
    stranger.credentials(HTTP_X_API_KEY=ApiKeyFactory().raw_key)
    for ident in (bought["id"], bought["displayNumber"]):
        url = f"/api/v1/activations/{ident}"
        assert_error(stranger.get(f"{url}/"), 404, "NO_ACTIVATION")
        assert_error(stranger.get(f"{url}/messages/"), 404, "NO_ACTIVATION")
        for action in ("ready", "resend", "finish", "cancel", "replace", "reuse", "skip"):
            assert_error(stranger.post(f"{url}/{action}/"), 404, "NO_ACTIVATION")
    assert stranger.get("/api/v1/activations/").json()["count"] == 0
    assert stranger.get("/api/v1/messages/").json()["count"] == 0
    query = stranger.post(
        "/api/v1/tokens/query/",
        {"terms": [bought["apiBindingKey"], bought["phone"], bought["displayNumber"]]},
        format="json",
    )
    assert query.json() == []
    export = stranger.post(
        "/api/v1/tokens/export/", {"scope": "selected", "ids": [str(bought["id"])]}, format="json"
    )
    assert export.json()["count"] == 0
    assert (
        stranger.post("/api/v1/tokens/export/", {"scope": "all"}, format="json").json()["count"]
        == 0
    )
    assert Activation.objects.get(pk=bought["id"]).state == "received"


def test_token_export_scopes(client, funded):
    first, second = buy(client), buy(client)
    sms(first["id"])
    client.post(f"/api/v1/activations/{first['id']}/finish/")
    export = client.post("/api/v1/tokens/export/", {"scope": "all"}, format="json").json()
    assert export["count"] == 2
    assert export["lines"][0] == f"{second['phone']}----{second['recordUrl']}"
    assert export["text"] == "\n".join(export["lines"])
    as_text = client.post(
        "/api/v1/tokens/export/", {"scope": "all", "format": "txt"}, format="json"
    )
    assert as_text["Content-Type"].startswith("text/plain")
    assert as_text.content.decode().split("\n") == export["lines"]
    assert_error(
        client.post("/api/v1/tokens/export/", {"scope": "all", "format": "csv"}, format="json"),
        400,
        "INVALID_INPUT",
    )
    current = client.post("/api/v1/tokens/export/", {"scope": "current"}, format="json").json()
    assert current["lines"] == [f"{second['phone']}----{second['recordUrl']}"]
    selected = client.post(
        "/api/v1/tokens/export/",
        {"scope": "selected", "ids": [first["displayNumber"]]},
        format="json",
    ).json()
    assert selected["count"] == 1 and selected["lines"][0].startswith(first["phone"])
    assert (
        client.post("/api/v1/tokens/export/", {"scope": "renewal"}, format="json").json()["count"]
        == 0
    )
    assert_error(
        client.post("/api/v1/tokens/export/", {"scope": "some"}, format="json"),
        400,
        "INVALID_INPUT",
    )


def test_token_query_by_key_or_number(client, funded):
    bought = buy(client)
    sms(bought["id"])
    by_key = client.post(
        "/api/v1/tokens/query/", {"terms": [bought["apiBindingKey"]]}, format="json"
    ).json()
    assert by_key == [
        {
            "phone": bought["phone"],
            "apiBindingKey": bought["apiBindingKey"],
            "displayNumber": bought["displayNumber"],
            "latestCode": "123456",
            "status": 3,
            "statusLabel": "completed",
            "recordUrl": bought["recordUrl"],
        }
    ]
    by_phone = client.post(
        "/api/v1/tokens/query/", {"terms": ["+" + bought["phone"]]}, format="json"
    ).json()
    assert [r["displayNumber"] for r in by_phone] == [bought["displayNumber"]]
    assert_error(
        client.post("/api/v1/tokens/query/", {"terms": []}, format="json"), 400, "INVALID_INPUT"
    )


def test_detail_and_status_without_postgresql_take_the_orm_path(client, funded, monkeypatch):
    from django.db import connection

    from rentals.selectors import activation_status_for_user

    bought = buy(client)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert client.get(f"/api/v1/activations/{bought['id']}/").json()["price"] == "0.50"
    status = activation_status_for_user(
        user=Activation.objects.get(pk=bought["id"]).user, activation_id=bought["id"]
    )
    assert status.state == "waiting"
