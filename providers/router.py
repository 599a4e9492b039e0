"""Price-first routing: buy the cheapest in-stock offer within the customer's max price.

``purchase_route`` walks the offers cheapest retail first (provider priority breaks ties),
skips providers whose circuit breaker is open, buys, and fails over on every definite failure
(no numbers, transient, upstream balance, credentials, refusal). It stops on ``OutcomeUnknown``
and re-raises it carrying ``provider``, ``offer`` and ``attempts``: the number may have been
bought, so the caller must reconcile rather than buy elsewhere. Every attempt is recorded.
It runs outside any transaction (step 2 of the purchase saga).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from providers import breaker
from providers.adapters import (
    BadCredentials,
    BoughtNumber,
    NoNumbers,
    OutcomeUnknown,
    Transient,
    UpstreamError,
    UpstreamNoBalance,
    UpstreamRejected,
    adapter_for,
)
from providers.models import Country, Offer, Provider, PurchaseAttempt, Service
from providers.pricing import PriceBook
from providers.services import offer_mark_out_of_stock, purchase_attempt_record
from smsbox.errors import ApplicationError
from smsbox.money import format_money

logger = logging.getLogger(__name__)
Outcome = PurchaseAttempt.Outcome

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
    message = "No number is offered within the maximum price."
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
    offers = Offer.objects.filter(
        service=service, country=country, stock__gt=0, provider__enabled=True
    ).select_related("provider", "service", "country")
    if operator:
        offers = offers.filter(operator__in=["", operator])
    book = book or PriceBook()
    priced = [
        RoutedOffer(
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
) -> RoutedPurchase:
    """Buy a number for ``service`` in ``country``; see the module docstring. ``offers``: what
    ``routable_offers`` answered for the same service, country and operator a moment ago (the
    purchase saga quotes its price from them), so they are not read again; None reads them."""
    if offers is None:
        offers = routable_offers(
            service=service, country=country, operator=operator, max_price=max_price
        )
    elif max_price is not None:
        offers = [r for r in offers if r.retail_price <= max_price]
    attempts: list[PurchaseAttempt] = []
    failed_providers: set[int] = set()
    excluded = {"".join(ch for ch in p if ch.isdigit()) for p in exclude_phones}
    excluded_left = max_excluded
    last_error: UpstreamError | None = None
    for routed in offers:
        offer, provider = routed.offer, routed.offer.provider
        if provider.pk in failed_providers or not breaker.breaker_allows(provider.pk):
            continue
        while True:
            attempt, bought, error = _try(offer, service, country, operator)
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


def _try(offer: Offer, service: Service, country: Country, operator: str):
    """One buy from one offer's provider: (recorded attempt, bought number or None, error)."""
    provider = offer.provider
    started = time.monotonic()
    bought, error = None, None
    try:
        bought = adapter_for(provider).buy(
            service=service, country=country, operator=operator, max_cost=offer.cost
        )
        outcome = Outcome.BOUGHT
    except UpstreamError as exc:
        error = exc
        outcome = next((o for cls, o in _OUTCOMES if isinstance(exc, cls)), Outcome.TRANSIENT)
        logger.info("Buying from %s failed: %s", provider, exc.message)
    latency_ms = int((time.monotonic() - started) * 1000)
    note = error.message if error else _over_cost(offer, bought)
    if outcome in _BREAKER_FAILURES:
        breaker.breaker_record_failure(provider.pk)
    else:
        breaker.breaker_record_success(provider.pk)
    attempt = purchase_attempt_record(
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
    PurchaseAttempt.objects.filter(pk=attempt.pk).update(outcome=Outcome.EXCLUDED)
    attempt.outcome = Outcome.EXCLUDED
    try:
        adapter_for(provider).release_unwanted(upstream_id=attempt.upstream_id)
    except UpstreamError as exc:
        logger.warning(
            "Could not release excluded number %s at %s: %s",
            attempt.upstream_id,
            provider,
            exc.message,
        )
