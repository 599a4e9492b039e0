"""HTTP for the network adapters: httpx with the provider's timeout, transport failures mapped
to ``Transient`` or ``OutcomeUnknown``.

A request that never reached the upstream (refused connection, connect timeout, 503, 429) had
no effect: ``Transient``. Anything later (read timeout, broken response, other 5xx) may have
taken effect upstream, so a call that buys or charges (``ambiguous=True``) raises
``OutcomeUnknown``; a read raises ``Transient``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from providers.adapters.base import OutcomeUnknown, Transient

# httpx logs every request URL at INFO, and some protocols carry the key in the query string.
logging.getLogger("httpx").setLevel(logging.WARNING)

USER_AGENT = "smsbox/1"
_NOT_PROCESSED = {429, 503}


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    ambiguous: bool = False,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One call; returns any response below 500 (except 429) for the protocol to interpret."""
    try:
        with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
            response = client.request(
                method, url, params=params, data=data, json=json, headers=headers
            )
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise Transient(f"Could not reach the upstream: {type(exc).__name__}.") from exc
    except httpx.TimeoutException as exc:
        raise _after_send(ambiguous, f"The upstream did not answer in {timeout:g} s.") from exc
    except httpx.TransportError as exc:
        raise _after_send(
            ambiguous, f"The upstream connection broke: {type(exc).__name__}."
        ) from exc
    if response.status_code in _NOT_PROCESSED:
        raise Transient(f"The upstream answered HTTP {response.status_code}.")
    if response.status_code >= 500:
        raise _after_send(ambiguous, f"The upstream answered HTTP {response.status_code}.")
    return response


def malformed(ambiguous: bool, what: str) -> Transient | OutcomeUnknown:
    """An answer we cannot read: for a buy we cannot tell whether it happened."""
    return _after_send(ambiguous, f"The upstream answered something unreadable: {what[:120]!r}.")


def _after_send(ambiguous: bool, message: str) -> Transient | OutcomeUnknown:
    return OutcomeUnknown(message) if ambiguous else Transient(message)
