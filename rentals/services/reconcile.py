"""Reconciliation: settle purchases whose outcome we do not know.

Two kinds of rows are settled:

- ``unknown``: the buy timed out, the number may have been bought. Older than
  ``SMSBOX_RECONCILE_AFTER_SECONDS``.
- ``processing`` left by a crash between the charge and the end of the saga. Older than
  ``SMSBOX_PROCESSING_STALE_SECONDS`` (longer than any purchase can take).

For each, we look for the number that was bought for it and nobody took: a ``bought`` purchase
attempt of the same service and country since the activation was created whose upstream id no
activation holds (a crash after the buy), else an activation the upstream still has open for
the same service and country since then that no activation holds and no purchase attempt names
(a timed-out buy, or a crash in the middle of the buy). The upstream asked is the one of the
unknown outcome; for a crashed ``processing`` row it is every provider tried for that service and
country in the purchase's time window, or, when the request died before recording any attempt,
every provider offering that service and country.

An activation the customer was told "no number" about (``abandoned``) is never delivered: what
was found is cancelled upstream and the charge refunded at once. Found and the activation is
still within its lifetime: the customer gets the number
(``waiting``; unused, it expires and is refunded like any other). Found but too late: cancelled
upstream and refunded here. Not found and the upstreams answered: refunded here (``failed``).
No upstream could be asked (it is down, or a crashed purchase tried no provider that left a
trace): tried again next run; once the activation's lifetime is over it is refunded anyway,
since a number that was never delivered is never kept.

A number another activation took meanwhile is left alone (never cancelled upstream): the row
stays for the next run. Each run claims its rows one by one (``SKIP LOCKED`` and a lease in
``polled_at``), so overlapping runs never work one row twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from providers.adapters import UpstreamError, adapter_for
from providers.models import Offer, Provider, PurchaseAttempt
from rentals.models import Activation
from rentals.services.activations import _give_number, _lock, _release, _settle

logger = logging.getLogger(__name__)
State = Activation.State
CLOCK_SKEW = timedelta(seconds=60)
# A row claimed by a run is left alone by the others this long (longer than a run takes).
RECONCILE_LEASE = timedelta(minutes=5)
FailureHook = Callable[[object, BaseException], None]


def activations_reconcile(
    *, limit: int = 100, now: datetime | None = None, on_failure: FailureHook | None = None
) -> int:
    """Settle up to ``limit`` due rows, each claimed before it is worked; answers how many were
    settled. A row that fails is passed to ``on_failure(activation_id, exc)``."""
    now = now or timezone.now()
    due = Q(state=State.UNKNOWN, created_at__lte=now - _seconds("RECONCILE_AFTER")) | Q(
        state=State.PROCESSING, created_at__lte=now - _seconds("PROCESSING_STALE")
    )
    settled, seen = 0, set()
    while len(seen) < limit:
        claimed = _claim(due, exclude=seen)
        if claimed is None:
            break
        activation, stamp = claimed
        seen.add(activation.pk)
        try:
            settled += activation_reconcile(activation=activation, now=now)
        except Exception as exc:  # one broken row does not stop the run
            logger.warning("reconcile of activation %s failed: %r", activation.pk, exc)
            if on_failure is not None:
                on_failure(activation.pk, exc)
        Activation.objects.filter(pk=activation.pk, polled_at=stamp).update(polled_at=None)
    return settled


def _claim(due: Q, *, exclude: set[int]) -> tuple[Activation, datetime] | None:
    """The next due row nobody works on, leased to this run (its ``polled_at`` set)."""
    stamp = timezone.now()
    with transaction.atomic():
        row = (
            Activation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("service", "country", "provider")
            .filter(due)
            .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=stamp - RECONCILE_LEASE))
            .exclude(pk__in=exclude)
            .order_by("created_at", "pk")
            .first()
        )
        if row is None:
            return None
        row.polled_at = stamp
        row.save(update_fields=["polled_at"])
    return row, stamp


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=getattr(settings, f"SMSBOX_{name}_SECONDS"))


def activation_reconcile(*, activation: Activation, now: datetime | None = None) -> bool:
    """Settle one ``unknown`` or ``processing`` activation; False when it stays as it is."""
    now = now or timezone.now()
    if activation.state not in Activation.PENDING_STATES:
        return False
    found, asked = _find_bought(activation)
    if activation.abandoned:
        return _settle_abandoned(activation, found)
    if found is None and asked:
        return _refund_undelivered(activation, memo="Reconciled: not bought upstream")
    if found is None:
        if now >= activation.expires_at:
            return _refund_undelivered(activation, memo="Reconciled: upstream never answered")
        return False
    provider, upstream_id, phone, cost = found
    if now >= activation.expires_at:
        if not _held(provider.pk, upstream_id):
            _release(provider, upstream_id)
        return _refund_undelivered(
            activation, memo="Reconciled: bought too late, cancelled upstream"
        )
    adopted = _adopt(activation, provider, upstream_id, phone, cost)
    if adopted is None:
        # Another activation took that number meanwhile: it is that one's, never released here.
        logger.info("reconcile %s: number %s went to another order", activation.pk, upstream_id)
        return False
    return adopted


def _settle_abandoned(activation: Activation, found) -> bool:
    """The customer was told there was no number: whatever the upstream sold is cancelled there
    (if nobody took it) and the charge comes back now, whether or not the upstream answered.
    An order the upstream could not list yet is left to the upstream audit."""
    if found is not None:
        provider, upstream_id = found[0], found[1]
        if not _held(provider.pk, upstream_id):
            _release(provider, upstream_id)
    memo = "Abandoned by the client: " + ("cancelled upstream" if found else "not delivered")
    return _refund_undelivered(activation, memo=memo)


def _find_bought(activation: Activation):
    """((provider, upstream id, phone, cost) or None, whether an upstream answered)."""
    window = PurchaseAttempt.objects.filter(
        service_id=activation.service_id,
        country_id=activation.country_id,
        created_at__gte=activation.created_at,
        created_at__lte=activation.created_at + _seconds("PROCESSING_STALE"),
    )
    bought = (
        window.filter(outcome=PurchaseAttempt.Outcome.BOUGHT)
        .exclude(upstream_id="")
        .select_related("provider")
        .order_by("created_at", "pk")
    )
    for attempt in bought:
        if not _held(attempt.provider_id, attempt.upstream_id):
            return (attempt.provider, attempt.upstream_id, attempt.phone, attempt.cost), True
    if activation.provider_id is not None:
        return _find_open_upstream(activation, activation.provider)
    if activation.state != State.PROCESSING:
        return None, False
    # A crash with no unknown outcome recorded: ask every provider tried in the window. None
    # tried (the request died before it recorded its upstream call, e.g. its database connection
    # was lost): any provider offering the service and country may have sold, so ask those. No
    # such provider: nobody can be asked, and the row is refunded at its expiry.
    tried = list(Provider.objects.filter(pk__in=window.values("provider_id")).order_by("pk"))
    if not tried:
        tried = _offering(activation)
    all_answered = bool(tried)
    for provider in tried:
        found, asked = _find_open_upstream(activation, provider)
        if found is not None:
            return found, True
        all_answered = all_answered and asked
    return None, all_answered


def _offering(activation: Activation) -> list[Provider]:
    """The enabled providers with an offer of the activation's service and country."""
    offers = Offer.objects.filter(
        service_id=activation.service_id, country_id=activation.country_id
    )
    return list(
        Provider.objects.filter(enabled=True, pk__in=offers.values("provider_id")).order_by("pk")
    )


def _held(provider_id: int, upstream_id: str) -> bool:
    return Activation.objects.filter(provider_id=provider_id, upstream_id=upstream_id).exists()


def _find_open_upstream(activation: Activation, provider: Provider):
    adapter = adapter_for(provider)
    try:
        open_ones = adapter.active_activations()
    except UpstreamError as exc:
        logger.info("reconcile %s: %s cannot say (%s)", activation.pk, provider, exc.message)
        return None, False
    since = activation.created_at - CLOCK_SKEW
    candidates = [
        item
        for item in open_ones
        if item.service_code == activation.service.code
        and (item.country_id is None or item.country_id == activation.country.sms_activate_id)
        and (item.started_at is None or item.started_at >= since)
    ]
    ids = [item.upstream_id for item in candidates]
    # Numbers of activations, or of other purchases (bought, or banned and released), are not
    # the one we look for.
    taken = set(
        Activation.objects.filter(provider=provider, upstream_id__in=ids).values_list(
            "upstream_id", flat=True
        )
    )
    taken |= set(
        PurchaseAttempt.objects.filter(provider=provider, upstream_id__in=ids).values_list(
            "upstream_id", flat=True
        )
    )
    for item in candidates:
        if item.upstream_id not in taken:
            return (provider, item.upstream_id, item.phone, None), True
    return None, True


def _adopt(activation: Activation, provider, upstream_id: str, phone: str, cost) -> bool | None:
    """True when adopted (or settled meanwhile), None when another activation holds the
    number."""
    try:
        with transaction.atomic():
            locked = _lock(activation)
            if locked.state not in Activation.PENDING_STATES:
                return True  # settled meanwhile by the saga itself
            _give_number(locked, provider=provider, upstream_id=upstream_id, phone=phone, cost=cost)
            locked.memo = "Reconciled: number delivered"
            locked.save(update_fields=["memo"])
    except IntegrityError:
        return None
    logger.info("activation %s reconciled: number %s delivered", activation.pk, upstream_id)
    return True


def _refund_undelivered(activation: Activation, *, memo: str) -> bool:
    with transaction.atomic():
        locked = _lock(activation)
        if locked.state not in Activation.PENDING_STATES:
            return False
        _settle(locked, State.FAILED, refund=True, memo=memo)
    logger.info("activation %s reconciled: refunded (%s)", activation.pk, memo)
    return True
