"""Upstream orders nobody holds: bought from a provider (a purchase whose answer was lost, a
process killed between the buy and recording the number) but held by no activation or rental.

The upstream audit (``rentals.services.upstream_audit``) records each one it finds and cancels
it upstream, run after run, until the upstream confirms; what they cost stays on record."""

from django.db import models

from smsbox.money import money_field_kwargs


class UpstreamOrphan(models.Model):
    class Kind(models.TextChoices):
        ACTIVATION = "activation", "Activation"
        RENT = "rent", "Rent"

    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.PROTECT, related_name="orphans"
    )
    upstream_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    phone = models.CharField(max_length=32, blank=True, default="")
    service_code = models.CharField(max_length=32, blank=True, default="")
    cost = models.DecimalField(
        "upstream cost",
        null=True,
        blank=True,
        help_text="What the provider charged for it, where known.",
        **money_field_kwargs(),
    )
    started_at = models.DateTimeField("bought upstream at", null=True, blank=True)
    found_at = models.DateTimeField()
    released_at = models.DateTimeField(
        null=True, blank=True, help_text="When the upstream confirmed the order is closed."
    )
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "kind", "upstream_id"], name="upstream_orphan_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["provider"],
                condition=models.Q(released_at__isnull=True),
                name="upstream_orphan_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Orphan {self.kind} {self.upstream_id} at provider {self.provider_id}"
