"""SMS intake: every upstream SMS reaches ``activation_receive_sms`` through the one signal
``providers.signals.upstream_sms_received`` (simulator, push endpoint, poller), stored once per
``(provider, upstream message id)`` whichever way it came first.

Without an upstream message id an SMS is identified by its activation and its code: an
SMS-Activate push (the full text, no id) and a poll (the code only) are the same message. A poll
makes a message of a bare status only when the upstream says ``received``: a ``waiting`` answer
that repeats a past code (``STATUS_WAIT_RETRY:<code>`` during a resend) is no new SMS.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from providers.adapters import UpstreamError, UpstreamStatus, adapter_for
from providers.models import Provider
from providers.services import upstream_sms_dispatch
from rentals.codes import extract_code
from rentals.models import Activation, SmsMessage, WebhookDelivery
from rentals.models.messages import sms_text_bounded
from rentals.webhooks import webhook_enqueue, webhook_payload_activation_sms

logger = logging.getLogger(__name__)
State = Activation.State

# States in which an arriving SMS is the customer's: it sets the code and is sent to the webhook.
_RECEIVING = (State.WAITING, State.RECEIVED, State.RESEND)
# States in which the poller asks the upstream for an SMS.
_POLLED = (State.WAITING, State.RESEND)
POLL_BUDGET_SECONDS = 100
# A claimed activation is not asked again by another worker within this time.
POLL_LEASE = timedelta(seconds=10)
FailureHook = Callable[[object, BaseException], None]


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
    text, truncated = sms_text_bounded(text)
    found = _code_in(text, code)
    message_id = upstream_message_id or _derived_message_id(upstream_id, text, found)
    with transaction.atomic():
        activation = (
            Activation.objects.select_for_update(of=("self",))
            .select_related("user", "service", "country")
            .filter(provider=provider, upstream_id=str(upstream_id))
            .first()
        )
        if activation is None:
            return None
        if _seen(activation, found, has_upstream_id=bool(upstream_message_id)):
            return None
        message = _store(
            activation, provider, message_id, (text, truncated), found, sender, phone, received_at
        )
        if message is None or activation.state not in _RECEIVING:
            return message
        _record_code(activation, message)
        _notify(activation, message)
    return message


def _seen(activation: Activation, code: str, *, has_upstream_id: bool) -> bool:
    """Whether the locked activation already holds this SMS under another id: a message
    without an upstream id matches any with its code; one with an id matches a derived one."""
    if not code:
        return False
    same = SmsMessage.objects.filter(activation=activation, code=code)
    if has_upstream_id:
        same = same.filter(upstream_message_id__startswith="derived:")
    return same.exists()


def _code_in(text: str, code: str) -> str:
    return (extract_code(text) or (code or "").replace(":", "")).strip()


def _derived_message_id(upstream_id: str, text: str, code: str) -> str:
    """The id of a message the upstream gave none: its order and code, else its text."""
    if code:
        return f"derived:{upstream_id}:code:{code}"[:128]
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"derived:{upstream_id}:{digest}"


def _store(activation, provider, message_id, bounded, found, sender, phone, received_at):
    text, truncated = bounded
    try:
        with transaction.atomic():
            return SmsMessage.objects.create(
                activation=activation,
                provider=provider,
                upstream_id=activation.upstream_id,
                upstream_message_id=message_id[:128],
                phone=phone or activation.phone,
                sender=(sender or "")[:64],
                text=text,
                text_truncated=truncated,
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
def activations_poll(*, batch_size: int = 100, on_failure: FailureHook | None = None) -> int:
    """Ask each provider about its activations still waiting for a code, up to ``batch_size``
    per provider, the longest unasked first, and feed what arrived into the one SMS path.
    Each activation is claimed (``polled_at`` set by a conditional UPDATE) before it is asked,
    so two workers never ask about one activation at once. A row that fails is passed to
    ``on_failure(activation_id, exc)`` and the run goes on. Answers how many were asked."""
    deadline = time.monotonic() + POLL_BUDGET_SECONDS
    asked = 0
    provider_ids = (
        Activation.objects.filter(state__in=_POLLED, provider__isnull=False)
        .order_by()
        .values_list("provider_id", flat=True)
        .distinct()
    )
    for provider in Provider.objects.filter(pk__in=list(provider_ids)).order_by("pk"):
        candidates = (
            Activation.objects.filter(provider=provider, state__in=_POLLED)
            .filter(_not_leased(timezone.now()))
            .order_by(F("polled_at").asc(nulls_first=True), "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        for activation_id in list(candidates):
            if time.monotonic() > deadline:
                return asked
            activation = _claim_poll(activation_id)
            if activation is None:
                continue  # another worker asks about it, or it was settled meanwhile
            asked += 1
            try:
                _poll_one(activation, provider)
            except Exception as exc:  # one broken row does not stop the run
                logger.warning("poll of activation %s failed: %r", activation_id, exc)
                if on_failure is not None:
                    on_failure(activation_id, exc)
    return asked


def _not_leased(now: datetime) -> Q:
    return Q(polled_at__isnull=True) | Q(polled_at__lte=now - POLL_LEASE)


def _claim_poll(activation_id: int) -> Activation | None:
    now = timezone.now()
    claimed = Activation.objects.filter(
        _not_leased(now), pk=activation_id, state__in=_POLLED
    ).update(polled_at=now)
    if not claimed:
        return None
    return Activation.objects.filter(pk=activation_id).first()


def activation_poll(*, activation: Activation, provider: Provider | None = None) -> int:
    """Ask the upstream for one activation's messages; answers how many it reported (0 when
    the upstream could not answer)."""
    try:
        return _poll_one(activation, provider or activation.provider)
    except UpstreamError as exc:
        logger.info("poll of activation %s failed: %s", activation.pk, exc.message)
        return 0


def _poll_one(activation: Activation, provider: Provider) -> int:
    status = adapter_for(provider).status(upstream_id=activation.upstream_id)
    messages = list(status.messages)
    if not messages and status.state == UpstreamStatus.RECEIVED and (status.text or status.code):
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
