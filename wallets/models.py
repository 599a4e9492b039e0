from django.conf import settings
from django.db import models
from django.db.models import Q

from smsbox.money import money_field_kwargs


class Wallet(models.Model):
    """A customer's balance: a cache of the sum of its ledger entries, never below zero.

    The wallet outlives its user: when an account is deleted the user link is cleared and the
    anonymised money history stays, so the books still balance.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="wallet",
    )
    balance = models.DecimalField(default=0, **money_field_kwargs())
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_non_negative"),
        ]

    def __str__(self) -> str:
        return f"Wallet #{self.pk} ({self.user or 'deleted account'})"


class LedgerEntry(models.Model):
    """One money movement. Append-only: no code path updates or deletes an entry.

    ``idempotency_key`` is unique, so a retried movement finds its entry instead of writing a
    second one. ``reference_kind`` + ``reference_id`` name what caused the movement (e.g.
    ``activation`` 42) without a foreign key into the app that owns it.
    """

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"
        RENEWAL = "renewal", "Renewal"
        ADJUSTMENT = "adjustment", "Adjustment"
        FORFEIT = "forfeit", "Forfeit"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(**money_field_kwargs())
    balance_after = models.DecimalField(**money_field_kwargs())
    reference_kind = models.CharField(max_length=32, blank=True)
    reference_id = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The operator who made this movement, for operator actions.",
    )
    memo = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["wallet", "-created_at"]),
            models.Index(fields=["reference_kind", "reference_id"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_non_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="ledger_balance_after_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on wallet #{self.wallet_id}"

    @property
    def reference(self) -> str:
        return f"{self.reference_kind}:{self.reference_id}" if self.reference_kind else ""


class AdjustmentRequest(models.Model):
    """An operator's adjustment above ``SMSBOX_FOUR_EYES_THRESHOLD``, waiting for a second
    operator (maker-checker). Approving it writes the ledger entry with the idempotency key
    ``adjustment:request:<id>``, so however many approvals race, the money moves once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="adjustment_requests")
    amount = models.DecimalField(**money_field_kwargs())
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    checker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    token = models.CharField(max_length=64, unique=True, help_text="One per submitted form.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_request_non_zero"),
            models.CheckConstraint(
                condition=Q(checker__isnull=True) | ~Q(checker=models.F("maker")),
                name="adjustment_request_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"Adjustment {self.amount:+} on wallet #{self.wallet_id} ({self.status})"
