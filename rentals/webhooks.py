"""Customer webhooks: a signed JSON POST to the customer's URL on every SMS, with retries.

Every event becomes a ``WebhookDelivery`` row. A worker claims a due row by pushing its
``next_attempt_at`` forward by a lease with a conditional UPDATE (or ``SKIP LOCKED`` in the
sweep), so two workers never send one attempt; a worker that dies mid-attempt leaves a row that
is due again when the lease runs out. Success is HTTP 200 only (PROTOCOLS.md); otherwise the
next attempt follows ``RETRY_DELAYS``, at most ``MAX_ATTEMPTS`` within two hours.

The request carries ``X-Smsbox-Timestamp`` (Unix seconds) and
``X-Smsbox-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the user's secret>``.

Before each attempt the host is resolved and every address checked; private, loopback,
link-local, multicast, reserved and unspecified addresses are refused unless
``SMSBOX_WEBHOOK_ALLOW_PRIVATE`` is on, and the request goes to the checked address (with the
original Host header and TLS server name), so DNS rebinding cannot slip past the check.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from rentals.models import WebhookDelivery, WebhookSecret
from smsbox.errors import ApplicationError, InvalidInput, NotFound
from smsbox.models import User
from smsbox.outbox import task_enqueue

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
Event = WebhookDelivery.Event

# Seconds to wait after failed attempt 1, 2, …, 7: attempt 8 is due 103 minutes after the first,
# leaving room inside the two hours the protocol promises for the once-a-minute sweep and the
# request timeouts.
RETRY_DELAYS = (60, 120, 300, 600, 900, 1800, 2400)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A claimed row is not due again before this; longer than any request can take.
CLAIM_LEASE = timedelta(seconds=60)
# A sweep stops claiming new rows after this many seconds (well under the task time limit).
SWEEP_BUDGET_SECONDS = 150
SIGNATURE_HEADER = "X-Smsbox-Signature"
TIMESTAMP_HEADER = "X-Smsbox-Timestamp"
USER_AGENT = "smsbox-webhooks/1"
_URL_MAX_LENGTH = WebhookDelivery._meta.get_field("url").max_length
_ERROR_MAX_LENGTH = WebhookDelivery._meta.get_field("last_error").max_length
AnyAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookUrlRefused(InvalidInput):
    """The URL may not receive webhooks (scheme, syntax or a non-public address)."""

    code = "WEBHOOK_URL_REFUSED"
    message = gettext_noop("This webhook URL is not allowed.")


class WebhookHostUnresolved(ApplicationError):
    """The host name does not resolve right now (may be transient, so the attempt is retried)."""

    code = "WEBHOOK_HOST_UNRESOLVED"
    message = gettext_noop("The webhook host name does not resolve.")


# --- payloads (PROTOCOLS.md, "Webhooks to customers") ----------------------------------------


def webhook_payload_activation_sms(
    *,
    activation_id: int,
    service: str,
    text: str,
    code: str | None,
    country: int,
    received_at: datetime,
) -> dict[str, Any]:
    return {
        "activationId": activation_id,
        "service": service,
        "text": text,
        "code": code or "",
        "country": country,
        "receivedAt": _protocol_datetime(received_at),
    }


def webhook_payload_rent_sms(
    *, rent_id: int, phone_from: str, text: str, received_at: datetime
) -> dict[str, Any]:
    return {
        "rentId": rent_id,
        "sms": {"phoneFrom": phone_from, "text": text, "date": _protocol_datetime(received_at)},
    }


def _protocol_datetime(value: datetime) -> str:
    return timezone.localtime(value, timezone.get_fixed_timezone(0)).strftime("%Y-%m-%d %H:%M:%S")


# --- signing --------------------------------------------------------------------------------


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are sent and signed: compact JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``"<timestamp>.<body>"``; receivers compute the same to verify."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


# --- URL safety -----------------------------------------------------------------------------


def webhook_url_check(url: str) -> list[AnyAddress]:
    """The addresses ``url`` may be reached at, or ``WebhookUrlRefused``.

    Dashboard and API forms may call this to reject a URL as soon as the customer enters it.
    """
    parsed = _parse_url(url)
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        infos = socket.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookHostUnresolved(f"The host {parsed.host} does not resolve ({exc}).") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not settings.SMSBOX_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if address_is_refused(address):
                raise WebhookUrlRefused(
                    f"The host {parsed.host} resolves to {address}, a private or reserved "
                    "address; webhooks go to public addresses only."
                )
    return addresses


def address_is_refused(address: AnyAddress) -> bool:
    """Whether a webhook may not go to ``address`` (anything that is not a public unicast)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _parse_url(url: str) -> httpx.URL:
    if len(url) > _URL_MAX_LENGTH:
        raise WebhookUrlRefused(f"The webhook URL is longer than {_URL_MAX_LENGTH} characters.")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise WebhookUrlRefused(f"The webhook URL is not a valid URL ({exc}).") from exc
    if parsed.scheme not in ("http", "https"):
        raise WebhookUrlRefused("The webhook URL must start with http:// or https://.")
    if not parsed.host:
        raise WebhookUrlRefused("The webhook URL has no host.")
    return parsed


# --- services -------------------------------------------------------------------------------


def webhook_secret_get_or_create(*, user: User) -> str:
    """The user's signing secret, created on first use."""
    secret, _ = WebhookSecret.objects.get_or_create(user=user, defaults={"secret": _new_secret()})
    return secret.secret


def webhook_secret_rotate(*, user: User) -> str:
    """Replace the user's signing secret; deliveries from now on are signed with the new one."""
    new = _new_secret()
    with transaction.atomic():
        row, created = WebhookSecret.objects.select_for_update().get_or_create(
            user=user, defaults={"secret": new}
        )
        if not created:
            row.secret = new
            row.rotated_at = timezone.now()
            row.save(update_fields=["secret", "rotated_at"])
    logger.info("webhook secret rotated for user %s", user.pk)
    return new


def _new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def webhook_enqueue(
    *,
    user: User,
    payload: dict[str, Any],
    event: str,
    reference_kind: str,
    reference_id: str | int,
    url: str | None = None,
) -> WebhookDelivery | None:
    """Record an event for ``url`` (a per-order URL) or the user's webhook URL and send it
    once the current transaction commits. None when there is no URL to send to.

    A URL that is not even syntactically acceptable is recorded as ``failed`` at once.
    """
    target = (url or user.webhook_url or "").strip()
    if not target:
        return None
    delivery = WebhookDelivery(
        user=user,
        url=target[:_URL_MAX_LENGTH],
        event=event,
        payload=payload,
        reference_kind=reference_kind,
        reference_id=str(reference_id),
        next_attempt_at=timezone.now(),
    )
    try:
        _parse_url(target)
    except WebhookUrlRefused as exc:
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
        delivery.last_error = exc.message[:_ERROR_MAX_LENGTH]
    delivery.save()
    if delivery.status == Status.PENDING:
        transaction.on_commit(partial(_schedule, delivery.pk), robust=True)
    return delivery


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery:
    """Make the next attempt of a due delivery; a delivery that is not due (already sent,
    claimed by another worker, or waiting for its back-off) is returned unchanged."""
    delivery = _claim(delivery_id=delivery_id)
    if delivery is None:
        try:
            return WebhookDelivery.objects.get(pk=delivery_id)
        except WebhookDelivery.DoesNotExist as exc:
            raise NotFound(f"Webhook delivery {delivery_id} does not exist.") from exc
    return _attempt(delivery)


def webhook_redeliver(*, delivery: WebhookDelivery, actor: User | None = None) -> WebhookDelivery:
    """Start a new round of up to ``MAX_ATTEMPTS`` attempts, due now, whatever the status."""
    with transaction.atomic():
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        row.status = Status.PENDING
        row.attempts = 0
        row.next_attempt_at = timezone.now()
        row.last_status_code = None
        row.last_error = ""
        row.delivered_at = None
        row.save(
            update_fields=[
                "status",
                "attempts",
                "next_attempt_at",
                "last_status_code",
                "last_error",
                "delivered_at",
            ]
        )
        transaction.on_commit(partial(_schedule, row.pk), robust=True)
    logger.info("webhook delivery %s redelivered by %s", row.pk, actor.pk if actor else "its owner")
    return row


def webhooks_retry_due(*, limit: int = 100) -> int:
    """Attempt up to ``limit`` due deliveries, claiming them one by one with ``SKIP LOCKED`` so
    that sweeps on several workers share the work; answers how many were attempted."""
    _give_up_abandoned()
    deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
    attempted = 0
    while attempted < limit and time.monotonic() < deadline:
        delivery = _claim_next_due()
        if delivery is None:
            break
        _attempt(delivery)
        attempted += 1
    return attempted


def _claim(*, delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE, last_attempt_at=now)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("user").get(pk=delivery_id)


def _claim_next_due() -> WebhookDelivery | None:
    now = timezone.now()
    with transaction.atomic():
        row = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(status=Status.PENDING, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS)
            .order_by("next_attempt_at", "pk")
            .first()
        )
        if row is None:
            return None
        row.attempts += 1
        row.next_attempt_at = now + CLAIM_LEASE
        row.last_attempt_at = now
        row.save(update_fields=["attempts", "next_attempt_at", "last_attempt_at"])
    return row


def _give_up_abandoned() -> int:
    """Rows whose last attempt was claimed by a worker that died before recording it."""
    return WebhookDelivery.objects.filter(
        status=Status.PENDING, attempts__gte=MAX_ATTEMPTS, next_attempt_at__lte=timezone.now()
    ).update(
        status=Status.GIVEN_UP,
        next_attempt_at=None,
        last_error="The last attempt was interrupted; no attempts left.",
    )


def _attempt(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the claimed attempt and record its outcome."""
    status_code, error, refused = None, "", False
    try:
        status_code = _send(delivery)
    except WebhookUrlRefused as exc:
        error, refused = exc.message, True
    except WebhookHostUnresolved as exc:
        error = exc.message
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if status_code is not None and status_code != 200:
        error = f"The receiver answered HTTP {status_code}; only 200 counts as delivered."
    _record(delivery, status_code=status_code, error=error, refused=refused)
    delivery.refresh_from_db()
    return delivery


def _send(delivery: WebhookDelivery) -> int:
    url = _parse_url(delivery.url)
    address = webhook_url_check(delivery.url)[0]
    body = webhook_body(delivery.payload)
    timestamp = str(int(time.time()))
    secret = webhook_secret_get_or_create(user=delivery.user)
    headers = {
        "Host": url.netloc.decode("ascii"),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(secret=secret, timestamp=timestamp, body=body),
    }
    # Connect to the address that was checked; TLS still verifies the certificate for the name.
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    with (
        httpx.Client(timeout=webhook_timeout(), follow_redirects=False, trust_env=False) as client,
        client.stream(
            "POST",
            url.copy_with(host=str(address)),
            content=body,
            headers=headers,
            extensions=extensions,
        ) as response,
    ):
        return response.status_code


def webhook_timeout() -> httpx.Timeout:
    """Short connect and read timeouts (settings); the task's time limit bounds the rest."""
    read = settings.SMSBOX_WEBHOOK_READ_TIMEOUT
    return httpx.Timeout(read, connect=settings.SMSBOX_WEBHOOK_CONNECT_TIMEOUT, pool=read)


def _record(
    delivery: WebhookDelivery, *, status_code: int | None, error: str, refused: bool
) -> None:
    """Write the outcome of attempt ``delivery.attempts``, unless the row was reset meanwhile."""
    now = timezone.now()
    changes: dict[str, Any] = {
        "last_status_code": status_code,
        "last_error": error[:_ERROR_MAX_LENGTH],
        "next_attempt_at": None,
    }
    if status_code == 200:
        changes.update(status=Status.SUCCEEDED, delivered_at=now)
    elif refused:
        changes.update(status=Status.FAILED)
    elif delivery.attempts >= MAX_ATTEMPTS:
        changes.update(status=Status.GIVEN_UP)
    else:
        delay = RETRY_DELAYS[delivery.attempts - 1]
        changes.update(next_attempt_at=now + timedelta(seconds=delay))
    WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.PENDING, attempts=delivery.attempts
    ).update(**changes)
    logger.info(
        "webhook delivery %s attempt %s: %s",
        delivery.pk,
        delivery.attempts,
        changes.get("status", "retry scheduled"),
    )


def _schedule(delivery_id: int) -> None:
    from rentals.tasks import webhook_deliver as webhook_deliver_task  # tasks import this module

    task_enqueue(webhook_deliver_task, delivery_id)  # the outbox if Redis is down


# --- selectors ------------------------------------------------------------------------------


def webhook_deliveries_for_user(
    *, user: User, status: str | None = None, event: str | None = None
) -> QuerySet[WebhookDelivery]:
    """The customer's delivery log, newest first."""
    deliveries = WebhookDelivery.objects.filter(user=user)
    if status:
        deliveries = deliveries.filter(status=status)
    if event:
        deliveries = deliveries.filter(event=event)
    return deliveries.order_by("-created_at", "-id")


def webhook_delivery_get_for_user(*, user: User, delivery_id: int) -> WebhookDelivery:
    """One delivery of ``user``; ``NotFound`` for anyone else's."""
    try:
        return WebhookDelivery.objects.get(pk=delivery_id, user=user)
    except (WebhookDelivery.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("No such webhook delivery.") from exc


def webhook_url_set(*, user: User, url: str) -> User:
    """Set (or, with an empty ``url``, clear) the customer's webhook URL after checking that it
    may receive webhooks (``WebhookUrlRefused`` / ``WebhookHostUnresolved`` otherwise)."""
    url = (url or "").strip()
    if url:
        webhook_url_check(url)
    user.webhook_url = url
    user.save(update_fields=["webhook_url"])
    return user
