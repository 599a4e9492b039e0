"""Writes of the providers app: providers, offers, price rules, purchase attempts, inbound SMS."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from providers.adapters import OfferQuote, UpstreamError, adapter_for
from providers.adapters.simulator_settings import simulator_settings_errors
from providers.models import Country, Offer, PriceRule, Provider, PurchaseAttempt, Service
from providers.selectors import balance_cache_key
from providers.signals import upstream_sms_received
from providers.snapshot import snapshot_bump
from smsbox.errors import InvalidInput
from smsbox.instances import insert_values
from smsbox.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS

logger = logging.getLogger(__name__)

Protocol = Provider.Protocol
BALANCE_CACHE_SECONDS = 60
DEMO_COUNTRIES = (0, 6, 16, 187, 43)  # Russia, Indonesia, United Kingdom, USA, Germany
DEMO_PROVIDER = "Simulator"
# What the offer columns can hold: cost numeric(14, 4), stock a PostgreSQL integer.
MAX_OFFER_COST = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES)
COST_STEP = Decimal(1).scaleb(-MONEY_DECIMAL_PLACES)
MAX_OFFER_STOCK = 2**31 - 1


# --- providers --------------------------------------------------------------------------------
def provider_add(
    *,
    name: str,
    protocol: str,
    base_url: str = "",
    api_key: str = "",
    extra_params: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    priority: int = 100,
    timeout: Decimal = Decimal("15"),
    enabled: bool = True,
) -> Provider:
    name = name.strip()
    if not name:
        raise InvalidInput("A provider needs a name.")
    if protocol not in Protocol.values:
        raise InvalidInput(
            f"Unknown protocol {protocol!r}; use one of {', '.join(Protocol.values)}."
        )
    if protocol != Protocol.SIMULATOR:
        try:
            URLValidator(schemes=["http", "https"])(base_url)
        except ValidationError:
            raise InvalidInput(f"The {protocol} protocol needs an http(s) base URL.") from None
    _check_timeout(timeout)
    if protocol == Protocol.SIMULATOR:
        problems = simulator_settings_errors(settings or {})
        if problems:
            raise InvalidInput(" ".join(problems))
    try:
        with transaction.atomic():
            return Provider.objects.create(
                name=name,
                protocol=protocol,
                base_url=base_url,
                api_key=api_key,
                extra_params=extra_params or {},
                settings=settings or {},
                priority=priority,
                timeout=timeout,
                enabled=enabled,
            )
    except IntegrityError:
        raise InvalidInput(f"A provider named {name!r} already exists.") from None


def _check_timeout(timeout: Decimal) -> None:
    """Finite, positive and within the column (``max_digits`` 5, two places: below 1000 s)."""
    field = Provider._meta.get_field("timeout")
    limit = Decimal(10) ** (field.max_digits - field.decimal_places)
    step = Decimal(1).scaleb(-field.decimal_places)
    if not isinstance(timeout, Decimal) or not timeout.is_finite() or timeout <= 0:
        raise InvalidInput("The timeout must be a positive number of seconds.")
    if timeout >= limit or timeout != timeout.quantize(step):
        raise InvalidInput(
            f"The timeout must be below {limit} seconds, "
            f"with at most {field.decimal_places} decimal places."
        )


def provider_test_connection(*, provider: Provider) -> Decimal:
    """Ask the upstream for our balance; raises the adapter's typed error when it cannot.
    The answer goes to the cache the admin's balance column reads."""
    balance = adapter_for(provider).balance()
    cache.set(balance_cache_key(provider.pk), str(balance), timeout=BALANCE_CACHE_SECONDS)
    return balance


def provider_balance_refresh(
    *, provider: Provider, timeout: float | None = None, max_age: int = BALANCE_CACHE_SECONDS
) -> Decimal | None:
    """Ask the upstream for our balance and cache it (a failure is cached as unavailable);
    ``None`` when the upstream cannot say. Run by the periodic job, never by a page."""
    key = balance_cache_key(provider.pk)
    try:
        balance = adapter_for(provider, timeout=timeout).balance()
    except UpstreamError as exc:
        logger.info("Balance of %s unavailable: %s", provider, exc.message)
        cache.set(key, "", timeout=max_age)
        return None
    cache.set(key, str(balance), timeout=max_age)
    return balance


# --- offers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OffersSyncResult:
    upserted: int
    out_of_stock: int
    skipped: int  # quotes naming a service or country our catalog does not have, or with
    # figures our columns cannot hold (see ``unreadable``)
    unreadable: int = 0  # of ``skipped``: cost or stock out of range


def _quote_problem(quote: OfferQuote) -> str:
    """Why a quote's figures cannot be stored ("" when they can)."""
    cost, stock = quote.cost, quote.stock
    if not isinstance(cost, Decimal) or not cost.is_finite() or cost < 0:
        return f"cost {cost!r} is not an amount"
    if cost >= MAX_OFFER_COST:
        return f"cost {cost} is not below {MAX_OFFER_COST}"
    if cost != cost.quantize(COST_STEP):
        return f"cost {cost} has more than {MONEY_DECIMAL_PLACES} decimal places"
    if not isinstance(stock, int) or not 0 <= stock <= MAX_OFFER_STOCK:
        return f"stock {stock!r} is not between 0 and {MAX_OFFER_STOCK}"
    return ""


def offers_sync(*, provider: Provider, batch_size: int = 1000) -> OffersSyncResult:
    """Upsert the provider's price list in bulk; offers it no longer lists get stock 0.

    A line naming a service or country we do not have, or with a cost or stock our columns
    cannot hold (``1e15``, five decimal places, a count above 2^31-1), is skipped and logged:
    one odd line never aborts the sync of the others."""
    quotes = adapter_for(provider).fetch_offers()
    services = dict(Service.objects.values_list("code", "id"))
    countries = dict(Country.objects.values_list("sms_activate_id", "id"))
    started = timezone.now()
    rows: dict[tuple[int, int, str], Offer] = {}
    skipped = unreadable = 0
    for quote in quotes:
        service_id, country_id = services.get(quote.service_code), countries.get(quote.country_id)
        if service_id is None or country_id is None:
            skipped += 1
            continue
        problem = _quote_problem(quote)
        if problem:
            logger.warning(
                "Skipped offer %s/%s of %s: %s",
                quote.service_code,
                quote.country_id,
                provider,
                problem,
            )
            skipped += 1
            unreadable += 1
            continue
        rows[(service_id, country_id, quote.operator)] = Offer(
            provider=provider,
            service_id=service_id,
            country_id=country_id,
            operator=quote.operator,
            cost=quote.cost,
            stock=quote.stock,
            updated_at=started,
        )
    with transaction.atomic():
        Offer.objects.bulk_create(
            list(rows.values()),
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=["provider", "service", "country", "operator"],
            update_fields=["cost", "stock", "updated_at"],
        )
        vanished = (
            Offer.objects.filter(provider=provider, updated_at__lt=started)
            .exclude(stock=0)
            .update(stock=0, updated_at=started)
        )
        snapshot_bump()  # bulk writes bypass the signals
    logger.info(
        "Synced %s offers of %s (%s vanished, %s skipped)", len(rows), provider, vanished, skipped
    )
    return OffersSyncResult(
        upserted=len(rows), out_of_stock=vanished, skipped=skipped, unreadable=unreadable
    )


def offer_mark_out_of_stock(*, offer: Offer) -> None:
    """The upstream said NO_NUMBERS: stop routing to this offer until the next sync."""
    Offer.objects.filter(pk=offer.pk).update(stock=0)
    snapshot_bump()  # the update bypasses the signals


# --- price rules ------------------------------------------------------------------------------
def price_rule_set(
    *,
    provider: Provider | None = None,
    service: Service | None = None,
    country: Country | None = None,
    percent: Decimal = Decimal("0"),
    fixed: Decimal = Decimal("0"),
    floor: Decimal = Decimal("0"),
) -> PriceRule:
    """Create or replace the rule of one scope (any of provider, service, country; none = all)."""
    if percent <= -100:
        raise InvalidInput("The percent markup must be above -100.")
    if floor < 0:
        raise InvalidInput("The floor cannot be negative.")
    with transaction.atomic():
        rule, _ = PriceRule.objects.update_or_create(
            provider=provider,
            service=service,
            country=country,
            defaults={"percent": percent, "fixed": fixed, "floor": floor},
        )
    return rule


# --- purchase attempts and inbound SMS --------------------------------------------------------
def purchase_attempt_record(
    *,
    provider: Provider,
    service: Service,
    country: Country,
    operator: str,
    outcome: str,
    latency_ms: int,
    upstream_id: str = "",
    phone: str = "",
    cost: Decimal | None = None,
    error: str = "",
) -> PurchaseAttempt:
    attempt = purchase_attempt_build(
        provider=provider,
        service=service,
        country=country,
        operator=operator,
        outcome=outcome,
        latency_ms=latency_ms,
        upstream_id=upstream_id,
        phone=phone,
        cost=cost,
        error=error,
    )
    attempt.save(force_insert=True)
    return attempt


def purchase_attempt_build(
    *,
    provider: Provider,
    service: Service,
    country: Country,
    operator: str,
    outcome: str,
    latency_ms: int,
    upstream_id: str = "",
    phone: str = "",
    cost: Decimal | None = None,
    error: str = "",
) -> PurchaseAttempt:
    """``purchase_attempt_record`` without the write: for a caller that writes the attempt with
    its own record (``purchase_attempt_insert_sql``, or ``save`` in its transaction)."""
    return PurchaseAttempt(
        provider=provider,
        service=service,
        country=country,
        operator=operator,
        outcome=outcome,
        latency_ms=max(latency_ms, 0),
        upstream_id=upstream_id,
        phone=phone,
        cost=cost,
        error=error[:255],
    )


def purchase_attempt_insert_sql(attempt: PurchaseAttempt) -> tuple[str, list]:
    """The INSERT of the unsaved ``attempt`` and its parameters (PostgreSQL), for a caller that
    sends it in the same statement as its own write (as a ``WITH`` clause)."""
    return _attempt_insert_sql(), insert_values(attempt, _attempt_fields())


@functools.cache
def _attempt_fields() -> list:
    return [f for f in PurchaseAttempt._meta.concrete_fields if not f.primary_key]


@functools.cache
def _attempt_insert_sql() -> str:
    fields = _attempt_fields()
    return (
        f"INSERT INTO {PurchaseAttempt._meta.db_table} "  # noqa: S608 (constants)
        f"({', '.join(f.column for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"RETURNING {PurchaseAttempt._meta.pk.column}"
    )


def purchase_attempt_mark_sms(
    *, provider: Provider, upstream_id: str, received_at: datetime | None = None
) -> bool:
    """Count a bought number as successful: its first SMS arrived. Idempotent."""
    updated = PurchaseAttempt.objects.filter(
        provider=provider,
        upstream_id=str(upstream_id),
        outcome=PurchaseAttempt.Outcome.BOUGHT,
        sms_received_at__isnull=True,
    ).update(sms_received_at=received_at or timezone.now())
    return updated > 0


def upstream_sms_dispatch(
    *,
    provider: Provider,
    upstream_id: str,
    phone: str,
    text: str,
    code: str = "",
    sender_name: str = "",
    upstream_message_id: str = "",
    received_at: datetime | None = None,
) -> None:
    """Hand an SMS an upstream pushed (or a poller read) to every receiver, in one transaction."""
    with transaction.atomic():
        upstream_sms_received.send(
            sender=Provider,
            provider=provider,
            upstream_id=str(upstream_id),
            phone=phone,
            sender_name=sender_name,
            text=text,
            code=code,
            upstream_message_id=upstream_message_id,
            received_at=received_at or timezone.now(),
        )


# --- the demo ---------------------------------------------------------------------------------
def simulator_seed_demo(*, sms_delay_seconds: int | None) -> Provider:
    """One simulator with stock for every catalog service in a few countries, its offers synced,
    and a demo markup (+50 %, +0.05, floor 0.25) unless a global rule exists. Idempotent."""
    countries = list(
        Country.objects.filter(sms_activate_id__in=DEMO_COUNTRIES).values_list(
            "sms_activate_id", flat=True
        )
    )
    settings = {
        "seed": 1,
        "countries": countries,
        "cost": "0.10",
        "stock": 100,
        "sms_delay": sms_delay_seconds,
    }
    with transaction.atomic():
        provider, created = Provider.objects.get_or_create(
            name=DEMO_PROVIDER, defaults={"protocol": Protocol.SIMULATOR, "settings": settings}
        )
        if not created:
            provider.protocol = Protocol.SIMULATOR
            provider.settings = {**provider.settings, **settings}
            provider.enabled = True
            provider.save(update_fields=["protocol", "settings", "enabled", "updated_at"])
    if not PriceRule.objects.filter(provider=None, service=None, country=None).exists():
        price_rule_set(percent=Decimal("50"), fixed=Decimal("0.05"), floor=Decimal("0.25"))
    offers_sync(provider=provider)
    return provider
