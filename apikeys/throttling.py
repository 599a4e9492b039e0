"""Per-account request limits, kept in Redis (the Django cache).

* Requests: a fixed one-second window per account. Standard accounts may make
  ``SMSBOX_RATE_LIMIT_STANDARD`` requests a second (32), business accounts
  ``SMSBOX_RATE_LIMIT_BUSINESS`` (unset: unlimited).
* Failed requests (4xx answers other than 429, handler error tokens): counted per account per
  second; more than ``SMSBOX_FAILED_LIMIT`` (300) in one second block the account, whatever its
  tier, for ``SMSBOX_FAILED_BLOCK_SECONDS`` (60).

With Redis one request costs one round trip (a pipeline), shared with the API key check once
the process knows the key's account (``request_admit_cached``); the block key holds the Unix time
it ends, so the wall clock (not the key's expiry) decides when a block lifts.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from smsbox.cache import (
    REDIS_ERRORS,
    raw_redis,
    redis_configured,
    redis_mark_down,
    redis_script,
)
from smsbox.models import User

logger = logging.getLogger(__name__)

_WINDOW_TTL = 3  # seconds a one-second counter is kept (it is never read after its second)


@dataclass(frozen=True)
class Refusal:
    code: str  # RATE_LIMITED or ACCOUNT_BLOCKED
    retry_after: int  # whole seconds


def account_rate_limit(user: User) -> int | None:
    """Requests per second ``user`` may make; None for no limit."""
    if user.tier == User.Tier.BUSINESS:
        return settings.SMSBOX_RATE_LIMIT_BUSINESS
    return settings.SMSBOX_RATE_LIMIT_STANDARD


def request_admit(*, user: User, now: float | None = None) -> Refusal | None:
    """Count one request of ``user``; None when it may go on, else why not and for how long.
    Without Redis, ``rate_limit_unavailable`` answers (fail open unless configured closed)."""
    now = time.time() if now is None else now
    second = int(now)
    limit = account_rate_limit(user)
    window_key = f"rl:req:{user.pk}:{second}"
    block_key = f"rl:block:{user.pk}"
    client = raw_redis()
    if client is not None:
        try:
            pipe = client.pipeline(transaction=False)
            pipe.get(block_key)
            if limit is not None:
                pipe.incr(window_key)
                pipe.expire(window_key, _WINDOW_TTL)
            replies = pipe.execute()
        except REDIS_ERRORS as exc:
            redis_mark_down(exc)
            return rate_limit_unavailable(user=user)
        blocked_until, count = replies[0], replies[1] if limit is not None else 0
    elif redis_configured():
        return rate_limit_unavailable(user=user)  # Redis is in its back-off
    else:
        blocked_until = cache.get(block_key)
        count = _cache_incr(window_key) if limit is not None else 0
    return _refusal(blocked_until, count, limit, now)


# Requests let through (or refused, with SMSBOX_RATE_LIMIT_FAIL_CLOSED) unlimited because Redis
# was unreachable, since the process started: the counter the warning in the log gives.
unlimited_requests = 0
_warned_at = 0.0


def rate_limit_unavailable(*, user: User) -> Refusal | None:
    """The rate limit's answer while Redis is unreachable: let the request through (counted,
    with a warning at most every few seconds), or refuse it when the setting says so."""
    global unlimited_requests, _warned_at
    unlimited_requests += 1
    closed = settings.SMSBOX_RATE_LIMIT_FAIL_CLOSED
    if time.monotonic() - _warned_at >= _WARN_EVERY:
        _warned_at = time.monotonic()
        logger.warning(
            "rate limit unavailable (Redis unreachable): %s requests %s so far",
            unlimited_requests,
            "refused" if closed else "let through unlimited",
        )
    if closed:
        return Refusal("RATE_LIMITED", max(1, math.ceil(settings.SMSBOX_REDIS_RETRY_SECONDS)))
    return None


_WARN_EVERY = 10  # seconds between two warnings of the fail-open counter


def _refusal(blocked_until: Any, count: int, limit: int | None, now: float) -> Refusal | None:
    if blocked_until is not None and float(blocked_until) > now:
        return Refusal("ACCOUNT_BLOCKED", max(1, math.ceil(float(blocked_until) - now)))
    if limit is not None and count > limit:
        return Refusal("RATE_LIMITED", 1)
    return None


# Fetches a cached value (the API key check) and, only when it is there, counts the request of
# its account: the key check and the rate limit of the polling path in one Redis round trip.
# KEYS[4…] are read along (a request's own data, e.g. a cached status), whatever the check.
_ADMIT_CACHED = """
local also = {}
for i = 4, #KEYS do
    also[#also + 1] = redis.call('GET', KEYS[i])
end
local cached = redis.call('GET', KEYS[1])
if not cached then
    return {false, false, 0, unpack(also)}
end
local blocked = redis.call('GET', KEYS[2])
local count = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return {cached, blocked or false, count, unpack(also)}
"""


def request_admit_cached(
    *, cache_key: str, user_id: int, also: Sequence[str] = (), now: float | None = None
) -> tuple[bytes | None, Callable[[User], Refusal | None], tuple[bytes | None, ...]]:
    """Read ``cache_key`` and, when it holds a value, count one request of account ``user_id``,
    in one round trip (a Lua script). Answers the value (None when it is not cached: nothing was
    counted), a function that, given the user the value stands for, says whether the request
    may go on, as ``request_admit`` does, and the values of the keys ``also`` (None for a
    missing one), read in the same round trip. Needs the Redis cache (``raw_redis()``)."""
    now = time.time() if now is None else now
    script = redis_script(_ADMIT_CACHED)
    keys = [cache_key, f"rl:block:{user_id}", f"rl:req:{user_id}:{int(now)}", *also]
    try:
        cached, blocked_until, count, *values = script(keys=keys, args=[_WINDOW_TTL])
    except REDIS_ERRORS as exc:  # as if not cached: the caller checks the key in PostgreSQL
        redis_mark_down(exc)
        return None, lambda user: None, tuple(None for _ in also)

    def admit(user: User) -> Refusal | None:
        return _refusal(blocked_until, count, account_rate_limit(user), now)

    return cached, admit, tuple(values)


def failed_request_record(*, user: User, now: float | None = None) -> bool:
    """Count one failed request of ``user``; block the account when the second's failures pass
    the limit. Answers whether this failure started a block."""
    now = time.time() if now is None else now
    key = f"rl:fail:{user.pk}:{int(now)}"
    client = raw_redis()
    if client is not None:
        try:
            return _failed_record_redis(client, key=key, user=user, now=now)
        except REDIS_ERRORS as exc:  # nothing counted: failures are not limited meanwhile
            redis_mark_down(exc)
            return False
    if redis_configured():
        return False
    return _block_when_over(
        _cache_incr(key),
        user=user,
        now=now,
        read=cache.get,
        write=lambda block_key, until, ttl: cache.set(block_key, until, timeout=ttl),
    )


def _failed_record_redis(client: Any, *, key: str, user: User, now: float) -> bool:
    pipe = client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, _WINDOW_TTL)
    return _block_when_over(
        pipe.execute()[0],
        user=user,
        now=now,
        read=client.get,
        write=lambda block_key, until, ttl: client.set(block_key, until, ex=ttl),
    )


def _block_when_over(
    failures: int, *, user: User, now: float, read: Callable, write: Callable
) -> bool:
    """Block ``user`` when ``failures`` in this second pass the limit and no block runs yet;
    ``read``/``write`` reach the store the failures were counted in."""
    if failures <= settings.SMSBOX_FAILED_LIMIT:
        return False
    block_key = f"rl:block:{user.pk}"
    current = read(block_key)
    if current is not None and float(current) > now:
        return False
    until = now + settings.SMSBOX_FAILED_BLOCK_SECONDS
    write(block_key, repr(until), settings.SMSBOX_FAILED_BLOCK_SECONDS + _WINDOW_TTL)
    return True


def _cache_incr(key: str) -> int:
    cache.add(key, 0, timeout=_WINDOW_TTL)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=_WINDOW_TTL)
        return 1


# --- the REST API's side ----------------------------------------------------------------------


class RateLimited(exceptions.Throttled):
    default_detail = "Too many requests."

    def __init__(self, refusal: Refusal) -> None:
        if refusal.code == "ACCOUNT_BLOCKED":
            detail = (
                "Too many failed requests: the account is blocked for "
                f"{settings.SMSBOX_FAILED_BLOCK_SECONDS} seconds."
            )
        else:
            detail = "Too many requests per second for this account."
        super().__init__(wait=refusal.retry_after, detail=detail)
        self.smsbox_code = refusal.code


class AccountRateThrottle(BaseThrottle):
    """DRF throttle: per-account limits for every authenticated REST request."""

    def allow_request(self, request: Request, view: Any) -> bool:
        user = getattr(request, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return True
        # The API key authentication counts the request with its key check (one round trip)
        # and leaves the answer here; other authentications are counted now.
        refusal = getattr(request, "smsbox_refusal", _NOT_COUNTED)
        if refusal is _NOT_COUNTED:
            refusal = request_admit(user=user)
        if refusal is not None:
            raise RateLimited(refusal)
        return True


_NOT_COUNTED = object()


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """smsbox's error mapping, plus counting the account's failed requests."""
    # Imported here: smsbox.api imports DRF's views, whose APIView reads this module's throttle.
    from smsbox.api import exception_handler as smsbox_exception_handler

    response = smsbox_exception_handler(exc, context)
    if response is not None and 400 <= response.status_code < 500 and response.status_code != 429:
        request = context.get("request")
        user = getattr(request, "_user", None) if request is not None else None
        if user is not None and getattr(user, "is_authenticated", False):
            failed_request_record(user=user)
    return response
