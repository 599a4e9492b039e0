"""JSON exactly as a processor serialises it, so that a signature over it can be recomputed.

A signed callback is parsed keeping every number's text as it was sent (``RawNumber``), then
written again the way the processor's own language writes JSON after parsing it: PHP's
``json_encode`` for Cryptomus and Heleket (``\\/`` for every slash, ``\\u2028``/``\\u2029``
escaped, a float as PHP prints it: ``1.50`` → ``1.5``, ``1.0`` → ``1``), JavaScript's
``JSON.stringify`` of the key-sorted object for NOWPayments (a number as JavaScript prints a
double: ``1.0`` → ``1``, ``0.10`` → ``0.1``, ``1e-7``; integer-like keys first, as a JavaScript
object orders them). Neither puts spaces in nor escapes non-ASCII.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")


class RawNumber(str):
    """A JSON number kept as the text it was sent as (``1.50`` stays ``1.50``)."""


def loads(body: bytes | str) -> Any:
    """Parse JSON keeping number texts; ``ValueError`` for anything that is not JSON."""
    return json.loads(body, parse_float=RawNumber, parse_int=RawNumber)


def php_json(value: Any) -> str:
    """``json_encode(json_decode($body, true), JSON_UNESCAPED_UNICODE)`` as PHP writes it."""
    text = _dump(value, sort_keys=False, number=php_number)
    return text.replace("/", "\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def js_sorted_json(value: Any, *, arrays_as_objects: bool = False) -> str:
    """``JSON.stringify(sortObject(JSON.parse(body)))``: keys sorted at every level, numbers
    and strings as JavaScript writes them. NOWPayments' documented ``sortObject`` also turns
    an array into an object keyed ``"0"``, ``"1"``…; ``arrays_as_objects`` does the same."""
    if arrays_as_objects:
        value = _arrays_as_objects(value)
    return _dump(value, sort_keys=True, number=js_number)


def js_number(text: str) -> str:
    """A JSON number's text as ``JSON.stringify`` writes the double ``JSON.parse`` makes of it
    (ECMAScript Number::toString)."""
    number = float(text)
    if math.isinf(number):
        return "null"
    if number == 0:
        return "0"
    if number < 0:
        return "-" + js_number(repr(-number))
    digits, n = _shortest(number)
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    exponent = f"e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return (digits if k == 1 else f"{digits[0]}.{digits[1:]}") + exponent


def php_number(text: str) -> str:
    """A JSON number's text as PHP's ``json_encode`` writes what ``json_decode`` made of it:
    integers that fit 64 bits stay integers; floats in the shortest form (serialize_precision
    -1) without a ``.0`` in fixed notation, ``1.0e+25`` in exponential notation."""
    if INTEGER.fullmatch(text) and -(2**63) <= int(text) < 2**63:
        return str(int(text))
    number = float(text)
    if math.isinf(number):
        raise ValueError("PHP cannot encode an infinite number.")
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 else "0"
    sign = "-" if number < 0 else ""
    digits, n = _shortest(abs(number))
    if n < -3 or n > 17:
        mantissa = f"{digits[0]}.{digits[1:] or '0'}"
        return f"{sign}{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    if n <= 0:
        return f"{sign}0.{'0' * -n}{digits}"
    if n >= len(digits):
        return sign + digits + "0" * (n - len(digits))
    return f"{sign}{digits[:n]}.{digits[n:]}"


def _shortest(number: float) -> tuple[str, int]:
    """The shortest digits that read back as ``number`` (> 0), and where the point goes:
    ``number == float("0." + digits + "e" + str(n))``."""
    _, digits, exponent = Decimal(repr(number)).as_tuple()
    text = "".join(map(str, digits))
    significant = text.lstrip("0")
    return significant.rstrip("0"), len(significant) + int(exponent)


def _sorted_keys(items: dict) -> list:
    """Keys in the order a JavaScript object built in sorted order enumerates them: array
    indices first, by value; then the rest as ``Array.prototype.sort`` sorts strings (by
    UTF-16 code unit)."""
    keys = sorted(items, key=lambda k: str(k).encode("utf-16-be"))
    indices = [k for k in keys if ARRAY_INDEX.fullmatch(str(k)) and int(k) < 2**32 - 1]
    return sorted(indices, key=int) + [k for k in keys if k not in indices]


def _arrays_as_objects(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _arrays_as_objects(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return {str(i): _arrays_as_objects(v) for i, v in enumerate(value)}
    return value


def _dump(value: Any, *, sort_keys: bool, number: Any = None) -> str:
    if isinstance(value, RawNumber):
        text = str.__str__(value)
        return number(text) if number else text
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, dict):
        keys = _sorted_keys(value) if sort_keys else list(value)
        inner = ",".join(
            json.dumps(str(k), ensure_ascii=False)
            + ":"
            + _dump(value[k], sort_keys=sort_keys, number=number)
            for k in keys
        )
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump(v, sort_keys=sort_keys, number=number) for v in value) + "]"
    raise TypeError(f"cannot serialise {type(value).__name__}")
