"""The version of a customer's open orders that My Numbers' poll compares with what the page
shows (``selectors.open_orders_version``: a digest of every open order's shown fields), kept in
Redis so that a poll reads no row while nothing changed.

The copy (``orders:<layout>:<user id>``) is kept by ``smsbox.copies``: every write of the
customer's activations, rentals and SMS drops it (the models' signals, and the services that
write with plain SQL: the purchase's step 3 and the expiry sweep), at once and again after the
commit; a poll that finds none computes the digest (one query) and stores it unless a write
came meanwhile. A page reads the version *before* the rows it shows, so a change committed while
it was being rendered makes the next poll bring it. A copy lives
``SMSBOX_DASHBOARD_VERSION_SECONDS``, which bounds a lost drop (a process killed between its
commit and its callback); without Redis every poll computes the digest.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from rentals import selectors
from rentals.activation_cache import activation_cache_keys
from rentals.models import Activation, Rental
from smsbox.copies import copies_drop, copy_fill, copy_read
from smsbox.models import User


def open_orders_current(*, user: User) -> str:
    """The version of ``user``'s open orders now: one Redis round trip, or the digest's query
    when there is no copy. Read it before the rows it stands for."""
    keys = _keys(user.pk)
    copy, token = copy_read(*keys)
    if copy is not None:
        return copy.decode()
    digest = selectors.open_orders_version(user=user)
    copy_fill(*keys, seen=token, value=digest, seconds=settings.SMSBOX_DASHBOARD_VERSION_SECONDS)
    return digest


def open_orders_changed(user_ids: Iterable[int]) -> None:
    """The open orders of these customers changed: drop their versions now and, inside a
    transaction, again after it commits."""
    copies_drop([_keys(user_id) for user_id in sorted(set(user_ids))])


def activations_written(rows: Iterable[tuple[int, int]]) -> None:
    """These activations, ``(id, owner's id)``, were written: drop their cached copies
    (``rentals.activation_cache``) and their owners' versions, in one round trip now and,
    inside a transaction, one more after it commits."""
    rows = list(rows)
    owners = sorted({user_id for _, user_id in rows})
    copies_drop([*(activation_cache_keys(ident) for ident, _ in rows), *(_keys(u) for u in owners)])


def on_order_written(sender, instance, **kwargs) -> None:
    """``post_save`` / ``post_delete`` of Activation, Rental and SmsMessage."""
    if isinstance(instance, Activation):
        activations_written([(instance.pk, instance.user_id)])
        return
    user_id = _owner(instance)
    if user_id is not None:
        open_orders_changed([user_id])


def _owner(instance) -> int | None:
    if isinstance(instance, Rental):
        return instance.user_id
    for field, model in (("activation", Activation), ("rental", Rental)):
        order_id = getattr(instance, f"{field}_id")
        if order_id is None:
            continue
        order = instance._state.fields_cache.get(field)  # assigned by the intake, usually
        if order is not None:
            return order.user_id
        return model.objects.filter(pk=order_id).values_list("user_id", flat=True).first()
    return None


def _keys(user_id: int) -> tuple[str, str]:
    return f"orders:{_LAYOUT}:{user_id}", f"orders:gen:{user_id}"


# The digest's make-up: part of the copy's key, so that a process of another release never
# compares its digests with another's. Change it whenever the digest's query changes.
_LAYOUT = 1
