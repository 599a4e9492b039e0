"""Retail prices: the upstream cost plus the most specific price rule."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from providers.models import PriceRule
from smsbox.money import to_cents


def retail_price(cost: Decimal, rule: PriceRule | None) -> Decimal:
    """cost * (1 + percent/100) + fixed, rounded to cents, never below the rule's floor."""
    if rule is None:
        return to_cents(cost)
    price = to_cents(cost * (1 + rule.percent / 100) + rule.fixed)
    return max(price, to_cents(rule.floor))


class PriceBook:
    """Every price rule, loaded once, to price many offers without a query each."""

    def __init__(self, rules: Iterable[PriceRule] | None = None) -> None:
        rules = list(PriceRule.objects.all() if rules is None else rules)
        self._rules = sorted(rules, key=lambda r: r.specificity, reverse=True)

    def rule_for(self, *, provider_id: int, service_id: int, country_id: int) -> PriceRule | None:
        for rule in self._rules:  # most specific first
            if (
                rule.provider_id in (None, provider_id)
                and rule.service_id in (None, service_id)
                and rule.country_id in (None, country_id)
            ):
                return rule
        return None

    def retail(
        self, *, provider_id: int, service_id: int, country_id: int, cost: Decimal
    ) -> Decimal:
        rule = self.rule_for(provider_id=provider_id, service_id=service_id, country_id=country_id)
        return retail_price(cost, rule)
