"""The simulator's settings: defaults and the checks that explain a wrong value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "countries": [0, 6, 16, 187, 43],
    "services": None,
    "cost": "0.10",
    "costs": {},
    "stock": 100,
    "pool_size": 500,
    "balance": "1000.00",
    "sms_delay": 5,
    "code_length": 6,
    "code_alphabet": "digits",
    "sms_text": "Your {service} code is {code}",
    "fail_no_numbers": 0.0,
    "fail_timeout": 0.0,
    "fail_transient": 0.0,
    "late_sms": 0.0,
    "late_sms_delay": 1800,
}
_SHARES = ("fail_no_numbers", "fail_timeout", "fail_transient", "late_sms")


def simulator_settings_errors(settings: object) -> list[str]:
    """What is wrong with a simulator's settings, in words an operator understands."""
    if not isinstance(settings, dict):
        return ["The settings must be a JSON object."]
    conf, errors = {**DEFAULTS, **settings}, []
    for name in _SHARES:
        if not isinstance(conf[name], int | float) or not 0 <= conf[name] <= 1:
            errors.append(f"{name} must be a share between 0 and 1.")
    if not errors and sum(conf[n] for n in _SHARES[:3]) > 1:
        errors.append("fail_no_numbers + fail_timeout + fail_transient cannot exceed 1.")
    for name in ("sms_delay", "late_sms_delay"):
        value = conf[name]
        if value is not None and (not isinstance(value, int | float) or value < 0):
            errors.append(f"{name} must be a number of seconds (or null for never).")
    for name, low in (("stock", 0), ("pool_size", 1), ("code_length", 1), ("seed", None)):
        value = conf[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (low is not None and value < low)
        ):
            errors.append(
                f"{name} must be a whole number" + (f" of at least {low}." if low else ".")
            )
    if not isinstance(conf["countries"], list) or not all(
        isinstance(c, int) and not isinstance(c, bool) for c in conf["countries"]
    ):
        errors.append("countries must be a list of SMS-Activate country ids.")
    if conf["services"] is not None and not isinstance(conf["services"], list):
        errors.append("services must be a list of service codes (or null for all).")
    if conf["code_alphabet"] not in ("digits", "alnum"):
        errors.append("code_alphabet must be digits or alnum.")
    for name in ("cost", "balance"):
        try:
            if Decimal(str(conf[name])) < 0:
                raise ValueError
        except (ArithmeticError, ValueError):
            errors.append(f"{name} must be an amount.")
    if not isinstance(conf["costs"], dict):
        errors.append('costs must map service codes to amounts, e.g. {"tg": "0.25"}.')
    else:
        for code, cost in conf["costs"].items():
            try:
                Decimal(str(cost))
            except ArithmeticError:
                errors.append(f"costs[{code!r}] must be an amount.")
    try:
        str(conf["sms_text"]).format(service="tg", code="123456")
    except (KeyError, IndexError, ValueError):
        errors.append("sms_text may only use {service} and {code}.")
    return errors
