"""Reads of top-ups and of the payment methods customers may use."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet

from smsbox import parsing
from smsbox.models import User
from wallets.errors import TopUpNotFound
from wallets.models import PaymentProcessor, TopUp
from wallets.processors import PROCESSORS, sandbox_allowed
from wallets.topup_services import processor_currencies


@dataclass(frozen=True)
class PaymentMethod:
    processor: str
    kind: str
    label: str
    currencies: list[str]
    minimum: Decimal
    maximum: Decimal
    currency: str


def topups_for_user(*, user: User) -> QuerySet[TopUp]:
    return (
        TopUp.objects.filter(user=user).select_related("processor").order_by("-created_at", "-id")
    )


def topup_get_for_user(*, user: User, top_up_id: object) -> TopUp:
    """The customer's own top-up; anyone else's is "not found"."""
    pk = parsing.or_none(parsing.object_id, top_up_id, name="top_up_id")
    if pk is None:
        raise TopUpNotFound()
    top_up = topups_for_user(user=user).filter(pk=pk).first()
    if top_up is None:
        raise TopUpNotFound()
    return top_up


def payment_methods() -> list[PaymentMethod]:
    processors = PaymentProcessor.objects.filter(enabled=True).order_by("name")
    return [
        PaymentMethod(
            processor=p.name,
            kind=p.kind,
            label=p.get_kind_display(),
            currencies=processor_currencies(p, PROCESSORS[p.kind].default_currencies),
            minimum=settings.SMSBOX_TOPUP_MIN,
            maximum=settings.SMSBOX_TOPUP_MAX,
            currency=settings.SMSBOX_CURRENCY,
        )
        for p in processors
        if p.kind != PaymentProcessor.Kind.SANDBOX or sandbox_allowed()
    ]
