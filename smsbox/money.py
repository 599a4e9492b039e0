"""Money helpers: Decimal only, one rounding rule for every customer-facing figure."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 4
CENT = Decimal("0.01")
ZERO = Decimal("0")
LARGEST = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES)


def money_field_kwargs() -> dict[str, int]:
    return {"max_digits": MONEY_MAX_DIGITS, "decimal_places": MONEY_DECIMAL_PLACES}


def to_cents(amount: Decimal) -> Decimal:
    """Round to cents with ROUND_HALF_UP, the rule for every figure a customer sees."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal) -> str:
    """Two decimal places at least, e.g. ``100.00``, never ``100`` or ``1E+2``."""
    return f"{to_cents(amount):.2f}"


def parse_money(raw: object) -> Decimal:
    """Parse a decimal amount from user input; ``ValueError`` for anything that is not one."""
    if isinstance(raw, float):
        raise ValueError("Amounts are never floats.")
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"{raw!r} is not an amount.") from exc
    if not amount.is_finite():
        raise ValueError(f"{raw!r} is not an amount.")
    if abs(amount) >= LARGEST:
        raise ValueError(f"{raw!r} is too large: amounts stay below {LARGEST}.")
    if amount.normalize().as_tuple().exponent < -MONEY_DECIMAL_PLACES:
        raise ValueError(f"{raw!r} has more than {MONEY_DECIMAL_PLACES} decimal places.")
    return amount
