"""JSON exactly as a processor serialises it, so that a signature over it can be recomputed.

A signed callback is parsed keeping every number's text as it was sent (``RawNumber``), then
written again the way the processor's own language writes JSON: PHP's ``json_encode`` for
Cryptomus and Heleket (``\\/`` for every slash, ``\\u2028``/``\\u2029`` escaped), JavaScript's
``JSON.stringify`` of the key-sorted object for NOWPayments. Neither puts spaces in.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class RawNumber(str):
    """A JSON number kept as the text it was sent as (``1.50`` stays ``1.50``)."""


def loads(body: bytes | str) -> Any:
    """Parse JSON keeping number texts; ``ValueError`` for anything that is not JSON."""
    return json.loads(body, parse_float=RawNumber, parse_int=RawNumber)


def php_json(value: Any) -> str:
    """``json_encode($value, JSON_UNESCAPED_UNICODE)`` as PHP writes it."""
    text = _dump(value, sort_keys=False)
    return text.replace("/", "\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def js_sorted_json(value: Any) -> str:
    """``JSON.stringify(sortObject(value))``: keys sorted at every level, nothing escaped that
    JavaScript does not escape."""
    return _dump(value, sort_keys=True)


def _dump(value: Any, *, sort_keys: bool) -> str:
    if isinstance(value, RawNumber):
        return str.__str__(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        inner = ",".join(
            f"{json.dumps(str(k), ensure_ascii=False)}:{_dump(v, sort_keys=sort_keys)}"
            for k, v in items
        )
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump(v, sort_keys=sort_keys) for v in value) + "]"
    raise TypeError(f"cannot serialise {type(value).__name__}")
