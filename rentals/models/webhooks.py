from django.conf import settings
from django.db import models
from django.db.models import Q


class WebhookSecret(models.Model):
    """The per-user key that signs webhook deliveries (``X-Smsbox-Signature``).

    Kept in clear because every delivery is signed with it; never shown in the admin. Created
    on first use, replaced by ``webhook_secret_rotate``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_secret"
    )
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Webhook secret of {self.user}"


class WebhookDelivery(models.Model):
    """One webhook event for one customer URL, with the state of its delivery.

    ``pending`` rows are due at ``next_attempt_at``; a worker claims a row by pushing
    ``next_attempt_at`` forward with a conditional UPDATE, so two workers never send one attempt.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (URL refused)"
        GIVEN_UP = "given_up", "Given up"

    class Event(models.TextChoices):
        ACTIVATION_SMS = "activation.sms", "Activation SMS"
        RENT_SMS = "rent.sms", "Rent SMS"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    url = models.URLField(max_length=500)
    event = models.CharField(max_length=32)
    payload = models.JSONField()
    reference_kind = models.CharField(max_length=32, blank=True)
    reference_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["reference_kind", "reference_id"]),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Webhook #{self.pk} {self.event} → {self.url} ({self.status})"
