"""SMS intake: every upstream SMS reaches ``activation_receive_sms`` through the one signal
``providers.signals.upstream_sms_received`` (simulator, push endpoint, poller), stored once per
``(provider, upstream message id)`` whichever way it came first.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from providers.adapters import UpstreamError, adapter_for
from providers.models import Provider
from providers.services import upstream_sms_dispatch
from rentals.codes import extract_code
from rentals.models import Activation, SmsMessage, WebhookDelivery
from rentals.webhooks import webhook_enqueue, webhook_payload_activation_sms

logger = logging.getLogger(__name__)
State = Activation.State

# States in which an arriving SMS is the customer's: it sets the code and is sent to the webhook.
_RECEIVING = (State.WAITING, State.RECEIVED, State.RESEND)
POLL_BUDGET_SECONDS = 100


def activation_receive_sms(
    *,
    provider: Provider,
    upstream_id: str,
    text: str,
    code: str = "",
    sender: str = "",
    phone: str = "",
    upstream_message_id: str = "",
    received_at: datetime | None = None,
) -> SmsMessage | None:
    """Store an SMS for the activation bought as ``upstream_id`` at ``provider``, extract its
    code, move the activation to ``received`` and send the customer webhook. Returns None for a
    duplicate or for an order that is no activation of ours."""
    received_at = received_at or timezone.now()
    message_id = upstream_message_id or _derived_message_id(upstream_id, text)
    with transaction.atomic():
        activation = (
            Activation.objects.select_for_update(of=("self",))
            .select_related("user", "service", "country")
            .filter(provider=provider, upstream_id=str(upstream_id))
            .first()
        )
        if activation is None:
            return None
        message = _store(activation, provider, message_id, text, code, sender, phone, received_at)
        if message is None or activation.state not in _RECEIVING:
            return message
        _record_code(activation, message)
        _notify(activation, message)
    return message


def _derived_message_id(upstream_id: str, text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"derived:{upstream_id}:{digest}"


def _store(activation, provider, message_id, text, code, sender, phone, received_at):
    found = extract_code(text) or (code or "").replace(":", "")
    try:
        with transaction.atomic():
            return SmsMessage.objects.create(
                activation=activation,
                provider=provider,
                upstream_id=activation.upstream_id,
                upstream_message_id=message_id[:128],
                phone=phone or activation.phone,
                sender=(sender or "")[:64],
                text=text or "",
                code=(found or "")[:64],
                received_at=received_at,
            )
    except IntegrityError:
        return None  # the same message, pushed and polled


def _record_code(activation: Activation, message: SmsMessage) -> None:
    fields = ["state"]
    activation.state = State.RECEIVED
    if message.code:
        activation.code = message.code
        fields.append("code")
    if activation.sms_received_at is None:
        activation.sms_received_at = message.received_at
        fields.append("sms_received_at")
    activation.save(update_fields=fields)


def _notify(activation: Activation, message: SmsMessage) -> None:
    payload = webhook_payload_activation_sms(
        activation_id=activation.pk,
        service=activation.service.code,
        text=message.text,
        code=message.code,
        country=activation.country.sms_activate_id,
        received_at=message.received_at,
    )
    webhook_enqueue(
        user=activation.user,
        payload=payload,
        event=WebhookDelivery.Event.ACTIVATION_SMS,
        reference_kind="activation",
        reference_id=activation.pk,
        url=activation.webhook_url or None,
    )


def on_upstream_sms(sender, *, provider, upstream_id, text, received_at, **kwargs) -> None:
    """Receiver of ``upstream_sms_received`` (connected in ``RentalsConfig.ready``)."""
    stored = activation_receive_sms(
        provider=provider,
        upstream_id=upstream_id,
        text=text,
        code=kwargs.get("code", ""),
        sender=kwargs.get("sender_name", ""),
        phone=kwargs.get("phone", ""),
        upstream_message_id=kwargs.get("upstream_message_id", ""),
        received_at=received_at,
    )
    if stored is None:  # no activation of ours (or a duplicate): perhaps a long-term rental's
        from rentals.services.rentals import rental_on_upstream_sms

        rental_on_upstream_sms(
            provider=provider,
            upstream_id=upstream_id,
            text=text,
            code=kwargs.get("code", ""),
            sender=kwargs.get("sender_name", ""),
            phone=kwargs.get("phone", ""),
            upstream_message_id=kwargs.get("upstream_message_id", ""),
            received_at=received_at,
        )


# --- polling ----------------------------------------------------------------------------------
def activations_poll(*, batch_size: int = 100) -> int:
    """Ask each provider about its activations still waiting for a code, up to ``batch_size``
    per provider (the longest unasked first), and feed what arrived into the one SMS path.
    Answers how many activations were asked."""
    deadline = time.monotonic() + POLL_BUDGET_SECONDS
    asked = 0
    provider_ids = (
        Activation.objects.filter(state__in=(State.WAITING, State.RESEND))
        .values_list("provider_id", flat=True)
        .distinct()
    )
    for provider in Provider.objects.filter(pk__in=list(provider_ids)).order_by("pk"):
        waiting = Activation.objects.filter(
            provider=provider, state__in=(State.WAITING, State.RESEND)
        ).order_by("pk")[:batch_size]
        for activation in waiting:
            if time.monotonic() > deadline:
                return asked
            activation_poll(activation=activation, provider=provider)
            asked += 1
    return asked


def activation_poll(*, activation: Activation, provider: Provider | None = None) -> int:
    """Ask the upstream for one activation's messages; answers how many it reported."""
    provider = provider or activation.provider
    try:
        status = adapter_for(provider).status(upstream_id=activation.upstream_id)
    except UpstreamError as exc:
        logger.info("poll of activation %s failed: %s", activation.pk, exc.message)
        return 0
    messages = list(status.messages)
    if not messages and (status.text or status.code):
        messages = [None]
    for message in messages:
        upstream_sms_dispatch(
            provider=provider,
            upstream_id=activation.upstream_id,
            phone=activation.phone,
            text=message.text if message else (status.text or status.code),
            code=message.code if message else status.code,
            sender_name=message.sender if message else "",
            upstream_message_id=message.upstream_message_id if message else "",
            received_at=(message.received_at if message else None) or timezone.now(),
        )
    return len(messages)
