"""The catalog's SMSPool and 5sim identifiers: filled by migration 0007 and ``catalog_load``,
never over an operator's edit, editable in the admin, and every service and country of the
demo catalog reachable in both dialects."""

from decimal import Decimal

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from providers.catalog import catalog_load
from providers.dialect_ids import country_by_smspool, dialect_ids_fill, service_by_smspool
from providers.models import Country, Service
from tests.factories import ApiKeyFactory, OfferFactory, ProviderFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_migration_filled_every_row():
    assert not Country.objects.filter(fivesim_name="").exists()
    assert not Country.objects.filter(calling_code="").exists()
    assert not Service.objects.filter(fivesim_name="").exists()
    usa = Country.objects.get(iso="US")
    assert (usa.smspool_id, usa.smspool_name, usa.fivesim_name, usa.calling_code) == (
        1,
        "United States",
        "usa",
        "1",
    )
    assert Country.objects.get(iso="GB").fivesim_name == "england"
    assert Service.objects.get(code="go").fivesim_name == "google"


def test_filling_again_keeps_what_an_operator_changed():
    Country.objects.filter(iso="RU").update(fivesim_name="russia2", smspool_id=77)
    Service.objects.filter(code="tg").update(fivesim_name="")
    assert dialect_ids_fill(Country, Service) == 1  # only the emptied field is filled again
    russia = Country.objects.get(iso="RU")
    assert (russia.fivesim_name, russia.smspool_id) == ("russia2", 77)
    assert Service.objects.get(code="tg").fivesim_name == "telegram"
    catalog_load()
    assert Country.objects.get(iso="RU").fivesim_name == "russia2"


def test_an_identifier_an_operator_gave_another_row_is_not_taken_back():
    Country.objects.filter(iso="US").update(smspool_id=None)
    Country.objects.filter(iso="CA").update(smspool_id=1)
    dialect_ids_fill(Country, Service)
    assert Country.objects.get(iso="US").smspool_id is None
    assert Country.objects.get(iso="CA").smspool_id == 1


def test_smspool_lookups_take_ids_iso_codes_and_names():
    usa = Country.objects.get(iso="US")
    for raw in ("1", "US", "us", "United States", "USA", "usa"):
        assert country_by_smspool(raw) == usa
    for raw in ("", "0", "99999999999", "Atlantis"):
        assert country_by_smspool(raw) is None
    telegram = Service.objects.get(code="tg")
    for raw in ("Telegram", "tg", "telegram"):
        assert service_by_smspool(raw) == telegram
    assert service_by_smspool("Google") == Service.objects.get(code="go")  # 5sim's name
    assert service_by_smspool("12") is None  # no SMSPool service id is published


def test_the_admin_edits_the_identifiers():
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    country = Country.objects.get(iso="DE")
    page = client.get(reverse("admin:providers_country_change", args=[country.pk]))
    assert b'name="fivesim_name"' in page.content and b'name="smspool_id"' in page.content
    listing = client.get(reverse("admin:providers_service_changelist"))
    assert b"form-0-fivesim_name" in listing.content  # editable in the list


# --- every row of the demo catalog is reachable in both dialects -------------------------------


@pytest.fixture
def everything_in_stock():
    """Every service in the USA and Telegram in every country, from one simulator."""
    provider = ProviderFactory()
    usa, telegram = Country.objects.get(iso="US"), Service.objects.get(code="tg")
    for service in Service.objects.filter(visible=True):
        OfferFactory(provider=provider, service=service, country=usa, cost=Decimal("0.50"))
    for country in Country.objects.filter(visible=True).exclude(pk=usa.pk):
        OfferFactory(provider=provider, service=telegram, country=country, cost=Decimal("0.50"))
    user = UserFactory()
    return ApiKeyFactory(user=user).raw_key


@override_settings(SMSBOX_RATE_LIMIT_STANDARD=None)
def test_every_country_and_service_is_priced_through_smspool(everything_in_stock):
    client = Client()
    countries = client.get("/smspool/country/retrieve_all").json()
    services = client.get("/smspool/service/retrieve_all").json()
    assert len(countries) == Country.objects.filter(visible=True).count()
    assert len(services) == Service.objects.filter(visible=True).count()
    assert len({str(c["ID"]) for c in countries}) == len(countries)
    key = everything_in_stock
    for country in countries:
        answer = client.get(
            "/smspool/request/price", {"key": key, "country": country["ID"], "service": "tg"}
        ).json()
        assert answer.get("success") == 1, (country, answer)
    for service in services:
        answer = client.get(
            "/smspool/request/price", {"key": key, "country": "1", "service": service["ID"]}
        ).json()
        assert answer.get("success") == 1, (service, answer)


def test_every_country_and_product_is_priced_through_fivesim(everything_in_stock):
    client = Client()
    countries = client.get("/5sim/v1/guest/countries").json()
    assert len(countries) == Country.objects.filter(visible=True).count()
    for name in countries:
        prices = client.get("/5sim/v1/guest/prices", {"country": name, "product": "telegram"})
        assert prices.json()[name]["telegram"]["any"]["count"] == 10, name
    products = client.get("/5sim/v1/guest/products/usa/any").json()
    assert len(products) == Service.objects.filter(visible=True).count()
    assert all(p["Category"] == "activation" and p["Qty"] == 10 for p in products.values())
