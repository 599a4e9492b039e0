from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from smsbox.models import User
from smsbox.money import ZERO, money_field_kwargs
from wallets.models import LedgerEntry, Wallet

Kind = LedgerEntry.Kind

# Apps above wallets (rentals) register how much of a wallet's charges may still be refunded.
FrozenSource = Callable[[Wallet], Decimal]
_frozen_sources: list[FrozenSource] = []


def register_frozen_source(source: FrozenSource) -> None:
    if source not in _frozen_sources:
        _frozen_sources.append(source)


@dataclass(frozen=True)
class WalletSummary:
    balance: Decimal
    frozen_amount: Decimal
    total_recharge: Decimal
    total_consume: Decimal


def wallet_for_user(*, user: User) -> Wallet | None:
    return Wallet.objects.filter(user=user).first()


def wallet_summary(*, wallet: Wallet | None) -> WalletSummary:
    """Balance; money held by orders that may still be refunded; all money paid in; all money
    spent net of refunds (charges and renewals minus refunds)."""
    if wallet is None:
        return WalletSummary(ZERO, ZERO, ZERO, ZERO)
    totals = wallet.entries.aggregate(
        recharge=_sum("amount", Q(kind=Kind.DEPOSIT)),
        consume=_sum("amount", Q(kind__in=[Kind.CHARGE, Kind.RENEWAL, Kind.REFUND])),
    )
    return WalletSummary(
        balance=Wallet.objects.values_list("balance", flat=True).get(pk=wallet.pk),
        frozen_amount=sum((source(wallet) for source in _frozen_sources), ZERO),
        total_recharge=totals["recharge"],
        total_consume=-totals["consume"],
    )


def ledger_entries(
    *,
    wallet: Wallet,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[LedgerEntry]:
    entries = wallet.entries.all()
    if kind:
        entries = entries.filter(kind=kind)
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lt=until)
    return entries


def ledger_entries_for_reference(
    *, user: User, reference_kind: str, reference_id: int | str
) -> QuerySet[LedgerEntry]:
    """The movements of ``user``'s wallet that an order caused, oldest first."""
    return LedgerEntry.objects.filter(
        wallet__user=user, reference_kind=reference_kind, reference_id=str(reference_id)
    ).order_by("created_at", "id")


def wallets_out_of_balance() -> QuerySet[Wallet]:
    """Wallets whose cached balance differs from the sum of their ledger entries."""
    return (
        Wallet.objects.annotate(entries_total=_sum("entries__amount"))
        .exclude(balance=F("entries_total"))
        .select_related("user")
        .order_by("pk")
    )


def _sum(field: str, condition: Q | None = None) -> Coalesce:
    return Coalesce(
        Sum(field, filter=condition),
        Value(ZERO),
        output_field=DecimalField(**money_field_kwargs()),
    )
