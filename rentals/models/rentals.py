"""Long-term rentals: a number kept for hours, days or months, with its plans and renewals.

The life of a rental::

    processing ─upstream rented─▶ active ─expiry─▶ expired
        ├─no provider could rent → failed (refunded)
        └─the rent call timed out → unknown ─expiry job─▶ active (it was rented)
                                                    └─▶ failed (not rented; refunded)
    active ─cancel (first 20 min, no SMS)─▶ cancelled (refunded)
    active ─finish─▶ finished · ─operator revokes─▶ revoked (unused share refunded)
    active ─extend / auto-renew─▶ active (a later expiry; one ``RentalRenewal`` per period)

Every transition is a service in ``rentals.services.rentals`` that locks the row first.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from smsbox.money import money_field_kwargs


class Package(models.TextChoices):
    """Named long-term durations (seed 004) of fixed lengths: 30, 90, 180 and 365 days
    (``rental_selectors.PACKAGE_DAYS``), so our expiry and the upstream's always agree."""

    ONE_MONTH = "1m", "1 month"
    THREE_MONTHS = "3m", "3 months"
    SIX_MONTHS = "6m", "6 months"
    ONE_YEAR = "1y", "1 year"


class RentalPlan(models.Model):
    """The price of one duration in a country, for one service or (service empty) any service.

    Operators edit plans in the admin; ``rental_quote`` prices every other allowed duration pro
    rata from the nearest plan.
    """

    class Unit(models.TextChoices):
        HOURS = "hours", "Hours"
        DAYS = "days", "Days"
        PACKAGE = "package", "Package"

    country = models.ForeignKey(
        "providers.Country", on_delete=models.CASCADE, related_name="rental_plans"
    )
    service = models.ForeignKey(
        "providers.Service",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rental_plans",
        help_text="Empty: the plan applies to any service.",
    )
    unit = models.CharField(max_length=8, choices=Unit.choices)
    length = models.PositiveIntegerField(
        null=True, blank=True, help_text="Number of hours or days; empty for a package."
    )
    package = models.CharField(max_length=2, choices=Package.choices, blank=True, default="")
    price = models.DecimalField(**money_field_kwargs())
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country", "service", "unit", "length", "package"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "service", "unit", "length", "package"],
                name="rental_plan_unique_duration",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="rental_plan_price_positive"),
            models.CheckConstraint(
                condition=(
                    Q(unit="package", length__isnull=True) & ~Q(package="")
                    | Q(unit__in=["hours", "days"], length__gt=0, package="")
                ),
                name="rental_plan_duration_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.service or 'any service'} {self.duration_label}: {self.price}"

    @property
    def duration_label(self) -> str:
        if self.unit == self.Unit.PACKAGE:
            return self.package
        return f"{self.length} {self.unit}"


class Rental(models.Model):
    """A long-term rental contract of one number."""

    class State(models.TextChoices):
        PROCESSING = "processing", _("Processing (renting upstream)")
        UNKNOWN = "unknown", _("Rent outcome unknown (settling against the upstream)")
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        FINISHED = "finished", _("Finished")
        CANCELLED = "cancelled", _("Cancelled (refunded)")
        REVOKED = "revoked", _("Revoked (unused share refunded)")
        FAILED = "failed", _("Not delivered (refunded)")

    FINAL_STATES = (State.EXPIRED, State.FINISHED, State.CANCELLED, State.REVOKED, State.FAILED)
    # Not final: the account must not be deleted, the sweeps look at them.
    OPEN_STATES = (State.PROCESSING, State.UNKNOWN, State.ACTIVE)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rentals"
    )
    country = models.ForeignKey("providers.Country", on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(
        "providers.Service",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the number receives SMS of any service.",
    )
    operator = models.CharField(max_length=32, blank=True, default="")
    provider = models.ForeignKey(
        "providers.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rentals",
    )
    upstream_id = models.CharField(max_length=64, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="", db_index=True)
    # The duration bought last (hours or a package) and the one auto-renew buys next.
    hours = models.PositiveIntegerField(null=True, blank=True)
    package = models.CharField(max_length=2, choices=Package.choices, blank=True, default="")
    renewal_hours = models.PositiveIntegerField(null=True, blank=True)
    renewal_package = models.CharField(
        max_length=2, choices=Package.choices, blank=True, default=""
    )
    auto_renew = models.BooleanField(default=True)
    price = models.DecimalField("purchase price", **money_field_kwargs())
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROCESSING)
    created_at = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    first_sms_at = models.DateTimeField("first SMS at", null=True, blank=True)
    settled_at = models.DateTimeField("final state since", null=True, blank=True)
    period = models.PositiveIntegerField(
        default=1, help_text="Periods allocated so far (the purchase is period 1)."
    )
    renewal_notice_for = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The expiry for which the customer was told a renewal failed.",
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    display_number = models.CharField(max_length=20, unique=True)
    binding_key = models.CharField(max_length=64, unique=True)
    webhook_url = models.URLField(max_length=500, blank=True, default="")
    memo = models.CharField(max_length=255, blank=True, default="")
    polled_at = models.DateTimeField(
        null=True, blank=True, help_text="When a polling worker last claimed the rental."
    )
    abandoned = models.BooleanField(
        default=False,
        help_text="The customer was told there was no number (the protocol has no pending "
        "answer): the settle job gives back what the upstream rented and refunds.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="rental_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["provider", "upstream_id"],
                condition=~Q(upstream_id=""),
                name="rental_upstream_id_unique",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="rental_price_non_negative"),
            models.CheckConstraint(
                condition=~Q(state__in=["active", "expired", "finished"]) | ~Q(phone=""),
                name="rental_live_has_phone",
            ),
            models.CheckConstraint(
                condition=Q(hours__isnull=False) | ~Q(package=""), name="rental_has_duration"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="rental_user_recent_idx"),
            models.Index(fields=["state", "expires_at"], name="rental_state_expiry_idx"),
            models.Index(fields=["upstream_id"], name="rental_upstream_idx"),
            models.Index(fields=["state", "polled_at"], name="rental_state_polled_idx"),
        ]

    def __str__(self) -> str:
        return f"Rental {self.display_number} {self.state}"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    @property
    def duration_label(self) -> str:
        return self.package or f"{self.hours} h"

    @property
    def renewal_label(self) -> str:
        return self.renewal_package or (f"{self.renewal_hours} h" if self.renewal_hours else "")


class RentalRenewal(models.Model):
    """One period of a rental: the purchase, an extension or an automatic renewal.

    ``(rental, period)`` is unique and every charge of a period uses the idempotency key
    ``renewal:rental:<id>:<period>``, so a period is charged at most once.
    """

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        EXTENSION = "extension", "Extension"
        RENEWAL = "renewal", "Automatic renewal"

    class State(models.TextChoices):
        PENDING = "pending", "Pending (extending upstream)"
        DONE = "done", "Done"
        FAILED = "failed", "Failed (refunded)"

    rental = models.ForeignKey(Rental, on_delete=models.CASCADE, related_name="renewals")
    period = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    hours = models.PositiveIntegerField(null=True, blank=True)
    package = models.CharField(max_length=2, choices=Package.choices, blank=True, default="")
    price = models.DecimalField("charged", **money_field_kwargs())
    old_expires_at = models.DateTimeField(null=True, blank=True)
    new_expires_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The operator who extended it, if one did.",
    )
    error = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rental", "period"]
        constraints = [
            models.UniqueConstraint(fields=["rental", "period"], name="rental_renewal_period"),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="rental_renewal_price_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rental} period {self.period} ({self.kind}, {self.state})"

    @property
    def duration_label(self) -> str:
        return self.package or f"{self.hours} h"
