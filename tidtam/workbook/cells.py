"""Reading one cell: text, codes, coded values, code lists, fiscal years, money, numbers and dates.

Cells arrive as whatever the source gives (str from CSV; str, int, float, datetime from Excel; a
``BrokenCell`` for a cell the source could not read, which every converter refuses with its reason).
Every converter returns a plain Python value or raises ``CellProblem`` with the Thai reason; converters
never see the row, so they stay small and are unit-testable.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from messages import workbook as text
from messages.errors import InputError
from messages.thai_dates import parse_date
from messages.thai_numbers import normalize_digits, parse_money, parse_number
from tidtam.workbook.limits import BrokenCell

FISCAL_YEAR_MIN = 2500  # BE; fiscal years before this are certainly a typo
FISCAL_YEAR_MAX = 2700
_CE_RANGE = range(1950, 2200)  # a CE year typed instead of BE: 2027 → 2570
_LIST_SPLIT = re.compile(r"[;,\n]+")
_ROLE_SPLIT = re.compile(r"[;,\s]+")
_TARGET_PLACES = 4
FORMULA_START = frozenset("=+-@")
_PLAIN_SIGNED = re.compile(r"[+-][\d\s,.()+-]*")  # -5, +66 81 234 5678, ---


class CellProblem(Exception):
    """A cell's value cannot be used; ``message`` is the Thai reason and what is expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: object, limit: int) -> str:
    """A cell as stripped text ('' when blank); numbers typed in Excel lose a trailing ``.0``."""
    if value is None:
        return ""
    if isinstance(value, str):
        result = value.strip()
    elif isinstance(value, float) and value.is_integer():
        result = str(int(value))
    elif isinstance(value, datetime):
        result = value.date().isoformat()
    elif isinstance(value, BrokenCell):  # every converter reads unknown kinds of value through here
        raise CellProblem(value.message)
    else:
        result = str(value)
    if len(result) > limit:
        raise CellProblem(text.too_long(limit))
    return result


def looks_like_formula(text: str) -> bool:
    """Would a spreadsheet take this text, typed into a cell, for a formula? ``=…`` and ``@…`` yes;
    ``+``/``-`` followed by more than a number (``-5``, ``+66 81 234 5678`` and a lone ``-`` are plain)."""
    if len(text) < 2 or text[0] not in FORMULA_START:
        return False
    return text[0] in "=@" or _PLAIN_SIGNED.fullmatch(text) is None


def as_choice(value: object, vocabulary: str, default: str | None = None) -> str:
    """An English value or its Thai label, e.g. ``โรงเรียน`` → ``school``."""
    raw = as_text(value, 64)
    if not raw and default is not None:
        return default
    found = _CHOICES[vocabulary].get(raw.lower().replace(" ", ""))
    if found is None:
        raise CellProblem(text.bad_choice(vocabulary))
    return found


_CHOICES: dict[str, dict[str, str]] = {
    vocabulary: {
        **{key: key for key in labels},
        **{thai.replace(" ", ""): key for key, thai in labels.items()},
        **{thai.replace(" ", "").rstrip("ฯ"): key for key, thai in labels.items() if thai.endswith("ฯ")},
    }
    for vocabulary, labels in text.VALUE_LABELS.items()
}


def as_roles(value: object) -> str:
    """Roles as stored: sorted, unique, comma-separated (``approver,reporter``). The head of
    monitoring is a planner too (``หัวหน้ากลุ่มงานติดตามฯ`` → ``monitoring_head,planner``)."""
    raw = as_text(value, 255)
    roles = {as_choice(part, "role") for part in _ROLE_SPLIT.split(raw) if part}
    if "monitoring_head" in roles:
        roles.add("planner")
    return ",".join(sorted(roles))


def as_code_list(value: object, limit: int) -> tuple[str, ...]:
    """Codes separated by ``;`` (``,`` and line breaks are accepted too), in the order given."""
    raw = as_text(value, 10_000)
    codes: list[str] = []
    for part in _LIST_SPLIT.split(raw):
        code = part.strip()
        if not code:
            continue
        if len(code) > limit:
            raise CellProblem(text.too_long(limit))
        if code in codes:
            raise CellProblem(text.duplicate_in_list(code))
        codes.append(code)
    return tuple(codes)


def as_fiscal_year(value: object) -> int:
    """A Buddhist Era fiscal year such as 2570; a CE year (2027) is refused with the BE year it means."""
    if isinstance(value, bool):
        raise CellProblem(text.bad_fiscal_year())
    if isinstance(value, int):
        year = value
    elif isinstance(value, float) and value.is_integer():
        year = int(value)
    else:
        raw = normalize_digits(as_text(value, 32)).replace("พ.ศ.", "").strip()
        if not raw.isdigit():
            raise CellProblem(text.bad_fiscal_year())
        year = int(raw)
    if year in _CE_RANGE:
        raise CellProblem(text.fiscal_year_looks_ce(year))
    if not FISCAL_YEAR_MIN <= year <= FISCAL_YEAR_MAX:
        raise CellProblem(text.fiscal_year_out_of_range(FISCAL_YEAR_MIN, FISCAL_YEAR_MAX))
    return year


def as_satang(value: object) -> int:
    """An amount in baht (a number, or text such as ``120,000 บาท``) as integer satang."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise CellProblem(text.bad_money(text.negative_number()))
        return value * 100
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as the same float: what was typed
    try:
        return parse_money(as_text(value, 64))
    except InputError as exc:
        raise CellProblem(text.bad_money(exc.message)) from None


def as_decimal(value: object) -> Decimal:
    """A number with at most four decimal places (an indicator's target)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else parse_number(as_text(value, 64))
        except (InputError, InvalidOperation) as exc:
            reason = exc.message if isinstance(exc, InputError) else ""
            raise CellProblem(text.bad_number(reason).strip()) from None
    if not number.is_finite():
        raise CellProblem(text.bad_number("").strip())
    if number.as_tuple().exponent < -_TARGET_PLACES:  # type: ignore[operator]
        raise CellProblem(text.too_many_decimals(_TARGET_PLACES))
    return number


def as_date(value: object) -> date:
    """A real Excel date, or text in the forms Thai users type (``15/1/70``, ``15 ม.ค. 2570``, ISO)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return parse_date(as_text(value, 64))
    except InputError as exc:
        raise CellProblem(text.bad_date(exc.message)) from None
