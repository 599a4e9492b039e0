"""Reconciliation: settle purchases whose outcome we do not know.

Two kinds of rows are settled:

- ``unknown``: the buy timed out, the number may have been bought. Older than
  ``SMSBOX_RECONCILE_AFTER_SECONDS``.
- ``processing`` left by a crash between the charge and the end of the saga. Older than
  ``SMSBOX_PROCESSING_STALE_SECONDS`` (longer than any purchase can take).

For each, we look for the number that was bought for it and nobody took: a ``bought`` purchase
attempt of the same service and country since the activation was created whose upstream id no
activation holds (a crash after the buy), else an activation the upstream still has open for
the same service and country since then (a timed-out buy). Found and the activation is still
within its lifetime: the customer gets the number (``waiting``; unused, it expires and is
refunded like any other). Found but too late: cancelled upstream and refunded here. Not found
and the upstream answered: refunded here (``failed``). The upstream could not be asked: tried
again next run; once the activation's lifetime is over it is refunded anyway, since a number that
was never delivered is never kept.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from providers.adapters import UpstreamError, adapter_for
from providers.models import Provider, PurchaseAttempt
from rentals.models import Activation
from rentals.services.activations import _give_number, _lock, _release, _settle

logger = logging.getLogger(__name__)
State = Activation.State
CLOCK_SKEW = timedelta(seconds=60)


def activations_reconcile(*, limit: int = 100, now: datetime | None = None) -> int:
    """Settle up to ``limit`` due rows; answers how many were settled."""
    now = now or timezone.now()
    due = Activation.objects.filter(
        Q(state=State.UNKNOWN, created_at__lte=now - _seconds("RECONCILE_AFTER"))
        | Q(state=State.PROCESSING, created_at__lte=now - _seconds("PROCESSING_STALE"))
    ).order_by("created_at", "pk")
    settled = 0
    for activation_id in list(due.values_list("pk", flat=True)[:limit]):
        activation = Activation.objects.filter(pk=activation_id).first()
        if activation and activation_reconcile(activation=activation, now=now):
            settled += 1
    return settled


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=getattr(settings, f"SMSBOX_{name}_SECONDS"))


def activation_reconcile(*, activation: Activation, now: datetime | None = None) -> bool:
    """Settle one ``unknown`` or ``processing`` activation; False when it stays as it is."""
    now = now or timezone.now()
    if activation.state not in Activation.PENDING_STATES:
        return False
    found, asked = _find_bought(activation)
    if found is None and asked:
        return _refund_undelivered(activation, memo="Reconciled: not bought upstream")
    if found is None:
        if now >= activation.expires_at:
            return _refund_undelivered(activation, memo="Reconciled: upstream never answered")
        return False
    provider, upstream_id, phone, cost = found
    if now < activation.expires_at and _adopt(activation, provider, upstream_id, phone, cost):
        return True
    _release(provider, upstream_id)
    return _refund_undelivered(activation, memo="Reconciled: bought too late, cancelled upstream")


def _find_bought(activation: Activation):
    """((provider, upstream id, phone, cost) or None, whether the upstream was asked)."""
    claimed = Activation.objects.exclude(upstream_id="").values_list("provider_id", "upstream_id")
    claimed_set = set(claimed)
    attempts = PurchaseAttempt.objects.filter(
        outcome=PurchaseAttempt.Outcome.BOUGHT,
        service_id=activation.service_id,
        country_id=activation.country_id,
        created_at__gte=activation.created_at,
        created_at__lte=activation.created_at + _seconds("PROCESSING_STALE"),
    ).select_related("provider")
    for attempt in attempts.order_by("created_at", "pk"):
        if (attempt.provider_id, attempt.upstream_id) not in claimed_set:
            return (attempt.provider, attempt.upstream_id, attempt.phone, attempt.cost), True
    if activation.provider_id is None:
        # Crashed before any attempt of unknown outcome: nothing was bought, no upstream to ask.
        return None, activation.state == State.PROCESSING
    return _find_open_upstream(activation, activation.provider, claimed_set)


def _find_open_upstream(activation: Activation, provider: Provider, claimed_set):
    adapter = adapter_for(provider)
    try:
        open_ones = adapter.active_activations()
    except UpstreamError as exc:
        logger.info("reconcile %s: %s cannot say (%s)", activation.pk, provider, exc.message)
        return None, False
    since = activation.created_at - CLOCK_SKEW
    # Numbers of other purchases (bought, or banned and released) are not the one we look for.
    others = set(
        PurchaseAttempt.objects.filter(provider=provider)
        .exclude(upstream_id="")
        .values_list("upstream_id", flat=True)
    )
    for item in open_ones:
        if (provider.pk, item.upstream_id) in claimed_set or item.upstream_id in others:
            continue
        if item.service_code != activation.service.code:
            continue
        if item.country_id is not None and item.country_id != activation.country.sms_activate_id:
            continue
        if item.started_at is not None and item.started_at < since:
            continue
        return (provider, item.upstream_id, item.phone, None), True
    return None, True


def _adopt(activation: Activation, provider, upstream_id: str, phone: str, cost) -> bool:
    try:
        with transaction.atomic():
            locked = _lock(activation)
            if locked.state not in Activation.PENDING_STATES:
                return True  # settled meanwhile by the saga itself
            _give_number(locked, provider=provider, upstream_id=upstream_id, phone=phone, cost=cost)
            locked.memo = "Reconciled: number delivered"
            locked.save(update_fields=["memo"])
    except IntegrityError:
        return False  # another activation took this number meanwhile
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
