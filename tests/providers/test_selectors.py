from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from providers.models import Country, PurchaseAttempt
from providers.selectors import (
    CachedBalance,
    balance_cache_key,
    market_list,
    offer_quote,
    provider_balance,
    provider_health,
    provider_health_summary,
    quote_list,
)
from providers.services import price_rule_set, provider_balance_refresh
from tests.factories import OfferFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def test_quote_is_the_cheapest_retail_and_the_total_stock(tg, usa):
    cheap = OfferFactory(cost=Decimal("0.40"), stock=3)
    OfferFactory(cost=Decimal("0.30"), stock=0)
    OfferFactory(cost=Decimal("0.10"), stock=9, provider=ProviderFactory(enabled=False))
    OfferFactory(cost=Decimal("0.60"), stock=4)
    price_rule_set(provider=cheap.provider, percent=Decimal("100"))  # 0.80: now dearer than 0.60

    quote = offer_quote(service=tg, country=usa)

    assert (quote.retail_price, quote.stock) == (Decimal("0.60"), 7)
    assert offer_quote(service=tg, country=Country.objects.get(sms_activate_id=0)) is None


def test_quote_list_groups_by_service_and_country(tg, usa):
    uk = Country.objects.get(sms_activate_id=16)
    OfferFactory(cost=Decimal("0.40"), stock=3)
    OfferFactory(cost=Decimal("0.20"), stock=2, country=uk)
    OfferFactory(cost=Decimal("0.50"), stock=1, country=uk)

    quotes = {
        (q.service_id, q.country_id): (q.retail_price, q.stock) for q in quote_list(service=tg)
    }

    assert quotes == {(tg.pk, usa.pk): (Decimal("0.40"), 3), (tg.pk, uk.pk): (Decimal("0.20"), 3)}


def test_operator_quote_counts_its_offers_and_any(tg, usa):
    OfferFactory(cost=Decimal("0.40"), stock=3)
    OfferFactory(cost=Decimal("0.20"), stock=2, operator="att")
    OfferFactory(cost=Decimal("0.10"), stock=2, operator="verizon")

    quote = offer_quote(service=tg, country=usa, operator="att")

    assert (quote.retail_price, quote.stock) == (Decimal("0.20"), 5)


def test_market_is_sorted_by_retail_price_then_priority(tg, usa):
    a = OfferFactory(cost=Decimal("0.50"), provider=ProviderFactory(priority=50))
    b = OfferFactory(cost=Decimal("0.50"), provider=ProviderFactory(priority=5))
    c = OfferFactory(cost=Decimal("0.20"))
    OfferFactory(cost=Decimal("0.01"), stock=0)

    market = market_list(service=tg, country=usa)

    assert [m.offer for m in market] == [c, b, a]
    assert market[0].retail_price == Decimal("0.20")


def attempt(offer, outcome, latency, *, sms=False, age=timedelta(hours=1)):
    return PurchaseAttempt.objects.create(
        provider=offer.provider,
        service=offer.service,
        country=offer.country,
        outcome=outcome,
        latency_ms=latency,
        upstream_id="1",
        created_at=timezone.now() - age,
        sms_received_at=timezone.now() if sms else None,
    )


def test_health_per_provider_and_route_over_windows(tg, usa):
    offer = OfferFactory()
    uk_offer = OfferFactory(
        provider=offer.provider, country=Country.objects.get(sms_activate_id=16)
    )
    attempt(offer, "bought", 100, sms=True)
    attempt(offer, "bought", 300)
    attempt(offer, "transient", 900)
    attempt(offer, "no_numbers", 50)
    attempt(uk_offer, "bought", 200, sms=True)
    attempt(offer, "bought", 5000, sms=True, age=timedelta(days=3))
    attempt(offer, "bought", 5000, age=timedelta(days=8))

    [day] = provider_health(window=timedelta(hours=24))
    assert (day.attempts, day.sold, day.with_sms, day.errors) == (5, 3, 2, 1)
    assert day.success_rate == pytest.approx(2 / 3)
    assert day.error_rate == pytest.approx(1 / 5)
    assert day.median_latency_ms == 200

    week = provider_health_summary()[offer.provider_id]["7d"]
    assert (week.sold, week.with_sms) == (4, 3)

    routes = {
        (h.service_id, h.country_id): h
        for h in provider_health(window=timedelta(hours=24), by_route=True)
    }
    usa_route = routes[(tg.pk, usa.pk)]
    assert (usa_route.sold, usa_route.with_sms, usa_route.median_latency_ms) == (2, 1, 200)
    assert routes[(tg.pk, uk_offer.country_id)].success_rate == 1


def test_health_of_a_provider_with_nothing_sold():
    offer = OfferFactory()
    attempt(offer, "no_numbers", 10)

    [health] = provider_health(window=timedelta(hours=24), provider_ids=[offer.provider_id])

    assert health.success_rate is None and health.error_rate == 0


def test_balance_reads_the_cache_only_and_a_dead_upstream_gives_unavailable(fake_sms_activate):
    provider = ProviderFactory(protocol="sms_activate", base_url=fake_sms_activate.handler_url)
    assert provider_balance(provider=provider) == CachedBalance(known=False)
    assert fake_sms_activate.requests == []

    assert provider_balance_refresh(provider=provider) == Decimal("12.50")
    assert provider_balance(provider=provider) == CachedBalance(known=True, amount=Decimal("12.50"))
    assert cache.get(balance_cache_key(provider.pk)) == "12.50"
    assert len(fake_sms_activate.requests) == 1

    cache.clear()
    fake_sms_activate.stop()
    assert provider_balance_refresh(provider=provider) is None
    assert provider_balance(provider=provider) == CachedBalance(known=True, amount=None)
