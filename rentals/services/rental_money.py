"""Money of a rental: every charge and refund names ``Reference("rental", id)``; period ``n`` is
charged with the idempotency key ``<charge|renewal>:rental:<id>:<n>``."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from rentals.models import Rental, RentalRenewal
from smsbox.errors import ApplicationError
from smsbox.money import ZERO
from wallets.services import Reference, wallet_get_or_create, wallet_refund

State = Rental.State
RenewalState = RentalRenewal.State


REFERENCE_KIND = "rental"  # what every ledger entry of a rental names


def rental_reference(rental: Rental) -> Reference:
    return Reference(REFERENCE_KIND, rental.pk)


def rental_charge_key(rental: Rental, period: int) -> str:
    kind = "charge" if period == 1 else "renewal"
    return f"{rental_reference(rental).key(kind)}:{period}"


def rental_refund(rental: Rental, amount: Decimal, *, key_suffix: str, memo: str) -> None:
    """Give back ``amount`` of what the rental was charged (nothing when zero)."""
    if amount <= ZERO:
        return
    wallet_refund(
        wallet=wallet_get_or_create(user=rental.user),
        amount=amount,
        reference=rental_reference(rental),
        idempotency_key=f"{rental_reference(rental).key('refund')}:{key_suffix}",
        memo=f"{memo}: {rental.display_number}",
    )


def period_fail(rental: Rental, renewal: RentalRenewal, error: ApplicationError) -> None:
    """A period that was not made upstream: failed and its charge refunded (rows locked)."""
    renewal.state, renewal.settled_at = RenewalState.FAILED, timezone.now()
    renewal.error = error.message[:255]
    renewal.save(update_fields=["state", "settled_at", "error"])
    rental_refund(
        rental, renewal.price, key_suffix=str(renewal.period), memo="Extension not made upstream"
    )
