"""The one typed interface every payment processor protocol implements, its results and errors.

A processor module creates an invoice priced in the installation's currency, verifies a
callback (the signature first, in constant time, before anything in it is trusted), reads it
into a ``PaymentReport``, and answers the same ``PaymentReport`` when asked about an invoice.
Statuses are ``TopUp.Status`` values; what a protocol says that changes nothing (a refund
in progress, a test event) is ``None``. Amounts received are in the installation's currency.
"""

from __future__ import annotations

import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from smsbox.errors import ApplicationError
from smsbox.money import LARGEST

if TYPE_CHECKING:
    from wallets.models import PaymentProcessor


class ProcessorError(ApplicationError):
    code = "PAYMENT_PROCESSOR_ERROR"
    message = "The payment processor failed."
    status = 502


class ProcessorUnavailable(ProcessorError):
    code = "PAYMENT_PROCESSOR_UNAVAILABLE"
    message = "The payment processor is temporarily unavailable."
    status = 503


class ProcessorRefused(ProcessorError):
    code = "PAYMENT_PROCESSOR_REFUSED"
    message = "The payment processor refused the request."


class BadSignature(ApplicationError):
    code = "BAD_SIGNATURE"
    message = "The callback's signature does not verify."
    status = 401


class InvalidCallback(ApplicationError):
    code = "INVALID_CALLBACK"
    message = "The callback cannot be read."
    status = 400


@dataclass(frozen=True)
class InvoiceRequest:
    amount: Decimal  # in ``currency``, the installation's
    currency: str
    pay_currency: str
    order_id: str  # ours, unique: the processor echoes it back
    callback_url: str
    return_url: str
    minutes: int
    description: str = ""


@dataclass(frozen=True)
class Invoice:
    ref: str  # the processor's invoice id
    payment_url: str
    expires_at: datetime | None = None
    payment_id: str = ""


@dataclass(frozen=True)
class PaymentReport:
    """What the processor says about one invoice (from a verified callback or a query)."""

    ref: str
    status: str | None  # a TopUp.Status value, or None for "nothing changes"
    amount_received: Decimal | None = None  # in the installation's currency; None: not said
    currency: str = ""  # the currency the invoice is priced in, when the processor says it
    tx_hashes: tuple[str, ...] = ()
    payment_id: str = ""
    raw: str = ""  # the processor's words, kept for support
    extra: dict[str, Any] = field(default_factory=dict)


class Processor(ABC):
    """One processor protocol, bound to one configured account."""

    kind: ClassVar[str]
    default_base_url: ClassVar[str] = ""
    default_currencies: ClassVar[tuple[str, ...]] = ()
    # Where the operator finds the settings this protocol needs (README and admin help).
    needs: ClassVar[tuple[str, ...]] = ("api_key",)

    def __init__(self, processor: PaymentProcessor) -> None:
        self.processor = processor
        self.base_url = (processor.base_url or self.default_base_url).rstrip("/")
        self.timeout = float(processor.timeout)

    @abstractmethod
    def create_invoice(self, request: InvoiceRequest) -> Invoice: ...

    @abstractmethod
    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> Any:
        """The callback's payload once its signature verifies; ``BadSignature`` otherwise."""

    @abstractmethod
    def read_callback(self, payload: Any) -> PaymentReport:
        """A verified payload as a report; ``InvalidCallback`` when it makes no sense."""

    @abstractmethod
    def query(self, *, ref: str, payment_id: str = "") -> PaymentReport: ...

    def callback_answer(self) -> tuple[int, str, str]:
        """Status, body and content type that make the processor stop retrying."""
        return 200, "ok", "text/plain"


def invoice_from(answer: Any, *, ref: str, url: str, expires: str) -> Invoice:
    """An invoice from a creation answer naming its id, page and expiry (Unix seconds)."""
    try:
        expiry = answer.get(expires)
        return Invoice(
            ref=str(answer[ref]),
            payment_url=str(answer[url]),
            expires_at=datetime.fromtimestamp(int(expiry), tz=UTC) if expiry else None,
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ProcessorUnavailable(f"The invoice answer lacks {exc}.") from exc


def signed_json(body: bytes, *, received: str, expected: str) -> Any:
    """A body whose header signature ``received`` matches ``expected`` (constant time),
    parsed; ``BadSignature`` before the body is read otherwise."""
    if not received or not hmac.compare_digest(expected.encode(), received.strip().encode()):
        raise BadSignature()
    try:
        return json.loads(body)
    except ValueError:
        raise InvalidCallback("The callback is not JSON.") from None


def amount_from(raw: object, *, what: str = "amount") -> Decimal:
    """A non-negative money figure from a processor's body (``"12.50"``, ``12.5``); strings
    with many digits are exact (rounding down to cents happens when crediting)."""
    if isinstance(raw, bool) or raw is None:
        raise InvalidCallback(f"The {what} is missing.")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidCallback(f"The {what} {str(raw)[:40]!r} is not a number.") from None
    if not value.is_finite() or value < 0 or value >= LARGEST:
        raise InvalidCallback(f"The {what} {str(raw)[:40]!r} is not an amount.")
    return value


def header(headers: Mapping[str, str], name: str) -> str:
    """A request header by name, whatever its case."""
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if k.lower() == wanted), "")
