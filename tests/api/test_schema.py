"""The OpenAPI document: drf-spectacular's validation passes, every operation documents
examples and its errors, the UI is served without a CDN, and property-based fuzzing of the
REST API from the schema (schemathesis) against a live server finds no 5xx."""

from decimal import Decimal

import pytest
import schemathesis
from django.core.management import call_command
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings

from apikeys.api import login_token_issue
from apikeys.models import ApiKey
from providers.catalog import catalog_load
from smsbox.models import User
from tests.factories import ApiKeyFactory, OfferFactory, UserFactory
from wallets.services import wallet_deposit, wallet_get_or_create

RAW_SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (path, method, operation)
    for path, item in RAW_SCHEMA["paths"].items()
    for method, operation in item.items()
]
# The client dialects (rentals.dialects) answer errors in their own shapes, not the REST body.
DIALECT_TAGS = {"SMSPool", "5sim"}
REST_OPERATIONS = [op for op in OPERATIONS if not DIALECT_TAGS & set(op[2].get("tags", []))]
DIALECT_OPERATIONS = [op for op in OPERATIONS if DIALECT_TAGS & set(op[2].get("tags", []))]
DIALECT_LISTS_WITHOUT_ERRORS = {  # public lists that take no parameter and refuse nothing
    "/smspool/country/retrieve_all",
    "/smspool/rental/retrieve_all",
    "/5sim/v1/guest/countries",
}


def test_spectacular_validation_passes_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
    assert (tmp_path / "s.yaml").read_text().startswith("openapi: 3")


def test_every_issue_path_is_documented():
    paths = set(RAW_SCHEMA["paths"])
    for expected in [
        "/api/v1/countries/",
        "/api/v1/services/",
        "/api/v1/operators/",
        "/api/v1/number-types/",
        "/api/v1/market/",
        "/api/v1/quote/",
        "/api/v1/activations/",
        "/api/v1/activations/batch/",
        "/api/v1/activations/{ident}/",
        "/api/v1/activations/{ident}/cancel/",
        "/api/v1/activations/{ident}/messages/",
        "/api/v1/messages/",
        "/api/v1/wallet/",
        "/api/v1/wallet/transactions/",
        "/api/v1/webhook/",
        "/api/v1/webhook/deliveries/",
        "/api/v1/tokens/export/",
        "/api/v1/tokens/query/",
        "/api/v1/api-keys/",
        "/api/v1/auth/token",
        "/api/sms/record",
    ]:
        assert expected in paths


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    REST_OPERATIONS,
    ids=[f"{m} {p}" for p, m, _ in REST_OPERATIONS],
)
def test_every_operation_has_examples_and_error_codes(path, method, operation):
    responses = operation["responses"]
    errors = {status: r for status, r in responses.items() if status.startswith("4")}
    assert errors, "no error responses documented"
    for response in errors.values():
        examples = response["content"]["application/json"]["examples"]
        assert examples and all("error" in e["value"] for e in examples.values())
    success = [r for status, r in responses.items() if status.startswith("2")]
    assert any(
        "examples" in content for r in success for content in r.get("content", {}).values()
    ), "no success example"
    if "requestBody" in operation:
        assert any("examples" in c for c in operation["requestBody"]["content"].values())


def test_each_dialect_is_documented_under_its_own_tag():
    tags = {(op["tags"][0], path.split("/")[1]) for path, _, op in DIALECT_OPERATIONS}
    assert tags == {("SMSPool", "smspool"), ("5sim", "5sim")}
    paths = {path for path, _, _ in DIALECT_OPERATIONS}
    assert {"/smspool/purchase/sms", "/smspool/rental/refund", "/5sim/v1/user/profile",
            "/5sim/v1/user/buy/activation/{country}/{operator}/{product}",
            "/5sim/v1/guest/prices"} <= paths  # fmt: skip
    assert not any(path.endswith(".php") for path in paths)  # the twins are not listed twice


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    DIALECT_OPERATIONS,
    ids=[f"{m} {p}" for p, m, _ in DIALECT_OPERATIONS],
)
def test_every_dialect_operation_shows_its_answers_in_the_dialects_shape(path, method, operation):
    responses = operation["responses"]
    success = responses["200"]["content"]["application/json"]["examples"]
    assert "Success" in success
    errors = [(s, r) for s, r in responses.items() if s.startswith(("4", "5"))]
    refusals_with_200 = [name for name in success if name != "Success"]  # SMSPool's way
    if path not in DIALECT_LISTS_WITHOUT_ERRORS:
        assert errors or refusals_with_200, "no refusal documented"
    for _, response in errors:
        for media, content in response["content"].items():
            for example in content["examples"].values():
                if path.startswith("/smspool/"):
                    assert media == "application/json" and example["value"]["success"] == 0
                else:
                    assert media == "text/plain" and isinstance(example["value"], str)
    for name, example in success.items():
        if path.startswith("/smspool/") and name != "Success":  # a refusal answered with 200
            assert example["value"]["success"] == 0


@pytest.mark.django_db
def test_schema_and_swagger_ui_are_served_without_a_cdn():
    schema = Client().get("/api/schema/")
    assert schema.status_code == 200 and b"openapi: 3" in schema.content
    docs = Client().get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
    assert "cdn" not in html.lower()


# --- fuzzing the live REST API from its schema ------------------------------------------------

schema = schemathesis.openapi.from_dict(RAW_SCHEMA)


@pytest.fixture
def credentials(live_server):
    """A business account (no request limit) with money, an offer, an API key and a login
    token, so that the fuzzer reaches the views rather than the authentication."""
    catalog_load()
    user = UserFactory(tier=User.Tier.BUSINESS)
    wallet_deposit(
        wallet=wallet_get_or_create(user=user),
        amount=Decimal("100"),
        idempotency_key=f"fuzz:{user.pk}",
    )
    OfferFactory(cost=Decimal("0.50"), stock=100)
    return {
        "user": user,
        "base_url": live_server.url,
        "headers": {
            "X-API-Key": ApiKeyFactory(user=user).raw_key,
            "Authorization": f"Bearer {login_token_issue(user=user)}",
        },
    }


@pytest.mark.django_db(transaction=True)
def test_fuzzing_finds_no_server_error(credentials):
    """Every operation, a bounded number of generated cases each, in one live server."""
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case):
            response = case.call(
                base_url=credentials["base_url"], headers=credentials["headers"], timeout=10
            )
            assert response.status_code < 500, (case.method, case.path, response.text[:500])

        no_server_error()


# --- stateful: the OpenAPI links chain the calls ----------------------------------------------


def test_the_creating_operations_link_to_what_can_be_done_next():
    responses = RAW_SCHEMA["paths"]["/api/v1/activations/"]["post"]["responses"]
    links = responses["201"]["links"]
    assert links["GetActivation"] == {
        "operationId": "activations_retrieve",
        "parameters": {"ident": "$response.body#/id"},
    }
    assert {"CancelActivation", "FinishActivation"} <= set(links)
    rentals = RAW_SCHEMA["paths"]["/api/v1/rentals/"]["post"]["responses"]["201"]["links"]
    assert {"GetRental", "ExtendRental"} <= set(rentals)
    keys = RAW_SCHEMA["paths"]["/api/v1/api-keys/"]["post"]["responses"]["201"]["links"]
    assert {"RegenerateApiKey", "RevokeApiKey"} <= set(keys)
    assert (
        "WebhookDeliveries"
        in RAW_SCHEMA["paths"]["/api/v1/webhook/"]["put"]["responses"]["200"]["links"]
    )


def _ids_out_of_reach() -> None:
    """New orders, keys and top-ups get ids from 10^9: a made-up id is never a real one, so an
    answer depends on the scenario's own calls alone, as hypothesis requires of a replay."""
    from django.db import connection

    tables = ["rentals_activation", "rentals_rental", "apikeys_apikey", "wallets_topup"]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), 1000000000, false)", [table]
            )


VALID_ORDERS = {
    ("POST", "/api/v1/activations/"): {"service": "tg", "country": "187", "maxPrice": "5"},
    ("POST", "/api/v1/rentals/"): {"country": "187", "hours": 4, "days": None, "package": ""},
}


@pytest.mark.django_db(transaction=True)
def test_stateful_fuzzing_along_the_links_finds_no_server_error(credentials):
    """schemathesis' state machine: sequences of calls where a created activation, rental or
    API key is then fetched, cancelled, finished, extended, regenerated … by its id."""
    from tests.rentals.rental_support import rent_simulator, usa_plans

    _ids_out_of_reach()
    rent_simulator(stock=100_000)
    usa_plans()
    OfferFactory(cost=Decimal("0.50"), stock=100_000)
    wallet = wallet_get_or_create(user=credentials["user"])
    wallet_deposit(wallet=wallet, amount=Decimal("100000"), idempotency_key="stateful:funds")
    seen: set[tuple[str, str, int]] = set()

    user = credentials["user"]

    # The REST API (the dialects' own calls are fuzzed above, one by one).
    rest = schema.exclude(path_regex=r"^/(smspool|5sim)/")

    class Workflow(rest.as_state_machine()):
        def setup(self):
            # A key of its own per scenario: a scenario may revoke or regenerate the key it uses.
            # The keys of earlier scenarios go first: every scenario lists the same keys (one),
            # or hypothesis, replaying a scenario's start, meets a longer list and draws other
            # data from it than it did the first time (a flaky strategy, not a finding).
            ApiKey.objects.filter(user=user).delete()
            self.headers = {**credentials["headers"], "X-API-Key": ApiKeyFactory(user=user).raw_key}
            self.calls = 0

        def before_call(self, case):
            # Every other order is for what the seeded catalog sells, so that the links from
            # a created order (get, cancel, finish, extend …) are followed with a real id.
            valid = VALID_ORDERS.get((case.method.upper(), case.operation.path))
            self.calls += 1
            if valid is not None and self.calls % 2 and isinstance(case.body, dict):
                case.body = {**case.body, **valid}

        def get_call_kwargs(self, case):
            return {"base_url": credentials["base_url"], "headers": self.headers, "timeout": 10}

        def after_call(self, response, case):
            seen.add((case.method.upper(), case.operation.path, response.status_code))

        def validate_response(self, response, case, **kwargs):
            assert response.status_code < 500, (case.method, case.path, response.text[:500])

    Workflow.run(
        settings=settings(
            max_examples=100,
            stateful_step_count=8,
            # No shrinking: a replay meets a server whose state has moved on (hypothesis then
            # reports a flaky strategy instead of the failure itself).
            phases=[Phase.generate],
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # the links were followed: created orders were acted on by their ids (a made-up id is 404)
    assert ("POST", "/api/v1/activations/", 201) in seen
    followed = {p for _, p, code in seen if "{ident}" in p and (200 <= code < 300 or code == 409)}
    assert any(p.startswith(("/api/v1/activations/{ident}/", "/api/v1/rentals/{ident}/"))
               for p in followed), sorted(seen)  # fmt: skip
