"""Every transition of an activation, one service each (DESIGN.md "An activation's life").

Each transition locks the activation row, re-checks its state and refuses with a typed error
otherwise; money moves through ``wallets.services`` with the activation as the reference, so the
charge is ``charge:activation:<id>`` and the one possible refund ``refund:activation:<id>``: a
cancel racing an expiry or an arriving SMS refunds once or not at all. Lock order everywhere:
the user row (purchases only), then the activation row, then the wallet row.

Price rule of the purchase saga: the customer is charged the retail price of the cheapest offer
that can serve the order when the order is placed (the quoted price). The router then buys only
offers whose retail price is at most that charge, so a failover never sells below cost: when
every offer at that price fails, the order fails and is refunded. The upstream cost actually
paid is recorded on the activation. One charge and at most one refund per activation, so the
ledger stays exact.

Upstream side effects of a settled transition (cancel, finish) are sent after the commit by the
``activation_upstream_close`` task; they are best effort, the upstream closes what we forget.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from providers.adapters import NoNumbers, OutcomeUnknown, Transient, UpstreamError, adapter_for
from providers.models import Country, Service
from providers.router import RoutedOffer, RoutedPurchase, purchase_route, routable_offers
from providers.services import purchase_attempt_insert_sql
from rentals.errors import (
    BadQuantity,
    BadStatus,
    CancelAfterSms,
    EarlyCancelDenied,
    OrderAlreadyExists,
    ReplaceAfterSms,
    ResendCooldown,
    ReuseNotAvailable,
)
from rentals.models import Activation, NumberBan
from rentals.orders_version import activations_written
from rentals.services.expiry import Expired, expire_batch_sql
from rentals.services.policy import (
    BANNED_NUMBERS,
    LOCK_OPEN_COUNT,
    NEXT_ACTIVATION_ID,
    purchases_allowed_check,
    spend_policy_check_locked,
    spend_policy_check_locked_sql,
    spend_policy_check_price,
    spend_policy_effective,
    spend_policy_guard,
    spend_policy_of,
)
from smsbox.errors import ApplicationError, InvalidInput
from smsbox.instances import bound_cursor, insert_values
from smsbox.models import User
from smsbox.outbox import task_enqueue
from wallets.errors import RefundExceedsCharge
from wallets.models import LedgerEntry
from wallets.services import (
    Reference,
    wallet_charge,
    wallet_charge_guarded,
    wallet_charge_recording,
    wallet_get_or_create,
    wallet_refund,
)

logger = logging.getLogger(__name__)

State = Activation.State
REFERENCE_KIND = "activation"
BATCH_MAX = 50
DISPLAY_NUMBER_ATTEMPTS = 5


def activation_reference(activation: Activation) -> Reference:
    return Reference(REFERENCE_KIND, activation.pk)


# --- purchase (the saga) ----------------------------------------------------------------------
def activation_purchase(
    *,
    user: User,
    service: Service,
    country: Country,
    operator: str = "",
    max_price: Decimal | None = None,
    idempotency_key: str | None = None,
    webhook_url: str = "",
    replaces: Activation | None = None,
) -> Activation:
    """Buy a number: (1) charge and record ``processing``, (2) buy upstream outside any
    transaction, (3) record the number, or refund when nothing was bought.

    The same ``idempotency_key`` again returns the same activation (charged once). A purchase
    whose upstream outcome is unknown returns the activation in ``unknown`` (no number yet);
    reconciliation settles it. Raises ``NoNumbers``, ``MaxPriceTooLow`` (WRONG_MAX_PRICE),
    ``InsufficientFunds`` (NO_BALANCE) or a ``SpendLimitExceeded``.
    """
    key = (idempotency_key or "").strip()
    if len(key) > Activation._meta.get_field("idempotency_key").max_length:
        raise InvalidInput("The idempotency key is at most 100 characters.")
    if key:
        existing = Activation.objects.filter(user=user, idempotency_key=key).first()
        if existing is not None:
            return _replayed(existing, service=service, country=country)
    offers = _quoted_offers(
        service=service, country=country, operator=operator, max_price=max_price
    )
    try:
        activation, banned = _open(
            user=user,
            service=service,
            country=country,
            operator=operator,
            price=offers[0].retail_price,
            key=key,
            webhook_url=webhook_url,
            replaces=replaces,
        )
    except IntegrityError:
        existing = (
            Activation.objects.filter(user=user, idempotency_key=key).first() if key else None
        )
        if existing is None:
            raise
        return _replayed(existing, service=service, country=country)
    if replaces is not None and replaces.phone:
        banned.append(replaces.phone)
    return _buy(activation, exclude_phones=banned, offers=offers)


def _quoted_offers(
    *, service: Service, country: Country, operator: str, max_price: Decimal | None
) -> list[RoutedOffer]:
    """The offers the purchase may buy from, cheapest first: the first one sets the price."""
    offers = routable_offers(
        service=service, country=country, operator=operator, max_price=max_price
    )
    if not offers:
        raise NoNumbers()
    return offers


def _replayed(existing: Activation, *, service: Service, country: Country) -> Activation:
    if (existing.service_id, existing.country_id) != (service.pk, country.pk):
        raise OrderAlreadyExists(extra={"activation_id": existing.pk})
    if existing.state == State.FAILED:
        raise NoNumbers(extra={"activation_id": existing.pk})
    return existing


def _open(
    *,
    user: User,
    service: Service,
    country: Country,
    operator: str,
    price: Decimal,
    key: str,
    webhook_url: str,
    replaces: Activation | None,
) -> tuple[Activation, list[str]]:
    """Step 1: check the spend policy, record and charge, all or nothing (one statement or one
    transaction). Answers the activation and the numbers the customer banned (never to be given
    to them again)."""
    now = timezone.now()
    fields = dict(
        user=user,
        service=service,
        country=country,
        operator=operator,
        price=price,
        state=State.PROCESSING,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SMSBOX_ACTIVATION_TTL),
        idempotency_key=key,
        webhook_url=webhook_url,
        replaces=replaces,
    )
    purchases_allowed_check(user=user)
    if connection.vendor == "postgresql":
        return _open_sql(fields=fields)
    policy = spend_policy_effective(user=user)
    spend_policy_check_price(policy=policy, price=price)
    with transaction.atomic():
        _lock_customer(user.pk)
        spend_policy_check_locked(user=user, policy=policy, price=price)
        activation = _create_numbered(**fields)
        wallet_charge(
            wallet=wallet_get_or_create(user=user),
            amount=price,
            reference=activation_reference(activation),
            memo=_charge_memo(activation),
        )
    return activation, list(NumberBan.objects.filter(user=user).values_list("phone", flat=True))


def _charge_memo(activation: Activation) -> str:
    return f"Activation {activation.display_number} ({activation.service.code})"


def _open_sql(*, fields: dict) -> tuple[Activation, list[str]]:
    """Step 1 on PostgreSQL. Usually one statement (``_open_guarded``); when that one does not
    charge (a daily cap, a limit reached, money short, a customer's first purchase), one
    transaction of at most four (``_open_locked``), which charges or says why not. A taken
    display number (unique) writes nothing and draws another."""
    for attempt in range(DISPLAY_NUMBER_ATTEMPTS):
        activation = Activation(
            display_number=_display_number(fields["created_at"]),
            binding_key=secrets.token_urlsafe(24),
            **fields,
        )
        try:
            banned = _open_guarded(activation)
            if banned is None:
                banned = _open_locked(activation)
        except IntegrityError as exc:
            if "display_number" not in _constraint(exc) or attempt == DISPLAY_NUMBER_ATTEMPTS - 1:
                raise
            logger.info("display number %s taken, drawing another", activation.display_number)
            continue
        activation._state.adding = False
        activation._state.db = connection.alias
        return activation, banned
    raise AssertionError("unreachable")


def _open_guarded(activation: Activation) -> list[str] | None:
    """Step 1 as one statement, needing no transaction around it: the customer's lock and
    their limits (``spend_policy_guard``), the charge, its ledger entry and the activation.
    Answers the customer's banned numbers, or None when it wrote nothing."""
    guard = spend_policy_guard(user=activation.user, price=activation.price)
    if guard is None:
        return None
    guard_sql, guard_params = guard
    row = wallet_charge_guarded(
        guard_sql=guard_sql,
        guard_params=guard_params,
        amount=activation.price,
        reference_kind=REFERENCE_KIND,
        memo=_charge_memo(activation),
        now=activation.created_at,
        record_sql=_INSERT_ACTIVATION_GUARDED,
        record_params=insert_values(activation, _ACTIVATION_FIELDS[1:]),
    )
    if row is None:
        return None
    _balance, _wallet_id, activation.pk, banned = row
    return banned


def _open_locked(activation: Activation) -> list[str]:
    """Step 1 in one transaction of three statements: lock the customer (reading their wallet's
    id, a fresh activation id, their own spend limits and their banned numbers) and lock and
    read their count of open activations, in one round trip; read today's spending when a daily
    cap is set; then charge the wallet and insert the ledger entry and the activation in one
    round trip. Answers the customer's banned numbers or raises why it may not charge."""
    user = activation.user
    with transaction.atomic():
        locked = _lock_customer_sql(user.pk)
        activation.pk = locked.activation_id
        policy = spend_policy_of(user=user, own=locked.own_policy)
        spend_policy_check_price(policy=policy, price=activation.price)
        spend_policy_check_locked_sql(
            user_id=user.pk,
            policy=policy,
            price=activation.price,
            open_count=locked.open_count,
        )
        wallet_id = locked.wallet_id
        if wallet_id is None:  # never deposited: no money, but the error says so
            wallet_id = wallet_get_or_create(user=user).pk
        wallet_charge_recording(
            wallet_id=wallet_id,
            amount=activation.price,
            reference=activation_reference(activation),
            memo=_charge_memo(activation),
            now=activation.created_at,
            record_sql=_INSERT_ACTIVATION,
            record_params=_insert_values(activation),
        )
    return locked.banned


@dataclass(frozen=True)
class _LockedCustomer:
    wallet_id: int | None
    activation_id: int
    own_policy: tuple | None  # their SpendPolicy's (max price, daily cap, max concurrent)
    banned: list[str]
    open_count: int


def _lock_customer_sql(user_id: int) -> _LockedCustomer:
    """The customer's row lock (first in the lock order), with their wallet's id, the next
    activation id, their own spend limits and their banned numbers in one statement, then their
    count of open activations locked (``LOCK_OPEN_COUNT``: a second statement, so that it reads
    what was committed before the first got the lock), both sent in one round trip. The
    customer's row is taken ``FOR NO KEY UPDATE``: it excludes every other purchase, cancel
    and sweep of theirs (which take it so or ``FOR UPDATE``), not a foreign key's check."""
    with connection.cursor() as cursor:
        cursor.execute(f"{_LOCK_CUSTOMER}; {LOCK_OPEN_COUNT}", [user_id, user_id])
        wallet_id, activation_id, has_policy, *own, banned = cursor.fetchone()
        cursor.nextset()
        (open_count,) = cursor.fetchone()
    own_policy = tuple(own) if has_policy else None
    return _LockedCustomer(wallet_id, activation_id, own_policy, banned, open_count)


_LOCK_CUSTOMER = f"""
SELECT w.id, {NEXT_ACTIVATION_ID},
    p.id IS NOT NULL, p.max_price, p.daily_cap, p.max_concurrent, {BANNED_NUMBERS}
FROM smsbox_user u
LEFT JOIN wallets_wallet w ON w.user_id = u.id
LEFT JOIN rentals_spendpolicy p ON p.user_id = u.id
WHERE u.id = %s FOR NO KEY UPDATE OF u
"""  # noqa: S608 (constants)
# Every column of the activation (fields added later included, with their defaults).
_ACTIVATION_FIELDS = [
    Activation._meta.pk,
    *(f for f in Activation._meta.concrete_fields if not f.primary_key),
]


def _insert_activation_sql(id_value: str, source: str) -> str:
    """The INSERT of an activation from the charge's statement: its id ``id_value``, every
    other column a parameter, one row per row of ``source``."""
    values = ", ".join([id_value] + ["%s"] * (len(_ACTIVATION_FIELDS) - 1))
    columns = ", ".join(f.column for f in _ACTIVATION_FIELDS)
    return f"INSERT INTO rentals_activation ({columns}) SELECT {values} FROM {source}"  # noqa: S608 (constants)


_INSERT_ACTIVATION = _insert_activation_sql("%s", "charged")
_INSERT_ACTIVATION_GUARDED = _insert_activation_sql("guard.reference_id", "charged, guard")


def _insert_values(activation: Activation) -> list:
    return insert_values(activation, _ACTIVATION_FIELDS)


def _constraint(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", "") or ""


def _create_numbered(**fields) -> Activation:
    """Create the activation with a fresh random display number, drawing again (in a
    savepoint) when the number is taken; any other conflict (an idempotency key) is raised."""
    for attempt in range(DISPLAY_NUMBER_ATTEMPTS):
        number = _display_number(fields["created_at"])
        try:
            with transaction.atomic():
                return Activation.objects.create(
                    display_number=number, binding_key=secrets.token_urlsafe(24), **fields
                )
        except IntegrityError:
            taken = Activation.objects.filter(display_number=number).exists()
            if not taken or attempt == DISPLAY_NUMBER_ATTEMPTS - 1:
                raise
            logger.info("display number %s taken, drawing another", number)
    raise AssertionError("unreachable")


def _display_number(now: datetime) -> str:
    """``A`` + date + 8 random digits: short enough to read out, never an integer id."""
    return f"A{now:%y%m%d}{_random_digits():08d}"


def _random_digits() -> int:
    return secrets.randbelow(10**8)


def _buy(
    activation: Activation,
    *,
    exclude_phones: list[str],
    offers: list[RoutedOffer] | None = None,
) -> Activation:
    """Steps 2 and 3 of the saga. Only offers whose retail price is at most the charged price
    are bought, so failing over never sells a pricier number at the cheaper charge. ``offers``:
    those the price was quoted from (not read again)."""
    try:
        routed = purchase_route(
            service=activation.service,
            country=activation.country,
            operator=activation.operator,
            max_price=activation.price,
            exclude_phones=exclude_phones,
            offers=offers,
            record_bought=False,  # step 3 records the attempt with the number
        )
    except OutcomeUnknown as exc:
        return _mark_unknown(activation, exc)
    except ApplicationError as exc:
        _fail(activation, reason=exc.code)
        raise
    except Exception:
        # Anything else (a bug, a lost database connection): refund now if we can; what we
        # cannot settle here stays processing for reconciliation.
        _fail(activation, reason="ERROR")
        raise
    return _deliver(activation, routed)


def _deliver(activation: Activation, routed: RoutedPurchase) -> Activation:
    try:
        if connection.vendor == "postgresql":
            delivered = _give_number_sql(activation, routed)
        else:
            delivered = _give_number_orm(activation, routed)
    except IntegrityError:
        # Reconciliation gave this number to a crashed purchase meanwhile: it is that one's now.
        _record_attempt(routed)  # rolled back with the number
        _fail(activation, reason="NUMBER_TAKEN")
        raise NoNumbers("The number went to another order.") from None
    if delivered is not None:
        return delivered
    # Settled meanwhile (reconciliation took it for a crash): we do not want this number.
    _release(routed.provider, routed.upstream_id)
    return Activation.objects.select_related("user", "service", "country", "provider").get(
        pk=activation.pk
    )


def _give_number_orm(activation: Activation, routed: RoutedPurchase) -> Activation | None:
    with transaction.atomic():
        _record_attempt(routed)
        locked = _lock_row(activation)
        if locked.state != State.PROCESSING:
            return None
        _give_number(
            locked,
            provider=routed.provider,
            upstream_id=routed.upstream_id,
            phone=routed.phone,
            cost=routed.cost,
        )
        return locked


def _give_number_sql(activation: Activation, routed: RoutedPurchase) -> Activation | None:
    """Step 3 on PostgreSQL: one conditional UPDATE (only a purchase still ``processing`` gets
    its number) that also records the purchase attempt, in a savepoint when a caller's
    transaction is open; None when it was settled meanwhile. The UPDATE bypasses the model's
    signals, so the cached copy is dropped here."""
    now = timezone.now()
    params = [routed.provider.pk, routed.upstream_id, routed.phone, routed.cost, now]
    attempt = routed.attempts[-1]
    scope = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with scope, bound_cursor() as cursor:
        if attempt.pk is None:
            attempt_sql, attempt_params = purchase_attempt_insert_sql(attempt)
            recording = (
                f"WITH attempt AS ({attempt_sql}) "  # noqa: S608 (constants)
                f"{_GIVE_NUMBER}RETURNING (SELECT id FROM attempt)"
            )
            cursor.execute(recording, [*attempt_params, *params, activation.pk])
        else:
            cursor.execute(_GIVE_NUMBER + "RETURNING %s", [*params, activation.pk, attempt.pk])
        row = cursor.fetchone()
    activations_written([(activation.pk, activation.user_id)])
    if row is None:
        return None
    attempt.pk, attempt._state.adding = row[0], False
    activation.provider = routed.provider
    activation.upstream_id, activation.phone, activation.cost = params[1:4]
    activation.state, activation.number_at = State.WAITING, now
    return activation


_GIVE_NUMBER = """
UPDATE rentals_activation
SET provider_id = %s, upstream_id = %s, phone = %s, cost = %s, state = 'waiting', number_at = %s
WHERE id = %s AND state = 'processing'
"""


def _record_attempt(routed: RoutedPurchase) -> None:
    """Write the purchase attempt that bought the number, unless written already."""
    attempt = routed.attempts[-1]
    if attempt.pk is None:
        attempt.save(force_insert=True)


def _give_number(
    locked: Activation, *, provider, upstream_id: str, phone: str, cost: Decimal | None
) -> None:
    now = timezone.now()
    locked.provider = provider
    locked.upstream_id = upstream_id
    locked.phone = phone
    locked.cost = cost
    locked.state = State.WAITING
    locked.number_at = now
    locked.save(update_fields=["provider", "upstream_id", "phone", "cost", "state", "number_at"])


def _mark_unknown(activation: Activation, exc: OutcomeUnknown) -> Activation:
    with transaction.atomic():
        locked = _lock(activation)
        if locked.state == State.PROCESSING:
            locked.state = State.UNKNOWN
            locked.provider = getattr(exc, "provider", None)
            locked.memo = f"Purchase outcome unknown: {exc.message}"[:255]
            locked.save(update_fields=["state", "provider", "memo"])
    logger.warning("activation %s: purchase outcome unknown (%s)", activation.pk, exc.message)
    return locked


def _fail(activation: Activation, *, reason: str) -> Activation:
    """Nothing was bought: failed and refunded (only from processing/unknown)."""
    with transaction.atomic():
        locked = _lock(activation)
        if locked.state in Activation.PENDING_STATES:
            _settle(locked, State.FAILED, refund=True, memo=f"Not delivered: {reason}")
    return locked


def activation_abandon(*, activation: Activation) -> Activation:
    """A purchase of unknown outcome whose customer was told "no number" (a protocol with no
    pending answer, such as the handler's ``NO_NUMBERS``): marked ``abandoned``, so
    reconciliation cancels whatever the upstream sold and refunds instead of delivering it.
    Settled meanwhile (the number was delivered, or refunded): returned as it is, so the caller
    can still answer with the number."""
    with transaction.atomic():
        locked = _lock(activation)
        if locked.state in Activation.PENDING_STATES and not locked.abandoned:
            locked.abandoned = True
            locked.memo = f"Abandoned by the client (told no number). {locked.memo}"[:255]
            locked.save(update_fields=["abandoned", "memo"])
    if locked.abandoned:
        logger.info("activation %s abandoned: the client was told no number", locked.pk)
    return locked


# --- transitions ------------------------------------------------------------------------------
def activation_mark_ready(*, activation: Activation, actor: User | None = None) -> Activation:
    """Protocol status 1: the customer says the SMS was sent."""
    with transaction.atomic():
        locked = _lock(activation)
        if locked.state not in (State.WAITING, State.RESEND):
            raise BadStatus(extra=_state_extra(locked))
        if not locked.ready:
            locked.ready = True
            locked.save(update_fields=["ready"])
    return locked


def activation_request_another_code(
    *, activation: Activation, actor: User | None = None
) -> Activation:
    """Protocol status 3: free, only after a code, one request per cooldown; asks the upstream.

    The request is claimed in the database first (state ``resend``, cooldown started), then
    sent upstream; an upstream refusal puts the activation back to ``received``.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(activation)
        if locked.state not in (State.RECEIVED, State.RESEND) or not locked.has_sms:
            raise BadStatus("Another code can be requested only after a code.")
        if locked.resend_available_at and now < locked.resend_available_at:
            seconds = int((locked.resend_available_at - now).total_seconds()) + 1
            raise ResendCooldown(
                f"Another code can be requested in {seconds} seconds.",
                extra={"retry_after": seconds},
            )
        previous = locked.state
        locked.state = State.RESEND
        locked.resend_count += 1
        locked.resend_available_at = now + timedelta(
            seconds=settings.SMSBOX_RESEND_COOLDOWN_SECONDS
        )
        locked.save(update_fields=["state", "resend_count", "resend_available_at"])
    try:
        adapter_for(locked.provider).request_another_sms(upstream_id=locked.upstream_id)
    except UpstreamError:
        with transaction.atomic():
            again = _lock(locked)
            if again.state == State.RESEND and again.resend_count == locked.resend_count:
                again.state = previous
                again.save(update_fields=["state"])
        raise
    return locked


def activation_finish(*, activation: Activation, actor: User | None = None) -> Activation:
    """Protocol status 6: with a code → completed; without one → cancelled and refunded (a
    cancel, so refused in the first minutes like one)."""
    with transaction.atomic():
        locked = _lock(activation)
        if locked.state in (State.RECEIVED, State.RESEND):  # an SMS came: delivered
            _settle(locked, State.COMPLETED, refund=False, memo="Finished")
            _close_upstream(locked, "finish")
            return locked
        if locked.state != State.WAITING:
            raise BadStatus(extra=_state_extra(locked))
        _check_not_early(locked)
        _settle(locked, State.CANCELLED, refund=True, memo="Finished without a code")
        _close_upstream(locked, "cancel")
    return locked


def activation_cancel(*, activation: Activation, actor: User | None = None) -> Activation:
    """Protocol status 8 / -1: only before any SMS, not in the first minutes; refunds."""
    with transaction.atomic():
        locked = _lock(activation)
        _cancel_locked(locked, actor=actor, memo="Cancelled")
    return locked


def _cancel_locked(locked: Activation, *, actor: User | None, memo: str) -> None:
    if locked.has_sms or locked.state in (State.RECEIVED, State.RESEND):
        raise CancelAfterSms(extra=_state_extra(locked))
    if locked.state != State.WAITING:
        raise BadStatus(extra=_state_extra(locked))
    operator = actor if actor is not None and actor.is_staff else None
    if operator is None:
        _check_not_early(locked)
    _settle(locked, State.CANCELLED, refund=True, memo=memo, actor=operator)
    _close_upstream(locked, "cancel")


def activation_replace(*, activation: Activation, actor: User | None = None) -> Activation:
    """Only without an SMS: cancel and refund this one, then buy another number for the same
    service and country (never this number again). Returns the new activation; when nothing
    can be bought the old one stays cancelled and refunded and the error is raised."""
    with transaction.atomic():
        locked = _lock(activation)
        if locked.has_sms or locked.state in (State.RECEIVED, State.RESEND):
            raise ReplaceAfterSms(extra=_state_extra(locked))
        _cancel_locked(locked, actor=actor, memo="Replaced")
    return activation_purchase(
        user=locked.user,
        service=locked.service,
        country=locked.country,
        operator=locked.operator,
        webhook_url=locked.webhook_url,
        replaces=locked,
    )


def activation_reuse(*, activation: Activation, actor: User | None = None) -> Activation:
    """After completion, the same number for the same service again (within the upstream's
    window), as a new charged activation."""
    old = Activation.objects.select_related("provider", "service", "country", "user").get(
        pk=activation.pk
    )
    window = timedelta(seconds=settings.SMSBOX_REUSE_WINDOW_SECONDS)
    if old.state != State.COMPLETED or not old.upstream_id or old.provider is None:
        raise ReuseNotAvailable("Only a completed activation's number can be used again.")
    if timezone.now() > old.created_at + window:
        raise ReuseNotAvailable("The number can no longer be used again.")
    fresh, _ = _open(
        user=old.user,
        service=old.service,
        country=old.country,
        operator=old.operator,
        price=old.price,
        key="",
        webhook_url=old.webhook_url,
        replaces=None,
    )
    Activation.objects.filter(pk=fresh.pk).update(reuses=old)
    fresh.reuses = old
    try:
        bought = adapter_for(old.provider).reuse(upstream_id=old.upstream_id, country=old.country)
    except OutcomeUnknown as exc:
        exc.provider = old.provider
        return _mark_unknown(fresh, exc)
    except UpstreamError as exc:
        _fail(fresh, reason=exc.code)
        raise ReuseNotAvailable(exc.message) from exc
    with transaction.atomic():
        locked = _lock(fresh)
        if locked.state == State.PROCESSING:
            _give_number(
                locked,
                provider=old.provider,
                upstream_id=bought.upstream_id,
                phone=bought.phone,
                cost=bought.cost,
            )
            return locked
    _release(old.provider, bought.upstream_id)
    return locked


def number_skip(*, activation: Activation, actor: User | None = None) -> NumberBan:
    """The customer bans this activation's number for themselves; the router never gives it
    to them again."""
    if not activation.phone:
        raise BadStatus("This activation has no number yet.")
    ban, _ = NumberBan.objects.get_or_create(
        user_id=activation.user_id,
        phone=activation.phone,
        defaults={"activation": activation},
    )
    return ban


def activation_expire(*, activation: Activation, now: datetime | None = None) -> Activation:
    """Due activations: no SMS → expired and refunded; with an SMS → completed. A no-op for
    activations that are not due or already settled."""
    with transaction.atomic():
        locked = _lock(activation)
        _expire_locked(locked, now=now or timezone.now())
    return locked


def _expire_locked(locked: Activation, *, now: datetime) -> bool:
    if locked.expires_at > now or locked.state not in Activation.LIVE_STATES:
        return False
    if locked.state == State.WAITING and not locked.has_sms:
        _settle(locked, State.EXPIRED, refund=True, memo="Expired without an SMS")
        _close_upstream(locked, "cancel")
    else:
        _settle(locked, State.COMPLETED, refund=False, memo="Expired after an SMS")
        _close_upstream(locked, "finish")
    return True


def activations_expire_due(
    *, limit: int = 1000, now: datetime | None = None, batch_size: int | None = None
) -> int:
    """Expire up to ``limit`` due activations, ``batch_size`` (``SMSBOX_EXPIRY_BATCH_SIZE``)
    per transaction, claimed with ``SKIP LOCKED`` so that sweeps on several workers share the
    work; memory stays that of one batch whatever the number due. Answers how many."""
    size = batch_size or settings.SMSBOX_EXPIRY_BATCH_SIZE
    done = 0
    while done < limit:
        moment = now or timezone.now()
        count = _expire_batch(limit=min(size, limit - done), now=moment)
        if count == 0:
            break
        done += count
    return done


def _expire_batch(*, limit: int, now: datetime) -> int:
    """One batch: set-based on PostgreSQL (``expiry.expire_batch_sql``); when a refund of it
    does not pass the ledger's checks, or on SQLite, the batch is done row by row instead."""
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                settled = expire_batch_sql(limit=limit, now=now)
                _after_expiry(settled)
            return len(settled)
        except RefundExceedsCharge:
            logger.warning("expiry batch refused by the ledger's checks: row by row instead")
    with transaction.atomic():
        rows = list(
            Activation.objects.select_for_update(skip_locked=True)
            .filter(state__in=Activation.LIVE_STATES, expires_at__lte=now)
            .order_by("expires_at", "pk")[:limit]
        )
        for row in rows:
            _expire_locked(row, now=now)
    return len(rows)


def _after_expiry(settled: list[Expired]) -> None:
    """What the row-by-row path does through ``save()`` and ``_close_upstream``: drop the
    cached copies and, after the commit, tell the upstreams, one task per action."""
    activations_written((row.id, row.user_id) for row in settled)
    for action in ("cancel", "finish"):
        ids = [row.id for row in settled if row.upstream and row.action == action]
        if ids:
            transaction.on_commit(partial(_enqueue_close_many, ids, action), robust=True)


def activation_force_complete(*, activation: Activation, actor: User) -> Activation:
    """An operator closes an activation as completed, without a refund."""
    with transaction.atomic():
        locked = _lock(activation)
        if locked.state not in Activation.LIVE_STATES:
            raise BadStatus(extra=_state_extra(locked))
        _settle(
            locked,
            State.COMPLETED,
            refund=False,
            memo=f"Completed by operator {actor.pk}",
            actor=actor,
        )
        _close_upstream(locked, "finish")
    return locked


def activation_cancel_refund(*, activation: Activation, actor: User) -> Activation:
    """An operator cancels and refunds an activation that got no SMS, at any time."""
    with transaction.atomic():
        locked = _lock(activation)
        if locked.state in Activation.PENDING_STATES:
            _settle(
                locked,
                State.FAILED,
                refund=True,
                memo=f"Refunded by operator {actor.pk}",
                actor=actor,
            )
            return locked
        _cancel_locked(locked, actor=actor, memo=f"Cancelled by operator {actor.pk}")
    return locked


# --- batch ------------------------------------------------------------------------------------
@dataclass
class BatchItem:
    activation: Activation | None = None
    error: ApplicationError | None = None


@dataclass
class BatchResult:
    items: list[BatchItem] = field(default_factory=list)

    @property
    def success_count(self) -> int:
        return sum(1 for item in self.items if item.activation is not None)

    @property
    def failed_count(self) -> int:
        return sum(1 for item in self.items if item.activation is None)


def activation_purchase_batch(
    *,
    user: User,
    service: Service,
    country: Country,
    quantity: int,
    operator: str = "",
    max_price: Decimal | None = None,
) -> BatchResult:
    """``quantity`` (1 to 50) purchases of one service and country, each its own saga; the
    result lists each one's activation or error."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 50:
        raise BadQuantity(extra={"max": BATCH_MAX})
    result = BatchResult()
    for _ in range(quantity):
        try:
            activation = activation_purchase(
                user=user, service=service, country=country, operator=operator, max_price=max_price
            )
            result.items.append(BatchItem(activation=activation))
        except ApplicationError as exc:
            result.items.append(BatchItem(error=exc))
    return result


# --- helpers ----------------------------------------------------------------------------------
def _lock_customer(user_id: int) -> None:
    """The customer's row lock, no columns read: purchases of one customer check their limits
    in turn, and it comes first in the lock order (customer, activations, wallet)."""
    User.objects.select_for_update().filter(pk=user_id).values_list("pk").first()


def _lock(activation: Activation) -> Activation:
    return (
        Activation.objects.select_for_update(of=("self",))
        .select_related("user", "service", "country", "provider")
        .get(pk=activation.pk)
    )


def _lock_row(activation: Activation) -> Activation:
    """``_lock`` without the joins, for a purchase that already holds its user, service and
    country (they never change): the locked row gets those instances."""
    locked = Activation.objects.select_for_update().get(pk=activation.pk)
    for name in ("user", "service", "country"):
        related = activation._state.fields_cache.get(name)
        if related is not None:
            locked._state.fields_cache[name] = related
    return locked


def _check_not_early(locked: Activation) -> None:
    allowed_at = (locked.number_at or locked.created_at) + timedelta(
        seconds=settings.SMSBOX_EARLY_CANCEL_SECONDS
    )
    now = timezone.now()
    if now < allowed_at:
        seconds = int((allowed_at - now).total_seconds()) + 1
        raise EarlyCancelDenied(
            f"This activation can be cancelled in {seconds} seconds.",
            extra={"retry_after": seconds},
        )


def _settle(
    locked: Activation, state: str, *, refund: bool, memo: str, actor: User | None = None
) -> None:
    """Move a locked activation to a final state, refunding its charge once when asked;
    ``actor`` is the operator who asked, recorded on the refund's ledger entry."""
    locked.state = state
    locked.settled_at = timezone.now()
    locked.memo = memo[:255]
    locked.save(update_fields=["state", "settled_at", "memo"])
    if refund:
        _refund(locked, memo=memo, actor=actor)


def _refund(locked: Activation, *, memo: str, actor: User | None = None) -> LedgerEntry | None:
    if locked.price <= 0:
        return None
    return wallet_refund(
        wallet=wallet_get_or_create(user=locked.user),
        amount=locked.price,
        reference=activation_reference(locked),
        actor=actor,
        memo=f"Activation {locked.display_number}: {memo}"[:255],
    )


def _state_extra(locked: Activation) -> dict[str, str]:
    return {"state": locked.state}


def _close_upstream(locked: Activation, action: str) -> None:
    if locked.provider_id is None or not locked.upstream_id:
        return
    transaction.on_commit(partial(_enqueue_close, locked.pk, action), robust=True)


def _enqueue_close(activation_id: int, action: str) -> None:
    from rentals.tasks import activation_upstream_close  # tasks import this module

    task_enqueue(activation_upstream_close, activation_id, action)  # the outbox if Redis is down


def _enqueue_close_many(activation_ids: list[int], action: str) -> None:
    from rentals.tasks import activations_upstream_close  # tasks import this module

    task_enqueue(activations_upstream_close, activation_ids, action)  # the outbox if Redis is down


def activation_upstream_close(*, activation_id: int, action: str) -> None:
    """Tell the upstream we are done with a number (``finish`` or ``cancel``); best effort:
    a refusal is logged, a ``Transient`` error is raised for the task to retry."""
    activation = Activation.objects.select_related("provider").filter(pk=activation_id).first()
    if activation is None or activation.provider is None or not activation.upstream_id:
        return
    adapter = adapter_for(activation.provider)
    try:
        getattr(adapter, action)(upstream_id=activation.upstream_id)
    except Transient:
        raise  # the task retries with back-off
    except UpstreamError as exc:
        logger.info("activation %s: upstream %s refused: %s", activation_id, action, exc.message)


def _release(provider, upstream_id: str) -> None:
    try:
        adapter_for(provider).release_unwanted(upstream_id=upstream_id)
    except UpstreamError as exc:
        logger.warning("could not release %s at %s: %s", upstream_id, provider, exc.message)
