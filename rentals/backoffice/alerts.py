"""Operator alerts and the abuse rule, run by periodic jobs (recorded as ``JobRun`` rows).

An alert is sent once per episode (``AlertEpisode``): when its condition starts, one e-mail to
``SMSBOX_ALERT_EMAILS``; while it lasts, nothing more; when it clears, the episode closes and
the next time it starts is a new episode. Conditions, per enabled provider:

* ``runway``: the upstream balance lasts less than ``SMSBOX_ALERT_RUNWAY_HOURS`` at the last
  7 days' spend;
* ``breaker``: its circuit breaker has been open (or half-open, its trials failing) longer
  than ``SMSBOX_ALERT_BREAKER_MINUTES`` since the provider's last success;
* ``success``: of its last 50 orders, the share that got an SMS is under
  ``SMSBOX_ALERT_SUCCESS_RATE``.
"""

import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.selectors import api_key_forget
from providers import breaker
from providers.models import Provider, PurchaseAttempt
from rentals.backoffice.reports import runway_rows
from rentals.models import Activation
from smsbox.audit import audit_record
from smsbox.jobs import tracked_job
from smsbox.models import AlertEpisode, User

SUCCESS_WINDOW = 50


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str
    detail: str


def _runway(provider: Provider, hours: dict[str, int | None]) -> Condition | None:
    left = hours.get(provider.name)
    if left is None or left >= settings.SMSBOX_ALERT_RUNWAY_HOURS:
        return None
    return Condition(
        "runway", f"provider:{provider.pk}", f"{provider.name}: {left} h of balance left"
    )


def _breaker(provider: Provider) -> Condition | None:
    opened = breaker.breaker_open_since(provider.pk)
    if opened is None:
        return None
    minutes = (time.time() - opened) / 60
    if minutes <= settings.SMSBOX_ALERT_BREAKER_MINUTES:
        return None
    return Condition(
        "breaker", f"provider:{provider.pk}", f"{provider.name}: breaker open {int(minutes)} min"
    )


def _success(provider: Provider) -> Condition | None:
    last = PurchaseAttempt.objects.filter(
        provider=provider, outcome=PurchaseAttempt.Outcome.BOUGHT
    ).order_by("-created_at", "-id")[:SUCCESS_WINDOW]
    flags = [sms is not None for sms in last.values_list("sms_received_at", flat=True)]
    if len(flags) < SUCCESS_WINDOW:
        return None
    rate = Decimal(sum(flags)) / Decimal(len(flags))
    if rate >= settings.SMSBOX_ALERT_SUCCESS_RATE:
        return None
    return Condition(
        "success",
        f"provider:{provider.pk}",
        f"{provider.name}: {rate:.0%} of its last {SUCCESS_WINDOW} orders got an SMS",
    )


def provider_conditions() -> list[tuple[str, str, Condition | None]]:
    """Every (kind, subject, condition or None) the alert job checks."""
    hours = {row["provider"]: row["runway_hours"] for row in runway_rows()}
    checks = []
    for provider in Provider.objects.filter(enabled=True):
        subject = f"provider:{provider.pk}"
        checks.append(("runway", subject, _runway(provider, hours)))
        checks.append(("breaker", subject, _breaker(provider)))
        checks.append(("success", subject, _success(provider)))
    return checks


def alerts_check() -> int:
    """Open, notify and close episodes; answers how many alerts were sent."""
    sent = 0
    for kind, subject, condition in provider_conditions():
        if condition is None:
            AlertEpisode.objects.filter(kind=kind, subject=subject, closed_at__isnull=True).update(
                closed_at=timezone.now()
            )
        elif _episode_open(condition):
            operators_notify(subject=f"smsbox alert: {condition.detail}", body=condition.detail)
            sent += 1
    return sent


def _episode_open(condition: Condition) -> bool:
    """True when this call opened the episode (the one-open-episode constraint decides
    between two workers)."""
    try:
        with transaction.atomic():
            _, created = AlertEpisode.objects.get_or_create(
                kind=condition.kind,
                subject=condition.subject,
                closed_at=None,
                defaults={"detail": condition.detail},
            )
    except IntegrityError:
        return False
    return created


def operators_notify(*, subject: str, body: str) -> None:
    if settings.SMSBOX_ALERT_EMAILS:
        send_mail(subject, body, None, settings.SMSBOX_ALERT_EMAILS)


@tracked_job("backoffice.alerts")
def alerts_run() -> int:
    return alerts_check()


# --- the abuse rule ---------------------------------------------------------------------------
def abuse_check(*, now=None) -> int:
    """Suspend the purchases of accounts whose success rate today is under
    ``SMSBOX_ABUSE_SUCCESS_RATE`` after ``SMSBOX_ABUSE_MIN_ORDERS`` orders; off while the rate
    is unset. Answers how many accounts were suspended."""
    rate = settings.SMSBOX_ABUSE_SUCCESS_RATE
    if rate is None:
        return 0
    start = (now or timezone.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        Activation.objects.filter(
            created_at__gte=start,
            number_at__isnull=False,
            user__purchases_suspended_at__isnull=True,
            user__is_staff=False,
        )
        .values("user_id")
        .annotate(orders=Count("id"), with_sms=Count("id", filter=Q(sms_received_at__isnull=False)))
        .filter(orders__gte=settings.SMSBOX_ABUSE_MIN_ORDERS)
    )
    suspended = 0
    for row in rows:
        if Decimal(row["with_sms"]) / Decimal(row["orders"]) < rate:
            suspended += _suspend(row["user_id"], row["orders"], row["with_sms"])
    return suspended


def _suspend(user_id: int, orders: int, with_sms: int) -> int:
    reason = f"Abuse rule: {with_sms} of {orders} orders today got an SMS"
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if user.purchases_suspended_at is not None:
            return 0
        user.purchases_suspended_at, user.suspension_reason = timezone.now(), reason
        user.save(update_fields=["purchases_suspended_at", "suspension_reason"])
        audit_record(
            actor=None,
            action="customer.suspend",
            target=user,
            before={"purchases_suspended_at": None},
            after={"purchases_suspended_at": user.purchases_suspended_at},
            reason=reason,
            customer=user,
        )
        for digest in ApiKey.objects.filter(user=user).values_list("digest", flat=True):
            transaction.on_commit(lambda digest=digest: api_key_forget(digest))
    operators_notify(subject=f"smsbox: purchases of {user.email} suspended", body=reason)
    return 1


@tracked_job("backoffice.abuse")
def abuse_run() -> int:
    return abuse_check()
