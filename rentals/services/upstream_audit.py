"""The upstream order audit: no order is left open and paid for at a provider that no activation
or rental of ours holds.

A purchase whose answer was lost (a timeout after the sale, a dropped connection, a process
killed between the buy and recording the number) can leave an order open upstream that
reconciliation never adopts — for instance when the upstream was unreachable until after the
activation's lifetime and the activation was refunded. Per provider, the audit lists the
upstream's open orders (``active_activations``, ``active_rents``) and compares them with ours.

An upstream order is an *orphan* when no activation (or rental) holds it, or only one that was
refunded (the customer pays nothing for it, so neither should we). Completed activations and
rentals that ran their time are left to the upstream, which closes them itself.

Each orphan is recorded once (``UpstreamOrphan``, with what it cost) and, once it is older than
``SMSBOX_ORPHAN_GRACE_SECONDS`` (since the upstream says it was bought, else since we first saw
it) so that purchases in flight and reconciliation come first, cancelled upstream. A refusal or
an upstream that cannot be reached is tried again on the next run, until the upstream confirms;
an orphan the upstream no longer lists is closed there, and recorded as released.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from providers.adapters import Adapter, Unsupported, UpstreamError, adapter_for
from providers.models import Provider, PurchaseAttempt
from rentals.models import Activation, Rental, UpstreamOrphan

logger = logging.getLogger(__name__)
Kind = UpstreamOrphan.Kind
# Holders that do not count: the customer was refunded, the order is nobody's.
_REFUNDED_RENTALS = (Rental.State.CANCELLED, Rental.State.FAILED, Rental.State.REVOKED)
# An orphan a run is releasing is left alone by the others this long (longer than a call).
RELEASE_LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class OpenOrder:
    """One order the upstream has open for us, in our terms."""

    kind: str
    upstream_id: str
    phone: str
    service_code: str
    started_at: datetime | None
    cost: Decimal | None


@dataclass
class ProviderAudit:
    """What one run found at one provider; ``error`` when it could not list its orders."""

    provider: Provider
    orphans: list[UpstreamOrphan]
    released: int = 0
    error: str = ""

    @property
    def open_cost(self) -> Decimal:
        return sum((o.cost or Decimal(0) for o in self.orphans if not o.released_at), Decimal(0))


def upstream_audit(
    *,
    providers: Iterable[Provider] | None = None,
    fix: bool = True,
    grace: timedelta | None = None,
    now: datetime | None = None,
) -> list[ProviderAudit]:
    """Audit each provider (every one by default). ``fix``: record the orphans and cancel those
    past the grace period; without it nothing is written or cancelled (a report)."""
    now = now or timezone.now()
    grace = grace if grace is not None else _grace()
    chosen = providers if providers is not None else Provider.objects.order_by("pk")
    return [provider_audit(provider=p, fix=fix, grace=grace, now=now) for p in chosen]


def provider_audit(
    *, provider: Provider, fix: bool, grace: timedelta, now: datetime
) -> ProviderAudit:
    adapter = adapter_for(provider)
    audit = ProviderAudit(provider=provider, orphans=[])
    for kind, listing in ((Kind.ACTIVATION, _activations), (Kind.RENT, _rents)):
        try:
            orders = listing(adapter)
        except Unsupported:
            continue
        except UpstreamError as exc:
            audit.error = f"{kind}: {exc.message}"
            logger.info("upstream audit of %s: cannot list %s orders (%s)", provider, kind, exc)
            continue
        orphans = _orphans(provider, kind, orders)
        if not fix:
            audit.orphans += [_unsaved(provider, o, now) for o in orphans]
            continue
        _close_vanished(provider, kind, listed={o.upstream_id for o in orders}, now=now)
        for order in orphans:
            row = _record(provider, order, now)
            if row.released_at is None and _due(row, order, grace, now):
                audit.released += _release(adapter, row, now)
            audit.orphans.append(row)
    return audit


def _grace() -> timedelta:
    return timedelta(seconds=settings.SMSBOX_ORPHAN_GRACE_SECONDS)


# --- listing ----------------------------------------------------------------------------------
def _activations(adapter: Adapter) -> list[OpenOrder]:
    return [
        OpenOrder(Kind.ACTIVATION, a.upstream_id, a.phone, a.service_code, a.started_at, a.cost)
        for a in adapter.active_activations()
    ]


def _rents(adapter: Adapter) -> list[OpenOrder]:
    return [
        OpenOrder(Kind.RENT, r.upstream_id, r.phone, r.service_code or "", r.started_at, r.cost)
        for r in adapter.active_rents()
    ]


def _orphans(provider: Provider, kind: str, orders: list[OpenOrder]) -> list[OpenOrder]:
    ids = [o.upstream_id for o in orders]
    held = _held(provider, kind, ids)
    return [o for o in orders if o.upstream_id not in held]


def _held(provider: Provider, kind: str, ids: list[str]) -> set[str]:
    """The upstream ids among ``ids`` that an activation or rental holds (not refunded)."""
    if kind == Kind.ACTIVATION:
        rows = Activation.objects.filter(provider=provider, upstream_id__in=ids).exclude(
            state__in=Activation.REFUNDED_STATES
        )
    else:
        rows = Rental.objects.filter(provider=provider, upstream_id__in=ids).exclude(
            state__in=_REFUNDED_RENTALS
        )
    return set(rows.values_list("upstream_id", flat=True))


# --- recording and releasing ------------------------------------------------------------------
def _unsaved(provider: Provider, order: OpenOrder, now: datetime) -> UpstreamOrphan:
    existing = UpstreamOrphan.objects.filter(
        provider=provider, kind=order.kind, upstream_id=order.upstream_id
    ).first()
    return existing or UpstreamOrphan(found_at=now, **_fields(provider, order))


def _fields(provider: Provider, order: OpenOrder) -> dict:
    return {
        "provider": provider,
        "kind": order.kind,
        "upstream_id": order.upstream_id,
        "phone": order.phone,
        "service_code": order.service_code[:32],
        "started_at": order.started_at,
        "cost": order.cost if order.cost is not None else _attempt_cost(provider, order),
    }


def _attempt_cost(provider: Provider, order: OpenOrder) -> Decimal | None:
    """The cost our purchase attempt recorded for it, when the upstream's list does not say."""
    attempt = (
        PurchaseAttempt.objects.filter(provider=provider, upstream_id=order.upstream_id)
        .exclude(cost=None)
        .first()
    )
    return attempt.cost if attempt else None


def _record(provider: Provider, order: OpenOrder, now: datetime) -> UpstreamOrphan:
    key = {"provider": provider, "kind": order.kind, "upstream_id": order.upstream_id}
    row = UpstreamOrphan.objects.filter(**key).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            row = UpstreamOrphan.objects.create(found_at=now, **_fields(provider, order))
    except IntegrityError:  # another run recorded it meanwhile
        return UpstreamOrphan.objects.get(**key)
    logger.warning(
        "upstream audit: %s order %s at %s is held by nobody (cost %s)",
        order.kind,
        order.upstream_id,
        provider,
        row.cost,
    )
    return row


def _due(row: UpstreamOrphan, order: OpenOrder, grace: timedelta, now: datetime) -> bool:
    since = min(filter(None, (order.started_at, row.found_at)))
    return since <= now - grace


def _release(adapter: Adapter, row: UpstreamOrphan, now: datetime) -> int:
    """Cancel one orphan upstream (held by nobody, checked again just before); 1 when the
    upstream confirmed."""
    if row.upstream_id in _held(row.provider, row.kind, [row.upstream_id]):
        row.delete()  # adopted meanwhile (reconciliation): not an orphan after all
        return 0
    if not _claim(row, now):
        return 0  # another run is releasing it
    error = ""
    try:
        _RELEASE[row.kind](adapter, row.upstream_id)
    except UpstreamError as exc:
        error = f"{exc.code}: {exc.message}"[:255]
    UpstreamOrphan.objects.filter(pk=row.pk).update(
        attempts=row.attempts + 1,
        last_attempt_at=now,
        last_error=error,
        released_at=None if error else now,
    )
    row.refresh_from_db()
    if error:
        logger.warning("upstream audit: could not release %s: %s", row, error)
        return 0
    logger.info("upstream audit: released %s (cost %s)", row, row.cost)
    return 1


def _claim(row: UpstreamOrphan, now: datetime) -> bool:
    """Lease the row to this run (a conditional UPDATE of ``last_attempt_at``), so overlapping
    runs never cancel one order twice at once."""
    free = Q(last_attempt_at=None) | Q(last_attempt_at__lte=now - RELEASE_LEASE)
    claimed = UpstreamOrphan.objects.filter(free, pk=row.pk, released_at=None)
    return claimed.update(last_attempt_at=now) == 1


def _release_rent(adapter: Adapter, upstream_id: str) -> None:
    """Cancel (the upstream may refund it) or, where it no longer can, finish."""
    try:
        adapter.rent_cancel(upstream_id=upstream_id)
    except UpstreamError:
        adapter.rent_finish(upstream_id=upstream_id)


_RELEASE: dict[str, Callable[[Adapter, str], None]] = {
    Kind.ACTIVATION: lambda adapter, upstream_id: adapter.cancel(upstream_id=upstream_id),
    Kind.RENT: _release_rent,
}


def _close_vanished(provider: Provider, kind: str, *, listed: set[str], now: datetime) -> None:
    """Orphans the upstream no longer lists are closed there (it let them expire, or our
    cancel went through without an answer): released."""
    UpstreamOrphan.objects.filter(provider=provider, kind=kind, released_at=None).exclude(
        upstream_id__in=listed
    ).update(released_at=now, last_error="No longer open upstream.")
