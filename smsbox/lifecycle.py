"""The account lifecycle: deleting unverified and inactive accounts, inactivity notices.

smsbox sits at the bottom of the import graph, so the apps above it take part in a deletion
through two registries, filled from their ``AppConfig.ready()``:

- ``register_deletion_guard(fn)``: ``fn(user) -> str | None`` answers a reason to keep the
  account (e.g. "active rental") or None. Any reason keeps the account for now.
- ``register_deletion_handler(fn)``: ``fn(user) -> None`` runs inside the deletion transaction,
  with the user row locked, before the row is deleted or anonymised: wallets forfeits the
  balance, apikeys revokes and deletes the keys, rentals deletes the webhook secret, deliveries,
  bans, spend policy and SMS texts and clears the numbers and URLs of the orders it keeps. An
  exception rolls the whole deletion back.

Deleting an account removes the ``User`` row (the wallet and its ledger stay, unlinked and
anonymous, so the books still balance). Where history protects the row (a customer who ever
bought an activation or a rental: the ledger refers to those), the account is anonymised in
place instead: e-mail, password, webhook URL cleared, deactivated, ``deleted_at`` set. Either
way the handlers have removed the personal data the other apps held.

The sweeps are safe on several workers at once: each walks the candidates in primary-key
batches and claims every row on its own (``SELECT … FOR UPDATE SKIP LOCKED`` for deletions, a
conditional UPDATE for notices), so a row is handled by exactly one worker.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import router, transaction
from django.db.models import ProtectedError, QuerySet, RestrictedError
from django.db.models.deletion import Collector
from django.utils import timezone

from smsbox import selectors
from smsbox.auth_backends import user_copy_drop
from smsbox.emails import email_send
from smsbox.jobs import tracked_job
from smsbox.models import User

logger = logging.getLogger(__name__)

DeletionGuard = Callable[[User], str | None]
DeletionHandler = Callable[[User], None]

_guards: list[DeletionGuard] = []
_handlers: list[DeletionHandler] = []


def register_deletion_guard(guard: DeletionGuard) -> DeletionGuard:
    if guard not in _guards:
        _guards.append(guard)
    return guard


def unregister_deletion_guard(guard: DeletionGuard) -> None:
    if guard in _guards:
        _guards.remove(guard)


def register_deletion_handler(handler: DeletionHandler) -> DeletionHandler:
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def unregister_deletion_handler(handler: DeletionHandler) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def account_deletion_blockers(*, user: User) -> list[str]:
    """Every reason the registered guards give to keep ``user``."""
    return [reason for guard in _guards if (reason := guard(user))]


# --- Deletion ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeletionOutcome:
    user_id: int
    deleted: bool  # deleted or anonymised
    reason: str = ""  # why it was kept, when it was
    anonymised: bool = False  # history protects the row: anonymised in place


def account_delete(*, user_id: int, eligible: QuerySet[User] | None = None) -> DeletionOutcome:
    """Delete the account ``user_id`` if it is (still) in ``eligible`` and no guard objects.

    The row is claimed with ``FOR UPDATE SKIP LOCKED``: when another worker holds it, this call
    answers "kept, busy" and leaves it to that worker (an order being inserted for the user
    holds a key-share lock on the row, so it counts as busy too). The guards are asked again
    after the handlers, which lock what they change (wallets locks the wallet that a purchase
    charges): a guard that objects then keeps the account, and what the handlers did is
    rolled back.
    """
    candidates = eligible if eligible is not None else User.objects.all()
    with transaction.atomic():
        user = candidates.select_for_update(skip_locked=True, of=("self",)).filter(pk=user_id)
        user = user.first()
        if user is None:
            return DeletionOutcome(user_id, False, "not eligible or claimed elsewhere")
        blockers = account_deletion_blockers(user=user)
        if blockers:
            return DeletionOutcome(user_id, False, "; ".join(blockers))
        try:
            anonymised = _erase(user)
        except _Kept as kept:
            return DeletionOutcome(user_id, False, kept.reason)
    logger.info("account %s %s", user_id, "anonymised" if anonymised else "deleted")
    return DeletionOutcome(user_id, True, anonymised=anonymised)


class _Kept(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _erase(user: User) -> bool:
    """Run the handlers, then delete or anonymise the row, in one savepoint; answers
    "anonymised". Raises ``_Kept`` (all rolled back) when a guard objects after the handlers."""
    with transaction.atomic():
        for handler in _handlers:
            handler(user)
        blockers = account_deletion_blockers(user=user)
        if blockers:
            raise _Kept("; ".join(blockers))
        return _remove(user)


def _remove(user: User) -> bool:
    """Delete the row, or anonymise it where history protects it; answers "anonymised"."""
    try:
        with transaction.atomic():
            user.delete()
    except (ProtectedError, RestrictedError):
        _anonymise(user)
        return True
    return False


def account_is_protected(*, user: User) -> bool:
    """Whether rows of other apps protect ``user`` from deletion (so it would be anonymised).

    Asks Django's deletion collector, the one ``user.delete()`` consults, without deleting.
    """
    collector = Collector(using=router.db_for_write(User, instance=user))
    try:
        collector.collect([user])
    except (ProtectedError, RestrictedError):
        return True
    return False


def _anonymise(user: User) -> None:
    user.email = f"deleted-{user.pk}@deleted.invalid"
    user.set_unusable_password()
    user.webhook_url = ""
    user.is_active = False
    user.last_login = None
    user.deleted_at = timezone.now()
    user.save(
        update_fields=["email", "password", "webhook_url", "is_active", "last_login", "deleted_at"]
    )


def _delete_sweep(job: tracked_job, users: QuerySet[User], *, batch_size: int) -> None:
    for batch in selectors.pk_batches(users, size=batch_size):
        for user_id in batch:
            try:
                outcome = account_delete(user_id=user_id, eligible=users)
            except Exception as exc:  # one bad account must not stop the sweep
                job.fail(f"user {user_id}", exc)
                continue
            job.rows += int(outcome.deleted)


def accounts_delete_unverified(
    *, now: datetime | None = None, batch_size: int | None = None
) -> int:
    """Delete the unverified accounts older than the verification window; answers how many."""
    with tracked_job("accounts.delete_unverified") as job:
        users = selectors.accounts_unverified_expired(now=now or timezone.now())
        _delete_sweep(job, users, batch_size=batch_size or settings.SMSBOX_JOB_BATCH_SIZE)
    return job.rows


def accounts_delete_inactive(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Delete the verified accounts inactive past the limit (after their notices)."""
    with tracked_job("accounts.delete_inactive") as job:
        users = selectors.accounts_inactive_expired(now=now or timezone.now())
        _delete_sweep(job, users, batch_size=batch_size or settings.SMSBOX_JOB_BATCH_SIZE)
    return job.rows


# --- Inactivity notices -----------------------------------------------------------------------


def account_notify_inactive(*, user_id: int, step: selectors.NoticeStep, now: datetime) -> bool:
    """Send ``user_id`` the notice of ``step`` unless it (or a shorter one) was sent already.

    The conditional UPDATE claims the notice; the e-mail is sent inside the same transaction so
    that a failed send leaves the notice due for the next run.
    """
    with transaction.atomic():
        claimed = (
            selectors.accounts_due_notice(step=step)
            .filter(pk=user_id)
            .update(inactivity_notice_days=step.lead_days, inactivity_notice_sent_at=now)
        )
        if not claimed:
            return False
        user_copy_drop([user_id])
        user = selectors.with_last_seen(User.objects.filter(pk=user_id)).get()
        _send_notice(user, lead_days=step.lead_days, now=now)
    return True


def _send_notice(user: User, *, lead_days: int, now: datetime) -> None:
    # The earliest possible deletion: the limit, and the full lead time of the last notice.
    limit = timedelta(days=settings.SMSBOX_INACTIVE_ACCOUNT_DAYS)
    last_lead = timedelta(days=min(selectors.notice_lead_days(), default=lead_days))
    deletion_on = max(user.last_seen + limit, now + last_lead)
    email_send(
        template="inactivity_notice",
        to=user.email,
        context={"user": user, "deletion_on": deletion_on, "lead_days": lead_days},
    )


def accounts_notify_inactive(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Send every inactivity notice that is due, each at most once; answers how many."""
    now = now or timezone.now()
    size = batch_size or settings.SMSBOX_JOB_BATCH_SIZE
    with tracked_job("accounts.notify_inactive") as job:
        for step in selectors.notice_steps(now=now):
            users = selectors.accounts_due_notice(step=step)
            for batch in selectors.pk_batches(users, size=size):
                for user_id in batch:
                    try:
                        job.rows += account_notify_inactive(user_id=user_id, step=step, now=now)
                    except Exception as exc:  # e.g. the mail server refused one address
                        job.fail(f"user {user_id}", exc)
    return job.rows


# --- Dry run ----------------------------------------------------------------------------------


LIFECYCLE_JOBS = ("delete-unverified", "notify-inactive", "delete-inactive")


def accounts_lifecycle_plan(
    *,
    jobs: tuple[str, ...] = LIFECYCLE_JOBS,
    now: datetime | None = None,
    batch_size: int | None = None,
) -> Iterator[str]:
    """What the lifecycle ``jobs`` would do now, one line per account; changes nothing."""
    now = now or timezone.now()
    size = batch_size or settings.SMSBOX_JOB_BATCH_SIZE
    if "delete-unverified" in jobs:
        unverified = selectors.accounts_unverified_expired(now=now)
        yield from _deletion_plan("unverified", unverified, size)
    if "notify-inactive" in jobs:
        for step in selectors.notice_steps(now=now):
            for user in _iterate(selectors.accounts_due_notice(step=step), size):
                yield (
                    f"would send the {step.lead_days}-day inactivity notice to user {user.pk} "
                    f"<{user.email}> (last seen {user.last_seen:%Y-%m-%d})"
                )
    if "delete-inactive" in jobs:
        inactive = selectors.accounts_inactive_expired(now=now)
        yield from _deletion_plan("inactive", inactive, size)


def _deletion_plan(why: str, users: QuerySet[User], size: int) -> Iterator[str]:
    for user in _iterate(users, size):
        blockers = account_deletion_blockers(user=user)
        if blockers:
            yield f"would keep {why} user {user.pk} <{user.email}>: {'; '.join(blockers)}"
        elif account_is_protected(user=user):
            yield f"would anonymise {why} user {user.pk} <{user.email}> (history refers to it)"
        else:
            yield f"would delete {why} user {user.pk} <{user.email}>"


def _iterate(users: QuerySet[User], size: int) -> Iterator[User]:
    for batch in selectors.pk_batches(users, size=size):
        yield from users.filter(pk__in=batch).order_by("pk")


__all__ = [
    "LIFECYCLE_JOBS",
    "DeletionOutcome",
    "account_delete",
    "account_deletion_blockers",
    "account_is_protected",
    "account_notify_inactive",
    "accounts_delete_inactive",
    "accounts_delete_unverified",
    "accounts_lifecycle_plan",
    "accounts_notify_inactive",
    "register_deletion_guard",
    "register_deletion_handler",
    "unregister_deletion_guard",
    "unregister_deletion_handler",
]
