"""Tests for messages.thai_numbers: numbers, money and percentages typed by Thai users."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.errors import InputError
from messages.thai_numbers import (
    format_baht,
    format_number,
    format_percent,
    normalize_digits,
    parse_money,
    parse_number,
    parse_percent,
    to_thai_digits,
)

# --- InputError ---------------------------------------------------------------------------------


def test_input_error_carries_message_and_example() -> None:
    error = InputError("อ่านตัวเลขนี้ไม่ออกค่ะ", "เช่น 1,500")
    assert str(error) == "อ่านตัวเลขนี้ไม่ออกค่ะ"
    assert error.message == "อ่านตัวเลขนี้ไม่ออกค่ะ"
    assert error.example == "เช่น 1,500"
    assert error.reply_text == "อ่านตัวเลขนี้ไม่ออกค่ะ\nเช่น 1,500"
    assert isinstance(error, ValueError)
    assert InputError("ไม่มีค่ะ").reply_text == "ไม่มีค่ะ"


# --- digits -------------------------------------------------------------------------------------


def test_normalize_digits() -> None:
    assert normalize_digits("๐๑๒๓๔๕๖๗๘๙") == "0123456789"
    assert normalize_digits("０１２３４５６７８９") == "0123456789"
    assert normalize_digits("１２０，０００．５０％") == "120,000.50%"
    assert normalize_digits("ปี ๒๕๗๐ abc") == "ปี 2570 abc"


def test_to_thai_digits_reverses_normalize() -> None:
    assert to_thai_digits("120,000.50 บาท") == "๑๒๐,๐๐๐.๕๐ บาท"
    assert normalize_digits(to_thai_digits("0123456789")) == "0123456789"


# --- parse_number -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", "0"),
        ("42", "42"),
        ("1,234", "1234"),
        ("1,234,567.89", "1234567.89"),
        ("-12.5", "-12.5"),
        ("+7", "7"),
        ("- 7", "-7"),
        (".5", "0.5"),
        ("๑,๒๓๔", "1234"),
        ("１２３", "123"),
        ("−3", "-3"),
        ("  15  ", "15"),
        ("1 ล้าน", "1000000"),
        ("1.5 ล้าน", "1500000"),
        ("1.5ล้าน", "1500000"),
        ("1 ล้าน 2 แสน", "1200000"),
        ("2แสน5หมื่น", "250000"),
        ("3 หมื่น 2 พัน 5 ร้อย", "32500"),
        ("1 ล้าน 250", "1000250"),
        ("1.2 พันล้าน", "1200000000"),
        ("1,500 ล้าน", "1500000000"),
        ("5 พัน", "5000"),
        ("-2 แสน", "-200000"),
    ],
)
def test_parse_number(text: str, expected: str) -> None:
    result = parse_number(text)
    assert result == Decimal(expected)
    assert isinstance(result, Decimal)


def test_parse_number_is_exact() -> None:
    assert parse_number("0.1") + parse_number("0.2") == Decimal("0.3")


def test_parse_number_strips_a_given_unit() -> None:
    assert parse_number("120 คน", units=("คน", "แห่ง")) == 120
    assert parse_number("๑๒ แห่ง", units=("คน", "แห่ง")) == 12
    assert parse_number("1 พัน คน", units=("คน",)) == 1000
    with pytest.raises(InputError):
        parse_number("120 คน")  # the unit is only stripped when given


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ยังไม่ได้พิมพ์ตัวเลขค่ะ"),
        ("   ", "ยังไม่ได้พิมพ์ตัวเลขค่ะ"),
        ("-", "ยังไม่ได้พิมพ์ตัวเลขค่ะ"),
        ("abc", "อ่านตัวเลขนี้ไม่ออกค่ะ"),
        ("12abc", "อ่านตัวเลขนี้ไม่ออกค่ะ"),
        ("ล้าน", "อ่านตัวเลขนี้ไม่ออกค่ะ"),
        ("1.2.3", "อ่านตัวเลขนี้ไม่ออกค่ะ"),
        ("5-3", "อ่านตัวเลขนี้ไม่ออกค่ะ"),
        ("1,2", "ใส่เครื่องหมายจุลภาค (,) ไม่ถูกตำแหน่งค่ะ"),
        ("1,20,000", "ใส่เครื่องหมายจุลภาค (,) ไม่ถูกตำแหน่งค่ะ"),
        ("12 34", "อ่านตัวเลขนี้ไม่ออกค่ะ"),
        ("1 ล้าน 2 3", "อ่านตัวเลขนี้ไม่ออกค่ะ"),
        ("2 แสน 1 ล้าน", "ลำดับหน่วยของตัวเลขไม่ถูกต้องค่ะ"),
        ("1 ล้าน 15 แสน", "ลำดับหน่วยของตัวเลขไม่ถูกต้องค่ะ"),
        ("1 ล้าน 1 ล้าน", "ลำดับหน่วยของตัวเลขไม่ถูกต้องค่ะ"),
    ],
)
def test_parse_number_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_number(text)
    assert caught.value.message == message
    assert caught.value.example.startswith("เช่น")


# --- parse_money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "satang"),
    [
        ("120000", 12_000_000),
        ("120,000", 12_000_000),
        ("๑๒๐,๐๐๐ บาท", 12_000_000),
        ("120,000.50 บาท", 12_000_050),
        ("120,000.5", 12_000_050),
        ("1.2 ล้านบาท", 120_000_000),
        ("1.2 ล้าน บาท", 120_000_000),
        ("฿120,000", 12_000_000),
        ("฿ 120,000", 12_000_000),
        ("120000 บ.", 12_000_000),
        ("120000บาท", 12_000_000),
        ("120,000 บาทถ้วน", 12_000_000),
        ("1.2345 ล้าน", 123_450_000),
        ("0", 0),
        ("0.01", 1),
        ("๒แสน๕หมื่น", 25_000_000),
        ("１２０，０００．５０ บาท", 12_000_050),
    ],
)
def test_parse_money(text: str, satang: int) -> None:
    result = parse_money(text)
    assert result == satang
    assert type(result) is int


def test_parse_money_refuses_fractions_of_a_satang() -> None:
    with pytest.raises(InputError) as caught:
        parse_money("120.505")
    assert caught.value.message == "จำนวนเงินใส่ทศนิยมได้ไม่เกิน 2 ตำแหน่งค่ะ"
    assert caught.value.example == "เช่น 120,000.50 บาท"


def test_parse_money_refuses_negative_amounts() -> None:
    with pytest.raises(InputError) as caught:
        parse_money("-500 บาท")
    assert caught.value.message == "จำนวนเงินต้องไม่ติดลบค่ะ"
    assert "บาท" in caught.value.example


@pytest.mark.parametrize("text", ["", "บาท", "ห้าร้อยบาท", "12O", "1,20 บาท"])
def test_parse_money_unreadable(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_money(text)
    assert caught.value.message.endswith("ค่ะ")
    assert caught.value.example.startswith("เช่น")


# --- parse_percent ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("75", "75"),
        ("75%", "75"),
        ("75 %", "75"),
        ("๗๕", "75"),
        ("75.5", "75.5"),
        ("ร้อยละ 75", "75"),
        ("ร้อยละ๗๕", "75"),
        ("75 เปอร์เซ็นต์", "75"),
        ("75％", "75"),
        ("0", "0"),
        ("100", "100"),
        ("100.0%", "100"),
    ],
)
def test_parse_percent(text: str, expected: str) -> None:
    assert parse_percent(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["101", "100.01", "-1", "-0.5%", "150%"])
def test_parse_percent_out_of_range_says_the_range(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_percent(text)
    assert caught.value.message == "ร้อยละต้องอยู่ระหว่าง 0 ถึง 100 ค่ะ"
    assert caught.value.example == "เช่น 75 หรือ 75.5%"


@pytest.mark.parametrize("text", ["", "%", "abc", "1 พัน", "ร้อยละ"])
def test_parse_percent_unreadable(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_percent(text)
    assert caught.value.example == "เช่น 75 หรือ 75.5%"


# --- formatting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("satang", "text"),
    [
        (12_000_000, "120,000 บาท"),
        (12_000_050, "120,000.50 บาท"),
        (12_000_005, "120,000.05 บาท"),
        (0, "0 บาท"),
        (1, "0.01 บาท"),
        (100, "1 บาท"),
        (-12_345, "-123.45 บาท"),
    ],
)
def test_format_baht(satang: int, text: str) -> None:
    assert format_baht(satang) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234.5"), "1,234.5"),
        (Decimal("1234.50"), "1,234.5"),
        (Decimal("1234.000"), "1,234"),
        (Decimal("1E+3"), "1,000"),
        (Decimal("0.000"), "0"),
        (Decimal("-0"), "0"),
        (Decimal("-1234567.125"), "-1,234,567.125"),
        (Decimal("0.0001"), "0.0001"),
        (1000, "1,000"),
        (0.1, "0.1"),
        (1234.5, "1,234.5"),
    ],
)
def test_format_number(value: Decimal | int | float, text: str) -> None:
    assert format_number(value) == text


def test_format_number_refuses_non_finite() -> None:
    with pytest.raises(ValueError):
        format_number(Decimal("NaN"))
    with pytest.raises(ValueError):
        format_number(float("inf"))


def test_format_percent() -> None:
    assert format_percent(Decimal(75)) == "75%"
    assert format_percent(Decimal("75.50")) == "75.5%"
    assert format_percent(Decimal("100.0")) == "100%"


# --- round trips --------------------------------------------------------------------------------

satang_amounts = st.integers(min_value=0, max_value=10**13)
decimals = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4, allow_nan=False)


@given(satang_amounts)
def test_money_round_trip(satang: int) -> None:
    assert parse_money(format_baht(satang)) == satang


@given(satang_amounts)
def test_money_round_trip_thai_digits(satang: int) -> None:
    assert parse_money(to_thai_digits(format_baht(satang))) == satang


@given(decimals)
def test_number_round_trip(value: Decimal) -> None:
    assert parse_number(format_number(value)) == value


@given(decimals)
def test_number_round_trip_thai_digits(value: Decimal) -> None:
    assert parse_number(to_thai_digits(format_number(value))) == value


@given(st.decimals(min_value=0, max_value=100, places=2, allow_nan=False))
def test_percent_round_trip(value: Decimal) -> None:
    assert parse_percent(format_percent(value)) == value
    assert parse_percent(to_thai_digits(format_percent(value))) == value


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=0, max_value=9))
def test_millions_and_hundred_thousands(millions: int, lakhs: int) -> None:
    text = f"{millions} ล้าน {lakhs} แสน" if lakhs else f"{millions} ล้าน"
    assert parse_number(text) == millions * 1_000_000 + lakhs * 100_000
