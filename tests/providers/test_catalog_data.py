import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from providers import catalog_data
from providers.catalog import catalog_load
from providers.models import Country, Operator, Service

pytestmark = pytest.mark.django_db

# SMS-Activate ids verified against public SMS-Activate country tables.
ANCHORS = {
    0: ("RU", "Russia"),
    1: ("UA", "Ukraine"),
    2: ("KZ", "Kazakhstan"),
    6: ("ID", "Indonesia"),
    12: ("XU", "USA Virtual"),
    15: ("PL", "Poland"),
    16: ("GB", "United Kingdom"),
    22: ("IN", "India"),
    36: ("CA", "Canada"),
    43: ("DE", "Germany"),
    62: ("TR", "Turkey"),
    73: ("BR", "Brazil"),
    78: ("FR", "France"),
    86: ("IT", "Italy"),
    175: ("AU", "Australia"),
    187: ("US", "USA"),
}


def _counts() -> tuple[int, int, int]:
    return Country.objects.count(), Service.objects.count(), Operator.objects.count()


@pytest.mark.parametrize(("sms_activate_id", "expected"), ANCHORS.items())
def test_migrations_load_the_well_known_countries(sms_activate_id, expected):
    country = Country.objects.get(sms_activate_id=sms_activate_id)

    assert (country.iso, country.name_en) == expected


def test_migrations_load_at_least_40_countries_and_60_services():
    assert Country.objects.count() >= 40
    assert Service.objects.count() >= 60


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("tg", "Telegram"),
        ("wa", "WhatsApp"),
        ("go", "Google, YouTube, Gmail"),
        ("vk", "VKontakte"),
        ("ds", "Discord"),
        ("lf", "TikTok / Douyin"),
        ("dh", "eBay"),
        ("ts", "PayPal"),
        ("mt", "Steam"),
        ("ot", "Any other"),
    ],
)
def test_migrations_load_the_well_known_services(code, name):
    assert Service.objects.get(code=code).name == name


@pytest.mark.parametrize(
    ("sms_activate_id", "operators"),
    [
        (0, {"mts", "beeline", "megafon", "tele2"}),
        (16, {"ee", "vodafone", "three", "o2"}),
        (187, {"tmobile", "att", "verizon"}),
    ],
)
def test_the_biggest_countries_have_their_operators(sms_activate_id, operators):
    country = Country.objects.get(sms_activate_id=sms_activate_id)

    codes = set(country.operators.values_list("code", flat=True))

    assert operators <= codes


def test_ids_iso_codes_and_service_codes_are_unique_in_the_data():
    ids = [row[0] for row in catalog_data.COUNTRIES]
    isos = [row[1] for row in catalog_data.COUNTRIES]
    codes = [code for code, _ in catalog_data.SERVICES]
    operators = [(country, code) for country, code, _ in catalog_data.OPERATORS]

    assert len(ids) == len(set(ids))
    assert len(isos) == len(set(isos))
    assert len(codes) == len(set(codes))
    assert len(operators) == len(set(operators))


def test_iso_codes_are_two_upper_case_letters():
    bad = [iso for _, iso, *_ in catalog_data.COUNTRIES if not (len(iso) == 2 and iso.isupper())]

    assert bad == []


def test_flag_sets_and_operators_only_name_listed_countries():
    ids = {row[0] for row in catalog_data.COUNTRIES}
    flagged = (
        catalog_data.RENT_COUNTRY_IDS
        | catalog_data.MULTI_SERVICE_COUNTRY_IDS
        | catalog_data.HIDDEN_COUNTRY_IDS
        | catalog_data.NO_RETRY_COUNTRY_IDS
        | {country for country, _, _ in catalog_data.OPERATORS}
    )

    assert flagged - ids == set()


def test_every_country_has_its_three_names():
    nameless = Country.objects.filter(name_en="") | Country.objects.filter(name_ru="")
    nameless |= Country.objects.filter(name_zh="")

    assert list(nameless) == []


@pytest.mark.parametrize("sms_activate_id", [0, 2, 15, 16, 36, 43, 78, 187])
def test_rentals_are_offered_where_sms_activate_offered_them(sms_activate_id):
    country = Country.objects.get(sms_activate_id=sms_activate_id)

    assert country.rent is True
    assert country.visible is True


def test_countries_without_rentals_are_marked_so():
    assert Country.objects.get(sms_activate_id=3).rent is False


def test_catalog_load_twice_changes_no_counts():
    first = catalog_load()
    before = _counts()

    second = catalog_load()

    assert second == first
    assert _counts() == before
    assert before == (
        len(catalog_data.COUNTRIES),
        len(catalog_data.SERVICES),
        len(catalog_data.OPERATORS),
    )


def test_catalog_load_fills_an_empty_catalog():
    Country.objects.all().delete()
    Service.objects.all().delete()

    result = catalog_load()

    assert result == (
        len(catalog_data.COUNTRIES),
        len(catalog_data.SERVICES),
        len(catalog_data.OPERATORS),
    )
    assert _counts() == result
    assert Country.objects.get(sms_activate_id=187).iso == "US"


def test_catalog_load_refreshes_names_but_keeps_flags_set_in_the_admin():
    Country.objects.filter(sms_activate_id=16).update(name_en="Britain", visible=False, rent=False)
    Service.objects.filter(code="tg").update(name="Old name", visible=False)

    catalog_load()

    uk = Country.objects.get(sms_activate_id=16)
    telegram = Service.objects.get(code="tg")
    assert (uk.name_en, uk.visible, uk.rent) == ("United Kingdom", False, False)
    assert (telegram.name, telegram.visible) == ("Telegram", False)


def test_the_data_migration_can_run_again_without_duplicates():
    migration = importlib.import_module("providers.migrations.0002_catalog_data")
    before = _counts()

    migration.load_catalog(apps, SimpleNamespace(connection=connection))

    assert _counts() == before
