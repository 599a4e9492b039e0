"""Reads of long-term rentals: durations, plans and quotes, ownership, messages, sweeps.

Durations. A rental lasts a number of hours (``SMSBOX_RENTAL_MIN_HOURS``..
``SMSBOX_RENTAL_MAX_HOURS``, 4..1344 by default; days are 24 hours each) or a named package:
1m = 30 days, 3m = 90 days, 6m = 180 days, 1y = 365 days. Packages are fixed lengths, so our
expiry and the hours asked from an upstream always agree.

The quote rule (``rental_quote``). The plans that apply are the country's active plans for the
service when it has any, else the country's "any service" plans. The price is the plan of
exactly the asked duration when there is one; otherwise it is pro rata by hours from the plan
nearest in length (ties go to the longer plan), rounded to cents with ROUND_HALF_UP. No
applicable plan: ``NoNumbers`` (the protocol's ``NO_NUMBERS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from providers import breaker
from providers.adapters import ADAPTERS, NoNumbers
from providers.models import Country, Offer, Provider, Service
from rentals.models import Rental, RentalPlan, RentalRenewal, SmsMessage
from rentals.models.rentals import Package
from rentals.rental_errors import (
    InvalidPackage,
    InvalidTime,
    MaxHoursExceed,
    RentalNotFound,
    RentDie,
)
from smsbox import parsing
from smsbox.money import to_cents

PACKAGE_DAYS = {Package.ONE_MONTH: 30, Package.THREE_MONTHS: 90, Package.SIX_MONTHS: 180,
                Package.ONE_YEAR: 365}  # fmt: skip


def min_hours() -> int:
    return int(getattr(settings, "SMSBOX_RENTAL_MIN_HOURS", 4))


def max_hours() -> int:
    return int(getattr(settings, "SMSBOX_RENTAL_MAX_HOURS", 1344))


# --- durations --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RentalDuration:
    """Either ``hours`` or a ``package``."""

    hours: int | None = None
    package: str = ""

    @property
    def total_hours(self) -> int:
        return PACKAGE_DAYS[self.package] * 24 if self.package else int(self.hours or 0)

    @property
    def delta(self) -> timedelta:
        return timedelta(hours=self.total_hours)

    @property
    def label(self) -> str:
        return self.package or f"{self.hours} h"


def rental_duration(*, hours: object = None, package: object = None) -> RentalDuration:
    """Validate a duration the customer asked for: ``InvalidTime``, ``MaxHoursExceed`` or
    ``InvalidPackage`` when it is not allowed."""
    package = str(package or "").strip().lower()
    if package:
        if hours not in (None, ""):
            raise InvalidTime("Give either hours or a package, not both.")
        if package not in Package.values:
            raise InvalidPackage(extra={"package": package})
        return RentalDuration(package=package)
    if hours in (None, ""):
        raise InvalidTime("Give the rental time in hours or a package (1m, 3m, 6m, 1y).")
    if isinstance(hours, bool | float):
        raise InvalidTime("The rental time is a whole number of hours.")
    try:
        value = int(str(hours).strip())
    except ValueError:
        raise InvalidTime("The rental time is a whole number of hours.") from None
    if value < min_hours():
        raise InvalidTime(
            f"Available number of hours from {min_hours()} to {max_hours()}.",
            extra={"min": min_hours(), "max": max_hours()},
        )
    if value > max_hours():
        raise MaxHoursExceed(
            f"At most {max_hours()} hours.",
            extra={"max": max_hours(), "info": {"max": max_hours()}},
        )
    return RentalDuration(hours=value)


def rental_duration_of(rental: Rental, *, renewal: bool = False) -> RentalDuration:
    """The duration ``rental`` was bought for last, or (``renewal``) the one auto-renew buys."""
    if renewal and (rental.renewal_package or rental.renewal_hours):
        return RentalDuration(hours=rental.renewal_hours, package=rental.renewal_package)
    return RentalDuration(hours=rental.hours, package=rental.package)


def plan_hours(plan: RentalPlan) -> int:
    if plan.unit == RentalPlan.Unit.PACKAGE:
        return PACKAGE_DAYS[plan.package] * 24
    return int(plan.length or 0) * (24 if plan.unit == RentalPlan.Unit.DAYS else 1)


# --- plans and quotes -------------------------------------------------------------------------
@dataclass(frozen=True)
class RentalQuote:
    country: Country
    service: Service | None
    duration: RentalDuration
    price: Decimal
    plan: RentalPlan
    rule: str  # "exact" or "pro_rata"

    @property
    def hours(self) -> int:
        return self.duration.total_hours

    @property
    def package(self) -> str:
        return self.duration.package


def rental_plans(
    *, country: Country | None = None, service: Service | None = None
) -> QuerySet[RentalPlan]:
    """Active plans, optionally of one country and (with ``service``) that service's own."""
    plans = RentalPlan.objects.filter(active=True).select_related("country", "service")
    if country is not None:
        plans = plans.filter(country=country)
    if service is not None:
        plans = plans.filter(service=service)
    return plans


def _applicable_plans(country: Country, service: Service | None) -> list[RentalPlan]:
    plans = RentalPlan.objects.filter(active=True, country=country).select_related(
        "country", "service"
    )
    if service is not None:
        own = list(plans.filter(service=service))
        if own:
            return own
    return list(plans.filter(service__isnull=True))


def _is_exact(plan: RentalPlan, duration: RentalDuration) -> bool:
    if duration.package:
        return plan.unit == RentalPlan.Unit.PACKAGE and plan.package == duration.package
    return plan.unit != RentalPlan.Unit.PACKAGE and plan_hours(plan) == duration.hours


def rental_quote(
    *,
    country: Country,
    service: Service | None = None,
    hours: object = None,
    package: object = None,
    duration: RentalDuration | None = None,
) -> RentalQuote:
    """The price of renting a number in ``country`` for ``service`` (None: any service)."""
    duration = duration or rental_duration(hours=hours, package=package)
    plans = _applicable_plans(country, service)
    if not plans:
        raise NoNumbers(
            f"No rentals are offered in {country.name_en}"
            + (f" for {service.name}." if service else "."),
            extra={"country": country.sms_activate_id},
        )
    exact = next((p for p in plans if _is_exact(p, duration)), None)
    if exact is not None:
        return RentalQuote(country, service, duration, to_cents(exact.price), exact, "exact")
    wanted = duration.total_hours
    nearest = min(plans, key=lambda p: (abs(plan_hours(p) - wanted), -plan_hours(p), p.pk))
    price = to_cents(nearest.price * Decimal(wanted) / Decimal(plan_hours(nearest)))
    return RentalQuote(country, service, duration, price, nearest, "pro_rata")


# --- providers that can rent ------------------------------------------------------------------
def rental_providers(*, country: Country, service: Service | None = None) -> list[Provider]:
    """Enabled providers with stock in ``country`` (for ``service`` when one is named) whose
    circuit breaker lets a call through; lowest priority number, then cheapest cost first."""
    offers = Offer.objects.filter(country=country, stock__gt=0, provider__enabled=True)
    if service is not None:
        offers = offers.filter(service=service)
    best: dict[int, tuple[int, Decimal]] = {}
    for provider_id, priority, cost in offers.values_list(
        "provider_id", "provider__priority", "cost"
    ):
        if provider_id not in best or cost < best[provider_id][1]:
            best[provider_id] = (priority, cost)
    ordered = sorted(best, key=lambda pk: (*best[pk], pk))
    providers = Provider.objects.in_bulk(ordered)
    return [providers[pk] for pk in ordered if breaker.breaker_allows(pk)]


# --- ownership --------------------------------------------------------------------------------
def rental_get_for_user(*, user, ident: object) -> Rental:
    """The user's rental by id or display number; ``RentalNotFound`` otherwise (also when it
    belongs to somebody else)."""
    term = str(ident if ident is not None else "").strip()
    rentals = Rental.objects.filter(user=user).select_related("country", "service", "provider")
    rental = None
    if parsing.is_digits(term):
        rental = rentals.filter(pk=int(term)).first()
    if rental is None and term:
        rental = rentals.filter(display_number__iexact=term).first()
    if rental is None:
        raise RentalNotFound(extra={"id": term})
    return rental


def rentals_for_user(
    *,
    user,
    state: str | None = None,
    service: str | None = None,
    country: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str = "",
) -> QuerySet[Rental]:
    """The customer's rentals, newest first, filtered as ``activations_for_user`` filters."""
    rentals = Rental.objects.filter(user=user).select_related("country", "service")
    if state:
        rentals = rentals.filter(state=state)
    if service:
        rentals = rentals.filter(service__code=service)
    if country is not None:
        rentals = rentals.filter(country__sms_activate_id=country)
    if since:
        rentals = rentals.filter(created_at__gte=since)
    if until:
        rentals = rentals.filter(created_at__lt=until)
    if search.strip():
        from rentals.selectors import number_matches

        rentals = rentals.filter(number_matches(search))
    return rentals.order_by("-created_at", "-id")


def rental_messages(*, rental: Rental) -> QuerySet[SmsMessage]:
    """Every SMS the rental received, oldest first."""
    return SmsMessage.objects.filter(rental=rental).order_by("received_at", "id")


@dataclass(frozen=True)
class RentalMessagesPage:
    total: int
    messages: list[SmsMessage]


def rental_messages_page(*, rental: Rental, page: int = 0, size: int = 10) -> RentalMessagesPage:
    """One page of the rental's SMS, newest first, pages counted from 0 (getRentStatus)."""
    page, size = max(int(page), 0), min(max(int(size), 1), 100)
    messages = SmsMessage.objects.filter(rental=rental).order_by("-received_at", "-id")
    return RentalMessagesPage(
        total=messages.count(), messages=list(messages[page * size : (page + 1) * size])
    )


def rental_for_upstream(*, provider: Provider, upstream_id: str, phone: str = "") -> Rental | None:
    """The rental bought as ``upstream_id`` at ``provider`` (a different phone: not ours)."""
    rental = Rental.objects.filter(provider=provider, upstream_id=str(upstream_id)).first()
    if rental is None or not upstream_id:
        return None
    if phone and rental.phone and _digits(phone) != _digits(rental.phone):
        return None
    return rental


def _digits(raw: str) -> str:
    return parsing.digits_in(raw)


# --- sweeps -----------------------------------------------------------------------------------
def renew_lead() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "SMSBOX_RENTAL_RENEW_LEAD_MINUTES", 60)))


def rentals_renewal_due(*, now: datetime | None = None) -> QuerySet[Rental]:
    """Active auto-renewing rentals that expire within the lead time and have not yet."""
    now = now or timezone.now()
    return Rental.objects.filter(
        state=Rental.State.ACTIVE,
        auto_renew=True,
        expires_at__gt=now,
        expires_at__lte=now + renew_lead(),
    ).order_by("expires_at", "pk")


def rentals_expiry_due(*, now: datetime | None = None) -> QuerySet[Rental]:
    now = now or timezone.now()
    return Rental.objects.filter(state=Rental.State.ACTIVE, expires_at__lte=now).order_by(
        "expires_at", "pk"
    )


# A rental claimed by a polling worker is not polled again for this long: longer than any one
# upstream call takes, shorter than the minute between two runs of the polling job.
POLL_LEASE = timedelta(seconds=45)


def rentals_to_poll(*, now: datetime | None = None) -> QuerySet[Rental]:
    """Active rentals whose lease is free, the longest unpolled first (a fair share per run)."""
    now = now or timezone.now()
    return (
        Rental.objects.filter(state=Rental.State.ACTIVE, provider__enabled=True)
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lte=now - POLL_LEASE))
        .exclude(upstream_id="")
        .select_related("provider")
        .order_by(F("polled_at").asc(nulls_first=True), "pk")
    )


def rental_cancel_seconds(rental: Rental, *, now: datetime | None = None) -> int:
    """Seconds left in which ``rental_cancel`` refunds the rental in full (0: no longer)."""
    if rental.state != Rental.State.ACTIVE or rental.started_at is None or rental.first_sms_at:
        return 0
    window = timedelta(minutes=int(getattr(settings, "SMSBOX_RENTAL_CANCEL_MINUTES", 20)))
    left = (rental.started_at + window - (now or timezone.now())).total_seconds()
    return max(int(left), 0)


def rental_has_open(*, user) -> bool:
    return Rental.objects.filter(user=user, state__in=Rental.OPEN_STATES).exists()


def rentals_frozen_amount(wallet) -> Decimal:
    """What the wallet owner's rentals may still get back: the paid periods of rentals that can
    still be cancelled or refunded (processing, unknown, or active within the cancel window
    without an SMS)."""
    if wallet.user_id is None:
        return Decimal("0")
    window = timedelta(minutes=int(getattr(settings, "SMSBOX_RENTAL_CANCEL_MINUTES", 20)))
    cancellable = Q(rental__state__in=(Rental.State.PROCESSING, Rental.State.UNKNOWN)) | Q(
        rental__state=Rental.State.ACTIVE,
        rental__first_sms_at__isnull=True,
        rental__started_at__gte=timezone.now() - window,
    )
    total = (
        RentalRenewal.objects.filter(rental__user_id=wallet.user_id)
        .exclude(state=RentalRenewal.State.FAILED)
        .filter(cancellable)
        .aggregate(total=Sum("price"))["total"]
    )
    return total or Decimal("0")


@dataclass(frozen=True)
class RentalOffer:
    """One line of the rent price list: ``service`` None means any service ("full")."""

    service: Service | None
    price: Decimal
    stock: int


def rental_price_list(
    *, country: Country, hours: object = None, package: object = None
) -> list[RentalOffer]:
    """What can be rented in ``country`` for a duration, per service (each priced by
    ``rental_quote``) and for any service, with the stock the providers report; only lines
    that have a plan and stock (getRentServicesAndCountries)."""
    duration = rental_duration(hours=hours, package=package)
    offers = Offer.objects.filter(country=country, stock__gt=0, provider__enabled=True)
    per_service = offers.values("service_id").annotate(n=Sum("stock"))
    stock = dict(per_service.values_list("service_id", "n"))
    if not stock:
        return []
    lines = []
    for service in [None, *Service.objects.filter(pk__in=stock, visible=True).order_by("code")]:
        try:
            quote = rental_quote(country=country, service=service, duration=duration)
        except NoNumbers:
            continue
        count = max(stock.values()) if service is None else stock[service.pk]
        lines.append(RentalOffer(service=service, price=quote.price, stock=int(count)))
    return lines


# --- ordering the number of an ended rental again ---------------------------------------------
REORDERABLE_STATES = (Rental.State.FINISHED, Rental.State.EXPIRED, Rental.State.CANCELLED)


def rental_runs(rental: Rental, *, now: datetime | None = None) -> bool:
    """Whether ``rental`` is active and its time has not run out (the expiry job may not have
    seen a rental whose time did): continuing it extends it, else orders its number again."""
    return rental.state == Rental.State.ACTIVE and rental.expires_at > (now or timezone.now())


def reorder_window() -> timedelta:
    """How long after its end the number of a rental may be ordered again
    (``SMSBOX_RENTAL_REORDER_DAYS``; 0: never)."""
    return timedelta(days=int(getattr(settings, "SMSBOX_RENTAL_REORDER_DAYS", 7)))


def rental_check_reorderable(*, rental: Rental, now: datetime | None = None) -> None:
    """``RentDie`` unless the number of ``rental`` may be ordered again as a new rental: the
    rental ended (finished, expired, cancelled, or its time ran out) with a number, at most
    ``reorder_window()`` ago, at an enabled provider whose protocol can (``rents_again``), and
    no open rental holds the number now. Revoked and undelivered rentals never can. The
    upstream has the last word."""
    now = now or timezone.now()
    ran_out = rental.state == Rental.State.ACTIVE and not rental_runs(rental, now=now)
    if rental.state not in REORDERABLE_STATES and not ran_out:
        raise RentDie(extra={"state": rental.state})
    if not (rental.phone and rental.upstream_id and rental.provider_id):
        raise RentDie("The rental never had a number.")
    provider = rental.provider
    if not provider.enabled or not ADAPTERS[provider.protocol].rents_again:
        raise RentDie("The upstream of this number cannot give it again.")
    ended_at = min(rental.expires_at, rental.settled_at or rental.expires_at)
    if now - ended_at > reorder_window():
        raise RentDie("The rental ended too long ago to order its number again.")
    held = Rental.objects.filter(
        provider_id=rental.provider_id, phone=rental.phone, state__in=Rental.OPEN_STATES
    ).exclude(pk=rental.pk)
    if held.exists():
        raise RentDie("The number is rented again already.")


def rental_continue_quote(
    *, rental: Rental, hours: object = None, package: object = None
) -> RentalQuote:
    """The price of continuing ``rental`` for a duration (getContinueRentPriceNumber): of an
    extension while it runs, of ordering its number again once it has ended (the same plan
    price); ``RentDie`` when it can be neither."""
    duration = rental_duration(hours=hours, package=package)
    if not rental_runs(rental):
        rental_check_reorderable(rental=rental)
    return rental_quote(country=rental.country, service=rental.service, duration=duration)


def rental_deletion_guard(user) -> str | None:
    """Lifecycle guard: an account with a rental that is still running is not deleted."""
    return gettext_noop("active rental") if rental_has_open(user=user) else None


__all__ = [
    "PACKAGE_DAYS",
    "RentalDuration",
    "RentalMessagesPage",
    "RentalOffer",
    "RentalQuote",
    "rental_duration",
    "rental_duration_of",
    "rental_for_upstream",
    "rental_get_for_user",
    "rental_messages",
    "rental_messages_page",
    "rental_plans",
    "rental_price_list",
    "rental_providers",
    "rental_quote",
    "rentals_expiry_due",
    "rentals_for_user",
    "rentals_frozen_amount",
    "rentals_renewal_due",
    "rentals_to_poll",
]
