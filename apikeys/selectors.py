"""Reads of API keys, and the check of a presented key."""

import hmac
import pickle
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from apikeys.errors import ApiKeyNotFound
from apikeys.keys import is_well_formed, key_digest, key_prefix
from apikeys.models import ApiKey
from smsbox import parsing
from smsbox.cache import REDIS_ERRORS, raw_redis, redis_mark_down
from smsbox.instances import instance_fields, instance_of
from smsbox.models import User

# last_used_at is written at most once per this interval per key.
LAST_USED_WRITE_INTERVAL = timedelta(minutes=1)

# What the cached check keeps: every column but the user's password hash, which stays in the
# database (a cached user loads it on first use, like any deferred field).
_KEY_FIELDS = [f.attname for f in ApiKey._meta.concrete_fields]
_USER_FIELDS = [f.attname for f in User._meta.concrete_fields if f.attname != "password"]


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The live key of an active user that ``raw_key`` is, or None.

    Sits on the hot path of every API call: the check is cached (see ``api_key_remember``);
    otherwise one indexed query by prefix (with the user joined), digests compared in constant
    time. ``last_used_at`` is refreshed at most once a minute.
    """
    if not is_well_formed(raw_key):
        return None
    digest = key_digest(raw_key)
    match = _cached(digest)
    if match is None:
        match = _lookup(raw_key, digest)
        if match is None:
            return None
        api_key_remember(match)
    seen = match.last_used_at
    _touch(match)
    if match.last_used_at != seen:
        api_key_remember(match)
    return match


def api_key_remember(api_key: ApiKey) -> None:
    """Cache the check of a live key (with its user) for ``SMSBOX_API_KEY_CACHE_SECONDS``;
    ``api_key_forget`` (on revoke and regenerate) drops it at once."""
    timeout = settings.SMSBOX_API_KEY_CACHE_SECONDS
    cacheable = _without_password(api_key)
    client = raw_redis()
    if client is not None:
        try:
            client.set(_cache_key(api_key.digest), pickle.dumps(cacheable), ex=timeout)
        except REDIS_ERRORS as exc:  # the next check reads PostgreSQL again
            redis_mark_down(exc)
    else:
        cache.set(_cache_key(api_key.digest), cacheable, timeout=timeout)


def _without_password(api_key: ApiKey) -> ApiKey:
    user = api_key.user
    copy = ApiKey.from_db(
        api_key._state.db, _KEY_FIELDS, [getattr(api_key, f) for f in _KEY_FIELDS]
    )
    copy.user = User.from_db(user._state.db, _USER_FIELDS, [getattr(user, f) for f in _USER_FIELDS])
    return copy


def api_key_forget(digest: str) -> None:
    """Drop the cached check of key ``digest``. With Redis unreachable the drop is lost, and a
    copy Redis kept (paused, not restarted) lives out its ``SMSBOX_API_KEY_CACHE_SECONDS``."""
    client = raw_redis()
    if client is not None:
        try:
            client.delete(_cache_key(digest))
        except REDIS_ERRORS as exc:
            redis_mark_down(exc)
    else:
        cache.delete(_cache_key(digest))


def _cached(digest: str) -> ApiKey | None:
    """The cached key; through the raw Redis client when there is one (the hot path: Django's
    cache builds a new client object per call)."""
    client = raw_redis()
    if client is None:
        return cache.get(_cache_key(digest))  # without Redis (or while it is down): a miss
    try:
        data = client.get(_cache_key(digest))
    except REDIS_ERRORS as exc:  # checked in PostgreSQL instead
        redis_mark_down(exc)
        return None
    return pickle.loads(data) if data is not None else None  # noqa: S301 (written above)


def _cache_key(digest: str) -> str:
    return f"apikey:auth:{digest}"


def api_key_cache_key(digest: str) -> str:
    """The Redis key under which ``api_key_remember`` keeps the check of the key ``digest``."""
    return _cache_key(digest)


def api_key_from_cache(data: bytes) -> ApiKey:
    """The key (with its user) that ``api_key_remember`` stored in Redis as ``data``: fresh
    instances every call, of values unpickled once per process for the same ``data``."""
    fields = _unpickled.get(data)
    if fields is None:
        stored = pickle.loads(data)  # noqa: S301 (written by api_key_remember)
        fields = instance_fields(stored), instance_fields(stored.user)
        if len(_unpickled) >= _UNPICKLED_MAX:
            _unpickled.clear()
        _unpickled[data] = fields
    api_key = instance_of(ApiKey, fields[0])
    api_key._state.fields_cache["user"] = instance_of(User, fields[1])
    return api_key


# Stored value → the field values of its key and user (immutable values, shared safely).
_unpickled: dict[bytes, tuple[dict, dict]] = {}
_UNPICKLED_MAX = 1_000


def api_key_touch(api_key: ApiKey) -> bool:
    """Refresh ``last_used_at`` at most once a minute (see ``_touch``)."""
    return _touch(api_key)


def _lookup(raw_key: str, digest: str) -> ApiKey | None:
    candidates = (
        ApiKey.objects.select_related("user")
        .filter(prefix=key_prefix(raw_key), revoked_at__isnull=True, user__is_active=True)
        .order_by()
    )
    match = None
    for candidate in candidates:
        if hmac.compare_digest(candidate.digest, digest):
            match = candidate
    return match


def _touch(api_key: ApiKey) -> bool:
    """Refresh ``last_used_at`` when it is older than the interval, by a conditional UPDATE so
    that concurrent requests with one key write it once. Answers whether a row was written."""
    now = timezone.now()
    stale_before = now - LAST_USED_WRITE_INTERVAL
    if api_key.last_used_at is not None and api_key.last_used_at >= stale_before:
        return False
    written = (
        ApiKey.objects.filter(pk=api_key.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale_before))
        .update(last_used_at=now)
    )
    api_key.last_used_at = now
    return bool(written)


def api_keys_for_user(*, user: User, include_revoked: bool = False) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.filter(user=user)
    if not include_revoked:
        keys = keys.filter(revoked_at__isnull=True)
    return keys.order_by("-created_at", "-id")


def api_key_get_for_user(*, user: User, key_id: int | str) -> ApiKey:
    """The key ``key_id`` of ``user`` (revoked ones too); ``ApiKeyNotFound`` for anyone else's."""
    pk = parsing.or_none(parsing.object_id, key_id, name="key_id")
    if pk is None:  # "٣", a bigint overflow, …: no such key
        raise ApiKeyNotFound()
    try:
        return ApiKey.objects.get(pk=pk, user=user)
    except ApiKey.DoesNotExist:
        raise ApiKeyNotFound() from None
