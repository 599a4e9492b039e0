"""API key authentication for the REST API, and the key extraction the protocols share.

A key may come as ``X-API-Key: KEY``, ``Authorization: Bearer KEY``, or an ``api_key`` query or
form parameter (the SMS-Activate handler protocol passes it that way).
"""

from collections.abc import Sequence
from typing import NamedTuple

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request, is_form_media_type

from apikeys.keys import is_well_formed, key_digest
from apikeys.models import ApiKey
from apikeys.selectors import (
    api_key_authenticate,
    api_key_cache_key,
    api_key_from_cache,
    api_key_remember,
    api_key_touch,
)
from apikeys.throttling import Refusal, request_admit, request_admit_cached
from smsbox.cache import raw_redis
from smsbox.models import User
from smsbox.services import user_record_activity

PARAMETER = "api_key"


def api_key_from_request(request: HttpRequest | Request) -> str | None:
    """The raw key a request presents, or None when it presents none.

    Looks at, in order: the ``X-API-Key`` header, an ``Authorization: Bearer`` header, the
    ``api_key`` query parameter, and the ``api_key`` field of a form body.
    """
    meta = request.META
    header = meta.get("HTTP_X_API_KEY", "").strip()
    if header:
        return header
    scheme, _, credentials = meta.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    query = request.GET.get(PARAMETER, "").strip()
    if query:
        return query
    return _form_value(request) or None


def _form_value(request: HttpRequest | Request) -> str:
    """The form field, read only from form bodies so a JSON body is never parsed here."""
    if not is_form_media_type(request.content_type or ""):
        return ""
    value = request.POST.get(PARAMETER, "")
    return value.strip() if isinstance(value, str) else ""


def api_key_check(raw_key: str) -> ApiKey | None:
    """The live key ``raw_key`` is, with its user's activity recorded; None for a wrong key.
    Shared by the REST API and the handler protocol."""
    api_key = api_key_authenticate(raw_key)
    if api_key is not None:
        seen = api_key.user.last_activity_at
        user_record_activity(user=api_key.user)
        if api_key.user.last_activity_at != seen:
            api_key_remember(api_key)  # keep the cached copy from writing again
    return api_key


# Digest → id of the account that owns the key, for keys this process has checked. A key never
# changes owner; this only says which account's counters to read with the cached check (the
# check itself is always the shared cache or the database, so a revoke takes effect at once).
_owners: dict[str, int] = {}
_OWNERS_MAX = 10_000


class Admission(NamedTuple):
    api_key: ApiKey | None  # None: a wrong key (nothing was counted)
    refusal: Refusal | None  # why the request may not go on; None when it may
    also: tuple[bytes | None, ...] | None  # the keys asked for, when read along; else None


def api_key_check_admit(raw_key: str, *, also: Sequence[str] = ()) -> Admission:
    """``api_key_check`` and the account's rate limit (``request_admit``) together. Once this
    process has seen the key, a cached check and the rate limit cost one Redis round trip between
    them, and the Redis keys ``also`` (a request's own cached data) are read in the same trip."""
    digest = key_digest(raw_key) if is_well_formed(raw_key) else ""
    user_id = _owners.get(digest) if digest else None
    if user_id is not None and raw_redis() is not None:
        data, admit, values = request_admit_cached(
            cache_key=api_key_cache_key(digest), user_id=user_id, also=also
        )
        if data is not None:
            api_key = api_key_from_cache(data)
            if api_key.user_id == user_id:
                _record_use(api_key)
                return Admission(api_key, admit(api_key.user), values)
    api_key = api_key_check(raw_key)
    if api_key is None:
        return Admission(None, None, None)
    if len(_owners) >= _OWNERS_MAX:
        _owners.clear()
    _owners[api_key.digest] = api_key.user_id
    return Admission(api_key, request_admit(user=api_key.user), None)


def _record_use(api_key: ApiKey) -> None:
    """What ``api_key_authenticate`` and ``api_key_check`` do after a cached check: refresh
    ``last_used_at`` and the user's activity (each at most once per interval)."""
    seen = (api_key.last_used_at, api_key.user.last_activity_at)
    api_key_touch(api_key)
    user_record_activity(user=api_key.user)
    if (api_key.last_used_at, api_key.user.last_activity_at) != seen:
        api_key_remember(api_key)


def _cached_keys(request: Request) -> Sequence[str]:
    """The Redis keys a view reads for this request (its ``cached_keys(kwargs)``), fetched in
    the key check's round trip and left as ``request.smsbox_cached`` (None when not read)."""
    context = getattr(request, "parser_context", None) or {}
    cached_keys = getattr(context.get("view"), "cached_keys", None)
    return cached_keys(context.get("kwargs") or {}) if cached_keys is not None else ()


class AccountBlockedByOperator(exceptions.PermissionDenied):
    default_detail = "This account is blocked by an operator; contact support."
    smsbox_code = "ACCOUNT_SUSPENDED"


class ApiKeyAuthentication(BaseAuthentication):
    """No key: None, so another authenticator may try. A wrong or revoked key: 401."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        raw_key = api_key_from_request(request)
        if raw_key is None:
            return None
        api_key, refusal, cached = api_key_check_admit(raw_key, also=_cached_keys(request))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        if api_key.user.blocked_at is not None:
            raise AccountBlockedByOperator()
        request.smsbox_refusal = refusal  # AccountRateThrottle answers it: counted here already
        request.smsbox_cached = cached or None
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'
