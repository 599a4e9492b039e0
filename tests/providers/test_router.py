from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from providers import breaker
from providers.adapters import NoNumbers, OutcomeUnknown, adapter_for
from providers.models import Offer, PurchaseAttempt
from providers.router import MaxPriceTooLow, purchase_route, routable_offers
from providers.services import price_rule_set
from tests.factories import OfferFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def offer(cost, *, priority=100, **settings):
    provider = ProviderFactory(priority=priority, settings={"sms_delay": None, **settings})
    return OfferFactory(provider=provider, cost=Decimal(cost))


def test_cheapest_first_and_priority_breaks_ties(tg, usa):
    expensive = offer("0.90")
    tie_low_priority = offer("0.50", priority=200)
    tie_high_priority = offer("0.50", priority=10)
    cheapest = offer("0.10")
    cheapest_disabled = offer("0.05")
    cheapest_disabled.provider.enabled = False
    cheapest_disabled.provider.save()
    out_of_stock = offer("0.01")
    out_of_stock.stock = 0
    out_of_stock.save()

    order = [r.offer for r in routable_offers(service=tg, country=usa)]

    assert order == [cheapest, tie_high_priority, tie_low_priority, expensive]
    routed = purchase_route(service=tg, country=usa)
    assert routed.offer == cheapest
    assert routed.retail_price == Decimal("0.10")
    assert routed.cost == Decimal("0.10")
    [attempt] = routed.attempts
    assert (attempt.outcome, attempt.upstream_id, attempt.phone) == (
        "bought",
        routed.upstream_id,
        routed.phone,
    )


def test_retail_price_and_max_price(tg, usa):
    cheap, dear = offer("0.20"), offer("0.40")
    price_rule_set(percent=Decimal("100"))  # retail 0.40 and 0.80

    assert purchase_route(service=tg, country=usa, max_price=Decimal("0.40")).offer == cheap
    cheap.stock = 0
    cheap.save()
    with pytest.raises(MaxPriceTooLow) as caught:
        purchase_route(service=tg, country=usa, max_price=Decimal("0.79"))
    assert caught.value.extra == {"min_price": "0.80"}
    assert purchase_route(service=tg, country=usa, max_price=Decimal("0.80")).offer == dear


def test_operator_takes_offers_for_it_or_for_any(tg, usa):
    any_operator = offer("0.30")
    att = offer("0.20")
    att.operator = "att"
    att.save()
    verizon = offer("0.10")
    verizon.operator = "verizon"
    verizon.save()

    order = [r.offer for r in routable_offers(service=tg, country=usa, operator="att")]

    assert order == [att, any_operator]


def test_fails_over_from_no_numbers_and_transient_to_the_third(tg, usa):
    empty = offer("0.10", fail_no_numbers=1.0)
    flaky = offer("0.20", fail_transient=1.0)
    good = offer("0.30")

    routed = purchase_route(service=tg, country=usa)

    assert routed.provider == good.provider
    assert [(a.provider_id, a.outcome) for a in routed.attempts] == [
        (empty.provider_id, "no_numbers"),
        (flaky.provider_id, "transient"),
        (good.provider_id, "bought"),
    ]
    assert all(a.latency_ms >= 0 for a in routed.attempts)
    assert PurchaseAttempt.objects.count() == 3
    empty.refresh_from_db()
    assert empty.stock == 0  # not routed to again before the next sync


def test_outcome_unknown_stops_and_carries_the_provider(tg, usa):
    timing_out = offer("0.10", fail_timeout=1.0)
    offer("0.20")

    with pytest.raises(OutcomeUnknown) as caught:
        purchase_route(service=tg, country=usa)

    assert caught.value.provider == timing_out.provider
    assert caught.value.extra["provider_id"] == timing_out.provider_id
    assert [a.outcome for a in caught.value.attempts] == ["unknown"]
    assert PurchaseAttempt.objects.count() == 1


def test_nothing_to_sell(tg, usa):
    with pytest.raises(NoNumbers):
        purchase_route(service=tg, country=usa)
    offer("0.10", fail_no_numbers=1.0)
    with pytest.raises(NoNumbers) as caught:
        purchase_route(service=tg, country=usa)
    assert len(caught.value.extra["attempts"]) == 1


def test_banned_numbers_are_given_back_and_another_is_bought(tg, usa):
    # Two simulators with the same seed sell the same first number.
    offer("0.10", seed=5)
    first = purchase_route(service=tg, country=usa)
    Offer.objects.update(stock=0)
    offer("0.10", seed=5)

    routed = purchase_route(service=tg, country=usa, exclude_phones=[f"+{first.phone}"])

    assert routed.phone != first.phone
    assert [a.outcome for a in routed.attempts] == ["excluded", "bought"]
    assert routed.attempts[0].phone == first.phone


def test_only_banned_numbers_is_bounded(tg, usa):
    single = offer("0.10", pool_size=1)
    phone = purchase_route(service=tg, country=usa).phone
    Offer.objects.update(stock=10)
    adapter_for(single.provider).cancel(upstream_id=PurchaseAttempt.objects.get().upstream_id)

    with pytest.raises(NoNumbers):
        purchase_route(service=tg, country=usa, exclude_phones=[phone], max_excluded=3)
    assert (
        list(PurchaseAttempt.objects.filter(outcome="excluded").values_list("phone", flat=True))
        == [phone] * 3
    )


def test_breaker_opens_after_consecutive_failures_and_closes_after_a_good_trial(tg, usa, settings):
    settings.SMSBOX_BREAKER_FAILURES = 2
    settings.SMSBOX_BREAKER_COOLDOWN = 60
    flaky = offer("0.10", fail_transient=1.0)
    good = offer("0.20")
    flaky_attempts = PurchaseAttempt.objects.filter(provider=flaky.provider)

    purchase_route(service=tg, country=usa)
    assert breaker.breaker_state(flaky.provider_id) == breaker.CLOSED
    purchase_route(service=tg, country=usa)
    assert breaker.breaker_state(flaky.provider_id) == breaker.OPEN

    routed = purchase_route(service=tg, country=usa)
    assert routed.provider == good.provider
    assert flaky_attempts.count() == 2  # skipped while open

    flaky.provider.settings = {"sms_delay": None}  # the upstream recovers
    flaky.provider.save()
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert breaker.breaker_state(flaky.provider_id) == breaker.HALF_OPEN
        routed = purchase_route(service=tg, country=usa)
        assert routed.provider == flaky.provider
        assert breaker.breaker_state(flaky.provider_id) == breaker.CLOSED


def test_half_open_lets_one_trial_through_and_a_failure_reopens(settings):
    settings.SMSBOX_BREAKER_FAILURES = 1
    settings.SMSBOX_BREAKER_COOLDOWN = 30
    breaker.breaker_record_failure(42)
    assert not breaker.breaker_allows(42)

    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert breaker.breaker_allows(42)
        assert not breaker.breaker_allows(42)  # another worker waits for the trial's result
        breaker.breaker_record_failure(42)
        assert breaker.breaker_state(42) == breaker.OPEN


def test_a_success_resets_the_count(settings):
    settings.SMSBOX_BREAKER_FAILURES = 3
    breaker.breaker_record_failure(7)
    breaker.breaker_record_failure(7)
    breaker.breaker_record_success(7)
    breaker.breaker_record_failure(7)
    breaker.breaker_record_failure(7)

    assert breaker.breaker_state(7) == breaker.CLOSED


def test_a_success_admitted_clean_writes_nothing_and_one_admitted_after_failures_resets(
    settings,
):
    settings.SMSBOX_BREAKER_FAILURES = 3
    clean = breaker.breaker_admit(9)
    assert clean == breaker.Admission(clean=True)
    breaker.breaker_record_failure(9)  # another worker's failure, counted meanwhile
    breaker.breaker_record_success(9, admission=clean)  # nothing to reset when admitted
    breaker.breaker_record_failure(9)
    breaker.breaker_record_failure(9)
    assert breaker.breaker_state(9) == breaker.OPEN  # the failure meanwhile stood

    settings.SMSBOX_BREAKER_FAILURES = 5
    breaker.breaker_record_success(9)  # closed again
    breaker.breaker_record_failure(9)
    after_failure = breaker.breaker_admit(9)
    assert after_failure == breaker.Admission(clean=False)
    breaker.breaker_record_success(9, admission=after_failure)
    assert breaker.breaker_admit(9) == breaker.Admission(clean=True)  # the count was reset


def test_a_purchase_through_a_clean_breaker_asks_redis_once(tg, usa, monkeypatch):
    from django.core.cache import cache

    offer("0.10")
    calls = []

    def counted(name, original):
        def counting(*args, **kwargs):
            if "breaker" in str(args[0]):
                calls.append(name)
            return original(*args, **kwargs)

        return counting

    for name in ("get_many", "delete_many", "add", "incr", "set", "get", "delete"):
        monkeypatch.setattr(cache, name, counted(name, getattr(cache, name)))
    purchase_route(service=tg, country=usa)
    assert calls == ["get_many"]


def test_a_bought_attempt_left_to_the_caller_is_not_written(tg, usa):
    offer("0.10")
    routed = purchase_route(service=tg, country=usa, record_bought=False)
    [attempt] = routed.attempts
    assert attempt.pk is None and attempt.outcome == "bought"
    assert (attempt.upstream_id, attempt.phone) == (routed.upstream_id, routed.phone)
    assert not PurchaseAttempt.objects.exists()


def test_a_number_that_cost_more_than_the_offer_is_kept_logged_and_noted(
    tg, usa, fake_sms_activate, caplog
):
    # given an upstream that ignores maxPrice (its V2 answer reports 12.50 for every number)
    provider = ProviderFactory(protocol="sms_activate", base_url=fake_sms_activate.handler_url)
    OfferFactory(provider=provider, cost=Decimal("0.50"))

    with caplog.at_level("WARNING", logger="providers.router"):
        routed = purchase_route(service=tg, country=usa)

    assert routed.cost == Decimal("12.50") and routed.phone
    assert fake_sms_activate.requests[-1].params["maxPrice"] == "0.50"
    [attempt] = routed.attempts
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.cost) == ("bought", Decimal("12.50"))
    assert attempt.error == "Cost 12.50 above the offer's 0.50 (the number was kept)."
    assert "above the offer's 0.5" in caplog.text


def test_a_number_within_the_offer_cost_has_no_note(tg, usa):
    offer("0.10")

    routed = purchase_route(service=tg, country=usa)

    assert routed.cost == Decimal("0.10") and routed.attempts[0].error == ""
