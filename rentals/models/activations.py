"""Short-term activations: one number bought for one service, waiting for its SMS.

The life of an activation (DESIGN.md "An activation's life")::

    processing ─bought─▶ waiting ─SMS─▶ received ─finish─▶ completed
        │  └─no number anywhere → failed (refunded)   │      └─another code → resend ─SMS─▶ received
        └─outcome unknown → unknown ─reconciled─▶ waiting | failed (refunded)
                               └─told "no number" (abandoned) ─reconciled─▶ failed (refunded)
    waiting ─cancel / finish without code─▶ cancelled (refunded) · ─expiry─▶ expired (refunded)
    received / resend ─expiry─▶ completed

Every transition is a service in ``rentals.services.activations`` that locks the row first.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from smsbox.money import money_field_kwargs


class Activation(models.Model):
    class State(models.TextChoices):
        PROCESSING = "processing", _("Processing (buying upstream)")
        UNKNOWN = "unknown", _("Processing (upstream answer pending)")
        WAITING = "waiting", _("Waiting for SMS")
        RECEIVED = "received", _("Code received")
        RESEND = "resend", _("Waiting for another code")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled (refunded)")
        EXPIRED = "expired", _("Expired (refunded)")
        FAILED = "failed", _("Not delivered (refunded)")

    # Before a number is known; the charge may still be refunded.
    PENDING_STATES = (State.PROCESSING, State.UNKNOWN)
    # A customer may act on these.
    LIVE_STATES = (State.WAITING, State.RECEIVED, State.RESEND)
    # Not final: the account must not be deleted, the expiry sweep looks at them.
    OPEN_STATES = (*PENDING_STATES, *LIVE_STATES)
    # The charge may still come back: nothing was received yet.
    REFUNDABLE_STATES = (State.PROCESSING, State.UNKNOWN, State.WAITING)
    # The charge came back.
    REFUNDED_STATES = (State.CANCELLED, State.EXPIRED, State.FAILED)
    FINAL_STATES = (State.COMPLETED, *REFUNDED_STATES)

    user = models.ForeignKey(  # indexed first in (user, created_at): no index of its own
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="activations",
        db_index=False,
    )
    service = models.ForeignKey("providers.Service", on_delete=models.PROTECT, related_name="+")
    country = models.ForeignKey("providers.Country", on_delete=models.PROTECT, related_name="+")
    operator = models.CharField(max_length=32, blank=True, default="")
    provider = models.ForeignKey(
        "providers.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activations",
    )
    upstream_id = models.CharField(max_length=64, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="", db_index=True)
    price = models.DecimalField("price charged", **money_field_kwargs())
    cost = models.DecimalField("upstream cost", null=True, blank=True, **money_field_kwargs())
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROCESSING)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    number_at = models.DateTimeField("number given at", null=True, blank=True)
    sms_received_at = models.DateTimeField("first SMS at", null=True, blank=True)
    settled_at = models.DateTimeField("final state since", null=True, blank=True)
    ready = models.BooleanField(default=False, help_text="The customer said the SMS was sent.")
    code = models.CharField("latest code", max_length=64, blank=True, default="")
    resend_count = models.PositiveSmallIntegerField(default=0)
    resend_available_at = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(
        "upstream last asked at",
        null=True,
        blank=True,
        help_text="When a polling worker last claimed this activation to ask the upstream.",
    )
    idempotency_key = models.CharField(max_length=100, blank=True, default="")
    display_number = models.CharField(max_length=20, unique=True)
    binding_key = models.CharField(max_length=64, unique=True)
    webhook_url = models.URLField(max_length=500, blank=True, default="")
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text="The activation this one replaced (cancelled and refunded).",
    )
    reuses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reused_by",
        help_text="The completed activation whose number this one uses again.",
    )
    abandoned = models.BooleanField(
        default=False,
        help_text="The customer was told there was no number (the protocol has no pending "
        "answer): reconciliation cancels what the upstream sold and refunds, never delivers.",
    )
    memo = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="activation_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["provider", "upstream_id"],
                condition=~Q(upstream_id=""),
                name="activation_upstream_id_unique",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="activation_price_non_negative"),
            models.CheckConstraint(
                condition=~Q(state__in=["waiting", "received", "resend", "completed"])
                | ~Q(phone=""),
                name="activation_live_has_phone",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="activation_user_recent_idx"),
            # The expiry sweep's claim (``ORDER BY expires_at, id LIMIT n``): a range scan
            # that stops after the batch, over the live rows only, however many are due.
            models.Index(
                fields=["expires_at", "id"],
                condition=Q(state__in=["waiting", "received", "resend"]),
                name="activation_live_expiry_idx",
            ),
            models.Index(fields=["upstream_id"], name="activation_upstream_idx"),
            models.Index(
                fields=["provider", "polled_at"],
                condition=Q(state__in=["waiting", "resend"]),
                name="activation_poll_idx",
            ),
            # A customer's open activations (the concurrency limit of every purchase, the
            # deletion guard): as many rows as are open, however long the history.
            models.Index(
                fields=["user"],
                condition=Q(state__in=["processing", "unknown", "waiting", "received", "resend"]),
                name="activation_user_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Activation {self.display_number} {self.state}"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    @property
    def has_sms(self) -> bool:
        return self.sms_received_at is not None


class NumberBan(models.Model):
    """A number a customer never wants again (number skip); the router excludes it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="number_bans"
    )
    phone = models.CharField(max_length=32)
    activation = models.ForeignKey(
        Activation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "phone"], name="number_ban_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} banned by {self.user}"


class SpendPolicy(models.Model):
    """A customer's own limits; an empty field falls back to the tier's setting."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="spend_policy"
    )
    max_price = models.DecimalField(
        "max price per activation", null=True, blank=True, **money_field_kwargs()
    )
    daily_cap = models.DecimalField(
        "daily spending cap", null=True, blank=True, **money_field_kwargs()
    )
    max_concurrent = models.PositiveIntegerField(
        "max concurrent activations", null=True, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "spend policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_price__isnull=True) | Q(max_price__gt=0),
                name="spend_policy_max_price_positive",
            ),
            models.CheckConstraint(
                condition=Q(daily_cap__isnull=True) | Q(daily_cap__gte=0),
                name="spend_policy_daily_cap_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Spend policy of {self.user}"


class OpenActivations(models.Model):
    """How many activations a customer has open (``Activation.OPEN_STATES``), so that the
    purchase reads the figure its concurrency limit needs in one row instead of counting them.

    On PostgreSQL, triggers on ``rentals_activation`` keep it (migration 0021): every insert,
    change of state or delete of an activation adds or takes one in the same statement, whoever
    writes it (the ORM, plain SQL, ``QuerySet.update``). Not kept on SQLite, where the purchase
    counts. In the lock order it comes after the activations and before the wallet (customer,
    activations, this row, wallet): the purchase locks it before it charges, a cancel or expiry
    takes it when it writes the state, before it refunds. No foreign key in the database: its
    check at commit would lock the customer after this row (Django's cascade still deletes it
    with the customer)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        db_constraint=False,
    )
    open_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "open activations"

    def __str__(self) -> str:
        return f"{self.open_count} open activations of {self.user}"
