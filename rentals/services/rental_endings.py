"""How a rental ends: auto-renew switch, cancel (refunded), finish, revoke (unused share
refunded) and expiry; our state changes first, the upstream is told after the commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from providers.adapters import (
    Unsupported,
    UpstreamError,
    UpstreamRejected,
    adapter_for,
)
from providers.models import Provider
from rentals.models import Rental, RentalRenewal, SmsMessage
from rentals.rental_errors import (
    AlreadyCancelled,
    AlreadyFinished,
    CantCancel,
    RentalBusy,
    RentalNotActive,
    RentalRevoked,
    RentDie,
)
from rentals.rental_selectors import (
    rentals_expiry_due,
)
from rentals.services.rental_money import rental_refund
from smsbox.models import User
from smsbox.money import ZERO, to_cents
from smsbox.outbox import task_enqueue

logger = logging.getLogger(__name__)
State = Rental.State
RenewalState = RentalRenewal.State


def cancel_window() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "SMSBOX_RENTAL_CANCEL_MINUTES", 20)))


# --- settings and endings ---------------------------------------------------------------------
def rental_set_auto_renew(*, rental: Rental, enabled: bool) -> Rental:
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        if locked.state not in Rental.OPEN_STATES:
            raise RentDie("The rental is over.", extra={"state": locked.state})
        locked.auto_renew = bool(enabled)
        locked.save(update_fields=["auto_renew"])
    return locked


def _check_open(rental: Rental) -> None:
    """Refuse an ending of a rental that has already ended, with the protocol's tokens."""
    if rental.state == State.CANCELLED:
        raise AlreadyCancelled()
    if rental.state in (State.FINISHED, State.EXPIRED):
        raise AlreadyFinished()
    if rental.state == State.REVOKED:
        raise RentalRevoked()
    if rental.state != State.ACTIVE:
        raise RentalNotActive(extra={"state": rental.state})


def _done_charges(rental: Rental) -> Decimal:
    total = RentalRenewal.objects.filter(rental=rental, state=RenewalState.DONE).aggregate(
        total=Sum("price")
    )["total"]
    return total or ZERO


def rental_cancel(*, rental: Rental) -> Rental:
    """Cancel with a full refund, only within ``SMSBOX_RENTAL_CANCEL_MINUTES`` of the start and
    before any SMS; ``CantCancel`` otherwise."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        _check_open(locked)
        too_late = locked.started_at is None or timezone.now() - locked.started_at > cancel_window()
        if too_late or locked.first_sms_at is not None or _has_messages(locked):
            raise CantCancel()
        if RentalRenewal.objects.filter(rental=locked, state=RenewalState.PENDING).exists():
            raise RentalBusy()
        _end(locked, State.CANCELLED)
        rental_refund(locked, _done_charges(locked), key_suffix="cancel", memo="Rental cancelled")
        _release_on_commit(locked, "cancel")
    return locked


def _has_messages(rental: Rental) -> bool:
    return SmsMessage.objects.filter(rental=rental).exists()


def rental_finish(*, rental: Rental) -> Rental:
    """The customer is done with the number: it is released now, nothing is refunded."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        _check_open(locked)
        _end(locked, State.FINISHED)
        _release_on_commit(locked, "finish")
    return locked


def rental_revoke(*, rental: Rental, actor: User) -> Rental:
    """An operator takes the number back and refunds the unused share of every paid period."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        _check_open(locked)
        if RentalRenewal.objects.filter(rental=locked, state=RenewalState.PENDING).exists():
            raise RentalBusy()
        refund = rental_unused_share(rental=locked)
        _end(locked, State.REVOKED, memo=f"Revoked by {actor.email}")
        rental_refund(locked, refund, key_suffix="revoke", memo="Rental revoked, unused share")
        _release_on_commit(locked, "cancel")
    return locked


def rental_unused_share(*, rental: Rental, now: datetime | None = None) -> Decimal:
    """What is left of the paid periods, each pro rata by time, rounded to cents."""
    now = now or timezone.now()
    total = ZERO
    for period in RentalRenewal.objects.filter(rental=rental, state=RenewalState.DONE):
        start, end = period.old_expires_at, period.new_expires_at
        if not start or not end or end <= start or period.price <= ZERO:
            continue
        unused = min(max(end - max(now, start), timedelta(0)), end - start)
        total += (
            period.price * Decimal(unused.total_seconds()) / Decimal((end - start).total_seconds())
        )
    return min(to_cents(total), _done_charges(rental))


def rental_expire(*, rental: Rental, skip_locked: bool = False) -> bool:
    """Expire an active rental whose time is over; False when it is not (yet) to expire or an
    extension is being made right now (the next sweep sees it again). ``skip_locked``: False
    at once when another transaction holds the rental (a sweep on another worker)."""
    with transaction.atomic():
        locked = (
            Rental.objects.select_for_update(skip_locked=skip_locked).filter(pk=rental.pk).first()
        )
        if locked is None or locked.state != State.ACTIVE or locked.expires_at > timezone.now():
            return False
        if RentalRenewal.objects.filter(rental=locked, state=RenewalState.PENDING).exists():
            return False
        _end(locked, State.EXPIRED)
        _release_on_commit(locked, "finish")
    return True


def rentals_expire_due(
    *,
    now: datetime | None = None,
    limit: int = 1000,
    on_failure: Callable[[object, BaseException], None] | None = None,
) -> int:
    """The expiry job: expire up to ``limit`` due rentals, skipping those another worker holds
    (two workers share the work); answers how many expired. A rental that fails is reported to
    ``on_failure(rental_id, exc)`` and the others go on."""
    expired = 0
    for rental in list(rentals_expiry_due(now=now)[:limit]):
        try:
            expired += rental_expire(rental=rental, skip_locked=True)
        except Exception as exc:  # one broken rental must not stop the others
            logger.exception("expiry of rental %s failed", rental.pk)
            if on_failure is not None:
                on_failure(rental.pk, exc)
    return expired


def _end(rental: Rental, state: str, *, memo: str = "") -> None:
    rental.state, rental.settled_at = state, timezone.now()
    fields = ["state", "settled_at"]
    if memo:
        rental.memo = memo[:255]
        fields.append("memo")
    rental.save(update_fields=fields)


# --- telling the upstream ---------------------------------------------------------------------
def _release_on_commit(rental: Rental, how: str) -> None:
    if rental.provider_id and rental.upstream_id:
        transaction.on_commit(partial(_release_task, rental.pk, how), robust=True)


def _release_task(rental_id: int, how: str) -> None:
    from rentals.tasks import rental_upstream_release

    task_enqueue(rental_upstream_release, rental_id, how)  # the outbox if Redis is down


def rental_upstream_release(*, rental: Rental, how: str) -> None:
    """Tell the upstream we are done with the number (``cancel`` or ``finish``). A protocol
    that cannot cancel is asked to finish; a ``Transient`` error propagates (the task retries);
    other refusals are logged: our side is settled either way."""
    adapter = adapter_for(rental.provider)
    try:
        if how == "cancel":
            try:
                adapter.rent_cancel(upstream_id=rental.upstream_id)
            except Unsupported:
                adapter.rent_finish(upstream_id=rental.upstream_id)
        else:
            adapter.rent_finish(upstream_id=rental.upstream_id)
    except UpstreamRejected as exc:
        logger.info("upstream %s of rental %s refused: %s", how, rental.pk, exc.message)


def _give_back(provider_id: int, upstream_id: str) -> None:
    provider = Provider.objects.get(pk=provider_id)
    try:
        adapter_for(provider).rent_cancel(upstream_id=upstream_id)
    except UpstreamError as exc:
        logger.warning("could not give back rent %s at %s: %s", upstream_id, provider, exc.message)
