"""Reads of the providers app: quotes, the market, provider health and balances."""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from providers.models import Country, Offer, Provider, PurchaseAttempt, Service
from providers.snapshot import price_book
from smsbox import parsing
from smsbox.errors import InvalidInput

logger = logging.getLogger(__name__)

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}


# --- quotes and the market --------------------------------------------------------------------
@dataclass(frozen=True)
class Quote:
    """What a customer pays for a service in a country now (the cheapest offer) and how many
    numbers there are in all."""

    service_id: int
    country_id: int
    retail_price: Decimal
    stock: int


@dataclass(frozen=True)
class MarketOffer:
    offer: Offer
    retail_price: Decimal


def _sellable(
    *, service: Service | None, country: Country | None, operator: str
) -> QuerySet[Offer]:
    offers = Offer.objects.filter(stock__gt=0, provider__enabled=True)
    if service is not None:
        offers = offers.filter(service=service)
    if country is not None:
        offers = offers.filter(country=country)
    if operator:
        offers = offers.filter(operator__in=["", operator])
    return offers


def quote_list(
    *, service: Service | None = None, country: Country | None = None, operator: str = ""
) -> list[Quote]:
    """One quote per (service, country) with stock, for price lists like ``getPrices``."""
    book = price_book()
    best: dict[tuple[int, int], Decimal] = {}
    stock: dict[tuple[int, int], int] = defaultdict(int)
    rows = _sellable(service=service, country=country, operator=operator).values_list(
        "provider_id", "service_id", "country_id", "cost", "stock"
    )
    for provider_id, service_id, country_id, cost, count in rows.iterator(chunk_size=2000):
        key = (service_id, country_id)
        price = book.retail(
            provider_id=provider_id, service_id=service_id, country_id=country_id, cost=cost
        )
        best[key] = min(price, best.get(key, price))
        stock[key] += count
    return [
        Quote(service_id=s, country_id=c, retail_price=best[(s, c)], stock=stock[(s, c)])
        for s, c in sorted(best)
    ]


def offer_quote(*, service: Service, country: Country, operator: str = "") -> Quote | None:
    quotes = quote_list(service=service, country=country, operator=operator)
    return quotes[0] if quotes else None


def market_list(
    *, service: Service | None = None, country: Country | None = None, operator: str = ""
) -> list[MarketOffer]:
    """In-stock offers sorted by retail price (provider priority breaks ties)."""
    book = price_book()
    offers = _sellable(service=service, country=country, operator=operator).select_related(
        "provider", "service", "country"
    )
    market = [
        MarketOffer(
            offer=o,
            retail_price=book.retail(
                provider_id=o.provider_id,
                service_id=o.service_id,
                country_id=o.country_id,
                cost=o.cost,
            ),
        )
        for o in offers
    ]
    market.sort(key=lambda m: (m.retail_price, m.offer.provider.priority, m.offer.pk))
    return market


# --- provider health --------------------------------------------------------------------------
class _Median(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass(frozen=True)
class Health:
    """Figures of one provider (or one provider's service and country) over a window.

    ``success_rate`` = bought numbers that received an SMS / bought; ``error_rate`` = attempts
    that failed on the provider's side (transient, unknown outcome, credentials, balance) /
    attempts. Rates are ``None`` when there is nothing to divide by.
    """

    provider_id: int
    service_id: int | None
    country_id: int | None
    attempts: int
    sold: int
    with_sms: int
    errors: int
    median_latency_ms: float | None

    @property
    def success_rate(self) -> float | None:
        return self.with_sms / self.sold if self.sold else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.attempts if self.attempts else None


def provider_health(
    *,
    window: timedelta,
    by_route: bool = False,
    provider_ids: list[int] | None = None,
    service: Service | None = None,
    country: Country | None = None,
    now: datetime | None = None,
) -> list[Health]:
    """Health per provider, or per (provider, service, country) with ``by_route``."""
    Outcome = PurchaseAttempt.Outcome
    attempts = PurchaseAttempt.objects.filter(created_at__gte=(now or timezone.now()) - window)
    if provider_ids is not None:
        attempts = attempts.filter(provider_id__in=provider_ids)
    if service is not None:
        attempts = attempts.filter(service=service)
    if country is not None:
        attempts = attempts.filter(country=country)
    group = ["provider_id", "service_id", "country_id"] if by_route else ["provider_id"]
    figures = {
        "attempts": Count("id"),
        "sold": Count("id", filter=Q(outcome=Outcome.BOUGHT)),
        "with_sms": Count("id", filter=Q(outcome=Outcome.BOUGHT, sms_received_at__isnull=False)),
        "errors": Count("id", filter=Q(outcome__in=PurchaseAttempt.ERRORS)),
    }
    postgres = connection.vendor == "postgresql"
    if postgres:
        figures["median_latency_ms"] = _Median("latency_ms")
    rows = list(attempts.values(*group).annotate(**figures).order_by(*group))
    medians = {} if postgres else _medians(attempts, group)
    return [
        Health(
            provider_id=row["provider_id"],
            service_id=row.get("service_id"),
            country_id=row.get("country_id"),
            attempts=row["attempts"],
            sold=row["sold"],
            with_sms=row["with_sms"],
            errors=row["errors"],
            median_latency_ms=row["median_latency_ms"]
            if postgres
            else medians.get(tuple(row[g] for g in group)),
        )
        for row in rows
    ]


def _medians(attempts: QuerySet[PurchaseAttempt], group: list[str]) -> dict[tuple, float]:
    """Median latency per group where the database has no percentile function (SQLite)."""
    latencies: dict[tuple, list[int]] = defaultdict(list)
    for *key, latency in attempts.values_list(*group, "latency_ms").iterator(chunk_size=2000):
        latencies[tuple(key)].append(latency)
    return {key: float(statistics.median(values)) for key, values in latencies.items()}


def provider_health_summary(
    *, provider_ids: list[int] | None = None
) -> dict[int, dict[str, Health]]:
    """``{provider_id: {"24h": Health, "7d": Health}}`` for the providers with attempts."""
    summary: dict[int, dict[str, Health]] = defaultdict(dict)
    for name, window in WINDOWS.items():
        for health in provider_health(window=window, provider_ids=provider_ids):
            summary[health.provider_id][name] = health
    return dict(summary)


# --- balances ---------------------------------------------------------------------------------
def balance_cache_key(provider_id: int) -> str:
    """Where the last upstream balance of a provider is cached ("" = it could not say)."""
    return f"providers:balance:{provider_id}"


@dataclass(frozen=True)
class CachedBalance:
    """The last balance the upstream reported: ``known`` is False when nobody asked lately
    ("Test connection" and the periodic job ask); ``amount`` is None when it could not say."""

    known: bool
    amount: Decimal | None = None


def provider_balance(*, provider: Provider) -> CachedBalance:
    """The cached upstream balance; never calls the upstream (a page may list many)."""
    cached = cache.get(balance_cache_key(provider.pk))
    if cached is None:
        return CachedBalance(known=False)
    return CachedBalance(known=True, amount=Decimal(cached) if cached != "" else None)


# --- catalog lookups by what customers type ---------------------------------------------------
class ServiceUnknown(InvalidInput):
    code = "BAD_SERVICE"
    message = gettext_noop("No such service.")


class CountryUnknown(InvalidInput):
    code = "BAD_COUNTRY"
    message = gettext_noop("No such country.")


_MAX_NAME = 100  # longer than any service or country name
_MAX_COUNTRY_ID = 999_999_999


def service_resolve(term: object) -> Service:
    """The service whose code or name is ``term``, case-insensitive; ``ServiceUnknown`` else."""
    term = parsing.text(term or "", name="service", max_length=_MAX_NAME)
    service = Service.objects.filter(code__iexact=term).first() if term else None
    if service is None and term:
        service = Service.objects.filter(name__iexact=term).order_by("pk").first()
    if service is None:
        raise ServiceUnknown(f"No service {term!r}.", extra={"service": term})
    return service


def country_resolve(term: object) -> Country:
    """The country whose SMS-Activate id, ISO code or English name is ``term`` (any case);
    ``CountryUnknown`` else."""
    term = parsing.text(term if term is not None else "", name="country", max_length=_MAX_NAME)
    countries = Country.objects.all()
    if term.isdigit():  # "²".isdigit() too: the parser refuses what is not ASCII digits
        country_id = parsing.integer(term, name="country", maximum=_MAX_COUNTRY_ID)
        country = countries.filter(sms_activate_id=country_id).first()
    elif len(term) == 2:
        country = countries.filter(iso__iexact=term).first()
    else:
        country = countries.filter(name_en__iexact=term).first() if term else None
    if country is None:
        raise CountryUnknown(f"No country {term!r}.", extra={"country": term})
    return country


# --- the dashboard's pickers ------------------------------------------------------------------
@dataclass(frozen=True)
class OperatorQuote:
    """The cheapest retail price and the stock of one operator ("" = any operator)."""

    operator: str
    retail_price: Decimal
    stock: int


def operator_quotes(*, service: Service, country: Country) -> list[OperatorQuote]:
    """Per operator the offers name, cheapest first: what a buy for that operator would cost."""
    best: dict[str, Decimal] = {}
    stock: dict[str, int] = defaultdict(int)
    for market in market_list(service=service, country=country):
        operator = market.offer.operator
        best[operator] = min(market.retail_price, best.get(operator, market.retail_price))
        stock[operator] += market.offer.stock
    quotes = [OperatorQuote(op, best[op], stock[op]) for op in best]
    return sorted(quotes, key=lambda q: (q.retail_price, q.operator))


def services_search(term: str, *, limit: int = 12) -> list[Service]:
    """Visible services whose code or name contains ``term`` (any case); exact codes first."""
    term = (term or "").strip()
    services = Service.objects.filter(visible=True)
    if term:
        services = services.filter(Q(code__icontains=term) | Q(name__icontains=term))
    found = list(services.order_by("name")[: limit * 4])
    found.sort(
        key=lambda s: (s.code.lower() != term.lower(), not s.name.lower().startswith(term.lower()))
    )
    return found[:limit]


def countries_search(term: str, *, limit: int = 12) -> list[Country]:
    """Visible countries whose English or Russian name, ISO code or SMS-Activate id matches."""
    term = (term or "").strip()[:_MAX_NAME]
    countries = Country.objects.filter(visible=True)
    if term.isdigit():
        country_id = parsing.or_none(parsing.integer, term, name="country", maximum=_MAX_COUNTRY_ID)
        countries = countries.filter(sms_activate_id=country_id)
    elif term:
        countries = countries.filter(
            Q(name_en__icontains=term) | Q(name_ru__icontains=term) | Q(iso__iexact=term)
        )
    found = list(countries.order_by("name_en")[: limit * 4])
    found.sort(
        key=lambda c: (
            c.iso.lower() != term.lower(),
            not c.name_en.lower().startswith(term.lower()),
        )
    )
    return found[:limit]
