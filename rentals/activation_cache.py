"""A Redis copy of what clients poll of each activation (its handler status and its REST
detail: the row's shown fields with its service and country), so that ``getStatus`` and
``GET /api/v1/activations/<id>/`` are answered from the same Redis round trip as the API key
check and the rate limit, without PostgreSQL.

Two keys per activation: ``act:<layout>:<id>`` holds the copy (JSON) and ``act:gen:<id>`` a
token that changes on every write; ``smsbox.copies`` keeps them (writes drop the copy at once
and again after their commit, a read fills it only if nothing was written meanwhile, a copy
lives ``SMSBOX_ACTIVATION_CACHE_SECONDS``, nothing is cached while Redis is unreachable). A poll
reads the token along with its key check.

The copy is whoever's activation it is: the selectors compare its owner with the caller. Without
Redis (``make run`` on embedded defaults) nothing is cached and every poll reads the row.
Every save or delete of an activation drops its copy together with its owner's version of My
Numbers (``rentals.orders_version.activations_written``, one round trip); changes made with
``QuerySet.update()`` or plain SQL bypass the signals, so their callers drop it themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models

from providers.models import Country, Service
from rentals.models import Activation
from smsbox.cache import raw_redis
from smsbox.copies import copies_drop, copy_fill, copy_read
from smsbox.instances import instance_of

# The activation's fields a poll shows, in the model's order (as ``Model.from_db`` wants them).
COLUMNS = tuple(
    f.attname
    for f in Activation._meta.concrete_fields
    if f.attname in {
        "id", "user_id", "service_id", "country_id", "operator", "phone", "price", "state",
        "ready", "code", "created_at", "expires_at", "number_at", "sms_received_at",
        "resend_available_at", "display_number", "binding_key", "upstream_id",
    }
)  # fmt: skip
SERVICE_COLUMNS = ("code", "name")
COUNTRY_COLUMNS = ("sms_activate_id", "name_en")

# The copy's layout (COLUMNS and their order): part of its key, so that a process of another
# release never reads a copy it cannot decode. Change it whenever the layout changes.
_LAYOUT = 1


def activation_cache_keys(activation_id: int) -> tuple[str, str]:
    """The copy's key and the token's key of activation ``activation_id``, in that order: what
    a poll's key-check round trip reads along."""
    return f"act:{_LAYOUT}:{activation_id}", f"act:gen:{activation_id}"


def activation_cache_enabled() -> bool:
    """Whether copies are kept: Redis is configured and not in its back-off (unreachable)."""
    return raw_redis() is not None


def activation_cache_get(activation_id: int) -> tuple[bytes | None, bytes | None]:
    """The copy and the token (a round trip of its own, for a poll whose key check did not
    read them); two misses when Redis is unreachable (the row is read instead)."""
    return copy_read(*activation_cache_keys(activation_id))


def activation_cache_fill(*, activation: Activation, token: bytes | None) -> bool:
    """Store the copy of ``activation`` (read from its row, with service and country) unless
    the activation was written since ``token`` was read. Answers whether it was stored."""
    return copy_fill(
        *activation_cache_keys(activation.pk),
        seen=token,
        value=_encode(activation),
        seconds=settings.SMSBOX_ACTIVATION_CACHE_SECONDS,
    )


def activation_cache_decode(copy: bytes, *, related: bool = True) -> Activation:
    """The activation a copy holds: the polled fields, with its service and country. Without
    ``related``, only what a status needs (the other fields deferred, as a partial read)."""
    values, service, country = json.loads(copy)
    if not related:
        return instance_of(Activation, {c: _LOADERS[i](values[i]) for c, i in _STATUS_AT})
    activation = instance_of(
        Activation, {c: load(v) for c, load, v in zip(COLUMNS, _LOADERS, values, strict=True)}
    )
    cache = activation._state.fields_cache  # what assigning activation.service would fill
    cache["service"] = instance_of(
        Service, {"id": activation.service_id, **dict(zip(SERVICE_COLUMNS, service, strict=True))}
    )
    cache["country"] = instance_of(
        Country, {"id": activation.country_id, **dict(zip(COUNTRY_COLUMNS, country, strict=True))}
    )
    return activation


def _encode(activation: Activation) -> str:
    values = [dump(getattr(activation, c)) for dump, c in zip(_DUMPERS, COLUMNS, strict=True)]
    service = [getattr(activation.service, c) for c in SERVICE_COLUMNS]
    country = [getattr(activation.country, c) for c in COUNTRY_COLUMNS]
    return json.dumps([values, service, country], separators=(",", ":"))


def _as_is(value: Any) -> Any:
    return value


def _dump_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _load_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dump_decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _load_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _codec(field: models.Field) -> tuple[Callable, Callable]:
    if isinstance(field, models.DateTimeField):
        return _dump_datetime, _load_datetime
    if isinstance(field, models.DecimalField):
        return _dump_decimal, _load_decimal
    return _as_is, _as_is


_CODECS = [_codec(Activation._meta.get_field(c)) for c in COLUMNS]
# What a handler status needs (``rentals.status.handler_status``), by position in COLUMNS.
_STATUS_AT = [
    (c, COLUMNS.index(c)) for c in ("id", "user_id", "state", "sms_received_at", "ready", "code")
]
_DUMPERS = [dump for dump, _ in _CODECS]
_LOADERS = [load for _, load in _CODECS]


def activation_cache_drop(activation_ids: Sequence[int]) -> None:
    """Drop the copies of ``activation_ids`` now and, inside a transaction, again after it
    commits."""
    copies_drop([activation_cache_keys(activation_id) for activation_id in activation_ids])
