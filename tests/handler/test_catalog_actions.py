from decimal import Decimal

import pytest

from providers.models import Service
from tests.factories import OfferFactory
from tests.handler.conftest import fund

pytestmark = pytest.mark.django_db


def test_get_balance_has_two_decimals(handler, customer):
    fund(customer, "100")
    assert handler.text("getBalance") == "ACCESS_BALANCE:100.00"
    assert handler.text("getBalanceAndCashBack") == "ACCESS_BALANCE:100.00"


def test_numbers_status_lists_every_service_with_string_counts(handler, offer):
    body = handler.json("getNumbersStatus", country="187", operator="any")
    assert body["tg_0"] == "10"
    assert body["wa_0"] == "0"
    assert len(body) == Service.objects.filter(visible=True).count()


def test_numbers_status_of_an_unknown_country(handler):
    assert handler.json("getNumbersStatus", country="9999") == {
        "status": "error",
        "message": "BAD_COUNTRY",
    }


def test_top_countries_by_service(handler, offer):
    OfferFactory(country=_country(0), cost=Decimal("0.20"), stock=50)
    body = handler.json("getTopCountriesByService", service="tg", freePrice="true")
    assert body["0"] == {"country": 0, "count": 50, "price": 0.2, "retail_price": 0.2}
    assert body["1"]["country"] == 187
    assert body["freePriceMap"] == {"0.20": 50, "0.50": 10}


def test_top_countries_of_an_unknown_service(handler):
    assert handler.json("getTopCountriesByService", service="nope")["message"] == "BAD_SERVICE"


def test_list_of_top_countries(handler, offer):
    assert handler.json("getListOfTopCountriesByService", service="tg") == [
        {"country": 187, "share": 100, "rate": 0}
    ]
    bad = handler.json("getListOfTopCountriesByService", service="nope")
    assert bad == {"status": "error", "message": "WRONG_SERVICE"}


def test_operators(handler):
    body = handler.json("getOperators", country="0")
    assert body["status"] == "success" and "mts" in body["countryOperators"]["0"]
    assert set(handler.json("getOperators")["countryOperators"]) >= {"0"}


def test_operators_of_a_country_without_any(handler):
    assert handler.json("getOperators", country="9999")["message"] == "OPERATORS_NOT_FOUND"
    assert handler.json("getOperators", country="abc")["message"] == "OPERATORS_NOT_FOUND"


def test_prices(handler, offer):
    assert handler.json("getPrices", service="tg", country="187") == {
        "187": {"tg": {"cost": 0.5, "count": 10}}
    }
    assert handler.json("getPrices", service="zzz")["message"] == "BAD_SERVICE"
    assert handler.json("getPrices", country="x")["message"] == "BAD_COUNTRY"


def test_prices_verification_is_service_first(handler, offer):
    assert handler.json("getPricesVerification", service="tg") == {
        "tg": {"187": {"cost": 0.5, "count": 10}}
    }


def test_countries(handler):
    russia = handler.json("getCountries")["0"]
    assert set(russia) == {"id", "rus", "eng", "chn", "visible", "retry", "rent", "multiService"}
    assert russia["id"] == 0 and russia["eng"] == "Russia" and russia["visible"] in (0, 1)


def test_services_list(handler):
    body = handler.json("getServicesList", country="0", lang="en")
    assert body["status"] == "success"
    assert {"code": "tg", "name": Service.objects.get(code="tg").name} in body["services"]


def _country(sms_activate_id: int):
    from providers.models import Country

    return Country.objects.get(sms_activate_id=sms_activate_id)
