"""Writes of long-term rentals: purchase, extension, auto-renewal, cancel, finish, revoke, expiry,
SMS intake and the demo plans.

Money. Every charge and refund of a rental names ``Reference("rental", id)``, so refunds are
bounded by what the rental was charged. Period ``n`` of a rental (the purchase is period 1, each
extension or renewal takes the next number under the row lock) is charged with the idempotency
key ``<charge|renewal>:rental:<id>:<n>`` and recorded as one ``RentalRenewal`` row, unique per
``(rental, period)``: a period is never charged twice, whatever runs twice.

Purchase and extension are sagas like an activation's purchase: (1) one transaction charges and
records the rental (or the period) as pending; (2) the upstream is called outside any
transaction; (3) a second transaction records the number or the new expiry — or refunds when the
upstream definitely failed. An extension whose upstream outcome is unknown is kept (the customer
has the time they paid for; the period is marked for the operator).

Cancel, finish, revoke and expiry change our state first and then tell the upstream after the
commit (``rental_upstream_release``, retried by a task when the upstream is briefly down).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from providers import breaker
from providers.adapters import (
    NoNumbers,
    OutcomeUnknown,
    Unsupported,
    UpstreamError,
    UpstreamRejected,
    adapter_for,
)
from providers.models import Country, Provider, Service
from providers.services import upstream_sms_dispatch
from rentals.codes import extract_code
from rentals.models import Rental, RentalPlan, RentalRenewal, SmsMessage, WebhookDelivery
from rentals.models.rentals import Package
from rentals.rental_errors import (
    AlreadyCancelled,
    AlreadyFinished,
    CantCancel,
    RentalBusy,
    RentalNotActive,
    RentalRevoked,
    RentDie,
)
from rentals.rental_selectors import (
    RentalDuration,
    rental_duration,
    rental_duration_of,
    rental_for_upstream,
    rental_providers,
    rental_quote,
    rentals_expiry_due,
    rentals_renewal_due,
    rentals_to_poll,
)
from rentals.webhooks import webhook_enqueue, webhook_payload_rent_sms
from smsbox.emails import email_send
from smsbox.errors import InvalidInput
from smsbox.models import User
from smsbox.money import ZERO, to_cents
from wallets.errors import InsufficientFunds
from wallets.services import Reference, wallet_charge, wallet_get_or_create, wallet_refund

logger = logging.getLogger(__name__)

State = Rental.State
Kind = RentalRenewal.Kind
RenewalState = RentalRenewal.State
_DISPLAY_ALPHABET = string.ascii_uppercase + string.digits


def cancel_window() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "SMSBOX_RENTAL_CANCEL_MINUTES", 20)))


def _reference(rental: Rental) -> Reference:
    return Reference("rental", rental.pk)


def _charge_key(rental: Rental, period: int) -> str:
    kind = "charge" if period == 1 else "renewal"
    return f"{_reference(rental).key(kind)}:{period}"


# --- purchase ---------------------------------------------------------------------------------
def rental_purchase(
    *,
    user: User,
    country: Country,
    service: Service | None = None,
    hours: object = None,
    package: object = None,
    auto_renew: bool = True,
    webhook_url: str = "",
    idempotency_key: str | None = None,
    operator: str = "",
) -> Rental:
    """Charge the quoted price and rent a number upstream; ``NoNumbers`` (refunded) when no
    provider can, ``InsufficientFunds`` (nothing written) when the balance is too low. A repeated
    ``idempotency_key`` answers the rental it made the first time."""
    if idempotency_key:
        existing = Rental.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    duration = rental_duration(hours=hours, package=package)
    quote = rental_quote(country=country, service=service, duration=duration)
    webhook_url = _checked_webhook_url(webhook_url)
    if not rental_providers(country=country, service=service):
        raise NoNumbers("No provider has numbers to rent here now.")
    try:
        rental = _purchase_open(
            user=user,
            country=country,
            service=service,
            duration=duration,
            price=quote.price,
            auto_renew=auto_renew,
            webhook_url=webhook_url,
            idempotency_key=idempotency_key or None,
            operator=operator,
        )
    except IntegrityError:
        existing = Rental.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if idempotency_key and existing is not None:
            return existing
        raise
    return _purchase_rent_upstream(rental)


def _checked_webhook_url(url: str) -> str:
    url = (url or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise InvalidInput("The webhook URL is not a valid http(s) URL.") from None
    return url


def _new_display_number() -> str:
    return "R" + "".join(secrets.choice(_DISPLAY_ALPHABET) for _ in range(11))


def _purchase_open(
    *,
    user: User,
    country: Country,
    service: Service | None,
    duration: RentalDuration,
    price: Decimal,
    auto_renew: bool,
    webhook_url: str,
    idempotency_key: str | None,
    operator: str,
) -> Rental:
    """Saga step 1: the rental in ``processing``, period 1 pending, the price charged."""
    now = timezone.now()
    with transaction.atomic():
        rental = Rental.objects.create(
            user=user,
            country=country,
            service=service,
            operator=operator,
            hours=duration.hours,
            package=duration.package,
            renewal_hours=duration.hours,
            renewal_package=duration.package,
            auto_renew=auto_renew,
            price=price,
            created_at=now,
            expires_at=now + duration.delta,
            idempotency_key=idempotency_key,
            display_number=_new_display_number(),
            binding_key=secrets.token_urlsafe(24),
            webhook_url=webhook_url,
        )
        RentalRenewal.objects.create(
            rental=rental,
            period=1,
            kind=Kind.PURCHASE,
            hours=duration.hours,
            package=duration.package,
            price=price,
        )
        wallet_charge(
            wallet=wallet_get_or_create(user=user),
            amount=price,
            reference=_reference(rental),
            idempotency_key=_charge_key(rental, 1),
            memo=f"Rental {rental.display_number} ({duration.label})",
        )
    return rental


def _purchase_rent_upstream(rental: Rental) -> Rental:
    """Saga steps 2 and 3: rent from the first provider that can, or fail and refund."""
    duration = rental_duration_of(rental)
    last_error: UpstreamError | None = None
    for provider in rental_providers(country=rental.country, service=rental.service):
        try:
            rented = adapter_for(provider).rent(
                service=rental.service,
                country=rental.country,
                hours=duration.total_hours,
                operator=rental.operator,
            )
        except OutcomeUnknown as exc:
            breaker.breaker_record_failure(provider.pk)
            logger.warning("rent at %s for rental %s: outcome unknown", provider, rental.pk)
            last_error = exc
            break  # it may have been rented there: never rent a second number blindly
        except UpstreamError as exc:
            if not isinstance(exc, (NoNumbers, UpstreamRejected)):
                breaker.breaker_record_failure(provider.pk)
            logger.info("rent at %s failed: %s", provider, exc.message)
            last_error = exc
            continue
        breaker.breaker_record_success(provider.pk)
        return _purchase_activate(rental, provider, rented.upstream_id, rented.phone)
    _purchase_fail(rental, last_error)
    raise NoNumbers(
        "No provider could rent a number; the price was refunded.",
        extra={"last_error": getattr(last_error, "code", "")},
    )


def _purchase_activate(rental: Rental, provider: Provider, upstream_id: str, phone: str) -> Rental:
    now = timezone.now()
    with transaction.atomic():
        rental = Rental.objects.select_for_update().get(pk=rental.pk)
        if rental.state != State.PROCESSING:  # settled as interrupted meanwhile (refunded)
            logger.warning("rental %s got its number too late; giving it back", rental.pk)
            transaction.on_commit(partial(_give_back, provider.pk, str(upstream_id)), robust=True)
            return rental
        rental.state = State.ACTIVE
        rental.provider = provider
        rental.upstream_id = str(upstream_id)
        rental.phone = phone
        rental.started_at = now
        rental.expires_at = now + rental_duration_of(rental).delta
        rental.save(
            update_fields=["state", "provider", "upstream_id", "phone", "started_at", "expires_at"]
        )
        RentalRenewal.objects.filter(rental=rental, period=1).update(
            state=RenewalState.DONE,
            old_expires_at=now,
            new_expires_at=rental.expires_at,
            settled_at=now,
        )
    return rental


def _purchase_fail(rental: Rental, error: UpstreamError | None, *, reason: str = "") -> None:
    reason = (reason or (error.message if error else "no provider could rent a number"))[:255]
    with transaction.atomic():
        rental = Rental.objects.select_for_update().get(pk=rental.pk)
        if rental.state != State.PROCESSING:
            return
        rental.state, rental.settled_at, rental.memo = State.FAILED, timezone.now(), reason
        rental.save(update_fields=["state", "settled_at", "memo"])
        RentalRenewal.objects.filter(rental=rental, period=1).update(
            state=RenewalState.FAILED, error=reason, settled_at=timezone.now()
        )
        _refund(rental, rental.price, key_suffix="1", memo="Rental not delivered")


def _give_back(provider_id: int, upstream_id: str) -> None:
    provider = Provider.objects.get(pk=provider_id)
    try:
        adapter_for(provider).rent_cancel(upstream_id=upstream_id)
    except UpstreamError as exc:
        logger.warning("could not give back rent %s at %s: %s", upstream_id, provider, exc.message)


def rentals_settle_stale(*, now: datetime | None = None) -> int:
    """Settle what a crashed worker left half done: purchases still processing and periods still
    pending after ``SMSBOX_PROCESSING_STALE_SECONDS`` are refunded (the upstream outcome cannot be
    known without an id, so the customer gets the money back). Answers how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(getattr(settings, "SMSBOX_PROCESSING_STALE_SECONDS", 300)))
    settled = 0
    for rental in Rental.objects.filter(state=State.PROCESSING, created_at__lt=cutoff):
        _purchase_fail(rental, None, reason="the purchase was interrupted")
        settled += 1
    stale = RentalRenewal.objects.filter(state=RenewalState.PENDING, created_at__lt=cutoff)
    for renewal_id in stale.values_list("pk", flat=True):
        settled += _period_fail_stale(renewal_id)
    return settled


def _period_fail_stale(renewal_id: int) -> bool:
    with transaction.atomic():
        renewal = RentalRenewal.objects.select_related("rental").get(pk=renewal_id)
        rental = Rental.objects.select_for_update().get(pk=renewal.rental_id)
        renewal = RentalRenewal.objects.select_for_update().get(pk=renewal_id)
        if renewal.state != RenewalState.PENDING:
            return False
        _period_fail(rental, renewal, RentalBusy("The extension was interrupted."))
    return True


def _refund(rental: Rental, amount: Decimal, *, key_suffix: str, memo: str) -> None:
    if amount <= ZERO:
        return
    wallet_refund(
        wallet=wallet_get_or_create(user=rental.user),
        amount=amount,
        reference=_reference(rental),
        idempotency_key=f"{_reference(rental).key('refund')}:{key_suffix}",
        memo=f"{memo}: {rental.display_number}",
    )


# --- extension and auto-renewal ---------------------------------------------------------------
def rental_extend(
    *,
    rental: Rental,
    hours: object = None,
    package: object = None,
    charge: bool = True,
    actor: User | None = None,
) -> Rental:
    """Extend an active rental by ``hours`` or a ``package`` (which also becomes the renewal
    duration). ``RentDie`` once it is over; ``charge=False`` is an operator's free extension."""
    duration = rental_duration(hours=hours, package=package)
    price = rental_quote(
        country=rental.country, service=rental.service, duration=duration
    ).price if charge else ZERO  # fmt: skip
    renewal = _period_open(
        rental_id=rental.pk, duration=duration, price=price, kind=Kind.EXTENSION, actor=actor
    )
    return _period_settle(renewal, raise_errors=True)


def _period_open(
    *,
    rental_id: int,
    duration: RentalDuration,
    price: Decimal,
    kind: str,
    actor: User | None = None,
) -> RentalRenewal:
    """Lock the rental, check it can be extended, take the next period and charge it."""
    with transaction.atomic():
        rental = Rental.objects.select_for_update().get(pk=rental_id)
        _check_extendable(rental)
        rental.period += 1
        rental.save(update_fields=["period"])
        renewal = RentalRenewal.objects.create(
            rental=rental,
            period=rental.period,
            kind=kind,
            hours=duration.hours,
            package=duration.package,
            price=price,
            old_expires_at=rental.expires_at,
            actor=actor,
        )
        if price > ZERO:
            wallet_charge(
                wallet=wallet_get_or_create(user=rental.user),
                amount=price,
                reference=_reference(rental),
                idempotency_key=_charge_key(rental, rental.period),
                renewal=True,
                memo=f"Rental {rental.display_number}: {duration.label} more",
            )
    return renewal


def _check_extendable(rental: Rental) -> None:
    if rental.state != State.ACTIVE or rental.expires_at <= timezone.now():
        raise RentDie(extra={"state": rental.state})
    if RentalRenewal.objects.filter(rental=rental, state=RenewalState.PENDING).exists():
        raise RentalBusy()


def _period_settle(renewal: RentalRenewal, *, raise_errors: bool) -> Rental:
    """Extend upstream first, then move our expiry; refund the period if the upstream refused."""
    rental = renewal.rental
    duration = RentalDuration(hours=renewal.hours, package=renewal.package)
    error: UpstreamError | None = None
    try:
        adapter_for(rental.provider).rent_extend(
            upstream_id=rental.upstream_id, hours=duration.total_hours
        )
    except OutcomeUnknown:
        logger.warning("extension of rental %s: upstream outcome unknown", rental.pk)
        renewal.error = "upstream outcome unknown; check the upstream's expiry"
    except UpstreamError as exc:
        error = exc
    with transaction.atomic():
        rental = Rental.objects.select_for_update().get(pk=rental.pk)
        if not RentalRenewal.objects.filter(pk=renewal.pk, state=RenewalState.PENDING).exists():
            return rental  # settled as interrupted meanwhile
        if error is None and rental.state != State.ACTIVE:
            error = RentDie("The rental ended while it was being extended.")
        if error is not None:
            _period_fail(rental, renewal, error)
        else:
            _period_done(rental, renewal, duration)
    if error is not None and raise_errors:
        if isinstance(error, UpstreamRejected) and error.extra.get("token") in (
            "RENT_DIE",
            "NUMBER_EXPIRED",
        ):
            raise RentDie() from error
        raise error
    return rental


def _period_done(rental: Rental, renewal: RentalRenewal, duration: RentalDuration) -> None:
    now = timezone.now()
    rental.expires_at = max(rental.expires_at, now) + duration.delta
    rental.hours, rental.package = duration.hours, duration.package
    # Extending with a (different) duration makes it the one auto-renew buys next (seed 004).
    rental.renewal_hours, rental.renewal_package = duration.hours, duration.package
    rental.save(
        update_fields=["expires_at", "hours", "package", "renewal_hours", "renewal_package"]
    )
    renewal.state, renewal.new_expires_at, renewal.settled_at = (
        RenewalState.DONE,
        rental.expires_at,
        now,
    )
    renewal.save(update_fields=["state", "new_expires_at", "settled_at", "error"])


def _period_fail(rental: Rental, renewal: RentalRenewal, error: UpstreamError | RentDie) -> None:
    renewal.state, renewal.settled_at = RenewalState.FAILED, timezone.now()
    renewal.error = error.message[:255]
    renewal.save(update_fields=["state", "settled_at", "error"])
    _refund(
        rental, renewal.price, key_suffix=str(renewal.period), memo="Extension not made upstream"
    )


@dataclass(frozen=True)
class RenewOutcome:
    """What one auto-renew attempt did: renewed, skipped, no_balance, failed."""

    status: str
    rental_id: int
    detail: str = ""


def rental_renew(*, rental_id: int) -> RenewOutcome:
    """Renew an auto-renewing rental that is due (within the lead time of its expiry) with its
    renewal duration. Too little balance: the customer is e-mailed once per expiry and the next
    run tries again, until the rental expires. Safe on several workers at once."""
    try:
        renewal = _renewal_open(rental_id)
    except InsufficientFunds:
        _renewal_notify(rental_id, reason="Your balance is too low for the renewal.")
        return RenewOutcome("no_balance", rental_id)
    except (RentDie, RentalBusy, Rental.DoesNotExist):
        return RenewOutcome("skipped", rental_id)
    except NoNumbers as exc:  # no plan any more
        _renewal_notify(rental_id, reason=exc.message)
        return RenewOutcome("failed", rental_id, exc.message)
    if renewal is None:
        return RenewOutcome("skipped", rental_id)
    _period_settle(renewal, raise_errors=False)
    renewal.refresh_from_db(fields=["state", "error"])
    if renewal.state == RenewalState.FAILED:
        _renewal_notify(rental_id, reason="The number could not be renewed upstream.")
        return RenewOutcome("failed", rental_id, renewal.error)
    return RenewOutcome("renewed", rental_id)


def _renewal_open(rental_id: int) -> RentalRenewal | None:
    now = timezone.now()
    with transaction.atomic():
        rental = Rental.objects.select_for_update().get(pk=rental_id)
        due = rentals_renewal_due(now=now).filter(pk=rental_id).exists()
        if not due:
            return None
        duration = rental_duration_of(rental, renewal=True)
        price = rental_quote(country=rental.country, service=rental.service, duration=duration)
        return _period_open(
            rental_id=rental.pk, duration=duration, price=price.price, kind=Kind.RENEWAL
        )


def _renewal_notify(rental_id: int, *, reason: str) -> bool:
    """E-mail the customer that the renewal failed, once per expiry; answers whether it did."""
    with transaction.atomic():
        rental = Rental.objects.select_for_update().select_related("user").get(pk=rental_id)
        if rental.state != State.ACTIVE or rental.renewal_notice_for == rental.expires_at:
            return False
        rental.renewal_notice_for = rental.expires_at
        rental.save(update_fields=["renewal_notice_for"])
        context = {
            "phone": rental.phone,
            "rental_id": rental.display_number,
            "reason": reason,
            "expires_at": rental.expires_at,
        }
        transaction.on_commit(
            partial(_send_renewal_failed, to=rental.user.email, context=context), robust=True
        )
    return True


def _send_renewal_failed(*, to: str, context: dict) -> None:
    email_send(template="renewal_failed", to=to, context=context)


def rentals_renew_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The auto-renew job: try every due rental once; answers how many were renewed."""
    renewed = 0
    for rental_id in list(rentals_renewal_due(now=now).values_list("pk", flat=True)[:limit]):
        try:
            renewed += rental_renew(rental_id=rental_id).status == "renewed"
        except Exception:  # one broken rental must not stop the others; retried next run
            logger.exception("auto-renew of rental %s failed", rental_id)
    return renewed


# --- settings and endings ---------------------------------------------------------------------
def rental_set_auto_renew(*, rental: Rental, enabled: bool) -> Rental:
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        if locked.state not in Rental.OPEN_STATES:
            raise RentDie("The rental is over.", extra={"state": locked.state})
        locked.auto_renew = bool(enabled)
        locked.save(update_fields=["auto_renew"])
    return locked


def _check_open(rental: Rental) -> None:
    """Refuse an ending of a rental that has already ended, with the protocol's tokens."""
    if rental.state == State.CANCELLED:
        raise AlreadyCancelled()
    if rental.state in (State.FINISHED, State.EXPIRED):
        raise AlreadyFinished()
    if rental.state == State.REVOKED:
        raise RentalRevoked()
    if rental.state != State.ACTIVE:
        raise RentalNotActive(extra={"state": rental.state})


def _done_charges(rental: Rental) -> Decimal:
    total = RentalRenewal.objects.filter(rental=rental, state=RenewalState.DONE).aggregate(
        total=Sum("price")
    )["total"]
    return total or ZERO


def rental_cancel(*, rental: Rental) -> Rental:
    """Cancel with a full refund, only within ``SMSBOX_RENTAL_CANCEL_MINUTES`` of the start and
    before any SMS; ``CantCancel`` otherwise."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        _check_open(locked)
        too_late = locked.started_at is None or timezone.now() - locked.started_at > cancel_window()
        if too_late or locked.first_sms_at is not None or _has_messages(locked):
            raise CantCancel()
        if RentalRenewal.objects.filter(rental=locked, state=RenewalState.PENDING).exists():
            raise RentalBusy()
        _end(locked, State.CANCELLED)
        _refund(locked, _done_charges(locked), key_suffix="cancel", memo="Rental cancelled")
        _release_on_commit(locked, "cancel")
    return locked


def _has_messages(rental: Rental) -> bool:
    return SmsMessage.objects.filter(rental=rental).exists()


def rental_finish(*, rental: Rental) -> Rental:
    """The customer is done with the number: it is released now, nothing is refunded."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        _check_open(locked)
        _end(locked, State.FINISHED)
        _release_on_commit(locked, "finish")
    return locked


def rental_revoke(*, rental: Rental, actor: User) -> Rental:
    """An operator takes the number back and refunds the unused share of every paid period."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        _check_open(locked)
        if RentalRenewal.objects.filter(rental=locked, state=RenewalState.PENDING).exists():
            raise RentalBusy()
        refund = rental_unused_share(rental=locked)
        _end(locked, State.REVOKED, memo=f"Revoked by {actor.email}")
        _refund(locked, refund, key_suffix="revoke", memo="Rental revoked, unused share")
        _release_on_commit(locked, "cancel")
    return locked


def rental_unused_share(*, rental: Rental, now: datetime | None = None) -> Decimal:
    """What is left of the paid periods, each pro rata by time, rounded to cents."""
    now = now or timezone.now()
    total = ZERO
    for period in RentalRenewal.objects.filter(rental=rental, state=RenewalState.DONE):
        start, end = period.old_expires_at, period.new_expires_at
        if not start or not end or end <= start or period.price <= ZERO:
            continue
        unused = min(max(end - max(now, start), timedelta(0)), end - start)
        total += (
            period.price * Decimal(unused.total_seconds()) / Decimal((end - start).total_seconds())
        )
    return min(to_cents(total), _done_charges(rental))


def rental_expire(*, rental: Rental) -> bool:
    """Expire an active rental whose time is over; False when it is not (yet) to expire or an
    extension is being made right now (the next sweep sees it again)."""
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        if locked.state != State.ACTIVE or locked.expires_at > timezone.now():
            return False
        if RentalRenewal.objects.filter(rental=locked, state=RenewalState.PENDING).exists():
            return False
        _end(locked, State.EXPIRED)
        _release_on_commit(locked, "finish")
    return True


def rentals_expire_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    expired = 0
    for rental in list(rentals_expiry_due(now=now)[:limit]):
        expired += rental_expire(rental=rental)
    return expired


def _end(rental: Rental, state: str, *, memo: str = "") -> None:
    rental.state, rental.settled_at = state, timezone.now()
    fields = ["state", "settled_at"]
    if memo:
        rental.memo = memo[:255]
        fields.append("memo")
    rental.save(update_fields=fields)


# --- telling the upstream ---------------------------------------------------------------------
def _release_on_commit(rental: Rental, how: str) -> None:
    if rental.provider_id and rental.upstream_id:
        transaction.on_commit(partial(_release_task, rental.pk, how), robust=True)


def _release_task(rental_id: int, how: str) -> None:
    from rentals.tasks import rental_upstream_release

    rental_upstream_release.delay(rental_id, how)


def rental_upstream_release(*, rental: Rental, how: str) -> None:
    """Tell the upstream we are done with the number (``cancel`` or ``finish``). A protocol
    that cannot cancel is asked to finish; a ``Transient`` error propagates (the task retries);
    other refusals are logged: our side is settled either way."""
    adapter = adapter_for(rental.provider)
    try:
        if how == "cancel":
            try:
                adapter.rent_cancel(upstream_id=rental.upstream_id)
            except Unsupported:
                adapter.rent_finish(upstream_id=rental.upstream_id)
        else:
            adapter.rent_finish(upstream_id=rental.upstream_id)
    except UpstreamRejected as exc:
        logger.info("upstream %s of rental %s refused: %s", how, rental.pk, exc.message)


# --- SMS ------------------------------------------------------------------------------------
def rental_receive_sms(
    *,
    rental: Rental,
    text: str,
    sender: str = "",
    code: str = "",
    upstream_message_id: str = "",
    received_at: datetime | None = None,
) -> SmsMessage | None:
    """Store an SMS of the rental (once per upstream message id) and send the customer webhook
    (``rent.sms``) to the rental's URL or the account's. None for a duplicate."""
    received_at = received_at or timezone.now()
    message_id = upstream_message_id or _derived_message_id(rental, text, sender, received_at)
    with transaction.atomic():
        rental = Rental.objects.select_for_update().select_related("user").get(pk=rental.pk)
        try:
            with transaction.atomic():
                message = SmsMessage.objects.create(
                    rental=rental,
                    provider_id=rental.provider_id,
                    upstream_id=rental.upstream_id,
                    upstream_message_id=message_id[:128],
                    phone=rental.phone,
                    sender=(sender or "")[:64],
                    text=text or "",
                    code=(extract_code(text or "") or code or "").replace(":", "")[:64],
                    received_at=received_at,
                )
        except IntegrityError:
            return None  # the same message, pushed and polled
        if rental.first_sms_at is None:
            rental.first_sms_at = received_at
            rental.save(update_fields=["first_sms_at"])
        if rental.state == State.ACTIVE:
            _notify(rental, message)
    return message


def _derived_message_id(rental: Rental, text: str, sender: str, received_at: datetime) -> str:
    """Upstreams that give no message id (SMS-Activate rent) are deduplicated on what they do
    give: the SMS's own time, sender and text (the same code may come twice, at two times)."""
    raw = f"{received_at.isoformat()}|{sender}|{text}"
    return f"rent:{rental.upstream_id}:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"


def _notify(rental: Rental, message: SmsMessage) -> None:
    webhook_enqueue(
        user=rental.user,
        payload=webhook_payload_rent_sms(
            rent_id=rental.pk,
            phone_from=message.sender,
            text=message.text,
            received_at=message.received_at,
        ),
        event=WebhookDelivery.Event.RENT_SMS,
        reference_kind="rental",
        reference_id=rental.pk,
        url=rental.webhook_url or None,
    )


def rental_on_upstream_sms(
    *,
    provider: Provider,
    upstream_id: str,
    text: str,
    phone: str = "",
    sender: str = "",
    code: str = "",
    upstream_message_id: str = "",
    received_at: datetime | None = None,
) -> SmsMessage | None:
    """The intake's hook for an upstream SMS: stored on the rental bought as ``upstream_id`` at
    ``provider``; None when there is no such rental (or it is a duplicate)."""
    rental = rental_for_upstream(provider=provider, upstream_id=upstream_id, phone=phone)
    if rental is None:
        return None
    return rental_receive_sms(
        rental=rental,
        text=text,
        sender=sender,
        code=code,
        upstream_message_id=upstream_message_id,
        received_at=received_at,
    )


def rental_poll(*, rental: Rental) -> int:
    """Ask the upstream for the rental's SMS and feed them into the one SMS path."""
    try:
        messages = adapter_for(rental.provider).rent_messages(upstream_id=rental.upstream_id)
    except UpstreamError as exc:
        logger.info("poll of rental %s failed: %s", rental.pk, exc.message)
        return 0
    for message in messages:
        upstream_sms_dispatch(
            provider=rental.provider,
            upstream_id=rental.upstream_id,
            phone=rental.phone,
            text=message.text,
            code=message.code,
            sender_name=message.sender,
            upstream_message_id=message.upstream_message_id,
            received_at=message.received_at or timezone.now(),
        )
    return len(messages)


def rentals_poll(*, limit: int = 500) -> int:
    """The polling job: ask about every active rental (up to ``limit``); answers how many."""
    asked = 0
    for rental in rentals_to_poll()[:limit]:
        rental_poll(rental=rental)
        asked += 1
    return asked


# --- the demo -------------------------------------------------------------------------------
DEMO_PLANS: tuple[tuple[str, int | None, str, Decimal], ...] = (
    (RentalPlan.Unit.HOURS, 4, "", Decimal("1.00")),
    (RentalPlan.Unit.HOURS, 12, "", Decimal("2.00")),
    (RentalPlan.Unit.DAYS, 1, "", Decimal("3.00")),
    (RentalPlan.Unit.DAYS, 7, "", Decimal("8.00")),
    (RentalPlan.Unit.PACKAGE, None, Package.ONE_MONTH, Decimal("15.00")),
    (RentalPlan.Unit.PACKAGE, None, Package.THREE_MONTHS, Decimal("30.00")),
    (RentalPlan.Unit.PACKAGE, None, Package.SIX_MONTHS, Decimal("50.00")),
    (RentalPlan.Unit.PACKAGE, None, Package.ONE_YEAR, Decimal("70.00")),
)


def rental_plans_seed_demo(*, country_ids: list[int] | None = None) -> int:
    """ "Any service" plans (4 h, 12 h, 1 day, 7 days, 1m, 3m, 6m, 1y) in the countries the
    simulator sells (or ``country_ids``, SMS-Activate ids), which are marked as renting.
    Existing plans keep the operator's prices. Answers how many plans were created."""
    if country_ids is None:
        country_ids = _simulator_countries()
    created = 0
    with transaction.atomic():
        countries = list(Country.objects.filter(sms_activate_id__in=country_ids))
        Country.objects.filter(pk__in=[c.pk for c in countries]).update(rent=True)
        for country in countries:
            for unit, length, package, price in DEMO_PLANS:
                _, made = RentalPlan.objects.get_or_create(
                    country=country,
                    service=None,
                    unit=unit,
                    length=length,
                    package=package,
                    defaults={"price": price},
                )
                created += made
    return created


def _simulator_countries() -> list[int]:
    from providers.adapters.simulator import DEFAULTS

    ids: set[int] = set()
    for provider in Provider.objects.filter(protocol=Provider.Protocol.SIMULATOR, enabled=True):
        ids.update(
            int(c) for c in (provider.settings or {}).get("countries", DEFAULTS["countries"])
        )
    return sorted(ids)
