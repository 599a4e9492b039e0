"""Continuing a rental (the protocol's ``continueRentNumber``, the REST extension): a rental that
still runs is extended (``rental_extend``); once it has ended, its number is ordered again from
the same upstream as a new rental (a new id), charged as a purchase of the asked duration at the
current quote. The re-order is the purchase saga with one upstream and one number:

1. one transaction locks the ended rental, checks again that its number may be ordered again
   (``rental_check_reorderable``: ended within ``SMSBOX_RENTAL_REORDER_DAYS``, a protocol that
   can, nobody holding the number), opens the new rental in ``processing`` with the provider
   and the number it asks for — so a second re-order of the number is refused before any
   charge — and charges it (``NO_BALANCE``: nothing written);
2. outside any transaction the upstream is told that the old rent is over (SMS-Activate would
   extend a rent still running there instead of ordering it again), then asked for the number
   again (``Adapter.rent_again``);
3. a second transaction records the new rental, or fails and refunds it: a definite no from the
   upstream (or an answer with another number) is ``RentDie``; an upstream that cannot be used
   now (transient, no balance, credentials) is refunded and raised as it is; an answer of
   unknown outcome leaves the new rental ``unknown``, charged, settled by the expiry job like
   any purchase of unknown outcome (``rental_settle``), which adopts only the number asked for.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction

from providers import breaker
from providers.adapters import (
    NoNumbers,
    OutcomeUnknown,
    UpstreamError,
    UpstreamRejected,
    adapter_for,
)
from rentals.models import Rental
from rentals.rental_errors import RentalBusy, RentDie
from rentals.rental_selectors import (
    RentalDuration,
    rental_check_reorderable,
    rental_duration,
    rental_duration_of,
    rental_quote,
    rental_runs,
)
from rentals.services.rental_endings import _give_back, rental_expire, rental_upstream_release
from rentals.services.rental_settle import purchase_fail
from rentals.services.rentals import (
    _purchase_activate,
    _purchase_mark_unknown,
    _purchase_open,
    rental_extend,
)

logger = logging.getLogger(__name__)
State = Rental.State


def rental_continue(*, rental: Rental, hours: object = None, package: object = None) -> Rental:
    """Extend ``rental`` while it runs, else order its number again (``rental_reorder``).
    Answers the rental the customer holds now: the same one extended, or the new one."""
    if rental_runs(rental):
        return rental_extend(rental=rental, hours=hours, package=package)
    return rental_reorder(rental=rental, hours=hours, package=package)


def rental_reorder(*, rental: Rental, hours: object = None, package: object = None) -> Rental:
    """Order the number of the ended ``rental`` again from its upstream as a new rental of
    ``hours`` or a ``package``, charged at the current quote (see the module docstring).
    ``RentDie`` when the number cannot be had again (nothing charged, or refunded),
    ``InsufficientFunds`` when the balance is too low (nothing written). Answers the new
    rental: ``active``, or ``unknown`` when the upstream's answer was lost."""
    duration = rental_duration(hours=hours, package=package)
    rental_check_reorderable(rental=rental)
    try:
        price = rental_quote(country=rental.country, service=rental.service, duration=duration)
    except NoNumbers as exc:
        raise RentDie("Rentals of this number are not offered any more.") from exc
    new, old = _reorder_open(old_id=rental.pk, duration=duration, price=price.price)
    try:
        how = "cancel" if old.state == State.CANCELLED else "finish"
        rental_upstream_release(rental=old, how=how)
    except UpstreamError as exc:
        purchase_fail(new, reason=f"The old rent could not be closed upstream: {exc.message}")
        raise
    return _reorder_rent_upstream(new, old)


def _reorder_open(
    *, old_id: int, duration: RentalDuration, price: Decimal
) -> tuple[Rental, Rental]:
    """Saga step 1, under the lock of the ended rental: the new rental, charged."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update(of=("self",)).select_related("provider")
        old = locked.get(pk=old_id)
        rental_check_reorderable(rental=old)
        if old.state == State.ACTIVE:  # its time ran out; the expiry job has not seen it yet
            if not rental_expire(rental=old):
                raise RentalBusy()  # an extension of it is being made right now
            old.refresh_from_db()
        new = _purchase_open(
            user=old.user,
            country=old.country,
            service=old.service,
            duration=duration,
            price=price,
            auto_renew=old.auto_renew,
            webhook_url=old.webhook_url,
            idempotency_key=None,
            operator=old.operator,
        )
        new.provider, new.phone = old.provider, old.phone
        new.memo = f"Number of rental {old.display_number} ordered again"
        new.save(update_fields=["provider", "phone", "memo"])
    return new, old


def _reorder_rent_upstream(new: Rental, old: Rental) -> Rental:
    """Saga steps 2 and 3: the number again from the old rent's upstream, or refunded."""
    provider = old.provider
    hours = rental_duration_of(new).total_hours
    try:
        rented = adapter_for(provider).rent_again(upstream_id=old.upstream_id, hours=hours)
    except OutcomeUnknown as exc:
        breaker.breaker_record_failure(provider.pk)
        logger.warning("re-order of rental %s at %s: outcome unknown", old.pk, provider)
        return _purchase_mark_unknown(new, provider, exc)
    except (NoNumbers, UpstreamRejected) as exc:
        purchase_fail(new, reason=f"The upstream did not give the number again: {exc.message}")
        raise RentDie("The number cannot be had again; the price was refunded.") from exc
    except UpstreamError as exc:
        breaker.breaker_record_failure(provider.pk)
        purchase_fail(new, reason=exc.message)
        raise
    breaker.breaker_record_success(provider.pk)
    if rented.phone != old.phone or rented.upstream_id == old.upstream_id:
        # Another number, or the old rent kept: not what the customer pays for.
        purchase_fail(new, reason="The upstream answered another number; given back")
        _give_back(provider.pk, rented.upstream_id)
        raise RentDie("The number cannot be had again; the price was refunded.")
    try:
        return _purchase_activate(new, provider, rented.upstream_id, rented.phone)
    except NoNumbers as exc:  # the number went to another rental meanwhile (refunded)
        raise RentDie(exc.message) from exc
