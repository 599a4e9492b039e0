"""REST: POST/GET /api/v1/wallet/top-ups/, /{id}/ and /api/v1/payment-methods/, with errors in
the one error body."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import assert_error
from tests.factories import ApiKeyFactory, UserFactory
from wallets.models import TopUp

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return UserFactory()


@pytest.fixture
def api(customer) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=ApiKeyFactory(user=customer).raw_key)
    return client


def create(api, **data):
    body = {"amount": "25.00", "processor": "sandbox", "payCurrency": "USDT", **data}
    return api.post("/api/v1/wallet/top-ups/", body, format="json")


def test_create_answers_the_invoice_to_pay(api, sandbox):
    response = create(api)

    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("status", "amount", "processor", "payCurrency")} == {
        "status": "pending",
        "amount": "25.00",
        "processor": "sandbox",
        "payCurrency": "USDT",
    }
    assert body["paymentUrl"].startswith("http://testserver/payments/sandbox/sbx_")
    assert body["expiresAt"] and body["id"] == TopUp.objects.get().pk


def test_create_through_cryptomus_goes_to_the_processor(api, cryptomus, fake_cryptomus):
    body = create(api, processor="cryptomus", amount="10").json()

    sent = fake_cryptomus.requests[-1].json()
    assert sent["url_callback"] == "http://testserver/payments/cryptomus/callback"
    assert body["paymentUrl"].startswith("https://pay.cryptomus.com/pay/")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"amount": "0"}, "INVALID_AMOUNT"),
        ({"amount": "-5"}, "INVALID_AMOUNT"),
        ({"amount": 0.1 + 0.2}, "INVALID_AMOUNT"),
        ({"amount": "10.001"}, "INVALID_AMOUNT"),
        ({"amount": "ten"}, "INVALID_AMOUNT"),
        ({"amount": "0.50"}, "TOP_UP_AMOUNT_OUT_OF_RANGE"),
        ({"amount": "100000"}, "TOP_UP_AMOUNT_OUT_OF_RANGE"),
        ({"processor": "nope"}, "UNKNOWN_PROCESSOR"),
        ({"payCurrency": "DOGE"}, "UNKNOWN_CURRENCY"),
        ({"amount": None}, "INVALID_INPUT"),
    ],
)
def test_bad_input_is_a_400_and_creates_nothing(api, sandbox, data, code):
    assert_error(create(api, **data), 400, code)
    assert not TopUp.objects.exists()


def test_a_processor_that_refuses_leaves_a_failed_top_up(api, cryptomus):
    cryptomus.api_key = "wrong"
    cryptomus.save()

    assert_error(create(api, processor="cryptomus"), 502, "PAYMENT_PROCESSOR_REFUSED")
    assert TopUp.objects.get().status == "failed"


def test_the_sandbox_is_not_offered_when_refused(api, sandbox, settings):
    settings.SMSBOX_SANDBOX_PAYMENTS = False

    assert_error(create(api), 400, "UNKNOWN_PROCESSOR")
    assert api.get("/api/v1/payment-methods/").json() == []


def test_list_and_detail_are_the_customers_own(api, sandbox):
    mine = create(api).json()
    other = APIClient()
    other.credentials(HTTP_X_API_KEY=ApiKeyFactory().raw_key)
    theirs = create(other).json()

    listed = api.get("/api/v1/wallet/top-ups/").json()

    assert [t["id"] for t in listed["results"]] == [mine["id"]]
    assert api.get(f"/api/v1/wallet/top-ups/{mine['id']}/").json()["id"] == mine["id"]
    assert_error(api.get(f"/api/v1/wallet/top-ups/{theirs['id']}/"), 404, "TOP_UP_NOT_FOUND")
    assert_error(api.get("/api/v1/wallet/top-ups/abc/"), 404, "TOP_UP_NOT_FOUND")


def test_payment_methods_list_enabled_processors_currencies_and_limits(api, sandbox, cryptomus):
    cryptomus.currencies = ["USDT", "TRX"]
    cryptomus.save()

    methods = api.get("/api/v1/payment-methods/").json()

    assert methods == [
        {
            "processor": "cryptomus",
            "kind": "cryptomus",
            "label": "Cryptomus",
            "currencies": ["USDT", "TRX"],
            "min": "1.00",
            "max": "5000.00",
            "currency": "USD",
        },
        {
            "processor": "sandbox",
            "kind": "sandbox",
            "label": "Sandbox (local, for demos)",
            "currencies": ["USDT", "BTC"],
            "min": "1.00",
            "max": "5000.00",
            "currency": "USD",
        },
    ]


def test_without_credentials_the_endpoints_are_401():
    anonymous = APIClient()

    assert_error(anonymous.get("/api/v1/payment-methods/"), 401, "NOT_AUTHENTICATED")
    assert_error(anonymous.post("/api/v1/wallet/top-ups/", {}), 401, "NOT_AUTHENTICATED")


def test_the_schema_documents_the_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert {
        "/api/v1/wallet/top-ups/",
        "/api/v1/wallet/top-ups/{top_up_id}/",
        "/api/v1/payment-methods/",
    } <= set(schema["paths"])
    assert "201" in schema["paths"]["/api/v1/wallet/top-ups/"]["post"]["responses"]
