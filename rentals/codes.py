"""Find the verification code in an SMS text.

Patterns are tried in order and the first that matches wins. A pattern marks the code with a
named group ``code``, else with its first group, else the whole match is the code. Separators
inside a numeric code are dropped (``123-456`` → ``123456``); a code never contains ``:``.
"""

import re
from collections.abc import Sequence
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_DIGITS = "[0-9]"  # not \d: that would also take Arabic-Indic and other digits
_KEYWORDS = r"code|c[oó]digo|kod|код(?:\s+подтверждения)?|pin|otp|passcode|password|пароль|验证码"

DEFAULT_CODE_PATTERNS: tuple[str, ...] = (
    # "G-123456 is your Google verification code", "FB-12345 is your Facebook code"
    rf"(?<![\w-])[A-Z]{{1,3}}-(?P<code>{_DIGITS}{{4,8}})(?![\w-])",
    # "Your WhatsApp code: 123-456", "Telegram code 12345", "code: AB12CD", "код: 1234"
    rf"(?i)(?:{_KEYWORDS})(?:\s+is)?\s*[:\uff1a=\-]?\s*"
    rf"(?P<code>{_DIGITS}{{3}}[- ]{_DIGITS}{{3}}(?![\w-])|(?=[a-z]*{_DIGITS})[a-z0-9]{{4,8}}\b)",
    # "Your one-time password is 5678"
    rf"(?i)\bis\s*:?\s*(?P<code>{_DIGITS}{{4,8}})\b",
    # "Use 123 456 to verify your Instagram account"
    rf"(?<![\w.,/+-])(?P<code>{_DIGITS}{{3}}[- ]{_DIGITS}{{3}})(?![\w/-])",
    # "[TikTok] 123456 is your verification code", "Use 1234567 as Microsoft account code"
    rf"(?<![\w.,/#+=&?-])(?P<code>{_DIGITS}{{4,8}})(?![\w/-])",
)
_NUMERIC_WITH_SEPARATORS = re.compile(r"[0-9]+(?:[- ][0-9]+)*")


def extract_code(text: str, patterns: Sequence[str] | None = None) -> str | None:
    """The code in ``text``, or None. ``patterns`` default to ``SMSBOX_CODE_PATTERNS`` and,
    when that is empty, to ``DEFAULT_CODE_PATTERNS``."""
    if not text:
        return None
    if patterns is None:
        patterns = settings.SMSBOX_CODE_PATTERNS or DEFAULT_CODE_PATTERNS
    for pattern in _compiled(tuple(patterns)):
        for match in pattern.finditer(text):
            code = _clean(_code_of(match))
            if code:
                return code
    return None


@lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...]) -> list[re.Pattern[str]]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ImproperlyConfigured(f"SMS code pattern {pattern!r} is invalid: {exc}") from exc
    return compiled


def _code_of(match: re.Match[str]) -> str:
    if "code" in match.re.groupindex:
        return match.group("code") or ""
    if match.re.groups:
        return match.group(1) or ""
    return match.group(0)


def _clean(code: str) -> str:
    code = code.strip()
    if _NUMERIC_WITH_SEPARATORS.fullmatch(code):
        code = re.sub(r"[- ]", "", code)
    return code.replace(":", "")
