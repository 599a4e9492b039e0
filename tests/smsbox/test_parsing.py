"""The strict parser: a table of hostile inputs refused by every parser, and what each one
accepts."""

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

import pytest

from smsbox import parsing
from smsbox.parsing import InvalidParameter

PARSERS = {
    "digits": partial(parsing.digits, name="p"),
    "integer": partial(parsing.integer, name="p"),
    "object_id": partial(parsing.object_id, name="p"),
    "amount": partial(parsing.amount, name="p"),
    "phone": partial(parsing.phone, name="p"),
    "unix_timestamp": partial(parsing.unix_timestamp, name="p"),
    "moment": partial(parsing.moment, name="p"),
    "day": partial(parsing.day, name="p"),
    "boolean": partial(parsing.boolean, name="p"),
}
HOSTILE = {
    "superscript two": "²",
    "superscript three": "³",
    "arabic-indic digits": "٣٤٥",
    "devanagari digits": "१२३",
    "fullwidth digits": "\uff11\uff12\uff13",
    "NUL": "\x00",
    "digits with a NUL": "12\x0034",
    "10 000 digits": "1" * 10_000,
    "10 000 letters": "a" * 10_000,
    "1e309": "1e309",
    "-0": "-0",
    "NaN": "NaN",
    "nan": "nan",
    "Infinity": "Infinity",
    "-1": "-1",
    "+1": "+1x",
    "hex": "0x10",
    "underscore": "1_000",
    "list": ["1"],
    "dict": {"a": 1},
    "float": 1.5,
    "float inf": float("inf"),
    "float nan": float("nan"),
}


@pytest.mark.parametrize("parser_name", PARSERS)
@pytest.mark.parametrize("label", HOSTILE)
def test_every_parser_refuses_every_hostile_input(parser_name, label):
    with pytest.raises(InvalidParameter) as refused:
        PARSERS[parser_name](HOSTILE[label])
    assert refused.value.code == "INVALID_PARAMETER" and refused.value.parameter == "p"


@pytest.mark.parametrize("label", HOSTILE)
def test_text_refuses_nul_and_overlong_but_nothing_else_hostile(label):
    raw = HOSTILE[label]
    parse = partial(parsing.text, name="p", max_length=100)
    if isinstance(raw, list | dict | float) or "\x00" in raw or len(raw) > 100:
        with pytest.raises(InvalidParameter):
            parse(raw)
    else:
        assert parse(raw) == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("7", 7), (" 42 ", 42), ("0", 0), (12, 12), (str(parsing.MAX_ID), parsing.MAX_ID)],
)
def test_integer_accepts_ascii_digits_in_range(raw, expected):
    assert parsing.integer(raw, name="p") == expected


@pytest.mark.parametrize("raw", [str(parsing.MAX_ID + 1), "0", 0, -5, True])
def test_object_id_is_a_positive_bigint(raw):
    with pytest.raises(InvalidParameter):
        parsing.object_id(raw)


def test_integer_bounds():
    assert parsing.integer("100", name="limit", minimum=1, maximum=100) == 100
    with pytest.raises(InvalidParameter):
        parsing.integer("101", name="limit", minimum=1, maximum=100)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.50", Decimal("1.5")),
        ("0", Decimal("0")),
        ("10", Decimal("10")),
        (10, Decimal("10")),
        ("0001.2300", Decimal("1.23")),
        ("1.", Decimal("1")),
        ("9999999999.9999", Decimal("9999999999.9999")),
    ],
)
def test_amount_reads_decimals_from_text(raw, expected):
    assert parsing.amount(raw, name="p") == expected


@pytest.mark.parametrize("raw", [".5", "1.23456", "12345678901", "1,5", "1.2.3", "", " "])
def test_amount_refuses_what_is_not_a_bounded_decimal(raw):
    with pytest.raises(InvalidParameter):
        parsing.amount(raw, name="p")


def test_amount_bounds():
    with pytest.raises(InvalidParameter):
        parsing.amount("0", name="p", positive=True)
    with pytest.raises(InvalidParameter):
        parsing.amount("100.01", name="p", maximum=Decimal("100"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+7 (999) 123-45-67", "79991234567"), ("79991234567", "79991234567")],
)
def test_phone_keeps_the_digits_of_what_people_type(raw, expected):
    assert parsing.phone(raw) == expected


@pytest.mark.parametrize("raw", ["1234", "1" * 16, "7999x123456", "+"])
def test_phone_refuses_too_short_too_long_and_letters(raw):
    with pytest.raises(InvalidParameter):
        parsing.phone(raw)


def test_timestamps():
    assert parsing.unix_timestamp("0", name="p") == datetime(1970, 1, 1, tzinfo=UTC)
    assert parsing.unix_timestamp(str(parsing.EPOCH_MAX), name="p").year == 9999
    with pytest.raises(InvalidParameter):
        parsing.unix_timestamp(str(parsing.EPOCH_MAX + 1), name="p")
    assert parsing.moment("2026-01-02 03:04:05", name="p") == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )
    assert parsing.moment("2026-01-02T03:04:05+01:00", name="p").hour == 3
    for bad in [
        "2026-13-01 00:00:00",
        "2026-02-30T00:00:00",
        "yesterday",
        "2026-01-02 03:04:05\x00",
    ]:
        with pytest.raises(InvalidParameter):
            parsing.moment(bad, name="p")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), ("on", True), ("0", False), ("", False), ("no", False),
     (True, True), (0, False)],
)  # fmt: skip
def test_boolean(raw, expected):
    assert parsing.boolean(raw, name="p") is expected


def test_optional_gives_the_default_for_blank_values():
    assert parsing.optional(parsing.integer, "", default=50, name="limit") == 50
    assert parsing.optional(parsing.integer, None, name="limit") is None
    with pytest.raises(InvalidParameter):
        parsing.optional(parsing.integer, "²", default=50, name="limit")


def test_day():
    assert parsing.day("2026-02-28", name="p").isoformat() == "2026-02-28"
    for bad in ["2026-02-30", "2026-2-3", "\uff12\uff10\uff12\uff16-01-01", "2026-01-01x"]:
        with pytest.raises(InvalidParameter):
            parsing.day(bad, name="p")


@pytest.mark.parametrize("label", HOSTILE)
def test_is_digits_says_no_to_every_hostile_input(label):
    assert parsing.is_digits(HOSTILE[label]) is False


def test_digits_in_keeps_ascii_digits_only():
    assert parsing.digits_in("+7 (999) ²٣１ 123-45-67\x00") == "79991234567"
