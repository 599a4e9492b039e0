"""Helpers of the rental tests: a renting simulator, plans, a funded customer, SMS and clocks."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from providers.models import Country, Provider
from providers.services import offers_sync, provider_add, upstream_sms_dispatch
from rentals.models import Rental, RentalRenewal
from tests.factories import RentalPlanFactory, UserFactory
from wallets.models import LedgerEntry
from wallets.services import wallet_deposit, wallet_get_or_create

_deposits = itertools.count()


def rent_simulator(name: str = "RentSim", **settings: object) -> Provider:
    """A simulator renting numbers in the USA and the UK, never sending an SMS on its own."""
    conf = {
        "seed": 11,
        "countries": [187, 16],
        "services": ["tg", "wa"],
        "cost": "0.50",
        "stock": 100,
        "sms_delay": None,
        **settings,
    }
    provider = provider_add(name=name, protocol="simulator", settings=conf)
    offers_sync(provider=provider)
    return provider


def usa_plans(country: Country | None = None) -> dict[str, object]:
    """4 h = 1.00, 24 h = 3.00, 7 days = 8.00, 1m = 15.00, 3m = 30.00 for any service."""
    country = country or Country.objects.get(sms_activate_id=187)
    return {
        "4h": RentalPlanFactory(country=country, unit="hours", length=4, price=Decimal("1.00")),
        "24h": RentalPlanFactory(country=country, unit="hours", length=24, price=Decimal("3.00")),
        "7d": RentalPlanFactory(country=country, unit="days", length=7, price=Decimal("8.00")),
        "1m": RentalPlanFactory(
            country=country, unit="package", length=None, package="1m", price=Decimal("15.00")
        ),
        "3m": RentalPlanFactory(
            country=country, unit="package", length=None, package="3m", price=Decimal("30.00")
        ),
    }


def fund(user, amount: str) -> None:
    wallet_deposit(
        wallet=wallet_get_or_create(user=user),
        amount=Decimal(amount),
        idempotency_key=f"rental-test-{user.pk}-{next(_deposits)}",
    )


def balance(user) -> Decimal:
    return wallet_get_or_create(user=user).balance


def rental_entries(rental: Rental) -> list[tuple[str, Decimal]]:
    return list(
        LedgerEntry.objects.filter(reference_kind="rental", reference_id=str(rental.pk))
        .order_by("pk")
        .values_list("kind", "amount")
    )


def sms_to(rental: Rental, text: str, **kwargs: object) -> Rental:
    """An upstream SMS for ``rental`` through the one path every upstream SMS takes."""
    upstream_sms_dispatch(
        provider=rental.provider,
        upstream_id=rental.upstream_id,
        phone=rental.phone,
        text=text,
        **kwargs,
    )
    rental.refresh_from_db()
    return rental


def age(rental: Rental, delta: timedelta) -> Rental:
    """Move the rental's clock back by ``delta`` (as if it had been bought that long ago)."""
    Rental.objects.filter(pk=rental.pk).update(
        created_at=rental.created_at - delta,
        started_at=rental.started_at - delta if rental.started_at else None,
        expires_at=rental.expires_at - delta,
    )
    for renewal in RentalRenewal.objects.filter(rental=rental):
        RentalRenewal.objects.filter(pk=renewal.pk).update(
            old_expires_at=renewal.old_expires_at - delta if renewal.old_expires_at else None,
            new_expires_at=renewal.new_expires_at - delta if renewal.new_expires_at else None,
        )
    rental.refresh_from_db()
    return rental


def expire_in(rental: Rental, delta: timedelta) -> Rental:
    """Make the rental expire ``delta`` from now, keeping its start."""
    return age(rental, rental.expires_at - (timezone.now() + delta))


# --- fixtures (made available to tests/rentals by its conftest) ----------------------------
@pytest.fixture
def rent_sim(catalog) -> Provider:
    return rent_simulator()


@pytest.fixture
def rent_plans(catalog) -> dict[str, object]:
    return usa_plans()


@pytest.fixture
def renter(catalog):
    """A customer with 100.00 and a webhook URL."""
    user = UserFactory(webhook_url="https://hooks.example.com/rent")
    fund(user, "100.00")
    return user
