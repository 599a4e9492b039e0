"""Loading the SMS-Activate catalog of ``providers.catalog_data`` into the database.

One implementation serves both the data migration ``0002_catalog_data`` (with historical
models from ``apps.get_model``) and ``catalog_load`` (with the real models, for ``seed_demo``).
Because the migration runs this code, it may only touch fields that exist in the schema of
migration 0002: a later field belongs in its own migration.
"""

from django.db import transaction

from providers import catalog_data
from providers.dialect_ids import dialect_ids_fill
from providers.models import Country, Operator, Service


def catalog_upsert(
    country_model: type[Country],
    service_model: type[Service],
    operator_model: type[Operator],
    *,
    using: str = "default",
) -> tuple[int, int, int]:
    """Create or update every catalog row; return how many countries, services, operators.

    Names and ISO codes are facts and are refreshed on every run. The flags (visible, retry,
    rent, multi_service) are only set when a row is created, so re-running never undoes what
    an operator changed in the admin.
    """
    with transaction.atomic(using=using):
        countries = _countries_upsert(country_model, using)
        services = _services_upsert(service_model, using)
        operators = _operators_upsert(operator_model, countries, using)
    return len(countries), services, operators


def catalog_load() -> tuple[int, int, int]:
    """Load the shipped catalog with the real models, with the client dialects' identifiers;
    safe to run any number of times."""
    counts = catalog_upsert(Country, Service, Operator)
    dialect_ids_fill(Country, Service)
    return counts


def _countries_upsert(country_model: type[Country], using: str) -> dict[int, Country]:
    by_id = {}
    for sms_activate_id, iso, name_en, name_ru, name_zh in catalog_data.COUNTRIES:
        facts = {"iso": iso, "name_en": name_en, "name_ru": name_ru, "name_zh": name_zh}
        country, _ = country_model.objects.using(using).update_or_create(
            sms_activate_id=sms_activate_id,
            defaults=facts,
            create_defaults={**facts, **_country_flags(sms_activate_id)},
        )
        by_id[sms_activate_id] = country
    return by_id


def _country_flags(sms_activate_id: int) -> dict[str, bool]:
    return {
        "visible": sms_activate_id not in catalog_data.HIDDEN_COUNTRY_IDS,
        "retry": sms_activate_id not in catalog_data.NO_RETRY_COUNTRY_IDS,
        "rent": sms_activate_id in catalog_data.RENT_COUNTRY_IDS,
        "multi_service": sms_activate_id in catalog_data.MULTI_SERVICE_COUNTRY_IDS,
    }


def _services_upsert(service_model: type[Service], using: str) -> int:
    for code, name in catalog_data.SERVICES:
        service_model.objects.using(using).update_or_create(code=code, defaults={"name": name})
    return len(catalog_data.SERVICES)


def _operators_upsert(
    operator_model: type[Operator], countries: dict[int, Country], using: str
) -> int:
    for sms_activate_id, code, name in catalog_data.OPERATORS:
        operator_model.objects.using(using).update_or_create(
            country=countries[sms_activate_id], code=code, defaults={"name": name}
        )
    return len(catalog_data.OPERATORS)
