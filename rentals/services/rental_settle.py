"""What the expiry job settles besides expiries: purchases a crashed worker left processing,
periods left pending, and purchases whose rent call had an unknown outcome.

Unknown outcome. A rent call that timed out may have rented the number upstream, so the rental
waits in ``unknown`` (still charged) and, once ``SMSBOX_RECONCILE_AFTER_SECONDS`` have passed,
is settled against the provider it was rented at:

- the provider lists its rents (``Adapter.active_rents``) and holds one that no rental here has,
  of the rental's country and service and started during our purchase (where the protocol says),
  and of the number asked for when the rental re-orders an ended rental's number:
  while the rental's first period is still running, the customer gets that number
  (``active``, expiring when the upstream's period does: ``created_at`` + the duration); once the
  period is over, it is given back upstream and the price refunded (``failed``);
- the provider answered and holds no such rent: nothing was rented, the price is refunded;
- the provider cannot be asked (its protocol cannot list rents, or it is down): it is asked again
  on every run, and once the cancel window (``SMSBOX_RENTAL_CANCEL_MINUTES``) since the purchase is
  over the price is refunded anyway, with a memo for the operator: a customer never pays for a
  number they never got, even if it means we may pay the upstream for one.

A rental whose customer was told "no number" (``abandoned``: the handler's ``getRentNumber``
and the dialects have no pending answer) is never delivered: what the provider rented for it is
given back and the price refunded at once, even when the provider cannot be asked.

Every sweep here claims its rows with ``SELECT … FOR UPDATE SKIP LOCKED``, so two workers share
the work instead of waiting for each other, and works in batches of ``limit``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from providers.adapters import UpstreamError, adapter_for
from providers.adapters.base import ActiveRent
from rentals.models import Rental, RentalRenewal
from rentals.rental_errors import RentalBusy
from rentals.rental_selectors import rental_duration_of
from rentals.services.rental_endings import _give_back, cancel_window
from rentals.services.rental_money import period_fail, rental_refund

logger = logging.getLogger(__name__)
State = Rental.State
RenewalState = RentalRenewal.State
CLOCK_SKEW = timedelta(seconds=60)
OnFailure = Callable[[object, BaseException], None]
_ABANDONED = "Abandoned by the client (told no number): given back upstream, refunded"


def purchase_fail(rental: Rental, *, reason: str, skip_locked: bool = False) -> bool:
    """A purchase (processing or unknown) that delivered no number: failed and refunded.
    Answers whether this call settled it (False: already settled, or another worker has it)."""
    reason = (reason or "no provider could rent a number")[:255]
    with transaction.atomic():
        locked = (
            Rental.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk=rental.pk, state__in=(State.PROCESSING, State.UNKNOWN))
            .first()
        )
        if locked is None:
            return False
        locked.state, locked.settled_at, locked.memo = State.FAILED, timezone.now(), reason
        locked.save(update_fields=["state", "settled_at", "memo"])
        RentalRenewal.objects.filter(rental=locked, period=1).update(
            state=RenewalState.FAILED, error=reason, settled_at=timezone.now()
        )
        rental_refund(locked, locked.price, key_suffix="1", memo="Rental not delivered")
    return True


def rentals_settle_stale(
    *, now: datetime | None = None, limit: int = 200, on_failure: OnFailure | None = None
) -> int:
    """Settle up to ``limit`` rows of each kind: purchases still processing and periods still
    pending after ``SMSBOX_PROCESSING_STALE_SECONDS`` are refunded (a crashed worker left them; the
    upstream outcome cannot be known without an id), and purchases of unknown outcome are settled
    against their upstream (``rental_settle_unknown``). Answers how many were settled; a row that
    fails is reported to ``on_failure(rental_id, exc)`` and the others go on."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(settings.SMSBOX_PROCESSING_STALE_SECONDS))
    settled = 0
    stale = Rental.objects.filter(state=State.PROCESSING, created_at__lt=cutoff)
    for rental in stale.order_by("created_at", "pk")[:limit]:
        settled += purchase_fail(rental, reason="the purchase was interrupted", skip_locked=True)
    after = now - timedelta(seconds=int(settings.SMSBOX_RECONCILE_AFTER_SECONDS))
    unknown = Rental.objects.filter(state=State.UNKNOWN, created_at__lte=after)
    unknown_ids = unknown.order_by("created_at", "pk").values_list("pk", flat=True)
    for rental_id in list(unknown_ids[:limit]):
        try:
            settled += rental_settle_unknown(rental_id=rental_id, now=now)
        except Exception as exc:  # one broken rental must not stop the others
            _report(on_failure, rental_id, exc)
    pending = RentalRenewal.objects.filter(
        state=RenewalState.PENDING, created_at__lt=cutoff
    ).exclude(kind=RentalRenewal.Kind.PURCHASE)  # settled with its purchase, above
    for renewal_id in list(pending.order_by("pk").values_list("pk", flat=True)[:limit]):
        settled += _period_fail_stale(renewal_id)
    return settled


def _report(on_failure: OnFailure | None, row: object, exc: BaseException) -> None:
    logger.exception("rental job: row %s failed", row)
    if on_failure is not None:
        on_failure(row, exc)


def _period_fail_stale(renewal_id: int) -> bool:
    with transaction.atomic():
        renewal = RentalRenewal.objects.filter(pk=renewal_id).first()
        if renewal is None:
            return False
        rental = Rental.objects.select_for_update(skip_locked=True).filter(pk=renewal.rental_id)
        rental = rental.first()
        if rental is None:
            return False  # another worker has the rental
        renewal = RentalRenewal.objects.select_for_update().get(pk=renewal_id)
        if renewal.state != RenewalState.PENDING:
            return False
        period_fail(rental, renewal, RentalBusy("The extension was interrupted."))
    return True


# --- unknown outcome --------------------------------------------------------------------------
def rental_abandon(*, rental: Rental) -> Rental:
    """A rent of unknown outcome whose customer was told "no number": marked ``abandoned``, so
    the settle job refunds it and gives back what was rented instead of delivering it. Settled
    meanwhile: returned as it is (the caller may still answer with the number)."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        if locked.state in (State.PROCESSING, State.UNKNOWN) and not locked.abandoned:
            locked.abandoned = True
            locked.save(update_fields=["abandoned"])
    return locked


def rental_settle_unknown(*, rental_id: int, now: datetime | None = None) -> bool:
    """Settle one rental of unknown outcome as the module docstring says; False when it stays
    unknown for now (or is no longer unknown)."""
    now = now or timezone.now()
    rental = (
        Rental.objects.select_related("provider", "service", "country")
        .filter(pk=rental_id, state=State.UNKNOWN)
        .first()
    )
    if rental is None:
        return False
    try:
        if rental.provider is None:
            raise UpstreamError("The rental names no provider to ask.")
        rents = adapter_for(rental.provider).active_rents()
    except UpstreamError as exc:
        logger.info("rental %s: the upstream cannot say (%s)", rental.pk, exc.message)
        if rental.abandoned:  # told no: refunded now; the upstream audit takes what was rented
            return purchase_fail(rental, reason=_ABANDONED, skip_locked=True)
        if now - rental.created_at < cancel_window():
            return False
        reason = f"Rent outcome unknown and the upstream could not be asked ({exc.code}); refunded"
        return purchase_fail(rental, reason=reason, skip_locked=True)
    found = _unclaimed_rent(rental, rents)
    if rental.abandoned:
        settled = purchase_fail(rental, reason=_ABANDONED, skip_locked=True)
        if settled and found is not None:
            _give_back(rental.provider_id, found.upstream_id)
        return settled
    if found is None:
        return purchase_fail(
            rental, reason="Rent outcome settled: not rented upstream", skip_locked=True
        )
    if rental.created_at + rental_duration_of(rental).delta > now:
        return _adopt(rental, found, now)
    too_late = "Rent outcome settled too late: given back upstream"
    if purchase_fail(rental, reason=too_late, skip_locked=True):
        _give_back(rental.provider_id, found.upstream_id)
        return True
    return False


def _unclaimed_rent(rental: Rental, rents: list[ActiveRent]) -> ActiveRent | None:
    claimed = set(
        Rental.objects.filter(provider_id=rental.provider_id)
        .exclude(upstream_id="")
        .values_list("upstream_id", flat=True)
    )
    service_code = rental.service.code if rental.service else "full"
    # Rented during our purchase (which never takes longer than SMSBOX_PROCESSING_STALE_SECONDS):
    # a rent started later is another purchase's, maybe still in flight.
    since = rental.created_at - CLOCK_SKEW
    until = rental.created_at + timedelta(seconds=int(settings.SMSBOX_PROCESSING_STALE_SECONDS))
    for item in rents:
        if item.upstream_id in claimed:
            continue
        if rental.phone and item.phone != rental.phone:  # a re-order asked for this number
            continue
        if item.service_code is not None and item.service_code != service_code:
            continue
        if item.country_id is not None and item.country_id != rental.country.sms_activate_id:
            continue
        if item.started_at is not None and not since <= item.started_at <= until:
            continue
        return item
    return None


def _adopt(rental: Rental, rent: ActiveRent, now: datetime) -> bool:
    """The number was rented: the customer gets it for the period the upstream runs."""
    try:
        with transaction.atomic():
            locked = (
                Rental.objects.select_for_update(skip_locked=True)
                .filter(pk=rental.pk, state=State.UNKNOWN)
                .first()
            )
            if locked is None:
                return False
            locked.state, locked.started_at = State.ACTIVE, now
            locked.upstream_id, locked.phone = rent.upstream_id, rent.phone
            locked.expires_at = locked.created_at + rental_duration_of(locked).delta
            locked.memo = "Rent outcome settled: the number was rented upstream"
            locked.save(
                update_fields=["state", "upstream_id", "phone", "started_at", "expires_at", "memo"]
            )
            RentalRenewal.objects.filter(rental=locked, period=1).update(
                state=RenewalState.DONE,
                old_expires_at=locked.created_at,
                new_expires_at=locked.expires_at,
                settled_at=now,
            )
    except IntegrityError:
        return False  # another rental took this number meanwhile: the next run looks again
    logger.info("rental %s: rent outcome settled, number %s delivered", rental.pk, rent.upstream_id)
    return True
