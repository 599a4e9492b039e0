from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
        DEPOSIT = "deposit", _("Deposit")
        CHARGE = "charge", _("Charge")
        REFUND = "refund", _("Refund")
        RENEWAL = "renewal", _("Renewal")
        ADJUSTMENT = "adjustment", _("Adjustment")
        FORFEIT = "forfeit", _("Forfeit")
        BONUS = "bonus", _("Bonus")

    wallet = models.ForeignKey(  # indexed first in (wallet, -created_at): no index of its own
        Wallet, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
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


class PaymentProcessor(models.Model):
    """A third-party payment processor account, spoken to through the module of its ``kind``.

    ``api_key`` and ``secret`` are credentials: write-only in the admin and never logged.
    ``name`` is the path segment of its callback URL (``/payments/<name>/callback``).
    """

    class Kind(models.TextChoices):
        CRYPTOMUS = "cryptomus", "Cryptomus"
        HELEKET = "heleket", "Heleket"
        NOWPAYMENTS = "nowpayments", "NOWPayments"
        BTCPAY = "btcpay", "BTCPay Server"
        SANDBOX = "sandbox", "Sandbox (local, for demos)"

    name = models.SlugField(max_length=64, unique=True, help_text="Also the callback URL's name.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    base_url = models.URLField(
        blank=True, help_text="The API root, e.g. https://api.cryptomus.com/v1"
    )
    merchant = models.CharField(
        max_length=128, blank=True, help_text="Merchant id (Cryptomus, Heleket)."
    )
    store_id = models.CharField(max_length=128, blank=True, help_text="Store id (BTCPay Server).")
    api_key = models.CharField("API key", max_length=255, blank=True)
    secret = models.CharField(
        "callback secret", max_length=255, blank=True, help_text="IPN / webhook secret."
    )
    currencies = models.JSONField(
        default=list, blank=True, help_text='Currencies customers may pay in, e.g. ["USDT", "BTC"].'
    )
    allowed_ips = models.TextField(
        blank=True, help_text="Callbacks only from these addresses or networks (one per line)."
    )
    invoice_minutes = models.PositiveIntegerField(
        default=60, help_text="How long a customer has to pay an invoice."
    )
    timeout = models.DecimalField(
        "timeout (seconds)", max_digits=5, decimal_places=2, default=Decimal("15")
    )
    enabled = models.BooleanField(default=True)
    rejected_callbacks = models.PositiveIntegerField(
        default=0, help_text="Callbacks refused for a bad signature or address."
    )
    last_rejected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(timeout__gt=0), name="payment_processor_timeout_positive"
            ),
            models.CheckConstraint(
                condition=Q(invoice_minutes__gt=0), name="payment_processor_minutes_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TopUp(models.Model):
    """An invoice a customer pays through a processor to put money in their wallet.

    ``created`` → ``pending`` (the processor has the invoice) → ``confirming`` (a payment is
    on its way) → ``paid`` | ``partially_paid`` | ``overpaid`` | ``expired`` | ``failed``.
    ``amount_credited`` only grows, in the same transaction as the ledger entry that credits it.
    """

    class Status(models.TextChoices):
        CREATED = "created", _("Created")
        PENDING = "pending", _("Waiting for payment")
        CONFIRMING = "confirming", _("Confirming")
        PAID = "paid", _("Paid")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        OVERPAID = "overpaid", _("Overpaid")
        EXPIRED = "expired", _("Expired")
        FAILED = "failed", _("Failed")

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="top_ups")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="top_ups",
    )
    processor = models.ForeignKey(PaymentProcessor, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**money_field_kwargs())
    currency = models.CharField(max_length=3)
    pay_currency = models.CharField(max_length=16)
    order_id = models.CharField(max_length=64, unique=True)
    # NULL until the processor has the invoice: many such rows, yet each id once per processor.
    processor_ref = models.CharField(  # noqa: DJ001
        "processor's invoice id", max_length=128, null=True, blank=True
    )
    processor_payment_id = models.CharField(max_length=128, blank=True)
    payment_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    amount_received = models.DecimalField(default=0, **money_field_kwargs())
    amount_credited = models.DecimalField(default=0, **money_field_kwargs())
    tx_hashes = models.TextField("transaction hashes", blank=True, help_text="One per line.")
    first_deposit = models.BooleanField(default=False)
    error = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "top-up"
        constraints = [
            models.UniqueConstraint(
                fields=["processor", "processor_ref"], name="top_up_unique_processor_ref"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="top_up_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_credited__gte=0) & Q(amount_received__gte=0),
                name="top_up_amounts_non_negative",
            ),
        ]
        indexes = [models.Index(fields=["status", "reconciled_at"], name="top_up_open_idx")]

    def __str__(self) -> str:
        return f"Top-up #{self.pk} {self.amount} {self.currency} ({self.status})"

    @property
    def tx_hash_list(self) -> list[str]:
        return self.tx_hashes.split()


class TopUpCallback(models.Model):
    """A verified callback as the processor sent it, kept for support. Append-only."""

    top_up = models.ForeignKey(TopUp, on_delete=models.PROTECT, related_name="callbacks")
    source = models.CharField(max_length=16, help_text="callback, reconciliation or sandbox")
    remote_addr = models.CharField(max_length=64, blank=True)
    body = models.TextField()
    reported_status = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.source} for top-up #{self.top_up_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class SandboxInvoice(models.Model):
    """The sandbox processor's own side of an invoice: what it was asked and what was paid."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        PARTIAL = "partial", "Partially paid"
        EXPIRED = "expired", "Expired"

    processor = models.ForeignKey(PaymentProcessor, on_delete=models.CASCADE, related_name="+")
    ref = models.CharField(max_length=64, unique=True)
    order_id = models.CharField(max_length=64)
    amount = models.DecimalField(**money_field_kwargs())
    currency = models.CharField(max_length=3)
    pay_currency = models.CharField(max_length=16)
    paid = models.DecimalField(default=0, **money_field_kwargs())
    tx_hash = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    callback_url = models.URLField(max_length=500)
    return_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Sandbox invoice {self.ref}"


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
