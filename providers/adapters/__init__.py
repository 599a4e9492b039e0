"""One adapter per upstream protocol behind the interface of ``providers.adapters.base``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.adapters.base import (
    ActiveActivation,
    Adapter,
    BadCredentials,
    BoughtMultiNumber,
    BoughtNumber,
    BoughtServiceOrder,
    NoNumbers,
    OfferQuote,
    OutcomeUnknown,
    RentedNumber,
    Transient,
    Unsupported,
    UpstreamError,
    UpstreamMessage,
    UpstreamNoBalance,
    UpstreamRejected,
    UpstreamStatus,
)
from providers.adapters.simple_get import SimpleGetAdapter
from providers.adapters.simsmsbox import SimSmsBoxAdapter
from providers.adapters.simulator import SimulatorAdapter
from providers.adapters.sms_activate import SmsActivateAdapter

if TYPE_CHECKING:
    from providers.models import Provider

ADAPTERS: dict[str, type[Adapter]] = {
    cls.protocol: cls
    for cls in (SmsActivateAdapter, SimSmsBoxAdapter, SimpleGetAdapter, SimulatorAdapter)
}


def adapter_for(provider: Provider, *, timeout: float | None = None) -> Adapter:
    """The adapter of the provider's protocol; ``timeout`` may shorten the provider's own."""
    return ADAPTERS[provider.protocol](provider, timeout=timeout)


__all__ = [
    "ADAPTERS",
    "ActiveActivation",
    "Adapter",
    "BadCredentials",
    "BoughtMultiNumber",
    "BoughtNumber",
    "BoughtServiceOrder",
    "NoNumbers",
    "OfferQuote",
    "OutcomeUnknown",
    "RentedNumber",
    "Transient",
    "Unsupported",
    "UpstreamError",
    "UpstreamMessage",
    "UpstreamNoBalance",
    "UpstreamRejected",
    "UpstreamStatus",
    "adapter_for",
]
