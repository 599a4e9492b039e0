"""Hostile parameters on the REST API are refused with 400 INVALID_PARAMETER (or the
field's validation error), never a 500: non-ASCII digits, NUL, overlong values, exponents."""

import pytest

from providers.catalog import catalog_load
from tests.api.conftest import assert_error, fund
from tests.factories import OfferFactory

HOSTILE = ["²", "³", "٣", "\uff11\uff12", "\x00", "1" * 10_000, "1e309", "-0", "NaN"]


@pytest.fixture
def catalog(db):
    catalog_load()


@pytest.mark.parametrize("raw", HOSTILE)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/operators/?country={}",
        "/api/v1/rental-plans/quote/?country={}&service=tg&days=1",
        "/api/v1/market/?country={}&service=tg",
        "/api/v1/quote/?country={}&service=tg",
        "/api/v1/activations/?state={}",
        "/api/v1/activations/{}/",
        "/api/v1/rentals/{}/",
        "/api/v1/activations/?date={}",
        "/api/v1/wallet/transactions/?page={}",
    ],
)
def test_hostile_query_values_are_refused_not_500(client, catalog, path, raw):
    response = client.get(path.format(raw) if "?" in path else path.replace("{}", raw))
    assert response.status_code in (400, 404), (path, raw, response.content[:300])
    assert "error" in response.json()


@pytest.mark.parametrize("raw", ["²", "³", "٣"])
def test_non_ascii_digit_country_is_invalid_parameter(client, catalog, raw):
    assert_error(client.get("/api/v1/operators/", {"country": raw}), 400, "INVALID_PARAMETER")
    assert_error(
        client.get("/api/v1/rental-plans/quote/", {"country": raw, "service": "tg"}),
        400,
        "INVALID_PARAMETER",
    )


@pytest.mark.parametrize("raw", ["²", "³", "٣", "1" * 10_000])
def test_rental_purchase_with_a_non_ascii_country_is_refused(client, customer, catalog, raw):
    fund(customer, "50.00")
    response = client.post("/api/v1/rentals/", {"service": "tg", "country": raw}, format="json")
    assert response.status_code == 400, response.content[:300]


def test_ascii_country_ids_still_resolve(client, catalog):
    OfferFactory()
    assert client.get("/api/v1/operators/", {"country": "187"}).status_code == 200


@pytest.mark.parametrize("raw", HOSTILE)
def test_a_hostile_page_size_falls_back_to_the_default(client, raw):
    response = client.get("/api/v1/wallet/transactions/", {"pageSize": raw})
    assert response.status_code == 200 and response.json()["results"] == []


def test_a_page_in_non_ascii_digits_does_not_exist(client):
    assert_error(client.get("/api/v1/wallet/transactions/", {"page": "\u0661"}), 404, "NOT_FOUND")


@pytest.mark.parametrize("key_id", ["99999999999999999999", "9223372036854775808"])
def test_an_api_key_id_beyond_a_bigint_is_not_found(anonymous, customer, key_id):
    from apikeys.api import login_token_issue

    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {login_token_issue(user=customer)}")
    response = anonymous.delete(f"/api/v1/api-keys/{key_id}/")
    assert response.status_code == 404, response.content[:300]
