"""Tests for messages.thai_dates: BE formatting and parsing of dates as Thai users type them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.errors import InputError
from messages.thai_dates import (
    MONTHS_LONG,
    MONTHS_SHORT,
    format_date,
    format_date_long,
    format_datetime,
    format_fiscal_year,
    format_month_year,
    format_quarter,
    parse_date,
)
from messages.thai_numbers import to_thai_digits
from scheduler.fiscal import FiscalQuarter

BANGKOK = ZoneInfo("Asia/Bangkok")
TODAY = date(2026, 11, 20)  # a Friday in fiscal year 2570
dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31))


# --- formatting ---------------------------------------------------------------------------------


def test_format_date() -> None:
    assert format_date(date(2027, 1, 15)) == "15 ม.ค. 2570"
    assert format_date(date(2026, 12, 1)) == "1 ธ.ค. 2569"


def test_format_date_long() -> None:
    assert format_date_long(date(2027, 1, 15)) == "15 มกราคม 2570"
    assert format_date_long(date(2028, 2, 29)) == "29 กุมภาพันธ์ 2571"


def test_format_month_year() -> None:
    assert format_month_year(date(2027, 1, 15)) == "ม.ค. 2570"
    assert format_month_year(date(2026, 10, 31)) == "ต.ค. 2569"


def test_format_datetime_converts_to_the_given_zone() -> None:
    utc = datetime(2027, 1, 15, 1, 30, tzinfo=UTC)
    assert format_datetime(utc, BANGKOK) == "15 ม.ค. 2570 08:30 น."


def test_format_datetime_crosses_midnight_into_the_next_local_day() -> None:
    utc = datetime(2026, 12, 31, 18, 5, tzinfo=UTC)  # 01:05 on 1 Jan 2027 in Bangkok
    assert format_datetime(utc, BANGKOK) == "1 ม.ค. 2570 01:05 น."


def test_format_datetime_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        format_datetime(datetime(2027, 1, 15, 8, 30), BANGKOK)


def test_format_quarter_and_fiscal_year() -> None:
    assert format_quarter(FiscalQuarter(2570, 1)) == "ไตรมาส 1/2570"
    assert format_quarter(FiscalQuarter(2571, 4)) == "ไตรมาส 4/2571"
    assert format_fiscal_year(2570) == "ปีงบประมาณ 2570"


def test_month_tables_are_complete() -> None:
    assert len(MONTHS_SHORT) == len(MONTHS_LONG) == 12
    assert len(set(MONTHS_SHORT)) == len(set(MONTHS_LONG)) == 12


# --- parsing: the forms users type ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "15/1/70",
        "15/01/2570",
        "15-1-2570",
        "15.1.70",
        "15 ม.ค. 70",
        "15 ม.ค. 2570",
        "15 มค 2570",
        "15 ม.ค 2570",
        "15 ม. ค. 2570",
        "15ม.ค.2570",
        "15 มกราคม 2570",
        "15 มกรา 70",
        "15 ม.ค. พ.ศ. 2570",
        "วันที่ 15 ม.ค. 2570",
        "2027-01-15",
        "2027/01/15",
        "15/1/2027",
        "15 ม.ค. 2027",
        "15 ม.ค. ค.ศ. 2027",
        "๑๕/๑/๗๐",
        "๑๕ ม.ค. ๒๕๗๐",
        "１５/１/２５７０",
        "  15/1/70 \n",
        "15 / 1 / 70",
    ],
)
def test_parse_date_reads_every_documented_form(text: str) -> None:
    assert parse_date(text) == date(2027, 1, 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/10/69", date(2026, 10, 1)),
        ("30 ก.ย. 2570", date(2027, 9, 30)),
        ("5 มีนาคม 2570", date(2027, 3, 5)),
        ("5 มี.ค. 70", date(2027, 3, 5)),
        ("31 ธ.ค. 69", date(2026, 12, 31)),
        ("1 เม.ย. 2571", date(2028, 4, 1)),
        ("12 พ.ค. 2570", date(2027, 5, 12)),
        ("12 พ.ย. 2570", date(2027, 11, 12)),
        ("3 ก.ค. 2570", date(2027, 7, 3)),
        ("3 ก.พ. 2570", date(2027, 2, 3)),
        ("3 มิถุนายน 2570", date(2027, 6, 3)),
        ("15 ม.ค. 2399", date(2399, 1, 15)),  # below 2400: read as CE
        ("15 ม.ค. 2400", date(1857, 1, 15)),  # from 2400: read as BE
        ("1/1/00", date(1957, 1, 1)),  # 2-digit years are BE 25xx
        ("1/1/99", date(2056, 1, 1)),
        ("29 ก.พ. 2571", date(2028, 2, 29)),  # BE 2571 = CE 2028, a leap year
        ("29/2/2028", date(2028, 2, 29)),
    ],
)
def test_parse_date_specific_values(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "delta"),
    [("วันนี้", 0), ("พรุ่งนี้", 1), ("เมื่อวาน", -1), ("เมื่อวานนี้", -1), ("มะรืนนี้", 2), (" วันนี้ ", 0)],
)
def test_parse_date_relative_words(text: str, delta: int) -> None:
    assert parse_date(text, today=TODAY) == TODAY + timedelta(days=delta)


def test_relative_words_need_today() -> None:
    with pytest.raises(InputError) as caught:
        parse_date("พรุ่งนี้")
    assert caught.value.example


def test_date_without_year_is_the_next_occurrence() -> None:
    assert parse_date("15 ม.ค.", today=TODAY) == date(2027, 1, 15)
    assert parse_date("25 พ.ย.", today=TODAY) == date(2026, 11, 25)
    assert parse_date("20 พ.ย.", today=TODAY) == TODAY  # on today counts
    assert parse_date("19 พ.ย.", today=TODAY) == date(2027, 11, 19)
    assert parse_date("15/1", today=TODAY) == date(2027, 1, 15)


def test_date_without_year_29_february_waits_for_a_leap_year() -> None:
    assert parse_date("29 ก.พ.", today=date(2026, 3, 1)) == date(2028, 2, 29)
    assert parse_date("29 ก.พ.", today=date(2028, 2, 29)) == date(2028, 2, 29)


def test_date_without_year_at_the_end_of_the_calendar() -> None:
    with pytest.raises(InputError):
        parse_date("1 ม.ค.", today=date(9999, 6, 1))


def test_date_without_year_needs_today() -> None:
    with pytest.raises(InputError) as caught:
        parse_date("15 ม.ค.")
    assert "ปี" in caught.value.message


# --- parsing: errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31/2/70", "ไม่มีวันที่ 31 ก.พ. 2570 ค่ะ"),
        ("29 ก.พ. 2570", "ไม่มีวันที่ 29 ก.พ. 2570 ค่ะ"),
        ("29/2/2027", "ไม่มีวันที่ 29 ก.พ. 2570 ค่ะ"),
        ("31 เม.ย. 2570", "ไม่มีวันที่ 31 เม.ย. 2570 ค่ะ"),
        ("0/1/70", "ไม่มีวันที่ 0 ม.ค. 2570 ค่ะ"),
        ("15/13/70", "ไม่มีเดือนที่ 13 ค่ะ"),
        ("15/0/70", "ไม่มีเดือนที่ 0 ค่ะ"),
    ],
)
def test_impossible_dates_are_named_precisely(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_date(text)
    assert caught.value.message == message
    assert str(caught.value) == message
    assert caught.value.example.startswith("เช่น")


def test_impossible_date_without_year() -> None:
    with pytest.raises(InputError) as caught:
        parse_date("30 ก.พ.", today=TODAY)
    assert caught.value.message == "ไม่มีวันที่ 30 ก.พ. ค่ะ"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "15",
        "15/1/7",
        "15/1/257",
        "15 abc 2570",
        "32 ม.ค.",
        "1/2/3/4",
        "15 ม.ค. 70 extra",
        "15-1/70",
    ],
)
def test_unreadable_text_gives_an_example(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_date(text, today=TODAY)
    error = caught.value
    assert error.message.endswith("ค่ะ")
    assert error.example == "เช่น 15/1/70 หรือ 15 ม.ค. 2570"
    assert isinstance(error, ValueError)


# --- round trips --------------------------------------------------------------------------------


@given(dates)
def test_round_trip_short_form(d: date) -> None:
    assert parse_date(format_date(d)) == d


@given(dates)
def test_round_trip_long_form(d: date) -> None:
    assert parse_date(format_date_long(d)) == d


@given(dates)
def test_round_trip_numeric_two_digit_be_year(d: date) -> None:
    be = d.year + 543
    if not 2500 <= be <= 2599:  # 2-digit years mean BE 25xx
        return
    assert parse_date(f"{d.day}/{d.month}/{be % 100:02d}") == d


@given(dates, st.sampled_from(["/", "-", "."]))
def test_round_trip_numeric_four_digit_be_year(d: date, separator: str) -> None:
    text = separator.join([f"{d.day:02d}", f"{d.month:02d}", str(d.year + 543)])
    assert parse_date(text) == d


@given(dates)
def test_round_trip_thai_digits(d: date) -> None:
    assert parse_date(to_thai_digits(format_date(d))) == d
    assert parse_date(to_thai_digits(f"{d.day}/{d.month}/{d.year + 543}")) == d


@given(dates)
def test_round_trip_iso(d: date) -> None:
    assert parse_date(d.isoformat()) == d


@given(dates, st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31)))
def test_date_without_year_is_never_before_today(d: date, today: date) -> None:
    result = parse_date(f"{d.day} {MONTHS_SHORT[d.month - 1]}", today=today)
    assert result >= today
    assert (result.month, result.day) == (d.month, d.day)
    limit = 366 * 8 if (d.month, d.day) == (2, 29) else 366
    assert result - today < timedelta(days=limit)
