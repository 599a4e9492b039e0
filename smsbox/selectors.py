"""Reads of the accounts app: which accounts the lifecycle jobs are due to handle."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from smsbox.models import JobRun, User


def _accounts() -> QuerySet[User]:
    """Customer accounts the lifecycle applies to: never operators, never already anonymised."""
    return User.objects.filter(is_staff=False, is_superuser=False, deleted_at__isnull=True)


def with_last_seen(users: QuerySet[User]) -> QuerySet[User]:
    return users.annotate(
        last_seen=Coalesce("last_activity_at", "last_login", "verified_at", "created_at")
    )


def accounts_unverified_expired(*, now: datetime) -> QuerySet[User]:
    """Unverified accounts older than the verification window."""
    cutoff = now - timedelta(days=settings.SMSBOX_UNVERIFIED_ACCOUNT_DAYS)
    return _accounts().filter(is_verified=False, created_at__lt=cutoff)


def notice_lead_days() -> list[int]:
    """The configured lead times, largest first, without duplicates or non-positive values."""
    return sorted(
        {days for days in settings.SMSBOX_INACTIVITY_NOTICE_DAYS if days > 0}, reverse=True
    )


@dataclass(frozen=True)
class NoticeStep:
    lead_days: int
    seen_before: datetime  # last seen at or before this …
    seen_after: datetime | None  # … and after this (else the next, shorter notice is due)


def notice_steps(*, now: datetime) -> list[NoticeStep]:
    """One step per lead time: accounts whose deletion is within that lead time (but not yet
    within the next, shorter one) get that notice."""
    limit = timedelta(days=settings.SMSBOX_INACTIVE_ACCOUNT_DAYS)
    leads = notice_lead_days()
    steps = []
    for index, lead in enumerate(leads):
        shorter = leads[index + 1] if index + 1 < len(leads) else None
        seen_after = now - limit + timedelta(days=shorter) if shorter is not None else None
        steps.append(NoticeStep(lead, now - limit + timedelta(days=lead), seen_after))
    return steps


def accounts_due_notice(*, step: NoticeStep) -> QuerySet[User]:
    """Verified, active (not deactivated by an operator) accounts that should get the notice of
    ``step`` and have not had it (or a shorter one) since they were last active."""
    users = with_last_seen(_accounts().filter(is_verified=True, is_active=True)).filter(
        last_seen__lte=step.seen_before
    )
    if step.seen_after is not None:
        users = users.filter(last_seen__gt=step.seen_after)
    return users.filter(
        Q(inactivity_notice_days__isnull=True) | Q(inactivity_notice_days__gt=step.lead_days)
    )


def accounts_inactive_expired(*, now: datetime) -> QuerySet[User]:
    """Verified accounts inactive past the limit whose last notice had its full lead time."""
    cutoff = now - timedelta(days=settings.SMSBOX_INACTIVE_ACCOUNT_DAYS)
    users = with_last_seen(_accounts().filter(is_verified=True, is_active=True))
    users = users.filter(last_seen__lt=cutoff)
    leads = notice_lead_days()
    if leads:
        users = users.filter(
            inactivity_notice_days=leads[-1],
            inactivity_notice_sent_at__lte=now - timedelta(days=leads[-1]),
        )
    return users


def pk_batches(users: QuerySet[User], *, size: int) -> Iterator[list[int]]:
    """The primary keys of ``users`` in ascending windows of at most ``size``: constant memory
    whatever the table size, and no row is visited twice by one sweep."""
    last = 0
    while True:
        batch = list(users.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not batch:
            return
        yield batch
        last = batch[-1]


def job_runs_latest() -> list[JobRun]:
    """The last run of every job, by job name."""
    names = JobRun.objects.order_by("name").values_list("name", flat=True).distinct()
    latest = [
        JobRun.objects.filter(name=name).order_by("-started_at", "-id").first() for name in names
    ]
    return [run for run in latest if run is not None]
