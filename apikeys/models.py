from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiKey(models.Model):
    """A customer's API key, stored as its public prefix and the SHA-256 digest of the whole key.

    The raw key is shown once when created or regenerated and never stored. A revoked key stays
    as a row (for the audit trail) and never authenticates again.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, db_index=True, help_text="The first 8 characters.")
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        constraints = [
            # One key string belongs to one live key: operators may install a chosen key.
            models.UniqueConstraint(
                fields=["digest"],
                condition=Q(revoked_at__isnull=True),
                name="apikey_live_digest_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ApiKeyEvent(models.Model):
    """Audit row of an API key's life, written in the transaction of the change."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        REGENERATE = "regenerate", "Regenerated"
        REVOKE = "revoke", "Revoked"

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_key_events"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The operator who did this, for operator actions.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key event"

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.api_key_id} at {self.created_at:%Y-%m-%d %H:%M}"
