from decimal import Decimal

import pytest

from providers.models import Country, Service
from tests.api.conftest import assert_error
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db


def test_countries_list_the_visible_catalog(client):
    countries = client.get("/api/v1/countries/").json()
    usa = next(c for c in countries if c["id"] == 187)
    assert usa["iso"] == "US"
    assert len(countries) == Country.objects.filter(visible=True).count()


def test_services_list(client):
    services = client.get("/api/v1/services/").json()
    assert {"code": "tg", "name": Service.objects.get(code="tg").name} in services


def test_operators_of_a_country_by_name_any_case(client):
    operators = client.get("/api/v1/operators/?country=rUssia").json()
    assert operators and {o["country"] for o in operators} == {0}


def test_operators_of_an_unknown_country_is_bad_country(client):
    assert_error(client.get("/api/v1/operators/?country=Atlantis"), 400, "BAD_COUNTRY")


def test_number_types(client):
    assert client.get("/api/v1/number-types/").json()[0]["code"] == "physical"


def test_market_is_sorted_by_price_with_stock(client):
    OfferFactory(cost=Decimal("0.90"), stock=3)
    OfferFactory(cost=Decimal("0.40"), stock=7)
    OfferFactory(cost=Decimal("0.10"), stock=0)  # out of stock: not on the market
    body = client.get("/api/v1/market/?country=us&service=TELEGRAM").json()
    assert [(o["price"], o["stock"]) for o in body["results"]] == [("0.40", 7), ("0.90", 3)]
    assert body["results"][0]["service"] == "tg" and body["results"][0]["country"] == 187


def test_market_unknown_service(client):
    assert_error(client.get("/api/v1/market/?service=nope"), 400, "BAD_SERVICE")


def test_quote_takes_the_cheapest_and_sums_the_stock(client):
    OfferFactory(cost=Decimal("0.90"), stock=3)
    OfferFactory(cost=Decimal("0.40"), stock=7)
    body = client.get("/api/v1/quote/?service=tg&country=187").json()
    assert body == {
        "service": "tg",
        "country": 187,
        "operator": "any",
        "price": "0.40",
        "stock": 10,
        "available": True,
    }


def test_quote_without_offers_is_unavailable(client):
    body = client.get("/api/v1/quote/?service=Telegram&country=USA").json()
    assert body["available"] is False and body["price"] is None


def test_quote_unknown_country(client):
    assert_error(client.get("/api/v1/quote/?service=tg&country=999999"), 400, "BAD_COUNTRY")
