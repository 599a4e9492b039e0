"""One module per payment processor protocol behind the interface of
``wallets.processors.base``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wallets.processors.base import (
    BadSignature,
    InvalidCallback,
    Invoice,
    InvoiceRequest,
    PaymentReport,
    Processor,
    ProcessorError,
    ProcessorRefused,
    ProcessorUnavailable,
)
from wallets.processors.btcpay import BtcPayProcessor
from wallets.processors.cryptomus import CryptomusProcessor, HeleketProcessor
from wallets.processors.nowpayments import NowPaymentsProcessor
from wallets.processors.sandbox import SandboxProcessor, sandbox_allowed

if TYPE_CHECKING:
    from wallets.models import PaymentProcessor

PROCESSORS: dict[str, type[Processor]] = {
    cls.kind: cls
    for cls in (
        CryptomusProcessor,
        HeleketProcessor,
        NowPaymentsProcessor,
        BtcPayProcessor,
        SandboxProcessor,
    )
}


def processor_for(processor: PaymentProcessor) -> Processor:
    return PROCESSORS[processor.kind](processor)


__all__ = [
    "PROCESSORS",
    "BadSignature",
    "InvalidCallback",
    "Invoice",
    "InvoiceRequest",
    "PaymentReport",
    "Processor",
    "ProcessorError",
    "ProcessorRefused",
    "ProcessorUnavailable",
    "processor_for",
    "sandbox_allowed",
]
