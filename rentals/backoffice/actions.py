"""Operator actions on customers and orders. Each checks the operator's permission, calls the
service of the app that owns the change, and writes its audit row in the same transaction."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.selectors import api_key_forget
from rentals.models import Activation, Rental
from rentals.services import activation_cancel_refund
from rentals.services.activations import activation_reference
from rentals.services.rentals import rental_revoke
from smsbox.audit import audit_record, operator_require
from smsbox.errors import Conflict, InvalidInput
from smsbox.lifecycle import account_delete
from smsbox.models import OperatorNote, User
from smsbox.money import ZERO, format_money
from smsbox.services import user_verification_send
from wallets.models import LedgerEntry
from wallets.services import wallet_get_or_create, wallet_refund

ActivationState = Activation.State


class AlreadyRefunded(Conflict):
    code = "ALREADY_REFUNDED"
    message = "This order was already refunded."


class NotRefundable(Conflict):
    code = "NOT_REFUNDABLE"
    message = "This order cannot be refunded."


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why: a reason is required.")
    return reason[:1000]


# --- refunds ----------------------------------------------------------------------------------
def order_refund(*, actor: User, order: Activation | Rental, reason: str) -> Decimal:
    """Refund an activation (all of it) or revoke an active rental (its unused share); answers
    the amount given back. The order's row is locked first, so of two operators clicking at
    once the second finds it refunded and is told so."""
    operator_require(actor, "smsbox.refund_order")
    reason = _reason(reason)
    with transaction.atomic():
        if isinstance(order, Activation):
            locked, refunded = _refund_activation(order, actor=actor, reason=reason)
        else:
            locked, refunded = _refund_rental(order, actor=actor)
        audit_record(
            actor=actor,
            action="order.refund",
            target=locked,
            before={"state": order.state},
            after={"state": locked.state, "refunded": format_money(refunded)},
            reason=reason,
            customer=locked.user,
        )
    return refunded


def _refund_activation(
    activation: Activation, *, actor: User, reason: str
) -> tuple[Activation, Decimal]:
    locked = Activation.objects.select_for_update().select_related("user").get(pk=activation.pk)
    already = _refunded(activation_reference(locked).kind, locked.pk)
    if locked.state in Activation.REFUNDED_STATES or already > ZERO:
        raise AlreadyRefunded(
            f"Activation {locked.display_number} was already refunded "
            f"({format_money(already)}, state {locked.get_state_display()}).",
            extra={"state": locked.state, "refunded": format_money(already)},
        )
    if locked.state in (*Activation.PENDING_STATES, ActivationState.WAITING):
        locked = activation_cancel_refund(activation=locked, actor=actor)
        return locked, locked.price
    if locked.price <= ZERO:
        raise NotRefundable("This activation was free: nothing to refund.")
    # A code came (or the activation completed) and the operator refunds it anyway.
    wallet_refund(
        wallet=wallet_get_or_create(user=locked.user),
        amount=locked.price,
        reference=activation_reference(locked),
        actor=actor,
        memo=f"Activation {locked.display_number}: refunded by operator: {reason}"[:255],
    )
    return locked, locked.price


def _refund_rental(rental: Rental, *, actor: User) -> tuple[Rental, Decimal]:
    locked = Rental.objects.select_for_update().select_related("user").get(pk=rental.pk)
    if locked.state in (Rental.State.CANCELLED, Rental.State.REVOKED, Rental.State.FAILED):
        raise AlreadyRefunded(
            f"Rental {locked.display_number} was already refunded "
            f"(state {locked.get_state_display()}).",
            extra={"state": locked.state},
        )
    if locked.state != Rental.State.ACTIVE:
        raise NotRefundable(
            f"Rental {locked.display_number} is {locked.get_state_display().lower()}: "
            "adjust the balance instead.",
            extra={"state": locked.state},
        )
    before = _refunded("rental", locked.pk)
    locked = rental_revoke(rental=locked, actor=actor)
    return locked, _refunded("rental", locked.pk) - before


def _refunded(kind: str, order_id: int) -> Decimal:
    total = LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.REFUND, reference_kind=kind, reference_id=str(order_id)
    ).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


# --- the account ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Change:
    fields: list[str]
    values: dict[str, object]


def _change_customer(
    *, actor: User, customer: User, action: str, change: _Change, reason: str
) -> User:
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=customer.pk)
        before = {name: getattr(locked, name) for name in change.values}
        for name, value in change.values.items():
            setattr(locked, name, value)
        locked.save(update_fields=change.fields)
        _forget_api_keys(locked)
        audit_record(
            actor=actor,
            action=action,
            target=locked,
            before=before,
            after=change.values,
            reason=reason,
            customer=locked,
        )
    return locked


def _forget_api_keys(user: User) -> None:
    """The cached key checks carry the user row: drop them now and after the commit, so the
    change holds on the next API request."""
    digests = list(ApiKey.objects.filter(user=user, revoked_at__isnull=True).values_list("digest"))
    for (digest,) in digests:
        api_key_forget(digest)
        transaction.on_commit(lambda digest=digest: api_key_forget(digest))


def customer_block(*, actor: User, customer: User, reason: str) -> User:
    """Block the account: its API keys, the dashboard and purchases stop at once."""
    operator_require(actor, "smsbox.block_customer")
    reason = _reason(reason)
    change = _Change(
        ["blocked_at", "block_reason"], {"blocked_at": timezone.now(), "block_reason": reason}
    )
    return _change_customer(
        actor=actor, customer=customer, action="customer.block", change=change, reason=reason
    )


def customer_unblock(*, actor: User, customer: User, reason: str) -> User:
    """Lift an operator's block and a suspension of purchases by the abuse rule."""
    operator_require(actor, "smsbox.block_customer")
    values = {
        "blocked_at": None,
        "block_reason": "",
        "purchases_suspended_at": None,
        "suspension_reason": "",
    }
    change = _Change(list(values), values)
    return _change_customer(
        actor=actor,
        customer=customer,
        action="customer.unblock",
        change=change,
        reason=_reason(reason),
    )


def customer_set_tier(*, actor: User, customer: User, tier: str, reason: str) -> User:
    operator_require(actor, "smsbox.change_tier")
    if tier not in User.Tier.values:
        raise InvalidInput(f"Unknown tier {tier!r}.")
    return _change_customer(
        actor=actor,
        customer=customer,
        action="customer.tier",
        change=_Change(["tier"], {"tier": tier}),
        reason=_reason(reason),
    )


def customer_resend_verification(*, actor: User, customer: User) -> bool:
    """Send the verification e-mail again; False when the account is verified already."""
    operator_require(actor, "smsbox.resend_verification")
    if customer.is_verified:
        raise Conflict("This account is verified already.")
    with transaction.atomic():
        sent = user_verification_send(user=customer)
        audit_record(
            actor=actor,
            action="customer.resend_verification",
            target=customer,
            after={"sent": sent},
            customer=customer,
        )
    return sent


def customer_delete(*, actor: User, customer: User, reason: str) -> str:
    """Start the account's deletion through the lifecycle (balance forfeited, personal data
    removed, history anonymised); answers what happened, e.g. why the account was kept."""
    operator_require(actor, "smsbox.delete_account")
    reason = _reason(reason)
    label = customer.email
    with transaction.atomic():
        outcome = account_delete(user_id=customer.pk)
        gone = outcome.deleted and not outcome.anonymised
        audit_record(
            actor=actor,
            action="customer.delete",
            target=customer,
            before={"email": label},
            after={"deleted": outcome.deleted, "anonymised": outcome.anonymised},
            reason=f"{reason} — {outcome.reason}" if outcome.reason else reason,
            customer=None if gone else customer,
        )
    if not outcome.deleted:
        return f"kept: {outcome.reason}"
    return "anonymised" if outcome.anonymised else "deleted"


def customer_note_add(*, actor: User, customer: User, text: str) -> OperatorNote:
    operator_require(actor, "smsbox.add_note")
    text = _reason(text)
    with transaction.atomic():
        note = OperatorNote.objects.create(customer=customer, author=actor, text=text)
        audit_record(
            actor=actor, action="note.add", target=note, after={"text": text}, customer=customer
        )
    return note
