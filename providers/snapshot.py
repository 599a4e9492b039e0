"""A per-process copy of what every purchase reads and operators and jobs change now and then:
the price rules, the catalog's lookups (service by code, country by SMS-Activate id) and the
in-stock offers of each service and country, with their providers.

Each process keeps its copies beside the **version** they were read at; the version is one
Redis key (the Django cache), read once per request (a request sees one version throughout) or,
outside requests, once per lookup. Every change to a price rule, a service, a country, an
operator, a provider or an offer bumps it (signals for ``save()``/``delete()``; the offers'
sync, a buy that found no numbers and the other services that write with ``QuerySet.update()``
or ``bulk_create`` call ``snapshot_bump``), at once and again after the change commits, so a
reader between the two cannot keep a copy read before the commit. A change made on one process
is seen by every other at its next request.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection, transaction

from smsbox.cache import cache_raw_key, cache_raw_value
from smsbox.instances import instance_copy

VERSION_KEY = "providers:snapshot:version"
T = TypeVar("T")

_local: dict[str, tuple[str, Any]] = {}
_lock = threading.Lock()


def snapshot_get(name: str, load: Callable[[], T]) -> T:
    """``load()``'s answer as of the current version: this process's copy when it is still
    current, else loaded again (and kept). Inside a transaction it is loaded and not kept: the
    transaction may have written what it reads, and may yet roll back (no signal says so)."""
    if connection.in_atomic_block:
        return load()
    version = snapshot_version()
    kept = _local.get(name)
    if kept is not None and kept[0] == version:
        return kept[1]
    value = load()
    with _lock:
        _local[name] = (version, value)
    return value


def snapshot_version() -> str:
    """The current version: read once per request (``snapshot_request_started``)."""
    if getattr(_request, "active", False):
        if _request.version is None:
            _request.version = _read_version()
        return _request.version
    return _read_version()


def snapshot_version_key() -> str | None:
    """The version's key as Redis stores it, for a request that reads it along with a round
    trip of its own (the handler's key check) and hands it to ``snapshot_version_seen``; None
    when the cache is not Redis."""
    return cache_raw_key(VERSION_KEY)


def snapshot_version_seen(raw: bytes | None) -> None:
    """The version as the current request read it (``snapshot_version_key``), before any
    lookup: the request uses it instead of reading it again. A missing one is read as usual."""
    if raw is not None and getattr(_request, "active", False) and _request.version is None:
        _request.version = cache_raw_value(raw)


def _read_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:  # first use, or Redis lost it: any new token will do
        cache.add(VERSION_KEY, secrets.token_hex(8), timeout=None)
        version = cache.get(VERSION_KEY) or ""
    return version


def snapshot_bump() -> None:
    """Every process reads again at its next lookup: now, and after the current transaction
    commits (see the module's docstring)."""
    _bump()
    if connection.in_atomic_block:
        transaction.on_commit(_bump, robust=True)


def _bump() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(8), timeout=None)
    _request.version = None  # this request sees its own change at its next lookup


# A request reads the version once: ``request_started`` / ``request_finished`` (providers.apps).
_request = threading.local()


def snapshot_request_started(**kwargs) -> None:
    _request.active, _request.version = True, None


def snapshot_request_finished(**kwargs) -> None:
    _request.active, _request.version = False, None


def snapshot_clear_local() -> None:
    """Forget this process's copies (what another process, started afresh, would have)."""
    with _lock:
        _local.clear()


def on_snapshot_source_written(sender, **kwargs) -> None:
    """``post_save`` / ``post_delete`` of the models the copies are made of."""
    snapshot_bump()


# --- the copies -------------------------------------------------------------------------------
def service_by_code(code: str):
    """The service of this code (any case), a fresh instance, or None."""
    from providers.models import Service

    found = snapshot_get("services", lambda: _by(Service.objects.all(), lambda s: s.code.lower()))
    found = found.get(code.lower())
    return instance_copy(found) if found is not None else None


def country_by_sms_activate_id(sms_activate_id: int):
    """The country of this SMS-Activate id, a fresh instance, or None."""
    from providers.models import Country

    found = snapshot_get(
        "countries", lambda: _by(Country.objects.all(), lambda c: c.sms_activate_id)
    )
    found = found.get(sms_activate_id)
    return instance_copy(found) if found is not None else None


def price_book():
    """Every price rule, as a ``PriceBook`` (read-only once made)."""
    from providers.pricing import PriceBook

    return snapshot_get("price_rules", PriceBook)


def offers_in_stock(*, service_id: int, country_id: int) -> list:
    """The in-stock offers of enabled providers for this service and country, each a fresh
    instance with a fresh instance of its provider (callers may set attributes on them)."""
    from providers.models import Offer

    kept = snapshot_get(
        f"offers:{service_id}:{country_id}",
        lambda: list(
            Offer.objects.filter(
                service_id=service_id, country_id=country_id, stock__gt=0, provider__enabled=True
            ).select_related("provider")
        ),
    )
    return [_fresh_offer(offer) for offer in kept]


def _fresh_offer(offer):
    fresh = instance_copy(offer)
    fresh.provider = instance_copy(offer.provider)
    return fresh


def _by(rows, key: Callable[[Any], Any]) -> dict:
    """The rows by ``key``, the first in the model's order winning (as ``.first()`` would)."""
    found: dict = {}
    for row in rows:
        found.setdefault(key(row), row)
    return found


def _sms_activate_id(country) -> int:
    return country.sms_activate_id
