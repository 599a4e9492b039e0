"""Reads of rentals: activations and their messages, always scoped to their owner."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from rentals.activation_cache import (
    COLUMNS as CACHED_COLUMNS,
)
from rentals.activation_cache import (
    COUNTRY_COLUMNS,
    SERVICE_COLUMNS,
    activation_cache_decode,
    activation_cache_enabled,
    activation_cache_fill,
    activation_cache_get,
)
from rentals.models import Activation, SmsMessage
from rentals.status import handler_status
from smsbox import parsing
from smsbox.errors import NotFound
from smsbox.instances import sql_constants
from smsbox.models import User
from smsbox.money import ZERO
from wallets.models import Wallet

State = Activation.State

# Action names as the interfaces show them.
ACTION_READY = "ready"
ACTION_RESEND = "resend"
ACTION_FINISH = "finish"
ACTION_CANCEL = "cancel"
ACTION_REPLACE = "replace"
ACTION_REUSE = "reuse"
ACTION_SKIP = "skip"


def activation_get_for_user(*, user: User, ident: int | str) -> Activation:
    """One of ``user``'s activations by numeric id or display number; ``NoActivation``
    (NOT_FOUND, handler token NO_ACTIVATION) for anyone else's or for nonsense."""
    from rentals.errors import NoActivation

    ident = str(ident).strip()
    # One unique-index read (primary key or display number) with the owner compared here: no
    # ORDER BY and no owner in the WHERE, or PostgreSQL may walk the owner's activations instead
    # of using the key.
    activations = Activation.objects.select_related("service", "country").order_by()
    if parsing.is_digits(ident):
        found = activations.filter(pk=int(ident)).first()
    else:
        found = activations.filter(display_number=ident.upper()).first() if ident else None
    if found is None or found.user_id != user.pk:
        raise NoActivation()
    return found


def activation_status_for_user(*, user: User, activation_id: int) -> Activation:
    """What a status poll needs (state, code, ready, when the first SMS came) of one of
    ``user``'s activations, read from its row by primary key (without Redis: with it, polls
    read the activation's cached copy). ``NoActivation`` otherwise."""
    from rentals.errors import NoActivation

    found = _activation_status_row(activation_id)
    if found is None or found.user_id != user.pk:
        raise NoActivation()
    return found


def activation_handler_status_for_user(
    *, user: User, activation_id: int, cached: Sequence[bytes | None] | None = None
) -> str:
    """The handler protocol's ``getStatus`` answer for one of ``user``'s activations, from its
    Redis copy when there is one (``rentals.activation_cache``). ``cached``: the copy and its
    token as the caller's key-check round trip read them (``activation_cache_keys``); without
    them they are read here. ``NoActivation`` otherwise."""
    from rentals.errors import NoActivation

    if not activation_cache_enabled():
        return handler_status(activation_status_for_user(user=user, activation_id=activation_id))
    found = _activation_polled(activation_id, cached, related=False)
    if found is None or found.user_id != user.pk:
        raise NoActivation()
    return handler_status(found)


def _activation_status_row(activation_id: int) -> Activation | None:
    """The status fields of one activation, whoever owns it."""
    if connection.vendor != "postgresql":  # plain SQL skips the converters SQLite needs
        return (
            Activation.objects.filter(pk=activation_id)
            .order_by()
            .only("id", "user_id", "state", "code", "ready", "sms_received_at")
            .first()
        )
    return _activation_detail_row("a.id = %s", activation_id)


def _instance(model, fields, values):
    """A model instance of a row (``fields`` in the model's order): the other fields stay
    deferred, which costs less than building them with their defaults."""
    return model.from_db(connection.alias, fields, values)


def activation_detail_for_user(
    *, user: User, ident: int | str, cached: Sequence[bytes | None] | None = None
) -> Activation:
    """What the REST detail shows of one of ``user``'s activations (by id or display number),
    with its service and country. By id, from its Redis copy when there is one (``cached``: as
    for ``activation_handler_status_for_user``); else one unique-index read with two joins, in
    plain SQL because clients poll it. ``NoActivation`` otherwise."""
    from rentals.errors import NoActivation

    if connection.vendor != "postgresql":  # plain SQL skips the converters SQLite needs
        return activation_get_for_user(user=user, ident=ident)
    ident = str(ident).strip()
    if parsing.is_digits(ident):
        if activation_cache_enabled():
            found = _activation_polled(int(ident), cached)
        else:
            found = _activation_detail_row("a.id = %s", int(ident))
    elif ident:
        found = _activation_detail_row("a.display_number = %s", ident.upper()[:20])
    else:
        found = None
    if found is None or found.user_id != user.pk:
        raise NoActivation()
    return found


def _activation_polled(
    activation_id: int, cached: Sequence[bytes | None] | None, *, related: bool = True
) -> Activation | None:
    """One activation as polls show it, whoever owns it: its Redis copy, or its row (then
    copied unless it was written meanwhile); None when there is no such activation. Without
    ``related``, a copy's service and country are left unread."""
    copy, token = cached if cached is not None else activation_cache_get(activation_id)
    if copy is not None:
        return activation_cache_decode(copy, related=related)
    found = _activation_detail_row("a.id = %s", activation_id)
    if found is not None:
        activation_cache_fill(activation=found, token=token)
    return found


def _activation_detail_row(where: str, value: int | str) -> Activation | None:
    """The polled fields of the activation matching ``where``, with service and country. A
    unique key alone: the owner is compared by the caller, because with ``AND user_id = …`` the
    planner may walk the owner's index over all their activations instead."""
    from providers.models import Country, Service

    columns = ", ".join(f"a.{c}" for c in CACHED_COLUMNS)
    service = ", ".join(f"s.{c}" for c in SERVICE_COLUMNS)
    country = ", ".join(f"c.{c}" for c in COUNTRY_COLUMNS)
    sql = (
        f"SELECT {columns}, {service}, {country} "  # noqa: S608 (constants)
        f"FROM {Activation._meta.db_table} a "
        f"JOIN {Service._meta.db_table} s ON s.id = a.service_id "
        f"JOIN {Country._meta.db_table} c ON c.id = a.country_id "
        f"WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    size, service_size = len(CACHED_COLUMNS), len(SERVICE_COLUMNS)
    activation = _instance(Activation, CACHED_COLUMNS, row[:size])
    activation.service = _instance(
        Service, ("id", *SERVICE_COLUMNS), (activation.service_id, *row[size : size + service_size])
    )
    activation.country = _instance(
        Country, ("id", *COUNTRY_COLUMNS), (activation.country_id, *row[size + service_size :])
    )
    return activation


def activation_get_by_binding_key(*, binding_key: str) -> Activation:
    """The activation of a public record link; ``NotFound`` otherwise."""
    found = (
        Activation.objects.select_related("service", "country")
        .filter(binding_key=binding_key)
        .first()
        if binding_key
        else None
    )
    if found is None:
        raise NotFound("No such record.")
    return found


def activations_for_user(
    *,
    user: User,
    state: str | list[str] | None = None,
    service: str | None = None,
    country: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str = "",
) -> QuerySet[Activation]:
    """The customer's activations, newest first; ``state`` one state or a list of them,
    ``service`` a service code, ``country`` an SMS-Activate country id, ``search`` part of the
    display number or of the phone number."""
    activations = Activation.objects.select_related("service", "country").filter(user=user)
    if search.strip():
        activations = activations.filter(number_matches(search))
    if state:
        activations = activations.filter(state__in=[state] if isinstance(state, str) else state)
    if service:
        activations = activations.filter(service__code=service)
    if country is not None:
        activations = activations.filter(country__sms_activate_id=country)
    if since:
        activations = activations.filter(created_at__gte=since)
    if until:
        activations = activations.filter(created_at__lt=until)
    return activations.order_by("-created_at", "-id")


def activations_open_for_user(*, user: User) -> QuerySet[Activation]:
    return activations_for_user(user=user, state=list(Activation.OPEN_STATES))


def number_matches(search: str) -> Q:
    """Display numbers containing ``search``, or phones containing its digits (``+1 202…``)."""
    term = search.strip()
    digits = parsing.digits_in(term)
    found = Q(display_number__icontains=term)
    return found | Q(phone__contains=digits) if digits else found


def open_orders_for_user(*, user: User) -> tuple[list[Activation], list]:
    """What My Numbers shows: the customer's open activations and rentals, newest first, each
    with its messages (oldest first) — four queries however many there are."""
    from rentals.models import Rental

    messages = Prefetch("messages", queryset=SmsMessage.objects.order_by("received_at", "id"))
    activations = activations_open_for_user(user=user).prefetch_related(messages)
    rentals = (
        Rental.objects.filter(user=user, state__in=Rental.OPEN_STATES)
        .select_related("country", "service")
        .prefetch_related(messages)
        .order_by("-created_at", "-id")
    )
    return list(activations), list(rentals)


def open_orders_version(*, user: User) -> str:
    """A digest of everything My Numbers shows of the open orders (one query, no rows built):
    a poll that brings the digest it has needs no new page while it is unchanged. Plain SQL:
    it runs every few seconds per open page, and building it with the ORM cost more than the
    query itself."""
    with connection.cursor() as cursor:
        cursor.execute(_open_orders_sql(), [user.pk, *_OPEN_ACTIVATION, user.pk, *_OPEN_RENTAL])
        rows = repr(sorted(cursor.fetchall())).encode()
    return hashlib.blake2b(rows, digest_size=8).hexdigest()


_OPEN_ACTIVATION = [str(state) for state in Activation.OPEN_STATES]
_OPEN_RENTAL: list[str] = []  # filled with the Rental model on first use (it imports this module)


@functools.cache
def _open_orders_sql() -> str:
    """Every open order's kind, id, state, code, flag, resend time, expiry and message count
    (the times as the database writes them: a digest needs no datetime objects)."""
    from rentals.models import Rental

    _OPEN_RENTAL.extend(str(state) for state in Rental.OPEN_STATES)
    messages = SmsMessage._meta.db_table
    activation_states = ", ".join(["%s"] * len(_OPEN_ACTIVATION))
    rental_states = ", ".join(["%s"] * len(_OPEN_RENTAL))
    return (
        "SELECT 'a', a.id, a.state, a.code, a.ready, CAST(a.resend_available_at AS TEXT), "  # noqa: S608 (constants)
        "CAST(a.expires_at AS TEXT), "
        f"(SELECT COUNT(*) FROM {messages} m WHERE m.activation_id = a.id) "
        f"FROM {Activation._meta.db_table} a "
        f"WHERE a.user_id = %s AND a.state IN ({activation_states}) "
        "UNION ALL "
        "SELECT 'r', r.id, r.state, '', r.auto_renew, NULL, CAST(r.expires_at AS TEXT), "
        f"(SELECT COUNT(*) FROM {messages} m WHERE m.rental_id = r.id) "
        f"FROM {Rental._meta.db_table} r "
        f"WHERE r.user_id = %s AND r.state IN ({rental_states})"
    )


def favourites_for_user(*, user: User) -> QuerySet:
    from rentals.models import Favourite

    return Favourite.objects.filter(user=user).select_related("service", "country")


def messages_for_user(*, user: User) -> QuerySet[SmsMessage]:
    """Every SMS that reached the customer, on their activations and their rentals, newest
    first (an activation's messages that came after its refund are kept for support but not
    shown)."""
    shown = [state for state in State.values if state not in Activation.REFUNDED_STATES]
    # Two queries in one (each reaches the messages through the customer's own index), not one
    # with OR across both joins, which PostgreSQL can only answer by reading every message.
    of_activations = SmsMessage.objects.filter(activation__user=user, activation__state__in=shown)
    of_rentals = SmsMessage.objects.filter(rental__user=user)
    return of_activations.union(of_rentals).order_by("-received_at", "-id")


def messages_for_activation(*, activation: Activation) -> QuerySet[SmsMessage]:
    if activation.state in Activation.REFUNDED_STATES:
        return SmsMessage.objects.none()
    return activation.messages.order_by("received_at", "id")


def resend_cooldown_seconds(activation: Activation, *, now: datetime | None = None) -> int:
    """Seconds until another code may be requested (0 when it may be now)."""
    if activation.resend_available_at is None:
        return 0
    left = (activation.resend_available_at - (now or timezone.now())).total_seconds()
    return max(int(left + 0.999), 0)


def early_cancel_seconds(activation: Activation, *, now: datetime | None = None) -> int:
    start = activation.number_at or activation.created_at
    allowed = start + timedelta(seconds=settings.SMSBOX_EARLY_CANCEL_SECONDS)
    return max(int((allowed - (now or timezone.now())).total_seconds() + 0.999), 0)


def activation_available_actions(
    activation: Activation, *, now: datetime | None = None
) -> list[str]:
    """What the customer may do now (the dashboard shows only these)."""
    now = now or timezone.now()
    state = activation.state
    actions: list[str] = []
    if state in (State.WAITING, State.RESEND) and not activation.ready:
        actions.append(ACTION_READY)
    if state in (State.RECEIVED, State.RESEND) and activation.has_sms:
        if resend_cooldown_seconds(activation, now=now) == 0:
            actions.append(ACTION_RESEND)
        actions.append(ACTION_FINISH)
    if state == State.WAITING and early_cancel_seconds(activation, now=now) == 0:
        actions += [ACTION_CANCEL, ACTION_FINISH, ACTION_REPLACE]
    if state == State.COMPLETED and activation.upstream_id:
        window = timedelta(seconds=settings.SMSBOX_REUSE_WINDOW_SECONDS)
        if now <= activation.created_at + window:
            actions.append(ACTION_REUSE)
    if activation.phone:
        actions.append(ACTION_SKIP)
    return actions


def activations_frozen_amount(wallet: Wallet) -> Decimal:
    """The charges of the wallet owner's activations that may still be refunded."""
    if wallet.user_id is None:
        return ZERO
    total = Activation.objects.filter(
        user_id=wallet.user_id, state__in=Activation.REFUNDABLE_STATES
    ).aggregate(total=Sum("price"))["total"]
    return total or ZERO


def activations_deletion_guard(user: User) -> str | None:
    """An account with an activation that is not final is not deleted yet."""
    if Activation.objects.filter(user=user, state__in=Activation.OPEN_STATES).exists():
        return gettext_noop("open activation")
    return None


def activations_by_terms(*, user: User, terms: list[str]) -> QuerySet[Activation]:
    """The customer's activations whose binding key, display number or phone number (digits,
    with or without ``+``) is one of ``terms``; nobody else's, whatever the terms."""
    keys = [t.strip() for t in terms if t and t.strip()]
    phones = [parsing.digits_in(t) for t in keys]
    return activations_for_user(user=user).filter(
        Q(binding_key__in=keys)
        | Q(display_number__in=[k.upper() for k in keys])
        | Q(phone__in=[p for p in phones if p])
    )


def rental_get_by_binding_key(*, binding_key: str):
    """The long-term rental of a public record link; ``NotFound`` otherwise."""
    from rentals.models import Rental

    found = (
        Rental.objects.select_related("service", "country").filter(binding_key=binding_key).first()
        if binding_key
        else None
    )
    if found is None:
        raise NotFound("No such record.")
    return found


def rentals_for_export(*, user: User, scope: str, terms: list[str] = ()) -> QuerySet:
    """The customer's rentals a token export names: ``current`` (active), ``renewal`` (active
    with auto-renew on), ``all``, or ``selected`` by display number."""
    from rentals.models import Rental

    rentals = Rental.objects.filter(user=user).exclude(phone="").order_by("-created_at", "-id")
    if scope == "current":
        return rentals.filter(state=Rental.State.ACTIVE)
    if scope == "renewal":
        return rentals.filter(state=Rental.State.ACTIVE, auto_renew=True)
    if scope == "selected":  # by display number: a bare number selects activations
        return rentals.filter(display_number__in=[str(t).upper() for t in terms])
    return rentals


def rentals_by_terms(*, user: User, terms: list[str]) -> QuerySet:
    """The customer's rentals whose binding key, display number or phone is one of ``terms``."""
    from rentals.models import Rental

    keys = [t.strip() for t in terms if t and t.strip()]
    phones = [p for p in (parsing.digits_in(t) for t in keys) if p]
    return (
        Rental.objects.filter(user=user)
        .filter(
            Q(binding_key__in=keys)
            | Q(display_number__in=[k.upper() for k in keys])
            | Q(phone__in=phones)
        )
        .order_by("-created_at", "-id")
    )


# --- the customers' counts of open activations -------------------------------------------------
class OpenCountDifference(NamedTuple):
    user_id: int
    kept: int  # the customer's ``OpenActivations`` row (0 when they have none)
    actual: int  # their activations in ``Activation.OPEN_STATES``


def open_counts_differing() -> list[OpenCountDifference]:
    """The customers whose count of open activations (``OpenActivations``, kept by triggers on
    PostgreSQL) differs from their open activations, by customer, as one snapshot sees them
    (a trigger writes the count in the statement that writes the activation). Empty on SQLite,
    where nothing is kept: purchases count."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS_DIFFERING)
        return [OpenCountDifference(*row) for row in cursor.fetchall()]


_COUNTS_DIFFERING = f"""
SELECT user_id, coalesce(o.open_count, 0), coalesce(a.open, 0)
FROM rentals_openactivations o
FULL JOIN (
    SELECT user_id, count(*) AS open FROM rentals_activation
    WHERE state IN ({sql_constants(Activation.OPEN_STATES)})
    GROUP BY user_id
) a USING (user_id)
WHERE coalesce(o.open_count, 0) <> coalesce(a.open, 0)
ORDER BY user_id
"""  # noqa: S608 (the model's constants)
