"""Money of a rental: every charge and refund names ``Reference("rental", id)``; period ``n`` is
charged with the idempotency key ``<charge|renewal>:rental:<id>:<n>``."""

from __future__ import annotations

from decimal import Decimal

from rentals.models import Rental, RentalRenewal
from smsbox.money import ZERO
from wallets.services import Reference, wallet_get_or_create, wallet_refund

State = Rental.State
RenewalState = RentalRenewal.State


def rental_reference(rental: Rental) -> Reference:
    return Reference("rental", rental.pk)


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
