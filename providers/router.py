"""Price-first routing: buy the cheapest in-stock offer within the customer's max price.

``purchase_route`` walks the offers cheapest retail first (provider priority breaks ties),
skips providers whose circuit breaker is open, buys, and fails over on every definite failure
(no numbers, transient, upstream balance, credentials, refusal). It stops on ``OutcomeUnknown``
and re-raises it carrying ``provider``, ``offer`` and ``attempts``: the number may have been
bought, so the caller must reconcile rather than buy elsewhere. Every attempt is recorded; with
``record_bought=False`` the one that bought is left unsaved for the caller to write with what
it records of the number (the purchase saga's step 3: one statement, one commit).
It runs outside any transaction (step 2 of the purchase saga).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from django.utils.translation import gettext_noop

from providers import breaker
from providers.adapters import (
    BadCredentials,
    BoughtMultiNumber,
    BoughtNumber,
    NoNumbers,
    OutcomeUnknown,
    Transient,
    UpstreamError,
    UpstreamNoBalance,
    UpstreamRejected,
    adapter_for,
)
from providers.adapters.base import digits
from providers.models import Country, Offer, Provider, PurchaseAttempt, Service
from providers.pricing import PriceBook
from providers.services import (
    offer_mark_out_of_stock,
    purchase_attempt_build,
    purchase_attempt_record,
)
from providers.snapshot import offers_in_stock, price_book
from smsbox.errors import ApplicationError
from smsbox.money import format_money

logger = logging.getLogger(__name__)
Outcome = PurchaseAttempt.Outcome
T = TypeVar("T")

_OUTCOMES: list[tuple[type[UpstreamError], str]] = [
    (NoNumbers, Outcome.NO_NUMBERS),
    (UpstreamNoBalance, Outcome.NO_BALANCE),
    (BadCredentials, Outcome.BAD_CREDENTIALS),
    (Transient, Outcome.TRANSIENT),
    (OutcomeUnknown, Outcome.UNKNOWN),
    (UpstreamRejected, Outcome.REJECTED),
]
_BREAKER_FAILURES = {
    Outcome.NO_BALANCE,
    Outcome.BAD_CREDENTIALS,
    Outcome.TRANSIENT,
    Outcome.UNKNOWN,
}


class MaxPriceTooLow(ApplicationError):
    """Numbers are in stock, but none within the customer's max price."""

    code = "WRONG_MAX_PRICE"
    message = gettext_noop("No number is offered within the maximum price.")
    status = 409


@dataclass(frozen=True)
class RoutedOffer:
    offer: Offer
    retail_price: Decimal


@dataclass
class RoutedPurchase:
    provider: Provider
    offer: Offer
    retail_price: Decimal
    upstream_id: str
    phone: str
    cost: Decimal
    attempts: list[PurchaseAttempt] = field(default_factory=list)


def routable_offers(
    *,
    service: Service,
    country: Country,
    operator: str = "",
    max_price: Decimal | None = None,
    book: PriceBook | None = None,
) -> list[RoutedOffer]:
    """In-stock offers of enabled providers, cheapest retail first; raises ``MaxPriceTooLow``
    when there are some but none within ``max_price``."""
    offers = offers_in_stock(service_id=service.pk, country_id=country.pk)
    if operator:
        offers = [o for o in offers if o.operator in ("", operator)]
    book = book or price_book()
    priced = []
    for o in offers:
        o.service, o.country = service, country  # those asked for: not joined again
        retail = book.retail(
            provider_id=o.provider_id, service_id=o.service_id, country_id=o.country_id, cost=o.cost
        )
        priced.append(RoutedOffer(offer=o, retail_price=retail))
    priced.sort(key=lambda r: (r.retail_price, r.offer.provider.priority, r.offer.cost, r.offer.pk))
    if max_price is None:
        return priced
    within = [r for r in priced if r.retail_price <= max_price]
    if priced and not within:
        cheapest = priced[0].retail_price
        raise MaxPriceTooLow(
            f"The cheapest number costs {format_money(cheapest)}.",
            extra={"min_price": format_money(cheapest)},
        )
    return within


def purchase_route(
    *,
    service: Service,
    country: Country,
    operator: str = "",
    max_price: Decimal | None = None,
    exclude_phones: Collection[str] = (),
    max_excluded: int = 3,
    offers: Sequence[RoutedOffer] | None = None,
    record_bought: bool = True,
) -> RoutedPurchase:
    """Buy a number for ``service`` in ``country``; see the module docstring. ``offers``: what
    ``routable_offers`` answered for the same service, country and operator a moment ago (the
    purchase saga quotes its price from them), so they are not read again; None reads them.
    ``record_bought``: False leaves the attempt that bought (the last of ``attempts``) unsaved."""
    if offers is None:
        offers = routable_offers(
            service=service, country=country, operator=operator, max_price=max_price
        )
    elif max_price is not None:
        offers = [r for r in offers if r.retail_price <= max_price]
    attempts: list[PurchaseAttempt] = []
    failed_providers: set[int] = set()
    excluded = {digits(p) for p in exclude_phones}
    excluded_left = max_excluded
    last_error: UpstreamError | None = None
    for routed in offers:
        offer, provider = routed.offer, routed.offer.provider
        if provider.pk in failed_providers:
            continue
        admission = breaker.breaker_admit(provider.pk)
        if admission is None:
            continue
        while True:
            attempt, bought, error = _try(
                offer, service, country, operator, admission=admission, record=record_bought
            )
            attempts.append(attempt)
            if bought is None:
                break
            if bought.phone not in excluded:
                return RoutedPurchase(
                    provider=provider,
                    offer=offer,
                    retail_price=routed.retail_price,
                    upstream_id=bought.upstream_id,
                    phone=bought.phone,
                    cost=bought.cost if bought.cost is not None else offer.cost,
                    attempts=attempts,
                )
            _release(provider, attempt)
            excluded_left -= 1
            if excluded_left <= 0:
                raise NoNumbers(
                    "Only numbers the customer banned were offered.",
                    extra={"attempts": [a.pk for a in attempts]},
                )
        if isinstance(error, OutcomeUnknown):
            error.provider, error.offer, error.attempts = provider, offer, attempts
            error.extra.update(provider_id=provider.pk, offer_id=offer.pk, attempt_id=attempt.pk)
            raise error
        if isinstance(error, NoNumbers):
            offer_mark_out_of_stock(offer=offer)
        failed_providers.add(provider.pk)
        last_error = error or last_error
    raise NoNumbers(
        "No provider could sell a number." if attempts else NoNumbers.message,
        extra={"attempts": [a.pk for a in attempts], "last_error": getattr(last_error, "code", "")},
    )


def _timed_buy(
    provider: Provider, buy: Callable[[], T], admission: breaker.Admission | None = None
) -> tuple[T | None, UpstreamError | None, str, int]:
    """Run one upstream ``buy``: (its result or None, the error or None, the attempt's
    outcome, the latency in ms). The provider's circuit breaker counts the buy once;
    ``admission``: how the breaker let it through."""
    started = time.monotonic()
    bought, error = None, None
    try:
        bought = buy()
        outcome = Outcome.BOUGHT
    except UpstreamError as exc:
        error = exc
        outcome = next((o for cls, o in _OUTCOMES if isinstance(exc, cls)), Outcome.TRANSIENT)
        logger.info("Buying from %s failed: %s", provider, exc.message)
    latency_ms = int((time.monotonic() - started) * 1000)
    if outcome in _BREAKER_FAILURES:
        breaker.breaker_record_failure(provider.pk)
    else:
        breaker.breaker_record_success(provider.pk, admission=admission)
    return bought, error, outcome, latency_ms


def _try(
    offer: Offer,
    service: Service,
    country: Country,
    operator: str,
    *,
    admission: breaker.Admission | None = None,
    record: bool = True,
):
    """One buy from one offer's provider: (its attempt, bought number or None, error). The
    attempt is recorded, but for a number bought with ``record`` False."""
    provider = offer.provider
    bought, error, outcome, latency_ms = _timed_buy(
        provider,
        lambda: adapter_for(provider).buy(
            service=service, country=country, operator=operator, max_cost=offer.cost
        ),
        admission,
    )
    note = error.message if error else _over_cost(offer, bought)
    write = purchase_attempt_record if record or bought is None else purchase_attempt_build
    attempt = write(
        provider=provider,
        service=service,
        country=country,
        operator=operator,
        outcome=outcome,
        latency_ms=latency_ms,
        upstream_id=bought.upstream_id if bought else "",
        phone=bought.phone if bought else "",
        cost=bought.cost if bought else None,
        error=note,
    )
    return attempt, bought, error


def _over_cost(offer: Offer, bought: BoughtNumber | None) -> str:
    """Some protocols cannot cap the price of a purchase (``max_cost`` is the offer's cost):
    a number that cost more is kept, logged, and noted on its attempt."""
    if bought is None or bought.cost is None or bought.cost <= offer.cost:
        return ""
    logger.warning(
        "Number %s from %s cost %s, above the offer's %s; kept.",
        bought.upstream_id,
        offer.provider,
        bought.cost,
        offer.cost,
    )
    return (
        f"Cost {format_money(bought.cost)} above the offer's {format_money(offer.cost)} "
        "(the number was kept)."
    )


def _release(provider: Provider, attempt: PurchaseAttempt) -> None:
    """The customer banned this number: give it back upstream and mark the attempt."""
    attempt.outcome = Outcome.EXCLUDED
    if attempt.pk is None:  # left for the caller to record
        attempt.save(force_insert=True)
    else:
        PurchaseAttempt.objects.filter(pk=attempt.pk).update(outcome=Outcome.EXCLUDED)
    try:
        adapter_for(provider).release_unwanted(upstream_id=attempt.upstream_id)
    except UpstreamError as exc:
        logger.warning(
            "Could not release excluded number %s at %s: %s",
            attempt.upstream_id,
            provider,
            exc.message,
        )


# --- one number for several services ----------------------------------------------------------
@dataclass(frozen=True)
class RoutedMultiOffer:
    """One provider's offers for every service of a multi-service order (in the services'
    order); it sells them as one number, at the sum of their retail prices."""

    provider: Provider
    offers: tuple[RoutedOffer, ...]

    @property
    def retail_price(self) -> Decimal:
        return sum((r.retail_price for r in self.offers), Decimal(0))


@dataclass(frozen=True)
class RoutedServiceOrder:
    service: Service
    offer: Offer
    retail_price: Decimal
    upstream_id: str
    cost: Decimal


@dataclass
class RoutedMultiPurchase:
    provider: Provider
    phone: str
    orders: tuple[RoutedServiceOrder, ...]  # in the services' order
    attempts: list[PurchaseAttempt] = field(default_factory=list)

    def order_for(self, service_id: int) -> RoutedServiceOrder:
        return next(o for o in self.orders if o.service.pk == service_id)


def multi_routable_offers(
    *,
    services: Sequence[Service],
    country: Country,
    operator: str = "",
    max_price: Decimal | None = None,
    book: PriceBook | None = None,
) -> list[RoutedMultiOffer]:
    """The providers that can sell one number for all of ``services`` in ``country`` (each
    service in stock there, and a protocol that buys several services on one number), each
    with its cheapest offer per service; cheapest total first (provider priority breaks ties).
    ``max_price`` caps each service's price; ``MaxPriceTooLow`` when some providers could sell
    but none within it."""
    book = book or price_book()
    by_provider: dict[int, dict[int, RoutedOffer]] = {}
    for service in services:
        for routed in routable_offers(
            service=service, country=country, operator=operator, book=book
        ):
            by_provider.setdefault(routed.offer.provider_id, {}).setdefault(service.pk, routed)
    candidates = [
        RoutedMultiOffer(
            provider=offers[services[0].pk].offer.provider,
            offers=tuple(offers[s.pk] for s in services),
        )
        for offers in by_provider.values()
        if len(offers) == len(services)
    ]
    candidates = [c for c in candidates if adapter_for(c.provider).buys_multi_service]
    candidates.sort(key=lambda c: (c.retail_price, c.provider.priority, c.provider.pk))
    if max_price is None:
        return candidates
    within = [c for c in candidates if _dearest(c) <= max_price]
    if candidates and not within:
        lowest = min(_dearest(c) for c in candidates)
        raise MaxPriceTooLow(
            f"One of the services costs {format_money(lowest)} at least.",
            extra={"min_price": format_money(lowest)},
        )
    return within


def _dearest(candidate: RoutedMultiOffer) -> Decimal:
    return max(r.retail_price for r in candidate.offers)


def purchase_route_multi(
    *,
    services: Sequence[Service],
    country: Country,
    operator: str = "",
    caps: Mapping[int, Decimal] | None = None,
    exclude_phones: Collection[str] = (),
    max_excluded: int = 3,
    offers: Sequence[RoutedMultiOffer] | None = None,
) -> RoutedMultiPurchase:
    """Buy one number for all of ``services`` from the cheapest provider that can, failing
    over like ``purchase_route``: on definite failures to the next provider, never past an
    ``OutcomeUnknown`` (re-raised carrying ``provider`` and ``attempts``). ``caps``: the most
    each service (by id) may be sold at (what was charged for it), so a failover never sells
    a service below its cost. ``offers``: what ``multi_routable_offers`` answered a moment
    ago. Each buy records one attempt per service."""
    if offers is None:
        offers = multi_routable_offers(services=services, country=country, operator=operator)
    if caps is not None:
        offers = [
            c for c in offers if all(r.retail_price <= caps[r.offer.service_id] for r in c.offers)
        ]
    attempts: list[PurchaseAttempt] = []
    excluded = {digits(p) for p in exclude_phones}
    excluded_left = max_excluded
    last_error: UpstreamError | None = None
    for candidate in offers:
        provider = candidate.provider
        admission = breaker.breaker_admit(provider.pk)
        if admission is None:
            continue
        while True:
            tried, bought, error = _try_multi(candidate, services, country, operator, admission)
            attempts.extend(tried)
            if bought is None:
                break
            if bought.phone not in excluded:
                return _routed_multi(candidate, services, bought, attempts)
            for attempt in tried:
                _release(provider, attempt)
            excluded_left -= 1
            if excluded_left <= 0:
                raise NoNumbers(
                    "Only numbers the customer banned were offered.",
                    extra={"attempts": [a.pk for a in attempts]},
                )
        if isinstance(error, OutcomeUnknown):
            error.provider, error.attempts = provider, attempts
            error.extra.update(provider_id=provider.pk, attempt_ids=[a.pk for a in tried])
            raise error
        last_error = error or last_error
    raise NoNumbers(
        "No provider could sell one number for these services." if attempts else NoNumbers.message,
        extra={"attempts": [a.pk for a in attempts], "last_error": getattr(last_error, "code", "")},
    )


def _try_multi(
    candidate: RoutedMultiOffer,
    services: Sequence[Service],
    country: Country,
    operator: str,
    admission: breaker.Admission | None = None,
) -> tuple[list[PurchaseAttempt], BoughtMultiNumber | None, UpstreamError | None]:
    """One multi-service buy from one provider: (one recorded attempt per service, the bought
    number or None, the error). The breaker counts the buy once. A ``NoNumbers`` does not say
    which service was missing, so no offer is marked out of stock."""
    provider = candidate.provider
    bought, error, outcome, latency_ms = _timed_buy(
        provider,
        lambda: adapter_for(provider).buy_multi(
            services=services,
            country=country,
            operator=operator,
            max_costs={r.offer.service.code: r.offer.cost for r in candidate.offers},
        ),
        admission,
    )
    attempts = [
        purchase_attempt_record(
            provider=provider,
            service=service,
            country=country,
            operator=operator,
            outcome=outcome,
            latency_ms=latency_ms,
            **_multi_attempt_details(routed.offer, service, bought, error),
        )
        for service, routed in zip(services, candidate.offers, strict=True)
    ]
    return attempts, bought, error


def _multi_attempt_details(
    offer: Offer, service: Service, bought: BoughtMultiNumber | None, error: UpstreamError | None
) -> dict:
    """What one service's attempt records of a multi-service buy: its own order, the number."""
    if bought is None:
        return {"error": error.message if error else ""}
    order = bought.order_for(service.code)
    return {
        "upstream_id": order.upstream_id,
        "phone": bought.phone,
        "cost": order.cost,
        "error": _over_cost(offer, BoughtNumber(order.upstream_id, bought.phone, order.cost)),
    }


def _routed_multi(
    candidate: RoutedMultiOffer,
    services: Sequence[Service],
    bought: BoughtMultiNumber,
    attempts: list[PurchaseAttempt],
) -> RoutedMultiPurchase:
    orders = []
    for service, routed in zip(services, candidate.offers, strict=True):
        order = bought.order_for(service.code)
        orders.append(
            RoutedServiceOrder(
                service=service,
                offer=routed.offer,
                retail_price=routed.retail_price,
                upstream_id=order.upstream_id,
                cost=order.cost if order.cost is not None else routed.offer.cost,
            )
        )
    return RoutedMultiPurchase(
        provider=candidate.provider, phone=bought.phone, orders=tuple(orders), attempts=attempts
    )
