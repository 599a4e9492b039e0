"""Helpers of the upstream-order tests: an SMS-Activate upstream over HTTP, an outage, and the
money and upstream checks every such test ends with."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from providers.models import Provider
from providers.services import offers_sync
from rentals.models import Activation, Rental
from tests.factories import ProviderFactory
from wallets.models import LedgerEntry


def later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def sms_activate_provider(fake, *, timeout: str = "1") -> Provider:
    provider = ProviderFactory(
        protocol="sms_activate", base_url=fake.handler_url, timeout=Decimal(timeout)
    )
    offers_sync(provider=provider)
    return provider


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def unreachable(provider: Provider):
    """The provider cannot be reached (connection refused) until the block ends."""
    url = provider.base_url
    _set_base_url(provider, f"http://127.0.0.1:{_closed_port()}/stubs/handler_api.php")
    try:
        yield
    finally:
        _set_base_url(provider, url)


def _set_base_url(provider: Provider, url: str) -> None:
    """As an operator changes it: saved, so every process's copy of the offers sees it."""
    stored = Provider.objects.get(pk=provider.pk)
    stored.base_url = url
    stored.save(update_fields=["base_url"])


def leaked(fake, provider: Provider) -> set[str]:
    """Orders open (paid for) at the upstream that no activation or rental of ours holds; one
    whose holder was refunded is held by nobody."""
    held = {
        *Activation.objects.filter(provider=provider)
        .exclude(state__in=Activation.REFUNDED_STATES)
        .values_list("upstream_id", flat=True),
        *(
            f"rent:{i}"
            for i in Rental.objects.filter(provider=provider)
            .exclude(state__in=[Rental.State.CANCELLED, Rental.State.FAILED])
            .values_list("upstream_id", flat=True)
        ),
    }
    return fake.open_orders() - held


def assert_money_settled() -> None:
    """``check_ledger`` clean, nothing left pending, and per activation charged - refunded =
    delivered (the price of those that got their number and were not refunded)."""
    call_command("check_ledger")
    assert not Activation.objects.filter(state__in=Activation.PENDING_STATES).exists()
    entries = LedgerEntry.objects.filter(reference_kind="activation")
    charged = -(entries.filter(kind="charge").aggregate(s=Sum("amount"))["s"] or 0)
    refunded = entries.filter(kind="refund").aggregate(s=Sum("amount"))["s"] or 0
    delivered = (
        Activation.objects.exclude(state__in=Activation.REFUNDED_STATES).aggregate(s=Sum("price"))[
            "s"
        ]
        or 0
    )
    assert charged - refunded == delivered
