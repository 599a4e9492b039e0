"""One strict parser for every value smsbox reads from outside: ids, counts, amounts, phone
numbers, timestamps, booleans and bounded texts.

Every parser takes the raw value (a string from a query, a form or a protocol parameter, or a
JSON value), accepts ASCII digits only (``str.isdigit()`` is true for "²" and "٣", which
``int()`` refuses or reads as another number), bounds the length before converting and the
range after, never goes through a float, and raises one ``InvalidParameter`` naming the
parameter. Each interface maps that error once to its own language: the REST API to
``400 INVALID_PARAMETER``, the handler protocol to the action's token, the dialects to their
error shapes, the dashboard to a form error.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from smsbox.errors import InvalidInput

MAX_ID = 2**63 - 1  # PostgreSQL bigint
MAX_ID_DIGITS = 18
MAX_TEXT = 10_000  # no parameter smsbox reads is longer
_DIGITS = re.compile(r"[0-9]+")
_ONLY_DIGITS = re.compile(r"[0-9]+")
_AMOUNT = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]*))?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
EPOCH_MAX = 253_402_300_799  # 9999-12-31 23:59:59 UTC


class InvalidParameter(InvalidInput):
    """A value read from input is malformed, too long or out of range."""

    code = "INVALID_PARAMETER"
    message = gettext_noop("A parameter is not valid.")

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}", extra={"parameter": name, "reason": reason})
        self.parameter = name
        self.reason = reason


def _text_of(raw: Any, name: str, max_length: int) -> str:
    """``raw`` as a stripped string: refused when not a scalar, with a NUL, or too long."""
    if isinstance(raw, bool) or raw is None or isinstance(raw, dict | list | tuple | float):
        raise InvalidParameter(name, "not a text or a number")
    value = str(raw)
    if len(value) > max_length + 64:  # surrounding blanks are tolerated, not unbounded
        raise InvalidParameter(name, "too long")
    value = value.strip()
    if "\x00" in value:
        raise InvalidParameter(name, "contains a NUL character")
    if len(value) > max_length:
        raise InvalidParameter(name, "too long")
    return value


def is_digits(value: Any, *, max_length: int = MAX_ID_DIGITS) -> bool:
    """Whether ``value`` is a non-empty string of at most ``max_length`` ASCII digits: the
    check to use where code branches on "is this a number?" (``str.isdigit()`` is not)."""
    return (
        isinstance(value, str) and 0 < len(value) <= max_length and bool(_DIGITS.fullmatch(value))
    )


def digits_in(value: Any) -> str:
    """The ASCII digits of ``value`` in order (a phone number as people type it)."""
    return "".join(_ONLY_DIGITS.findall(str(value or "")))


def digits(raw: Any, *, name: str, min_length: int = 1, max_length: int = MAX_ID_DIGITS) -> str:
    """A string of ASCII digits ("0" to "9") of a bounded length, e.g. a numeric code."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw) if raw >= 0 else "-"
    value = _text_of(raw, name, max_length)
    if not _DIGITS.fullmatch(value):
        raise InvalidParameter(name, "not ASCII digits")
    if len(value) < min_length:
        raise InvalidParameter(name, "too short")
    return value


def integer(raw: Any, *, name: str, minimum: int = 0, maximum: int = MAX_ID) -> int:
    """An integer within ``[minimum, maximum]`` written in ASCII digits (no sign, no
    exponent, no decimal point); ``minimum`` is at least 0."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        value = int(digits(raw, name=name, max_length=len(str(maximum))))
    if not max(minimum, 0) <= value <= maximum:
        raise InvalidParameter(name, f"not between {max(minimum, 0)} and {maximum}")
    return value


def object_id(raw: Any, *, name: str = "id") -> int:
    """A primary key: a positive integer that fits PostgreSQL's bigint."""
    return integer(raw, name=name, minimum=1, maximum=MAX_ID)


def optional(parser, raw: Any, *, default: Any = None, **kwargs: Any) -> Any:
    """``parser(raw)``, or ``default`` when ``raw`` is absent or blank."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    return parser(raw, **kwargs)


def or_none(parser, raw: Any, **kwargs: Any) -> Any:
    """``parser(raw)``, or None when it refuses ``raw`` (for searches, where a malformed term
    simply matches nothing)."""
    try:
        return parser(raw, **kwargs)
    except InvalidParameter:
        return None


def amount(
    raw: Any,
    *,
    name: str,
    places: int = 4,
    max_integer_digits: int = 10,
    minimum: Decimal | None = Decimal("0"),
    maximum: Decimal | None = None,
    positive: bool = False,
) -> Decimal:
    """A decimal amount written as ASCII digits with an optional point and at most ``places``
    decimals: no sign, exponent, NaN or infinity. JSON numbers are taken through their text
    (an int as is; a float is refused: its digits are not the client's)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw) if raw >= 0 else "-"
    value = _text_of(raw, name, max_integer_digits + places + 1)
    match = _AMOUNT.fullmatch(value)
    if match is None and value.startswith("-"):
        raise InvalidParameter(name, "must be positive (no sign)")
    if match is None:
        raise InvalidParameter(name, "not a decimal amount")
    whole, fraction = match["int"], (match["frac"] or "").rstrip("0")
    if len(whole.lstrip("0")) > max_integer_digits:
        raise InvalidParameter(name, "too large")
    if len(fraction) > places:
        raise InvalidParameter(name, f"more than {places} decimal places")
    parsed = Decimal(f"{whole}.{fraction or '0'}")
    if positive and parsed <= 0:
        raise InvalidParameter(name, "not above zero")
    if minimum is not None and parsed < minimum:
        raise InvalidParameter(name, f"below {minimum}")
    if maximum is not None and parsed > maximum:
        raise InvalidParameter(name, f"above {maximum}")
    return parsed


def phone(raw: Any, *, name: str = "phone", min_length: int = 5, max_length: int = 15) -> str:
    """A phone number in international format as ASCII digits (E.164: at most 15); a leading
    ``+`` and the spaces, dashes and brackets people type are dropped, nothing else is."""
    value = _text_of(raw, name, 32)
    value = re.sub(r"[ ()\-]", "", value).removeprefix("+")
    return digits(value, name=name, min_length=min_length, max_length=max_length)


def unix_timestamp(raw: Any, *, name: str) -> datetime:
    """Seconds since the epoch (ASCII digits, up to 9999-12-31) as an aware UTC datetime."""
    return datetime.fromtimestamp(integer(raw, name=name, maximum=EPOCH_MAX), UTC)


def moment(raw: Any, *, name: str) -> datetime:
    """An ISO 8601 date and time, or ``YYYY-MM-DD HH:MM:SS`` (UTC when no zone is given), or
    seconds since the epoch."""
    value = _text_of(raw, name, 40)
    if _DIGITS.fullmatch(value):
        return unix_timestamp(value, name=name)
    if not value.isascii():
        raise InvalidParameter(name, "not a date and time")
    try:
        parsed = parse_datetime(value)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        raise InvalidParameter(name, "not a date and time")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def day(raw: Any, *, name: str) -> date:
    """A calendar date written ``YYYY-MM-DD`` in ASCII digits."""
    value = _text_of(raw, name, 10)
    if not _DAY.fullmatch(value):
        raise InvalidParameter(name, "not a date (YYYY-MM-DD)")
    try:
        return date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        raise InvalidParameter(name, "not a date (YYYY-MM-DD)") from None


def boolean(raw: Any, *, name: str) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (any case; blank is false); JSON booleans."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    value = _text_of(raw, name, 5).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameter(name, "not a boolean")


def text(raw: Any, *, name: str, max_length: int, required: bool = False) -> str:
    """A text without NUL characters, at most ``max_length`` characters once stripped."""
    if raw is None:
        raw = ""
    value = _text_of(raw, name, max_length)
    if required and not value:
        raise InvalidParameter(name, "required")
    return value
