"""The transport rules of the SMS-Activate handler protocol (PROTOCOLS.md §1).

Parameters come from the query string and a form body, names and values stripped of
surrounding whitespace; unknown ones are ignored. Every answer is HTTP 200: plain text without a
trailing newline, or JSON with ``application/json``.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from smsbox import parsing
from smsbox.models import User

TEXT = "text"
JSON = "json"


class HandlerError(Exception):
    """Answer ``token``: a bare token from text actions, ``{"status":"error","message":token}``
    from JSON actions, or ``body`` verbatim when given."""

    def __init__(
        self, token: str, *, body: Any = None, bare: bool = False, failed: bool = True
    ) -> None:
        super().__init__(token)
        self.token = token
        self.body = body
        self.bare = bare  # a bare token even from a JSON action
        self.failed = failed  # counts as a failed request (rate limits)


@dataclass
class Call:
    """One handler request: the caller and its parameters."""

    user: User
    params: dict[str, str]
    cached: tuple[bytes | None, ...] | None = None  # what ``Action.cached`` asked Redis for

    def get(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)

    def require(self, name: str, token: str) -> str:
        value = self.params.get(name, "")
        if not value:
            raise HandlerError(token)
        return value

    def integer(
        self, name: str, token: str, *, default: int | None = None, maximum: int = parsing.MAX_ID
    ) -> int:
        """The parameter as an integer in ``[0, maximum]`` (ASCII digits only); ``token``
        when it is malformed or out of range."""
        value = self.params.get(name, "")
        if not value and default is not None:
            return default
        try:
            return parsing.integer(value, name=name, maximum=maximum)
        except parsing.InvalidParameter:
            raise HandlerError(token) from None

    def flag(self, name: str) -> bool:
        return self.params.get(name, "").lower() in ("1", "true", "yes", "on")


def request_params(request: HttpRequest) -> dict[str, str]:
    """Query string and form body merged (the body wins), names and values stripped."""
    params: dict[str, str] = {}
    # The query string is parsed as Django's QueryDict parses it, without building one: this is
    # the path clients poll.
    for name, value in _query_pairs(request.META.get("QUERY_STRING", "")):
        params[name.strip()] = value.replace("\x00", "").strip()
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for name, values in request.POST.lists():
            value = values[-1] if values else ""
            value = value.replace("\x00", "") if isinstance(value, str) else ""
            params[name.strip()] = value.strip()
    return params


def _query_pairs(query_string: str) -> list[tuple[str, str]]:
    raw = query_string.encode("iso-8859-1", "replace")  # WSGI carries the bytes as latin-1
    try:
        decoded = raw.decode(settings.DEFAULT_CHARSET)
    except UnicodeDecodeError:
        decoded = raw.decode("iso-8859-1")
    try:
        return parse_qsl(
            decoded,
            keep_blank_values=True,
            encoding=settings.DEFAULT_CHARSET,
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except ValueError as exc:  # too many fields, as QueryDict says it
        raise TooManyFieldsSent("Too many parameters.") from exc


def text(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/plain")


def json_response(data: Any) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json",
    )


def error_response(token: str, kind: str, body: Any = None) -> HttpResponse:
    if body is not None:
        return json_response(body)
    if kind == JSON:
        return json_response({"status": "error", "message": token})
    return text(token)


def protocol_datetime(value: datetime | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` in the server's time zone (no ``T``, no zone)."""
    if value is None:
        return None
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def ban_datetime(value: datetime) -> str:
    """The ``BANNED:`` time, PHP's ``Y-m-d H-i-s``."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H-%M-%S")


def number(amount: Decimal) -> float:
    """A money figure as a JSON number of the protocol (rounded to cents first). Only the
    encoder sees the float: every computation stays in Decimal."""
    from smsbox.money import to_cents

    return float(to_cents(amount))
