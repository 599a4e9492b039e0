"""The one place where smsbox's errors become SMS-Activate protocol tokens."""

from collections.abc import Callable

from smsbox.errors import ApplicationError

# ApplicationError.code → token (a string, or a function of the error).
_TOKENS: dict[str, str | Callable[[ApplicationError], str]] = {
    "NO_BALANCE": "NO_BALANCE",
    "NO_NUMBERS": "NO_NUMBERS",
    "BAD_SERVICE": "BAD_SERVICE",
    "BAD_COUNTRY": "BAD_COUNTRY",
    "NO_ACTIVATION": "NO_ACTIVATION",
    "NOT_FOUND": "NO_ACTIVATION",
    "BAD_STATUS": "BAD_STATUS",
    "RESEND_COOLDOWN": "BAD_STATUS",
    "EARLY_CANCEL_DENIED": "EARLY_CANCEL_DENIED",
    "ORDER_ALREADY_EXISTS": "ORDER_ALREADY_EXISTS",
    "CHANNELS_LIMIT": "CHANNELS_LIMIT",
    "SPEND_LIMIT": "CHANNELS_LIMIT",
    "DAILY_CAP": "CHANNELS_LIMIT",
    "PURCHASES_SUSPENDED": "ACCOUNT_INACTIVE",
    "RENEW_ACTIVATION_NOT_AVAILABLE": "RENEW_ACTIVATION_NOT_AVAILABLE",
    "WRONG_MAX_PRICE": lambda exc: _with_price("WRONG_MAX_PRICE", exc),
    "BANNED": "BANNED",
    # long-term rentals (rentals.rental_errors)
    "NO_ID_RENT": "INVALID_PHONE",
    "INVALID_TIME": "INVALID_TIME",
    "INVALID_PACKAGE": "INVALID_TIME",
    "MAX_HOURS_EXCEED": "MAX_HOURS_EXCEED",
    "RENT_DIE": "RENT_DIE",
    "RENTAL_NOT_ACTIVE": "RENT_DIE",
    "CANT_CANCEL": "CANT_CANCEL",
    "ALREADY_FINISH": "ALREADY_FINISH",
    "ALREADY_CANCEL": "ALREADY_CANCEL",
    "STATUS_REVOKE": "STATUS_REVOKE",
}
FALLBACK = "ERROR_SQL"  # the protocol's "something went wrong on our side"


def token_for(exc: ApplicationError, overrides: dict[str, str] | None = None) -> str:
    """The token of ``exc``; ``overrides`` (per action) win over the common table."""
    if overrides and exc.code in overrides:
        return overrides[exc.code]
    token = _TOKENS.get(exc.code, FALLBACK)
    return token(exc) if callable(token) else token


def _with_price(token: str, exc: ApplicationError) -> str:
    price = exc.extra.get("min_price")
    return f"{token}:{price}" if price else token
