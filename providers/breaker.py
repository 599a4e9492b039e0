"""A circuit breaker per provider, kept in the Django cache so every worker sees it.

Closed: calls go through. After ``SMSBOX_BREAKER_FAILURES`` consecutive failures it opens for
``SMSBOX_BREAKER_COOLDOWN`` seconds and calls are skipped. After the cool-down it is half-open:
one caller at a time may try; a success closes it, a failure opens it again.

``breaker_admit`` lets a call through (or not) in one round trip and says whether the breaker
held anything then; a success of a call admitted with nothing held has nothing to reset, so it
writes nothing (failures another worker counted meanwhile stand: they happened).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
_KEEP = 7 * 24 * 3600


def _failures_key(provider_id: int) -> str:
    return f"providers:breaker:{provider_id}:failures"


def _opened_key(provider_id: int) -> str:
    return f"providers:breaker:{provider_id}:opened_at"


def _since_key(provider_id: int) -> str:
    return f"providers:breaker:{provider_id}:open_since"


def _trial_key(provider_id: int) -> str:
    return f"providers:breaker:{provider_id}:trial"


def threshold() -> int:
    return int(getattr(settings, "SMSBOX_BREAKER_FAILURES", 5))


def cooldown() -> int:
    return int(getattr(settings, "SMSBOX_BREAKER_COOLDOWN", 60))


def breaker_state(provider_id: int) -> str:
    return _state(cache.get(_opened_key(provider_id)))


def _state(opened_at: float | None) -> str:
    if opened_at is None:
        return CLOSED
    if timezone.now().timestamp() - opened_at < cooldown():
        return OPEN
    return HALF_OPEN


def breaker_open_since(provider_id: int) -> float | None:
    """When the breaker first opened since the provider's last success (a Unix time), None
    while it is closed: a failed half-open trial opens it again without starting over."""
    if cache.get(_opened_key(provider_id)) is None:
        return None
    return cache.get(_since_key(provider_id)) or cache.get(_opened_key(provider_id))


@dataclass(frozen=True)
class Admission:
    """A call let through; ``clean``: no failure was counted and the breaker was closed."""

    clean: bool


def breaker_admit(provider_id: int) -> Admission | None:
    """Whether a call may go to the provider now (None: not), in one round trip; in half-open,
    only the one trial caller."""
    keys = (_failures_key(provider_id), _opened_key(provider_id))
    found = cache.get_many(keys)
    failures, opened_at = (found.get(key) for key in keys)
    state = _state(opened_at)
    if state == OPEN or (
        state == HALF_OPEN and not cache.add(_trial_key(provider_id), 1, cooldown())
    ):
        return None
    return Admission(clean=state == CLOSED and not failures)


def breaker_allows(provider_id: int) -> bool:
    return breaker_admit(provider_id) is not None


def breaker_record_success(provider_id: int, *, admission: Admission | None = None) -> None:
    """Close the breaker and forget the failures; nothing to do for a call ``admission`` let
    through clean."""
    if admission is not None and admission.clean:
        return
    cache.delete_many(
        [
            _failures_key(provider_id),
            _opened_key(provider_id),
            _since_key(provider_id),
            _trial_key(provider_id),
        ]
    )


def breaker_record_failure(provider_id: int) -> None:
    key = _failures_key(provider_id)
    cache.add(key, 0, timeout=_KEEP)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=_KEEP)
        failures = 1
    if failures >= threshold() or breaker_state(provider_id) == HALF_OPEN:
        now = timezone.now().timestamp()
        cache.set(_opened_key(provider_id), now, timeout=_KEEP)
        cache.add(_since_key(provider_id), now, timeout=_KEEP)
        cache.delete(_trial_key(provider_id))
