"""Thai dates: Buddhist Era (BE = CE + 543) formatting, and parsing of dates as Thai users type them.

Formatting: ``15 ม.ค. 2570``, ``15 มกราคม 2570``, ``ม.ค. 2570``, ``15 ม.ค. 2570 08:30 น.``,
``ไตรมาส 1/2570`` and ``ปีงบประมาณ 2570``.

Parsing (``parse_date``) reads ``15/1/70``, ``15/01/2570``, ``15-1-2570``, ``15.1.70``, ``15 ม.ค. 70``,
``15 มค 2570``, ``15 มกราคม 2570``, ``15 ม.ค.`` (next occurrence), ISO ``2027-01-15``, CE years
written in full, Thai and full-width digits, and ``วันนี้``/``พรุ่งนี้``/``เมื่อวาน``. Year rules: a
4-digit year below 2400 is CE and from 2400 up is BE; a 2-digit year is BE 25xx; ``พ.ศ.``/``ค.ศ.``
before the year say which era it is. Nothing here reads the clock: ``today`` is passed in.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from messages.errors import InputError
from messages.thai_numbers import normalize_digits

__all__ = [
    "BE_OFFSET",
    "MONTHS_LONG",
    "MONTHS_SHORT",
    "format_date",
    "format_date_long",
    "format_datetime",
    "format_fiscal_year",
    "format_month_span",
    "format_month_year",
    "format_quarter",
    "parse_date",
]

BE_OFFSET = 543
_FIRST_BE_YEAR = 2400  # a 4-digit year from here up is Buddhist Era, below it Common Era

MONTHS_SHORT: tuple[str, ...] = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
MONTHS_LONG: tuple[str, ...] = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
# Spoken short forms users type, e.g. "15 มกรา 70".
_MONTHS_COLLOQUIAL: tuple[str, ...] = (
    "มกรา", "กุมภา", "มีนา", "เมษา", "พฤษภา", "มิถุนา",
    "กรกฎา", "สิงหา", "กันยา", "ตุลา", "พฤศจิกา", "ธันวา",
)  # fmt: skip

EXAMPLE = "เช่น 15/1/70 หรือ 15 ม.ค. 2570"

_RELATIVE_DAYS: dict[str, int] = {
    "วันนี้": 0,
    "พรุ่งนี้": 1,
    "มะรืน": 2,
    "มะรืนนี้": 2,
    "เมื่อวาน": -1,
    "เมื่อวานนี้": -1,
}


class _QuarterLike(Protocol):
    @property
    def fiscal_year(self) -> int: ...

    @property
    def quarter(self) -> int: ...


# --- formatting ---------------------------------------------------------------------------------


def format_date(d: date) -> str:
    """``date(2027, 1, 15)`` → ``15 ม.ค. 2570``."""
    return f"{d.day} {MONTHS_SHORT[d.month - 1]} {d.year + BE_OFFSET}"


def format_date_long(d: date) -> str:
    """``date(2027, 1, 15)`` → ``15 มกราคม 2570``."""
    return f"{d.day} {MONTHS_LONG[d.month - 1]} {d.year + BE_OFFSET}"


def format_month_year(d: date) -> str:
    """``date(2027, 1, 15)`` → ``ม.ค. 2570``."""
    return f"{MONTHS_SHORT[d.month - 1]} {d.year + BE_OFFSET}"


def format_month_span(first: date, last: date) -> str:
    """Months from ``first`` to ``last``: ``ต.ค.–ธ.ค. 2569``; across a year ``ต.ค. 2569–ม.ค. 2570``."""
    if first.year == last.year:
        return f"{MONTHS_SHORT[first.month - 1]}–{format_month_year(last)}"
    return f"{format_month_year(first)}–{format_month_year(last)}"


def format_datetime(dt: datetime, tz: ZoneInfo) -> str:
    """An aware datetime shown in ``tz``: ``15 ม.ค. 2570 08:30 น.``."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_datetime needs a timezone-aware datetime")
    local = dt.astimezone(tz)
    return f"{format_date(local.date())} {local:%H:%M} น."


def format_quarter(fq: _QuarterLike) -> str:
    """A fiscal quarter: ``ไตรมาส 1/2570``."""
    return f"ไตรมาส {fq.quarter}/{fq.fiscal_year}"


def format_fiscal_year(fy: int) -> str:
    """A fiscal year (BE): ``ปีงบประมาณ 2570``."""
    return f"ปีงบประมาณ {fy}"


# --- parsing ------------------------------------------------------------------------------------


def _abbreviation_pattern(abbr: str) -> str:
    """``ม.ค.`` → a pattern that also accepts ``มค``, ``ม.ค``, ``ม. ค.``."""
    letters = [part for part in abbr.split(".") if part]
    return r"\.?\s*".join(re.escape(part) for part in letters) + r"\.?"


def _month_alternatives() -> list[tuple[str, int]]:
    forms: list[tuple[str, int]] = []
    for index in range(12):
        month = index + 1
        forms.append((re.escape(MONTHS_LONG[index]), month))
        forms.append((re.escape(_MONTHS_COLLOQUIAL[index]), month))
        forms.append((_abbreviation_pattern(MONTHS_SHORT[index]), month))
    # Longest first so "มีนาคม" is not read as "มี.ค." followed by junk.
    forms.sort(key=lambda form: len(form[0]), reverse=True)
    return forms


_MONTH_FORMS = _month_alternatives()
_MONTH_GROUPS = {f"m{i}": month for i, (_, month) in enumerate(_MONTH_FORMS)}
_MONTH_PATTERN = "|".join(f"(?P<m{i}>{pattern})" for i, (pattern, _) in enumerate(_MONTH_FORMS))
_ERA = r"(?:(?P<era>พ\.?\s*ศ\.?|ค\.?\s*ศ\.?)\s*)?"

_NAMED_MONTH = re.compile(
    r"(?P<day>\d{1,2})\s*[-/]?\s*(?:" + _MONTH_PATTERN + r")"
    r"(?:\s*[-/]?\s*" + _ERA + r"(?P<year>\d+))?"
)
_NUMERIC = re.compile(r"(?P<day>\d{1,2})\s*([/.-])\s*(?P<month>\d{1,2})(?:\s*\2\s*(?P<year>\d+))?")
_ISO = re.compile(r"(?P<year>\d{4})([-/.])(?P<month>\d{1,2})\2(?P<day>\d{1,2})")
_LEADING_WORDS = re.compile(r"^วันที่\s*")


def _ce_year(year_text: str, era: str | None) -> int:
    """The CE year meant by what the user typed, following the module's year rules."""
    value = int(year_text)
    era_kind = None if era is None else era.replace(".", "").replace(" ", "")
    if len(year_text) == 2:
        return value + 2000 if era_kind == "คศ" else value + 2500 - BE_OFFSET
    if len(year_text) != 4:
        raise InputError("ปีต้องเป็นเลข 2 หรือ 4 หลักค่ะ", EXAMPLE)
    if era_kind == "พศ" or (era_kind is None and value >= _FIRST_BE_YEAR):
        return value - BE_OFFSET
    return value


def _build_date(year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12:
        raise InputError(f"ไม่มีเดือนที่ {month} ค่ะ", EXAMPLE)
    if not 1 <= year <= 9999:
        raise InputError("ปีนี้อยู่นอกช่วงที่ใช้ได้ค่ะ", EXAMPLE)
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        shown = f"{day} {MONTHS_SHORT[month - 1]} {year + BE_OFFSET}"
        raise InputError(f"ไม่มีวันที่ {shown} ค่ะ", EXAMPLE)
    return date(year, month, day)


def _next_occurrence(month: int, day: int, today: date | None) -> date:
    """The first ``day``/``month`` on or after ``today`` (29 Feb waits for a leap year)."""
    if today is None:
        raise InputError("กรุณาใส่ปีด้วยค่ะ", EXAMPLE)
    if not 1 <= month <= 12:
        raise InputError(f"ไม่มีเดือนที่ {month} ค่ะ", EXAMPLE)
    if not 1 <= day <= calendar.monthrange(2000, month)[1]:  # 2000 is leap: the most days a month has
        raise InputError(f"ไม่มีวันที่ {day} {MONTHS_SHORT[month - 1]} ค่ะ", EXAMPLE)
    for year in range(today.year, min(today.year + 9, 10_000)):  # a leap year comes within 8 years
        if day <= calendar.monthrange(year, month)[1]:
            candidate = date(year, month, day)
            if candidate >= today:
                return candidate
    raise InputError("กรุณาใส่ปีด้วยค่ะ", EXAMPLE)  # only at the very end of the calendar


def parse_date(text: str, *, today: date | None = None) -> date:
    """Read a date the way Thai users type it; see the module docstring for the accepted forms.

    ``today`` is needed for ``วันนี้``/``พรุ่งนี้``/``เมื่อวาน`` and for dates without a year (the next
    occurrence on or after ``today``). Raises ``InputError`` with a Thai message and an example.
    """
    cleaned = normalize_digits(text).strip()
    cleaned = _LEADING_WORDS.sub("", cleaned)
    if not cleaned:
        raise InputError("ยังไม่ได้พิมพ์วันที่ค่ะ", EXAMPLE)

    relative = _RELATIVE_DAYS.get(cleaned.replace(" ", ""))
    if relative is not None:
        if today is None:
            raise InputError("กรุณาพิมพ์วันที่แบบเต็มค่ะ", EXAMPLE)
        return today + timedelta(days=relative)

    if match := _ISO.fullmatch(cleaned):
        year = _ce_year(match["year"], None)
        return _build_date(year, int(match["month"]), int(match["day"]))

    if match := _NUMERIC.fullmatch(cleaned):
        day, month = int(match["day"]), int(match["month"])
        if match["year"] is None:
            return _next_occurrence(month, day, today)
        return _build_date(_ce_year(match["year"], None), month, day)

    if match := _NAMED_MONTH.fullmatch(cleaned):
        day = int(match["day"])
        month = next(m for group, m in _MONTH_GROUPS.items() if match[group] is not None)
        if match["year"] is None:
            return _next_occurrence(month, day, today)
        return _build_date(_ce_year(match["year"], match["era"]), month, day)

    raise InputError("อ่านวันที่นี้ไม่ออกค่ะ", EXAMPLE)
