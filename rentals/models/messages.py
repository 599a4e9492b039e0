from django.db import models
from django.db.models import Q

SMS_TEXT_LIMIT = 4096  # characters of an SMS that smsbox stores; the rest is cut and flagged


def sms_text_bounded(text: str | None) -> tuple[str, bool]:
    """``text`` as stored: NUL characters (which PostgreSQL refuses) dropped, cut to
    ``SMS_TEXT_LIMIT`` characters; and whether it was cut."""
    text = (text or "")[: SMS_TEXT_LIMIT * 2].replace("\x00", "")
    return text[:SMS_TEXT_LIMIT], len(text) > SMS_TEXT_LIMIT


class SmsMessage(models.Model):
    """One SMS that arrived on a number we sold (an activation now, a long-term rental later).

    ``(provider, upstream_message_id)`` is unique, so an SMS that is both pushed and polled is
    stored once. Where the upstream gives no message id the intake derives one from its order id
    and the text.
    """

    activation = models.ForeignKey(
        "rentals.Activation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
    )
    rental = models.ForeignKey(
        "rentals.Rental",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
    )
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    upstream_id = models.CharField("upstream order id", max_length=64, blank=True, default="")
    upstream_message_id = models.CharField(max_length=128, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    sender = models.CharField(max_length=64, blank=True, default="")
    text = models.TextField(blank=True, default="")
    text_truncated = models.BooleanField(
        default=False, help_text=f"The upstream sent more than {SMS_TEXT_LIMIT} characters."
    )
    code = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "upstream_message_id"],
                condition=~Q(upstream_message_id=""),
                name="sms_message_upstream_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["activation", "received_at"], name="sms_activation_idx"),
            models.Index(fields=["rental", "received_at"], name="sms_rental_idx"),
        ]

    def __str__(self) -> str:
        return f"SMS {self.pk} from {self.sender or '?'}"
