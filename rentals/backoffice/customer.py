"""The customer page: one admin page per customer, built of sections.

``SECTIONS`` lists them in page order; each is a template under
``templates/admin/backoffice/sections/`` and a function answering its context (reads only).
Another section is one more ``Section`` in the list, with its template.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q

from apikeys.models import ApiKey
from rentals.models import Activation, Rental, WebhookDelivery
from rentals.services import spend_policy_effective
from smsbox.models import OperatorAction, OperatorNote, User
from wallets.models import AdjustmentRequest, LedgerEntry, TopUp
from wallets.selectors import wallet_for_user, wallet_summary

LATEST = 20


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    context: Callable[[User], dict[str, Any]]

    @property
    def template(self) -> str:
        return f"admin/backoffice/sections/{self.key}.html"


def customer_success_rate(*, user: User) -> tuple[int, int, Decimal | None]:
    """Orders (activations with a number), those with an SMS, and their ratio."""
    figures = Activation.objects.filter(user=user, number_at__isnull=False).aggregate(
        orders=Count("id"), with_sms=Count("id", filter=Q(sms_received_at__isnull=False))
    )
    orders, with_sms = figures["orders"], figures["with_sms"]
    rate = (Decimal(with_sms) / Decimal(orders)).quantize(Decimal("0.001")) if orders else None
    return orders, with_sms, rate


def _account(user: User) -> dict[str, Any]:
    wallet = wallet_for_user(user=user)
    orders, with_sms, rate = customer_success_rate(user=user)
    return {
        "wallet": wallet,
        "summary": wallet_summary(wallet=wallet),
        "orders": orders,
        "with_sms": with_sms,
        "success_rate": rate,
        "policy": spend_policy_effective(user=user),
        "tiers": User.Tier.choices,
    }


def _open_orders(user: User) -> dict[str, Any]:
    return {
        "activations": Activation.objects.filter(user=user, state__in=Activation.OPEN_STATES)
        .select_related("service", "country", "provider")
        .order_by("-created_at")[:LATEST],
        "rentals": Rental.objects.filter(user=user, state__in=Rental.OPEN_STATES)
        .select_related("service", "country", "provider")
        .order_by("-created_at")[:LATEST],
    }


def _latest_orders(user: User) -> dict[str, Any]:
    return {
        "activations": Activation.objects.filter(user=user)
        .select_related("service", "country", "provider")
        .order_by("-created_at")[:LATEST],
        "rentals": Rental.objects.filter(user=user)
        .select_related("service", "country", "provider")
        .order_by("-created_at")[:LATEST],
        "refundable_activation_states": Activation.REFUNDED_STATES,  # refunded already
    }


def _ledger(user: User) -> dict[str, Any]:
    wallet = wallet_for_user(user=user)
    entries = LedgerEntry.objects.none() if wallet is None else wallet.entries.all()
    pending = AdjustmentRequest.objects.none() if wallet is None else wallet.adjustment_requests
    return {
        "entries": entries.select_related("actor")[:LATEST],
        "pending": pending.filter(status=AdjustmentRequest.Status.PENDING).select_related("maker"),
    }


def _top_ups(user: User) -> dict[str, Any]:
    return {
        "top_ups": TopUp.objects.filter(user=user)
        .select_related("processor")
        .order_by("-created_at")[:LATEST]
    }


def _api_keys(user: User) -> dict[str, Any]:
    return {"keys": ApiKey.objects.filter(user=user).order_by("-created_at")[:LATEST]}


def _webhooks(user: User) -> dict[str, Any]:
    return {
        "deliveries": WebhookDelivery.objects.filter(user=user).order_by("-created_at")[:LATEST]
    }


def _notes(user: User) -> dict[str, Any]:
    return {"notes": OperatorNote.objects.filter(customer=user).select_related("author")[:LATEST]}


def _audit(user: User) -> dict[str, Any]:
    return {"rows": OperatorAction.objects.filter(customer=user)[:LATEST]}


SECTIONS: list[Section] = [
    Section("account", "Account", _account),
    Section("open_orders", "Open orders", _open_orders),
    Section("latest_orders", "Latest orders", _latest_orders),
    Section("ledger", "Ledger", _ledger),
    Section("top_ups", "Top-ups", _top_ups),
    Section("api_keys", "API keys", _api_keys),
    Section("webhooks", "Webhook deliveries", _webhooks),
    Section("notes", "Operator notes", _notes),
    Section("audit", "Operator actions on this account", _audit),
]


def customer_page_sections(*, user: User) -> list[tuple[Section, dict[str, Any]]]:
    return [(section, section.context(user)) for section in SECTIONS]
