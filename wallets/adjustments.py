"""Balance adjustments by operators: the role's limit, maker-checker above the four-eyes
threshold, and an audit row in the transaction of every decision.

* Support may adjust by at most ``SMSBOX_SUPPORT_ADJUST_LIMIT`` per action (the permission
  ``smsbox.adjust_balance``); Finance and the owner by any amount
  (``smsbox.adjust_balance_unlimited``).
* An adjustment above ``SMSBOX_FOUR_EYES_THRESHOLD`` (in absolute value) moves no money: it
  becomes an ``AdjustmentRequest`` that another operator holding ``smsbox.approve_adjustment``
  approves or rejects. Nobody approves their own (a DB constraint too), and a request is
  decided once: the row is locked, its status re-checked, and the entry's idempotency key is
  the request's, so two approvals at the same moment move the money once.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from smsbox.audit import audit_record, operator_require
from smsbox.errors import PermissionDenied
from smsbox.models import User
from smsbox.money import format_money, to_cents
from wallets.errors import AdjustmentAlreadyDecided, InvalidAmount, SelfApprovalRefused
from wallets.models import AdjustmentRequest, LedgerEntry, Wallet
from wallets.services import wallet_adjust

Status = AdjustmentRequest.Status


@dataclass(frozen=True)
class AdjustOutcome:
    entry: LedgerEntry | None = None  # the money moved
    request: AdjustmentRequest | None = None  # or it waits for a second operator


def operator_adjust(
    *, wallet: Wallet, amount: Decimal, actor: User, reason: str, token: str
) -> AdjustOutcome:
    """Adjust ``wallet`` by ``amount`` (signed) for ``reason``; ``token`` (one per submitted
    form) makes a repeated submission a no-op."""
    _check_allowed(actor, amount)
    if not reason.strip():
        raise InvalidAmount("An adjustment needs a reason.")
    if abs(amount) > settings.SMSBOX_FOUR_EYES_THRESHOLD:
        return AdjustOutcome(request=_request(wallet, amount, actor, reason.strip(), token))
    with transaction.atomic():
        # The wallet's lock first: a resubmitted form then finds the first one's entry.
        before = Wallet.objects.select_for_update().values_list("balance", flat=True)
        before = before.get(pk=wallet.pk)
        done = LedgerEntry.objects.filter(idempotency_key=f"adjustment:{token}").first()
        if done is not None:
            return AdjustOutcome(entry=done)
        entry = wallet_adjust(
            wallet=wallet, amount=amount, actor=actor, reason=reason, idempotency_key=token
        )
        _audit_entry(actor, wallet, entry, before=before, reason=reason)
    return AdjustOutcome(entry=entry)


def adjustment_approve(*, request_id: int, checker: User) -> AdjustmentRequest:
    operator_require(checker, "smsbox.approve_adjustment")
    with transaction.atomic():
        locked = _lock_pending(request_id, checker)
        _check_allowed(checker, locked.amount)
        before = Wallet.objects.select_for_update().values_list("balance", flat=True)
        before = before.get(pk=locked.wallet_id)
        locked.entry = wallet_adjust(
            wallet=locked.wallet,
            amount=locked.amount,
            actor=checker,
            reason=f"{locked.reason} (approved request {locked.pk})",
            idempotency_key=f"request:{locked.pk}",
        )
        _decide(locked, Status.APPROVED, checker)
        _audit_entry(checker, locked.wallet, locked.entry, before=before, reason=locked.reason)
    return locked


def adjustment_reject(*, request_id: int, checker: User, note: str = "") -> AdjustmentRequest:
    operator_require(checker, "smsbox.approve_adjustment")
    with transaction.atomic():
        locked = _lock_pending(request_id, checker)
        _decide(locked, Status.REJECTED, checker)
        audit_record(
            actor=checker,
            action="adjustment.reject",
            target=locked,
            before={"status": Status.PENDING},
            after={"status": Status.REJECTED},
            reason=note,
            customer=locked.wallet.user,
        )
    return locked


def _check_allowed(actor: User, amount: Decimal) -> None:
    operator_require(actor, "smsbox.adjust_balance")
    limit = settings.SMSBOX_SUPPORT_ADJUST_LIMIT
    if abs(amount) > limit and not actor.has_perm("smsbox.adjust_balance_unlimited"):
        raise PermissionDenied(
            f"Your role adjusts by at most {limit} per action; ask Finance.",
            extra={"limit": str(limit)},
        )


def _request(
    wallet: Wallet, amount: Decimal, actor: User, reason: str, token: str
) -> AdjustmentRequest:
    with transaction.atomic():
        request, created = AdjustmentRequest.objects.get_or_create(
            token=str(token),
            defaults={"wallet": wallet, "amount": amount, "reason": reason[:255], "maker": actor},
        )
        if created:
            audit_record(
                actor=actor,
                action="adjustment.request",
                target=request,
                after={"amount": amount, "status": Status.PENDING},
                reason=reason,
                customer=wallet.user,
            )
    return request


def _lock_pending(request_id: int, checker: User) -> AdjustmentRequest:
    locked = (
        AdjustmentRequest.objects.select_for_update(of=("self",))
        .select_related("wallet__user")
        .get(pk=request_id)
    )
    if locked.status != Status.PENDING:
        raise AdjustmentAlreadyDecided(extra={"status": locked.status})
    if locked.maker_id == checker.pk:
        raise SelfApprovalRefused()
    return locked


def _decide(locked: AdjustmentRequest, status: str, checker: User) -> None:
    locked.status = status
    locked.checker = checker
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "checker", "decided_at", "entry"])


def _audit_entry(
    actor: User, wallet: Wallet, entry: LedgerEntry, *, before: Decimal, reason: str
) -> None:
    audit_record(
        actor=actor,
        action="balance.adjust",
        target=wallet,
        before={"balance": before},
        after={"balance": entry.balance_after, "amount": entry.amount, "entry": entry.pk},
        reason=reason,
        customer=wallet.user,
    )


def adjust_outcome_text(outcome: AdjustOutcome) -> str:
    """What an operator is told after an adjustment."""
    if outcome.entry is not None:
        return (
            f"{to_cents(outcome.entry.amount):+.2f} → balance "
            f"{format_money(outcome.entry.balance_after)}"
        )
    request = outcome.request
    amount = to_cents(request.amount)
    return f"{amount:+.2f} waits for a second operator's approval (request {request.pk})"
