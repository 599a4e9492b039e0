"""HTTP for the processor modules: httpx with the processor's timeout, transport failures and
server errors mapped to ``ProcessorUnavailable``, a refusal (4xx) to ``ProcessorRefused``."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from wallets.processors import encoding
from wallets.processors.base import ProcessorRefused, ProcessorUnavailable

logging.getLogger("httpx").setLevel(logging.WARNING)

USER_AGENT = "smsbox/1"


def call(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Any:
    """One call answering the parsed JSON body of a 2xx response."""
    try:
        with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
            response = client.request(method, url, headers=headers, content=content)
    except httpx.TimeoutException as exc:
        raise ProcessorUnavailable(f"The processor did not answer in {timeout:g} s.") from exc
    except httpx.TransportError as exc:
        raise ProcessorUnavailable(f"Could not reach the processor: {type(exc).__name__}.") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ProcessorUnavailable(f"The processor answered HTTP {response.status_code}.")
    try:
        body = encoding.loads(response.content) if response.content else {}
    except ValueError:
        body = None
    if response.status_code >= 400:
        raise ProcessorRefused(
            f"The processor answered HTTP {response.status_code}: {_reason(body, response.text)}"
        )
    if body is None:
        raise ProcessorUnavailable(f"The processor answered no JSON: {response.text[:120]!r}.")
    return body


def _reason(body: Any, text: str) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if body.get(key):
                return str(body[key])[:200]
    return text[:200]
