"""The one typed interface every upstream protocol implements, its results and its errors.

Adapters speak in our catalog's terms (``Service``, ``Country``, operator codes) and translate
to the provider's codes through the provider's mappings. Every network call has the provider's
timeout. Errors say what happened upstream:

- ``NoNumbers``: definitely nothing bought (out of stock, nothing within the max cost) — fail over.
- ``UpstreamNoBalance`` / ``BadCredentials``: the provider cannot sell to us now — fail over.
- ``Transient``: the call did not take effect (connection refused, 503, server error token);
  retry later or fail over.
- ``OutcomeUnknown``: the call may have taken effect (a buy that timed out) — never fail over
  blindly; reconcile against the upstream.
- ``UpstreamRejected``: a definite refusal of this particular request (early cancel, unknown id).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, ClassVar

from django.utils.translation import gettext_noop

from smsbox import parsing
from smsbox.errors import ApplicationError

if TYPE_CHECKING:
    from providers.models import Country, Provider, Service


class UpstreamError(ApplicationError):
    code = "UPSTREAM_ERROR"
    message = gettext_noop("The upstream provider failed.")
    status = 502


class NoNumbers(UpstreamError):
    code = "NO_NUMBERS"
    message = gettext_noop("No numbers are available.")
    status = 409


class UpstreamNoBalance(UpstreamError):
    code = "UPSTREAM_NO_BALANCE"
    message = gettext_noop("The upstream provider account has no balance.")


class BadCredentials(UpstreamError):
    code = "UPSTREAM_BAD_CREDENTIALS"
    message = gettext_noop("The upstream provider refused our credentials.")


class Transient(UpstreamError):
    code = "UPSTREAM_TRANSIENT"
    message = gettext_noop("The upstream provider is temporarily unavailable.")
    status = 503


class OutcomeUnknown(UpstreamError):
    code = "UPSTREAM_OUTCOME_UNKNOWN"
    message = gettext_noop("The upstream provider did not say whether the request took effect.")
    status = 504


class UpstreamRejected(UpstreamError):
    code = "UPSTREAM_REJECTED"
    message = gettext_noop("The upstream provider refused the request.")
    status = 409


class Unsupported(UpstreamRejected):
    code = "UPSTREAM_UNSUPPORTED"
    message = gettext_noop("The upstream protocol has no such operation.")


@dataclass(frozen=True)
class OfferQuote:
    """One line of a provider's price list, in our catalog's codes."""

    service_code: str
    country_id: int  # SMS-Activate country id, our catalog key
    cost: Decimal
    stock: int
    operator: str = ""


@dataclass(frozen=True)
class BoughtNumber:
    upstream_id: str
    phone: str
    cost: Decimal | None = None  # None when the protocol does not say (the offer's cost applies)


@dataclass(frozen=True)
class BoughtServiceOrder:
    """One service's order on a number bought for several services."""

    service_code: str  # in our catalog's codes
    upstream_id: str
    cost: Decimal | None = None  # None when the protocol does not say (the offer's cost applies)


@dataclass(frozen=True)
class BoughtMultiNumber:
    """One number bought for several services: one phone, one upstream order per service (each
    with its own id, cost and SMS), in the order the services were asked for."""

    phone: str
    orders: tuple[BoughtServiceOrder, ...]

    def order_for(self, service_code: str) -> BoughtServiceOrder:
        return next(o for o in self.orders if o.service_code == service_code)


@dataclass(frozen=True)
class UpstreamMessage:
    text: str
    code: str = ""
    sender: str = ""
    received_at: datetime | None = None
    upstream_message_id: str = ""


@dataclass(frozen=True)
class UpstreamStatus:
    """``state``: waiting, received, cancelled or finished; ``code`` is the latest code."""

    WAITING: ClassVar[str] = "waiting"
    RECEIVED: ClassVar[str] = "received"
    CANCELLED: ClassVar[str] = "cancelled"
    FINISHED: ClassVar[str] = "finished"

    state: str
    code: str = ""
    text: str = ""
    messages: list[UpstreamMessage] = field(default_factory=list)


@dataclass(frozen=True)
class ActiveActivation:
    """One activation the upstream still has open for us (to reconcile an unknown purchase)."""

    upstream_id: str
    phone: str
    service_code: str  # in our catalog's codes
    country_id: int | None = None  # SMS-Activate id
    started_at: datetime | None = None
    cost: Decimal | None = None  # what the upstream charged, where the protocol says


@dataclass(frozen=True)
class ActiveRent:
    """One rent the upstream still holds for us (to settle a rent call of unknown outcome).
    What the protocol does not say is None."""

    upstream_id: str
    phone: str
    service_code: str | None = None  # in our catalog's codes; "full" for any service
    country_id: int | None = None  # SMS-Activate id
    started_at: datetime | None = None
    cost: Decimal | None = None


@dataclass(frozen=True)
class RentedNumber:
    upstream_id: str
    phone: str
    ends_at: datetime | None
    cost: Decimal | None = None


class Adapter(ABC):
    """One upstream protocol. Subclasses set ``protocol`` and implement every operation."""

    protocol: ClassVar[str]

    def __init__(self, provider: Provider, *, timeout: float | None = None) -> None:
        self.provider = provider
        self.timeout = float(provider.timeout)
        if timeout is not None:  # a caller in a hurry (an admin page) may only shorten it
            self.timeout = min(self.timeout, timeout)

    # --- codes ---------------------------------------------------------------------------
    def service_code(self, service: Service) -> str:
        return str(self.provider.service_codes.get(service.code, service.code))

    def our_service_code(self, upstream_code: str) -> str:
        reverse = {str(v): k for k, v in self.provider.service_codes.items()}
        return reverse.get(upstream_code, upstream_code)

    def country_code(self, country: Country) -> str:
        mapped = self.provider.country_codes.get(str(country.sms_activate_id))
        return str(mapped) if mapped is not None else self.default_country_code(country)

    def default_country_code(self, country: Country) -> str:
        return str(country.sms_activate_id)

    def our_country_id(self, upstream_code: str) -> int | None:
        """The SMS-Activate id of the country the provider calls ``upstream_code``."""
        from providers.models import Country

        reverse = {str(v).lower(): int(k) for k, v in self.provider.country_codes.items()}
        if upstream_code.lower() in reverse:
            return reverse[upstream_code.lower()]
        for country in Country.objects.only("sms_activate_id", "iso"):
            if self.default_country_code(country).lower() == upstream_code.lower():
                return country.sms_activate_id
        return None

    # --- activations ---------------------------------------------------------------------
    @abstractmethod
    def fetch_offers(self) -> list[OfferQuote]: ...

    @abstractmethod
    def buy(
        self,
        *,
        service: Service,
        country: Country,
        operator: str = "",
        max_cost: Decimal | None = None,
    ) -> BoughtNumber: ...

    @abstractmethod
    def status(self, *, upstream_id: str) -> UpstreamStatus: ...

    @abstractmethod
    def request_another_sms(self, *, upstream_id: str) -> None: ...

    @abstractmethod
    def cancel(self, *, upstream_id: str) -> None: ...

    @abstractmethod
    def finish(self, *, upstream_id: str) -> None: ...

    def release_unwanted(self, *, upstream_id: str) -> None:
        """Give back a number we will not use (e.g. one the customer banned)."""
        self.cancel(upstream_id=upstream_id)

    def active_activations(self) -> list[ActiveActivation]:
        """The activations the upstream has open for us; ``Unsupported`` where it cannot say."""
        raise Unsupported("This upstream cannot list its open activations.")

    def reuse(self, *, upstream_id: str, country: Country | None = None) -> BoughtNumber:
        """Buy the number of a finished activation again for the same service. ``country``:
        the finished activation's, for an upstream that answers the number in national form."""
        raise Unsupported("This upstream cannot sell a number again.")

    # --- one number for several services -------------------------------------------------
    # Whether the protocol can buy one number for several services (``buy_multi``).
    multi_service: ClassVar[bool] = False

    @property
    def buys_multi_service(self) -> bool:
        """Whether ``buy_multi`` may be asked of this provider: its protocol can, and the
        operator did not turn it off (setting ``multi_service: false``, for a compatible
        server without the action). The router skips the providers that cannot."""
        settings = self.provider.settings or {}
        return self.multi_service and settings.get("multi_service", True) is not False

    def buy_multi(
        self,
        *,
        services: Sequence[Service],
        country: Country,
        operator: str = "",
        max_costs: Mapping[str, Decimal] | None = None,
    ) -> BoughtMultiNumber:
        """One number for every one of ``services`` (different services) in ``country``: one
        order per service, all on the same phone. ``max_costs``: per service code, where the
        protocol can cap the price. Errors as ``buy``, for the whole purchase: nothing is bought
        unless every service is; an answer that does not name each service once, on one phone,
        is ``OutcomeUnknown``."""
        raise Unsupported("This upstream cannot sell one number for several services.")

    # --- long-term rentals ---------------------------------------------------------------
    #: Whether ``rent_again`` can order the number of an ended rent again at this upstream.
    rents_again: ClassVar[bool] = False

    @abstractmethod
    def rent(
        self, *, service: Service | None, country: Country, hours: int, operator: str = ""
    ) -> RentedNumber: ...

    @abstractmethod
    def rent_messages(self, *, upstream_id: str) -> list[UpstreamMessage]: ...

    @abstractmethod
    def rent_extend(self, *, upstream_id: str, hours: int) -> RentedNumber: ...

    @abstractmethod
    def rent_finish(self, *, upstream_id: str) -> None: ...

    @abstractmethod
    def rent_cancel(self, *, upstream_id: str) -> None: ...

    def active_rents(self) -> list[ActiveRent]:
        """The rents the upstream still holds for us; ``Unsupported`` where it cannot say."""
        raise Unsupported("This upstream cannot list its rents.")

    def rent_again(self, *, upstream_id: str, hours: int) -> RentedNumber:
        """Order the number of an ended (finished, cancelled or run out) rent ``upstream_id``
        again for ``hours``, as a new rent under a new upstream id. A definite no (the number
        is taken or gone, the rent is too old for the upstream) is ``UpstreamRejected``; a
        protocol without the operation raises ``Unsupported`` (and says ``rents_again =
        False``); a call that may have taken effect is ``OutcomeUnknown``."""
        raise Unsupported("This upstream cannot order the number of an ended rent again.")

    # --- account -------------------------------------------------------------------------
    @abstractmethod
    def balance(self) -> Decimal: ...


_CODE_RE = re.compile(r"(?<![\d-])(\d{3}-\d{3}|\d{4,8})(?![\d-])")


def extract_code(text: str) -> str:
    """The verification code in an SMS text: the first group of 4-8 digits (or ``123-456``)."""
    match = _CODE_RE.search(text or "")
    return match.group(1).replace("-", "") if match else ""


def parse_decimal(raw: object, *, what: str = "amount") -> Decimal:
    """A money figure from an upstream body (``"12.50"``, ``12.5``), or ``ValueError``."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError(f"{what} missing")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{what} {raw!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} {raw!r} is not an amount")
    return value


def multi_bought(
    phone: str, orders: Sequence[BoughtServiceOrder], *, asked: Sequence[str]
) -> BoughtMultiNumber:
    """The orders of a multi-service purchase in the order of ``asked`` (our service codes);
    ``ValueError`` unless each asked service has exactly one order and the phone is a number."""
    by_code = {o.service_code: o for o in orders}
    if len(by_code) != len(orders) or set(by_code) != set(asked) or not digits(phone):
        raise ValueError("the orders do not match the services asked for")
    return BoughtMultiNumber(phone=digits(phone), orders=tuple(by_code[c] for c in asked))


def digits(phone: object) -> str:
    return parsing.digits_in(phone)
