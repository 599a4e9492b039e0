"""Writes of long-term rentals, one import for every interface: purchase, extension,
auto-renewal and the demo plans here; cancel, finish, revoke and expiry in ``rental_endings``;
SMS intake and polling in ``rental_inbox``; the money keys in ``rental_money``. Continuing a
rental — extending it, or ordering an ended rental's number again as a new rental — is
``rental_reorder.rental_continue``, built on the purchase saga here (so imported from there).

Money. Every charge and refund of a rental names ``Reference("rental", id)``, so refunds are
bounded by what the rental was charged. Period ``n`` of a rental (the purchase is period 1, each
extension or renewal takes the next number under the row lock) is charged with the idempotency
key ``<charge|renewal>:rental:<id>:<n>`` and recorded as one ``RentalRenewal`` row, unique per
``(rental, period)``: a period is never charged twice, whatever runs twice.

Purchase and extension are sagas like an activation's purchase: (1) one transaction charges and
records the rental (or the period) as pending; (2) the upstream is called outside any
transaction; (3) a second transaction records the number or the new expiry — or refunds when the
upstream definitely failed. A purchase whose rent call had an unknown outcome (a timeout) stays
``unknown``, charged, until the expiry job settles it against the upstream
(``rental_settle``): the number is given to the customer when it was rented, the price refunded
when it was not. An extension whose upstream outcome is unknown is kept (the customer has the
time they paid for; the period is marked for the operator).

Cancel, finish, revoke and expiry change our state first and then tell the upstream after the
commit (``rental_upstream_release``, retried by a task when the upstream is briefly down).
"""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from providers import breaker
from providers.adapters import (
    NoNumbers,
    OutcomeUnknown,
    UpstreamError,
    UpstreamRejected,
    adapter_for,
)
from providers.models import Country, Provider, Service
from providers.snapshot import snapshot_bump
from rentals.models import Rental, RentalPlan, RentalRenewal
from rentals.models.rentals import Package
from rentals.rental_errors import (
    RentalBusy,
    RentDie,
)
from rentals.rental_selectors import (
    RentalDuration,
    rental_duration,
    rental_duration_of,
    rental_providers,
    rental_quote,
    rentals_renewal_due,
)
from rentals.services.policy import purchases_allowed_check
from rentals.services.rental_endings import (  # noqa: F401 (the public API of rentals)
    _give_back,
    cancel_window,
    rental_cancel,
    rental_expire,
    rental_finish,
    rental_revoke,
    rental_set_auto_renew,
    rental_unused_share,
    rental_upstream_release,
    rentals_expire_due,
)
from rentals.services.rental_inbox import (  # noqa: F401
    rental_on_upstream_sms,
    rental_poll,
    rental_receive_sms,
    rentals_poll,
)
from rentals.services.rental_money import period_fail as _period_fail
from rentals.services.rental_money import rental_charge_key, rental_reference
from rentals.services.rental_settle import (  # noqa: F401
    purchase_fail,
    rental_abandon,
    rental_settle_unknown,
    rentals_settle_stale,
)
from smsbox.emails import email_send
from smsbox.errors import InvalidInput
from smsbox.models import User
from smsbox.money import ZERO
from wallets.errors import InsufficientFunds
from wallets.services import wallet_charge, wallet_get_or_create

logger = logging.getLogger(__name__)

State = Rental.State
Kind = RentalRenewal.Kind
RenewalState = RentalRenewal.State
_DISPLAY_ALPHABET = string.ascii_uppercase + string.digits


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
    provider can, ``InsufficientFunds`` (nothing written) when the balance is too low. A rent
    call of unknown outcome answers the rental in ``unknown`` (charged; settled by the expiry
    job). A repeated ``idempotency_key`` answers the rental it made the first time."""
    purchases_allowed_check(user=user)
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
            reference=rental_reference(rental),
            idempotency_key=rental_charge_key(rental, 1),
            memo=f"Rental {rental.display_number} ({duration.label})",
        )
    return rental


def _purchase_rent_upstream(rental: Rental) -> Rental:
    """Saga steps 2 and 3: rent from the first provider that can, or fail and refund; a call of
    unknown outcome leaves the rental ``unknown`` (never a second number rented blindly)."""
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
            return _purchase_mark_unknown(rental, provider, exc)
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
    try:
        return _purchase_record(rental, provider, upstream_id, phone)
    except IntegrityError:
        # The settle job gave this number to a rental of unknown outcome meanwhile: it is that
        # one's now, and this purchase delivered nothing.
        purchase_fail(rental, reason="the number went to another rental")
        raise NoNumbers("The number went to another rental; the price was refunded.") from None


def _purchase_record(rental: Rental, provider: Provider, upstream_id: str, phone: str) -> Rental:
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


def _purchase_mark_unknown(rental: Rental, provider: Provider, exc: OutcomeUnknown) -> Rental:
    with transaction.atomic():
        locked = Rental.objects.select_for_update().get(pk=rental.pk)
        if locked.state != State.PROCESSING:
            return locked
        locked.state, locked.provider = State.UNKNOWN, provider
        locked.memo = f"Rent outcome unknown: {exc.message}"[:255]
        locked.save(update_fields=["state", "provider", "memo"])
    return locked


def _purchase_fail(rental: Rental, error: UpstreamError | None) -> None:
    purchase_fail(rental, reason=error.message if error else "")


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
                reference=rental_reference(rental),
                idempotency_key=rental_charge_key(rental, rental.period),
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
    except (RentDie, RentalBusy) as exc:
        return RenewOutcome("skipped", rental_id, exc.code)
    except Rental.DoesNotExist:
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
    """Open the next period of a due rental; None when it is not due or another worker holds
    the rental right now (``SKIP LOCKED``: the workers share the run instead of waiting)."""
    now = timezone.now()
    with transaction.atomic():
        rental = Rental.objects.select_for_update(skip_locked=True).filter(pk=rental_id).first()
        if rental is None:
            return None
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


def rentals_renew_due(
    *,
    now: datetime | None = None,
    limit: int = 500,
    on_failure: Callable[[object, BaseException], None] | None = None,
) -> int:
    """The auto-renew job: try every due rental once (up to ``limit``), skipping those another
    worker holds; answers how many were renewed. A rental that fails is reported to
    ``on_failure(rental_id, exc)`` and retried next run; the others go on."""
    renewed = 0
    for rental_id in list(rentals_renewal_due(now=now).values_list("pk", flat=True)[:limit]):
        try:
            renewed += rental_renew(rental_id=rental_id).status == "renewed"
        except Exception as exc:  # one broken rental must not stop the others
            logger.exception("auto-renew of rental %s failed", rental_id)
            if on_failure is not None:
                on_failure(rental_id, exc)
    return renewed


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
        snapshot_bump()  # the update bypasses the signals
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
