"""The postback codec refuses what we never issue: non-ASCII digits, numbers too large for our ids,
more than LINE's 300 characters, odd or repeated field names. It never raises on any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.postback import MAX_DATA_LENGTH, MAX_ID, Postback, decode, parse_int


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("7", 7), ("007", 7), (str(MAX_ID), MAX_ID), ("00000000000000000042", 42)],
)
def test_parse_int_reads_plain_ascii_digits(value: str, expected: int) -> None:
    assert parse_int(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "²",  # "²".isdigit() is true and int("²") raises
        "1²",
        "١٢",  # Arabic-Indic digits: int() would read them
        "๑๒",  # Thai digits are for people typing, not for our buttons
        "１２",  # full-width
        "-1",
        "+1",
        " 1",
        "1.0",
        "1_000",
        str(MAX_ID + 1),
        "9" * 21,  # more digits than any id: not even converted
        "9" * 5000,  # int() would raise past 4,300 digits
    ],
)
def test_parse_int_refuses_everything_else(value: str | None) -> None:
    assert parse_int(value) is None


def test_parse_int_bound_is_the_callers() -> None:
    assert parse_int("5", max_value=5) == 5
    assert parse_int("6", max_value=5) is None


def test_decode_reads_what_we_encode() -> None:
    data = Postback("ap", {"r": "812", "n": "3", "d": "a"}).encode()
    assert decode(data) == Postback("ap", {"d": "a", "n": "3", "r": "812"})
    assert decode(data).int_param("r") == 812  # type: ignore[union-attr]
    assert decode("v1|ap|r=²|n=1").int_param("r") is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "data",
    [
        "",
        "v1",
        "v1|",
        "v2|ap|r=1",
        "v1|ap|r",  # a field without "="
        "v1|ap|=1",
        "v1|ap|r=1|r=2",  # a field given twice
        "v1|AP|r=1",  # not a name we use
        "v1|ap|R=1",
        "v1|a p|r=1",
        "v1|ap|" + "|".join(f"k{n}=1" for n in range(13)),  # more fields than we ever send
        "v1|ap|r=" + "1" * MAX_DATA_LENGTH,  # longer than LINE allows
    ],
)
def test_decode_refuses_what_we_never_issue(data: str) -> None:
    assert decode(data) is None


@given(st.text(max_size=400))
def test_decode_and_parse_int_never_raise(data: str) -> None:
    postback = decode(data)
    if postback is not None:
        for key in postback.params:
            number = postback.int_param(key)
            assert number is None or 0 <= number <= MAX_ID
    assert parse_int(data) is None or data.isascii()
