"""The SMSPool and 5sim identifiers of the catalog: filling them in, and finding a catalog row
by what a client of either dialect sends.

``dialect_ids_fill`` serves both the data migration ``0007_dialects_catalog_ids`` (historical
models) and ``providers.catalog.catalog_load`` (real models). It only fills what is empty, so an
identifier an operator entered in the admin is never overwritten.
"""

from django.db import transaction
from django.db.models import Q

from providers import dialect_data
from providers.models import Country, Service
from smsbox import parsing


def dialect_ids_fill(
    country_model: type[Country], service_model: type[Service], *, using: str = "default"
) -> int:
    """Fill the empty dialect identifiers of every catalog row; answer how many rows changed."""
    changed = 0
    with transaction.atomic(using=using):
        for country in country_model.objects.using(using).all():
            changed += _fill(
                country,
                calling_code=dialect_data.CALLING_CODES.get(country.iso, ""),
                smspool_id=dialect_data.SMSPOOL_COUNTRY_IDS.get(country.iso),
                smspool_name=dialect_data.SMSPOOL_COUNTRY_NAMES.get(country.iso, ""),
                fivesim_name=dialect_data.FIVESIM_COUNTRIES.get(country.iso, ""),
                using=using,
            )
        for service in service_model.objects.using(using).all():
            changed += _fill(
                service,
                smspool_id=dialect_data.SMSPOOL_SERVICE_IDS.get(service.code),
                fivesim_name=dialect_data.FIVESIM_PRODUCTS.get(service.code, ""),
                using=using,
            )
    return changed


def _fill(row, *, using: str, **values) -> int:
    empty = {name: value for name, value in values.items() if value and not getattr(row, name)}
    if not empty:
        return 0
    taken = type(row).objects.using(using).exclude(pk=row.pk).filter(_any_of(empty))
    if taken.exists():  # an operator gave the identifier to another row: theirs wins
        return 0
    for name, value in empty.items():
        setattr(row, name, value)
    row.save(using=using, update_fields=list(empty))
    return 1


def _any_of(values: dict) -> Q:
    query = Q(pk__in=[])
    for name, value in values.items():
        if name not in ("calling_code", "smspool_name"):  # not unique
            query |= Q(**{name: value})
    return query


# --- lookups ----------------------------------------------------------------------------------
def country_by_smspool(raw: str) -> Country | None:
    """SMSPool sends a country as its id, an ISO code or its name (SMSPool's, or English)."""
    raw = raw.strip()
    if not raw or len(raw) > 100:
        return None
    if raw.isdigit():  # "²" too: the strict parser says whether it is an id
        if not parsing.is_digits(raw, max_length=9):
            return None
        return Country.objects.filter(smspool_id=int(raw)).first() if len(raw) < 10 else None
    return Country.objects.filter(
        Q(iso__iexact=raw)
        | Q(smspool_name__iexact=raw)
        | Q(name_en__iexact=raw)
        | Q(fivesim_name__iexact=raw)
    ).first()


def service_by_smspool(raw: str) -> Service | None:
    """SMSPool sends a service as its id or its name; smsbox's code and 5sim's product name
    (``telegram``) are understood too."""
    raw = raw.strip()
    if not raw or len(raw) > 100:
        return None
    if raw.isdigit():
        if not parsing.is_digits(raw, max_length=9):
            return None
        return Service.objects.filter(smspool_id=int(raw)).first() if len(raw) < 10 else None
    return (
        Service.objects.filter(name__iexact=raw).first()
        or Service.objects.filter(Q(code__iexact=raw) | Q(fivesim_name__iexact=raw)).first()
    )


def smspool_country_ident(country: Country) -> int | str:
    """What SMSPool's answers call ``country``: its SMSPool id, else its ISO code (which
    ``country_by_smspool`` takes back)."""
    return country.smspool_id if country.smspool_id is not None else country.iso


def smspool_country_name(country: Country) -> str:
    return country.smspool_name or country.name_en


def smspool_service_ident(service: Service) -> int | str:
    return service.smspool_id if service.smspool_id is not None else service.code


def country_by_fivesim(name: str) -> Country | None:
    name = name.strip().lower()
    if not name or len(name) > 32:
        return None
    return Country.objects.filter(fivesim_name=name).first()


def service_by_fivesim(name: str) -> Service | None:
    name = name.strip().lower()
    if not name or len(name) > 32:
        return None
    return Service.objects.filter(fivesim_name=name).first()
