"""Inbound SMS push from an upstream: ``POST /providers/<id>/push``.

The upstream authenticates with the provider's push secret (``settings["push_secret"]`` on the
provider, set in the admin) in the ``X-Push-Secret`` header or the ``secret`` parameter,
compared in constant time; a provider without a push secret accepts no push. The body is JSON
or a form with the upstream's order id (``upstream_id``, or SMS-Activate's ``activationId``),
``text``, and optionally ``code``, ``sender``, ``phone``, ``message_id`` and ``received_at``
(ISO 8601 or ``YYYY-MM-DD HH:MM:SS`` UTC). The SMS then takes the one path of every upstream
SMS (``upstream_sms_dispatch``), deduplicated by message id against polling. Answers JSON:
``{"status": "ok"}`` or ``{"status": "error", "code": …, "message": …}``. A value with a NUL
character, or one the database cannot store, is refused with a 400; a body over
``PUSH_MAX_BODY_BYTES`` (2 MiB) with a 413 before it is read. The text is stored up to the SMS
limit (``rentals.models.messages.SMS_TEXT_LIMIT``), the rest cut and the message flagged.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from providers.models import Provider
from providers.services import upstream_sms_dispatch
from smsbox import parsing

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Push-Secret"  # noqa: S105 (a header name)
PUSH_MAX_BODY_BYTES = 2 * 1024 * 1024
_MAX_TEXT = 2 * 1024 * 1024  # the intake cuts and flags what it stores


@csrf_exempt
@require_POST
def provider_push(request: HttpRequest, provider_id: int) -> JsonResponse:
    provider = Provider.objects.filter(pk=provider_id, enabled=True).first()
    if provider is None:
        return _error("NOT_FOUND", "No such provider.", 404)
    if not _authenticated(request, provider):
        return _error("BAD_KEY", "The push secret is missing or wrong.", 403)
    if _content_length(request) > PUSH_MAX_BODY_BYTES:
        return _error("TOO_LARGE", f"The body exceeds {PUSH_MAX_BODY_BYTES} bytes.", 413)
    try:
        data = _data(request)
    except RequestDataTooBig:
        return _error("TOO_LARGE", f"The body exceeds {PUSH_MAX_BODY_BYTES} bytes.", 413)
    if data is None:
        return _error("INVALID_INPUT", "The body must be JSON or a form.", 400)
    if any("\x00" in str(value) for value in data.values()):
        return _error("INVALID_INPUT", "Values must not contain NUL characters.", 400)
    try:
        return _dispatch(provider, data)
    except DataError:
        logger.info("push to provider %s: a value the database refused", provider.pk)
        return _error("INVALID_INPUT", "A value is too long or malformed.", 400)


def _dispatch(provider: Provider, data: dict[str, Any]) -> JsonResponse:
    upstream_id = _first(data, "upstream_id", "activationId", "activation_id", "id")
    text = _first(data, "text", "sms", "message")
    if not upstream_id or not text:
        return _error("INVALID_INPUT", "upstream_id and text are required.", 400)
    received_at = _received_at(_first(data, "received_at", "receivedAt", "date"))
    if received_at is False:
        return _error("INVALID_INPUT", "received_at is not a date and time.", 400)
    upstream_sms_dispatch(
        provider=provider,
        upstream_id=upstream_id[:64],
        phone=_first(data, "phone", "phoneNumber")[:32],
        text=text[:_MAX_TEXT],
        code=_first(data, "code")[:64],
        sender_name=_first(data, "sender", "phoneFrom", "from")[:64],
        upstream_message_id=_first(data, "message_id", "messageId")[:128],
        received_at=received_at or None,
    )
    return JsonResponse({"status": "ok"})


def _content_length(request: HttpRequest) -> int:
    """The announced body size; an unreadable one counts as too large, before any read."""
    raw = request.META.get("CONTENT_LENGTH") or "0"
    size = parsing.or_none(parsing.integer, raw, name="Content-Length")
    return PUSH_MAX_BODY_BYTES + 1 if size is None else size


def _authenticated(request: HttpRequest, provider: Provider) -> bool:
    expected = str((provider.settings or {}).get("push_secret") or "")
    given = request.headers.get(SECRET_HEADER) or request.GET.get("secret") or ""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _data(request: HttpRequest) -> dict[str, Any] | None:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
    return request.POST.dict()


def _first(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if value is not None and not isinstance(value, (dict, list)) and str(value).strip():
            return str(value).strip()
    return ""


def _received_at(raw: str) -> datetime | None | bool:
    """The parsed time, None when not given, False when not a date and time."""
    if not raw:
        return None
    return parsing.or_none(parsing.moment, raw, name="received_at") or False


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"status": "error", "code": code, "message": message}, status=status)
