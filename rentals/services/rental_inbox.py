"""A rental's inbox: SMS stored once per upstream message and sent to the customer webhook;
polling of the upstream inboxes into the one upstream SMS path."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from providers.adapters import (
    UpstreamError,
    adapter_for,
)
from providers.models import Provider
from providers.services import upstream_sms_dispatch
from rentals.codes import extract_code
from rentals.models import Rental, SmsMessage, WebhookDelivery
from rentals.models.messages import sms_text_bounded
from rentals.rental_selectors import (
    POLL_LEASE,
    rental_for_upstream,
    rentals_to_poll,
)
from rentals.webhooks import webhook_enqueue, webhook_payload_rent_sms

logger = logging.getLogger(__name__)
State = Rental.State


# --- SMS ------------------------------------------------------------------------------------
def rental_receive_sms(
    *,
    rental: Rental,
    text: str,
    sender: str = "",
    code: str = "",
    upstream_message_id: str = "",
    received_at: datetime | None = None,
) -> SmsMessage | None:
    """Store an SMS of the rental (once per upstream message id) and send the customer webhook
    (``rent.sms``) to the rental's URL or the account's. None for a duplicate."""
    received_at = received_at or timezone.now()
    text, truncated = sms_text_bounded(text)
    message_id = upstream_message_id or _derived_message_id(rental, text, sender, received_at)
    with transaction.atomic():
        rental = Rental.objects.select_for_update().select_related("user").get(pk=rental.pk)
        try:
            with transaction.atomic():
                message = SmsMessage.objects.create(
                    rental=rental,
                    provider_id=rental.provider_id,
                    upstream_id=rental.upstream_id,
                    upstream_message_id=message_id[:128],
                    phone=rental.phone,
                    sender=(sender or "")[:64],
                    text=text,
                    text_truncated=truncated,
                    code=(extract_code(text) or code or "").replace(":", "")[:64],
                    received_at=received_at,
                )
        except IntegrityError:
            return None  # the same message, pushed and polled
        if rental.first_sms_at is None:
            rental.first_sms_at = received_at
            rental.save(update_fields=["first_sms_at"])
        if rental.state == State.ACTIVE:
            _notify(rental, message)
    return message


def _derived_message_id(rental: Rental, text: str, sender: str, received_at: datetime) -> str:
    """Upstreams that give no message id (SMS-Activate rent) are deduplicated on what they do
    give: the SMS's own time, sender and text (the same code may come twice, at two times)."""
    raw = f"{received_at.isoformat()}|{sender}|{text}"
    return f"rent:{rental.upstream_id}:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"


def _notify(rental: Rental, message: SmsMessage) -> None:
    webhook_enqueue(
        user=rental.user,
        payload=webhook_payload_rent_sms(
            rent_id=rental.pk,
            phone_from=message.sender,
            text=message.text,
            received_at=message.received_at,
        ),
        event=WebhookDelivery.Event.RENT_SMS,
        reference_kind="rental",
        reference_id=rental.pk,
        url=rental.webhook_url or None,
    )


def rental_on_upstream_sms(
    *,
    provider: Provider,
    upstream_id: str,
    text: str,
    phone: str = "",
    sender: str = "",
    code: str = "",
    upstream_message_id: str = "",
    received_at: datetime | None = None,
) -> SmsMessage | None:
    """The intake's hook for an upstream SMS: stored on the rental bought as ``upstream_id`` at
    ``provider``; None when there is no such rental (or it is a duplicate)."""
    rental = rental_for_upstream(provider=provider, upstream_id=upstream_id, phone=phone)
    if rental is None:
        return None
    return rental_receive_sms(
        rental=rental,
        text=text,
        sender=sender,
        code=code,
        upstream_message_id=upstream_message_id,
        received_at=received_at,
    )


def rental_poll(*, rental: Rental) -> int:
    """Ask the upstream for the rental's SMS and feed them into the one SMS path; an upstream
    error is logged and answers 0."""
    try:
        return _poll(rental)
    except UpstreamError as exc:
        logger.info("poll of rental %s failed: %s", rental.pk, exc.message)
        return 0


def _poll(rental: Rental) -> int:
    messages = adapter_for(rental.provider).rent_messages(upstream_id=rental.upstream_id)
    for message in messages:
        upstream_sms_dispatch(
            provider=rental.provider,
            upstream_id=rental.upstream_id,
            phone=rental.phone,
            text=message.text,
            code=message.code,
            sender_name=message.sender,
            upstream_message_id=message.upstream_message_id,
            received_at=message.received_at or timezone.now(),
        )
    return len(messages)


def rentals_poll(
    *, limit: int = 500, on_failure: Callable[[object, BaseException], None] | None = None
) -> int:
    """The polling job: ask about up to ``limit`` active rentals, the longest unpolled first;
    answers how many were asked. Each rental is claimed first (a conditional UPDATE of
    ``polled_at`` while its lease is free), so two workers never poll one rental at once. A
    rental whose poll fails is reported to ``on_failure(rental_id, exc)``."""
    asked = 0
    for rental in list(rentals_to_poll()[:limit]):
        if not _claim(rental):
            continue  # another worker polls it
        try:
            _poll(rental)
        except Exception as exc:  # one broken rental must not stop the others
            logger.info("poll of rental %s failed: %r", rental.pk, exc)
            if on_failure is not None:
                on_failure(rental.pk, exc)
        asked += 1
    return asked


def _claim(rental: Rental) -> bool:
    now = timezone.now()
    free = Q(polled_at__isnull=True) | Q(polled_at__lte=now - POLL_LEASE)
    claimed = Rental.objects.filter(free, pk=rental.pk, state=State.ACTIVE).update(polled_at=now)
    return claimed == 1
