"""Money helpers: Decimal only, one rounding rule for every customer-facing figure."""

from decimal import ROUND_HALF_UP, Decimal

from smsbox import parsing

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
    """Parse an amount from user input through the strict parser (ASCII digits, at most
    ``MONEY_DECIMAL_PLACES`` decimals, below ``LARGEST``, no sign, exponent, NaN or float);
    ``ValueError`` for anything that is not one."""
    try:
        return parsing.amount(
            raw,
            name="amount",
            places=MONEY_DECIMAL_PLACES,
            max_integer_digits=MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES,
        )
    except parsing.InvalidParameter as exc:
        raise ValueError(f"{str(raw)[:40]!r} is not an amount: {exc.reason}.") from None
