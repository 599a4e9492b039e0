from decimal import Decimal

import pytest
from django.db import IntegrityError

from providers.adapters import NoNumbers
from providers.models import Country, Service
from rentals.rental_errors import InvalidPackage, InvalidTime, MaxHoursExceed
from rentals.rental_selectors import rental_duration, rental_plans, rental_quote
from tests.factories import RentalPlanFactory

pytestmark = pytest.mark.django_db


def test_the_exact_plan_sets_the_price(usa, rent_plans):
    quote = rental_quote(country=usa, hours=24)

    assert (quote.price, quote.rule, quote.plan) == (Decimal("3.00"), "exact", rent_plans["24h"])


def test_a_plan_in_days_is_the_exact_plan_for_its_hours(usa, rent_plans):
    quote = rental_quote(country=usa, hours=7 * 24)

    assert (quote.price, quote.rule) == (Decimal("8.00"), "exact")


def test_a_package_is_priced_by_its_own_plan(usa, rent_plans):
    quote = rental_quote(country=usa, package="3M")

    assert (quote.price, quote.rule, quote.package) == (Decimal("30.00"), "exact", "3m")


def test_other_durations_are_pro_rata_from_the_nearest_plan(usa, rent_plans):
    # 12 h: nearest is 4 h (8 away) rather than 24 h (12 away): 1.00 * 12 / 4
    assert rental_quote(country=usa, hours=12).price == Decimal("3.00")
    # 48 h: nearest is 24 h: 3.00 * 48 / 24
    assert rental_quote(country=usa, hours=48).price == Decimal("6.00")
    # 1000 h: nearest is 1m (720 h): 15.00 * 1000 / 720 = 20.833… → 20.83
    quote = rental_quote(country=usa, hours=1000)
    assert (quote.price, quote.rule, quote.plan) == (Decimal("20.83"), "pro_rata", rent_plans["1m"])


def test_an_equally_near_longer_plan_wins_the_tie(usa, rent_plans):
    # 14 h is 10 away from 4 h and 10 away from 24 h: the 24 h plan prices it (3.00 * 14 / 24)
    assert rental_quote(country=usa, hours=14).price == Decimal("1.75")


def test_a_package_without_its_plan_is_pro_rata_too(usa, rent_plans):
    # 6m = 180 days = 4320 h; nearest plan 3m (2160 h): 30.00 * 2
    quote = rental_quote(country=usa, package="6m")
    assert (quote.price, quote.rule) == (Decimal("60.00"), "pro_rata")


def test_a_service_with_its_own_plans_uses_only_those(usa, telegram, rent_plans):
    own = RentalPlanFactory(country=usa, service=telegram, unit="hours", length=24, price="5.00")

    assert rental_quote(country=usa, service=telegram, hours=24).plan == own
    assert rental_quote(country=usa, service=telegram, hours=48).price == Decimal("10.00")
    whatsapp = Service.objects.get(code="wa")
    assert rental_quote(country=usa, service=whatsapp, hours=24).price == Decimal("3.00")


def test_inactive_plans_do_not_count(usa, rent_plans):
    rent_plans["24h"].active = False
    rent_plans["24h"].save()

    quote = rental_quote(country=usa, hours=24)

    assert quote.rule == "pro_rata"
    assert rental_plans(country=usa).filter(pk=rent_plans["24h"].pk).count() == 0


def test_no_plan_in_the_country_is_no_numbers(catalog, rent_plans):
    germany = Country.objects.get(sms_activate_id=43)

    with pytest.raises(NoNumbers):
        rental_quote(country=germany, hours=24)


@pytest.mark.parametrize("hours", [0, 3, -5, "x", "4.5", 4.0, True])
def test_a_time_below_the_minimum_or_not_whole_hours_is_invalid_time(hours):
    with pytest.raises(InvalidTime) as caught:
        rental_duration(hours=hours)
    assert caught.value.code == "INVALID_TIME"


def test_a_time_beyond_the_maximum_is_max_hours_exceed():
    assert rental_duration(hours=1344).hours == 1344
    with pytest.raises(MaxHoursExceed) as caught:
        rental_duration(hours=1345)
    assert (caught.value.code, caught.value.extra["max"]) == ("MAX_HOURS_EXCEED", 1344)


def test_unknown_packages_and_both_kinds_at_once_are_refused():
    with pytest.raises(InvalidPackage):
        rental_duration(package="2w")
    with pytest.raises(InvalidTime):
        rental_duration(hours=4, package="1m")
    with pytest.raises(InvalidTime):
        rental_duration()


def test_the_database_refuses_a_plan_without_a_consistent_duration(usa):
    with pytest.raises(IntegrityError):
        RentalPlanFactory(country=usa, unit="package", length=None, package="")


def test_the_database_refuses_a_second_plan_of_the_same_duration(usa):
    RentalPlanFactory(country=usa, unit="hours", length=24)
    with pytest.raises(IntegrityError):
        RentalPlanFactory(country=usa, unit="hours", length=24)


def test_the_price_list_has_any_service_and_each_service_in_stock(
    usa, telegram, rent_plans, rent_sim
):
    from rentals.rental_selectors import rental_price_list

    RentalPlanFactory(country=usa, service=telegram, unit="hours", length=4, price="2.00")

    lines = {
        (o.service.code if o.service else "full"): o
        for o in rental_price_list(country=usa, hours=4)
    }

    assert set(lines) == {"full", "tg", "wa"}  # the simulator sells tg and wa in the USA
    assert (lines["full"].price, lines["wa"].price, lines["tg"].price) == (
        Decimal("1.00"),
        Decimal("1.00"),
        Decimal("2.00"),
    )
    assert lines["tg"].stock == 100
    germany = Country.objects.get(sms_activate_id=43)
    assert rental_price_list(country=germany, hours=4) == []
