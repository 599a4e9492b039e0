"""Routing one number for several services: the cheapest provider that sells them all, with
failover over providers and the circuit breakers, one purchase attempt per service."""

from decimal import Decimal

import pytest

from providers import breaker
from providers.adapters import NoNumbers, OutcomeUnknown
from providers.models import PurchaseAttempt, SimulatedNumber
from providers.router import (
    MaxPriceTooLow,
    multi_routable_offers,
    purchase_route_multi,
)
from tests.factories import OfferFactory, ProviderFactory, _catalog

pytestmark = pytest.mark.django_db


def seller(costs: dict, *, priority: int = 100, protocol: str = "simulator", **settings):
    """A provider with an offer per service code in ``costs`` (the simulator sells at them)."""
    provider = ProviderFactory(
        priority=priority,
        protocol=protocol,
        settings={"sms_delay": None, "costs": costs, **settings},
    )
    for code, cost in costs.items():
        OfferFactory(provider=provider, service=_catalog("Service", code=code), cost=Decimal(cost))
    return provider


def test_the_cheapest_total_wins_among_providers_that_sell_every_service(tg, wa, usa):
    cheap_tg = seller({"tg": "0.10", "wa": "0.90"})  # total 1.00
    cheapest_total = seller({"tg": "0.30", "wa": "0.30"})  # total 0.60
    seller({"tg": "0.01"})  # does not sell wa
    seller({"tg": "0.05", "wa": "0.05"}, protocol="simsmsbox")  # cannot sell one number for both

    candidates = multi_routable_offers(services=[tg, wa], country=usa)

    assert [c.provider for c in candidates] == [cheapest_total, cheap_tg]
    assert candidates[0].retail_price == Decimal("0.60")
    assert [r.offer.service for r in candidates[0].offers] == [tg, wa]
    routed = purchase_route_multi(services=[tg, wa], country=usa)
    assert routed.provider == cheapest_total
    assert [(o.service, o.cost) for o in routed.orders] == [
        (tg, Decimal("0.30")),
        (wa, Decimal("0.30")),
    ]
    attempts = PurchaseAttempt.objects.order_by("pk")
    assert [(a.service, a.outcome, a.upstream_id, a.phone) for a in attempts] == [
        (o.service, "bought", o.upstream_id, routed.phone) for o in routed.orders
    ]
    assert routed.attempts == list(attempts)


def test_max_price_caps_each_service(tg, wa, usa):
    seller({"tg": "0.20", "wa": "0.70"})

    with pytest.raises(MaxPriceTooLow) as caught:
        multi_routable_offers(services=[tg, wa], country=usa, max_price=Decimal("0.69"))

    assert caught.value.extra == {"min_price": "0.70"}
    assert multi_routable_offers(services=[tg, wa], country=usa, max_price=Decimal("0.70"))


def test_fails_over_to_the_next_provider_on_a_definite_failure(tg, wa, usa):
    dry = seller({"tg": "0.20", "wa": "0.20"}, fail_no_numbers=1.0)
    broken = seller({"tg": "0.25", "wa": "0.25"}, fail_transient=1.0)
    selling = seller({"tg": "0.30", "wa": "0.30"})

    routed = purchase_route_multi(services=[tg, wa], country=usa)

    assert routed.provider == selling
    outcomes = [(a.provider, a.outcome) for a in PurchaseAttempt.objects.order_by("pk")]
    assert outcomes == [
        (dry, "no_numbers"),
        (dry, "no_numbers"),
        (broken, "transient"),
        (broken, "transient"),
        (selling, "bought"),
        (selling, "bought"),
    ]
    # the whole buy failed, not one service: no offer is marked out of stock
    assert all(o.stock > 0 for o in dry.offers.all())


def test_caps_keep_a_failover_from_selling_a_service_below_its_charge(tg, wa, usa):
    seller({"tg": "0.20", "wa": "0.20"}, fail_no_numbers=1.0)
    seller({"tg": "0.10", "wa": "0.30"})  # dearer wa than what was charged for it
    candidates = multi_routable_offers(services=[tg, wa], country=usa)
    caps = {tg.pk: Decimal("0.20"), wa.pk: Decimal("0.20")}

    with pytest.raises(NoNumbers):
        purchase_route_multi(services=[tg, wa], country=usa, caps=caps, offers=candidates)

    assert not PurchaseAttempt.objects.filter(outcome="bought").exists()


def test_providers_with_an_open_breaker_are_skipped(tg, wa, usa, settings):
    settings.SMSBOX_BREAKER_FAILURES = 1
    skipped = seller({"tg": "0.10", "wa": "0.10"})
    selling = seller({"tg": "0.30", "wa": "0.30"})
    breaker.breaker_record_failure(skipped.pk)

    routed = purchase_route_multi(services=[tg, wa], country=usa)

    assert routed.provider == selling
    assert not PurchaseAttempt.objects.filter(provider=skipped).exists()


def test_an_unknown_outcome_stops_the_route(tg, wa, usa):
    timing_out = seller({"tg": "0.10", "wa": "0.10"}, fail_timeout=1.0)
    seller({"tg": "0.30", "wa": "0.30"})

    with pytest.raises(OutcomeUnknown) as caught:
        purchase_route_multi(services=[tg, wa], country=usa)

    assert caught.value.provider == timing_out
    assert [a.outcome for a in caught.value.attempts] == ["unknown", "unknown"]
    assert PurchaseAttempt.objects.count() == 2  # nothing bought elsewhere


def test_a_banned_number_is_given_back_upstream(tg, wa, usa):
    # given: a pool of one number, which the customer banned
    provider = seller({"tg": "0.10", "wa": "0.10"}, pool_size=1)
    first = purchase_route_multi(services=[tg, wa], country=usa)
    phone = first.phone
    SimulatedNumber.objects.filter(provider=provider).update(status="finished")
    # when
    with pytest.raises(NoNumbers) as caught:
        purchase_route_multi(services=[tg, wa], country=usa, exclude_phones=[f"+{phone}"])
    # then: three tries, each of two orders, each order given back
    assert "banned" in caught.value.message
    excluded = PurchaseAttempt.objects.filter(provider=provider, outcome="excluded")
    assert excluded.count() == 6
    assert {SimulatedNumber.objects.get(pk=a.upstream_id).status for a in excluded} == {"cancelled"}
