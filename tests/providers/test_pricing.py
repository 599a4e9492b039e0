from decimal import Decimal

import pytest
from django.db import IntegrityError

from providers.models import Country, PriceRule, Service
from providers.pricing import PriceBook, retail_price
from providers.services import price_rule_set
from smsbox.errors import InvalidInput
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scope():
    return {
        "provider": ProviderFactory(),
        "service": Service.objects.get(code="tg"),
        "country": Country.objects.get(sms_activate_id=187),
    }


def retail(book, scope, cost):
    return book.retail(
        provider_id=scope["provider"].pk,
        service_id=scope["service"].pk,
        country_id=scope["country"].pk,
        cost=Decimal(cost),
    )


def test_retail_is_cost_times_percent_plus_fixed_rounded_half_up():
    rule = PriceRule(percent=Decimal("10"), fixed=Decimal("0.05"), floor=Decimal("0"))

    assert retail_price(Decimal("1.00"), rule) == Decimal("1.15")
    assert retail_price(Decimal("0.1234"), rule) == Decimal("0.19")  # 0.18574 → 0.19
    assert retail_price(Decimal("0.05"), PriceRule(percent=Decimal("10"))) == Decimal(
        "0.06"
    )  # 0.055
    assert retail_price(Decimal("0.0449"), None) == Decimal("0.04")


def test_floor_is_a_minimum():
    rule = PriceRule(percent=Decimal("0"), fixed=Decimal("0"), floor=Decimal("0.25"))

    assert retail_price(Decimal("0.10"), rule) == Decimal("0.25")
    assert retail_price(Decimal("0.30"), rule) == Decimal("0.30")


def test_the_most_specific_rule_wins(scope):
    price_rule_set(percent=Decimal("100"))
    assert retail(PriceBook(), scope, "1") == Decimal("2.00")

    price_rule_set(country=scope["country"], percent=Decimal("50"))
    assert retail(PriceBook(), scope, "1") == Decimal("1.50")

    price_rule_set(provider=scope["provider"], percent=Decimal("40"))
    assert retail(PriceBook(), scope, "1") == Decimal("1.40")  # provider beats country on a tie

    price_rule_set(service=scope["service"], country=scope["country"], percent=Decimal("30"))
    assert retail(PriceBook(), scope, "1") == Decimal("1.30")  # two fields beat one

    price_rule_set(**scope, percent=Decimal("20"), fixed=Decimal("0.01"))
    assert retail(PriceBook(), scope, "1") == Decimal("1.21")

    other = {**scope, "country": Country.objects.get(sms_activate_id=0)}
    assert retail(PriceBook(), other, "1") == Decimal("1.40")


def test_one_rule_per_scope_even_with_empty_fields(scope):
    price_rule_set(percent=Decimal("10"))
    price_rule_set(percent=Decimal("20"))

    assert PriceRule.objects.get().percent == Decimal("20")
    with pytest.raises(IntegrityError):
        PriceRule.objects.create(percent=Decimal("5"))


def test_bad_rules_are_refused():
    with pytest.raises(InvalidInput):
        price_rule_set(percent=Decimal("-100"))
    with pytest.raises(InvalidInput):
        price_rule_set(floor=Decimal("-1"))
