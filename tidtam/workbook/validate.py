"""Turning each sheet's raw rows into validated records, collecting every problem on the way.

A sheet is read once, row by row, over plain tuples. Each column has a converter (``cells``); a cell
that fails gets a ``Problem`` and None, and the row is still kept so its code can be referred to
(one bad budget must not turn every indicator of that project into "unknown project" as well).
Checks between rows and sheets (references, cycles, roles) are in ``references``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from functools import partial

from messages import workbook as text
from messages.thai_dates import format_date
from tidtam.workbook import cells
from tidtam.workbook.columns import HEADER_ALIASES, SHEETS, normalize_header
from tidtam.workbook.limits import BrokenRow
from tidtam.workbook.records import (
    IndicatorRow,
    OfficeRow,
    PersonRow,
    Problem,
    ProjectRow,
    StrategyRow,
)

Converter = Callable[[object], object]


def _shared(convert: Converter) -> Converter:
    """Make equal values one object: a 300,000-row sheet repeats the same codes, units and dates, and
    sharing them keeps the parsed workbook small."""
    pool: dict[object, object] = {}

    def shared(value: object) -> object:
        result = convert(value)
        return pool.setdefault(result, result)

    return shared


def _shared_list(convert: Converter) -> Converter:
    return lambda value: tuple(sys.intern(code) for code in convert(value))  # type: ignore[attr-defined]


# Free-text columns: a value a spreadsheet would take for a formula is kept as typed, with a warning
# (every workbook the product writes shows it as text, ``text_cells``).
FORMULA_CHECKED = frozenset(
    {
        ("offices", "code"),
        ("offices", "name"),
        ("people", "code"),
        ("people", "full_name"),
        ("people", "position"),
        ("strategies", "code"),
        ("strategies", "title"),
        ("projects", "code"),
        ("projects", "name"),
        ("projects", "emenscr_id"),
        ("indicators", "code"),
        ("indicators", "name"),
        ("indicators", "unit"),
    }
)

_TEXT = partial(cells.as_text, limit=255)
_CODE = partial(cells.as_text, limit=32)
_PROJECT_CODE = partial(cells.as_text, limit=40)


def converters(sheet: str) -> dict[str, tuple[Converter, object]]:
    """Column key → (converter, value when the cell is blank and the column optional), with fresh
    sharing pools (one set per sheet read, so nothing outlives the import)."""
    return _converters()[sheet]


def _converters() -> dict[str, dict[str, tuple[Converter, object]]]:
    ref = _shared(_CODE)
    return {
        "offices": {
            "code": (_CODE, None),
            "name": (partial(cells.as_text, limit=255), None),
            "kind": (partial(cells.as_choice, vocabulary="office_kind"), None),
            "parent_code": (ref, None),
        },
        "people": {
            "code": (_CODE, None),
            "full_name": (partial(cells.as_text, limit=255), None),
            "position": (_shared(_TEXT), ""),
            "office_code": (ref, None),
            "roles": (_shared(cells.as_roles), ""),
        },
        "strategies": {
            "code": (_CODE, None),
            "level": (partial(cells.as_choice, vocabulary="strategy_level"), None),
            "title": (partial(cells.as_text, limit=500), None),
            "parent_code": (ref, None),
        },
        "projects": {
            "code": (_PROJECT_CODE, None),
            "fiscal_year": (cells.as_fiscal_year, None),
            "name": (_shared(partial(cells.as_text, limit=500)), None),
            "office_code": (ref, None),
            "owner_codes": (_shared_list(partial(cells.as_code_list, limit=32)), ()),
            "approver_code": (ref, None),
            "budget": (cells.as_satang, None),
            "strategy_codes": (_shared_list(partial(cells.as_code_list, limit=32)), ()),
            "start_date": (_shared(cells.as_date), None),
            "end_date": (_shared(cells.as_date), None),
            "emenscr_id": (partial(cells.as_text, limit=64), None),
        },
        "indicators": {
            "project_code": (_shared(_PROJECT_CODE), None),
            "code": (_shared(_PROJECT_CODE), None),
            "name": (_shared(partial(cells.as_text, limit=500)), None),
            "unit": (_shared(partial(cells.as_text, limit=64)), ""),
            "target": (_shared(cells.as_decimal), None),
            "kind": (partial(cells.as_choice, vocabulary="indicator_kind"), "output"),
        },
    }


def read_header(sheet: str, header: Sequence[object], problems: list[Problem]) -> dict[str, int]:
    """Column key → position in the row. Missing required columns and repeated headers are problems."""
    positions: dict[str, int] = {}
    aliases = HEADER_ALIASES[sheet]
    for index, cell in enumerate(header):
        if cells.is_blank(cell):
            continue
        key = aliases.get(normalize_header(cell))
        if key is None:
            problems.append(Problem(sheet, 1, str(cell), cell, text.unknown_column(), is_error=False))
        elif key in positions:
            problems.append(Problem(sheet, 1, key, cell, text.duplicate_column(positions[key] + 1)))
        else:
            positions[key] = index
    for column in SHEETS[sheet]:
        if column.required and column.key not in positions:
            problems.append(Problem(sheet, 1, column.key, None, text.missing_column()))
    return positions


def _convert_rows(
    sheet: str, rows: Iterator[Sequence[object] | BrokenRow], problems: list[Problem]
) -> Iterator[tuple[int, list[object]]]:
    """(row number, values in column order) for every non-blank row after the header; a row the source
    could not read is that row's problem (and the sheet's last row when the source could not go on)."""
    header = next(rows, None)
    if header is None:
        return
    if isinstance(header, BrokenRow):  # nothing of the sheet could be read, or not its header
        problems.append(Problem(sheet, None if header.last else 1, None, None, header.message))
        if header.last:
            return
        header = ()
    positions = read_header(sheet, header, problems)
    convert_by_key = converters(sheet)
    plan = [
        (column.key, positions.get(column.key), column.required, *convert_by_key[column.key])
        for column in SHEETS[sheet]
    ]
    formula_checked = [
        (at, key)
        for at, (key, index, *_) in enumerate(plan)
        if index is not None and (sheet, key) in FORMULA_CHECKED
    ]
    is_blank = cells.is_blank
    formula_start = cells.FORMULA_START
    for row_number, raw in enumerate(rows, start=2):
        if isinstance(raw, BrokenRow):
            message = text.reading_stopped(raw.message) if raw.last else raw.message
            problems.append(Problem(sheet, row_number, None, None, message))
            if raw.last:
                return
            continue
        if not any(raw) or all(is_blank(v) for v in raw if v is not None):
            continue
        width = len(raw)
        values: list[object] = []
        for key, index, required, convert, default in plan:
            value = raw[index] if index is not None and index < width else None
            if value is None or value == "" or (value.__class__ is str and not value.strip()):  # type: ignore[attr-defined]
                if required and index is not None:
                    problems.append(Problem(sheet, row_number, key, value, text.missing_value()))
                values.append(default)
                continue
            try:
                values.append(convert(value))
            except cells.CellProblem as exc:
                problems.append(Problem(sheet, row_number, key, value, exc.message))
                values.append(None)
        for at, key in formula_checked:
            result = values[at]
            if result.__class__ is str and result[:1] in formula_start and cells.looks_like_formula(result):  # type: ignore[index, arg-type]
                problems.append(
                    Problem(sheet, row_number, key, result, text.looks_like_formula(), is_error=False)
                )
        yield row_number, values


def _keep_first(
    sheet: str,
    found: dict,
    key: object,
    record: object,
    row: int,
    problems: list[Problem],
    column: str = "code",
) -> None:
    first = found.get(key)
    if first is None:
        found[key] = record
        return
    value = key[1] if isinstance(key, tuple) else key
    message = (
        text.duplicate_indicator(key[0], first.row)
        if isinstance(key, tuple)
        else text.duplicate_code(first.row)
    )
    problems.append(Problem(sheet, row, column, value, message))


def read_offices(
    rows: Iterator[Sequence[object] | BrokenRow], problems: list[Problem]
) -> dict[str, OfficeRow]:
    found: dict[str, OfficeRow] = {}
    for row, values in _convert_rows("offices", rows, problems):
        record = OfficeRow(row, *values)  # type: ignore[arg-type]
        if record.code is not None:
            _keep_first("offices", found, record.code, record, row, problems)
    return found


def read_people(
    rows: Iterator[Sequence[object] | BrokenRow], problems: list[Problem]
) -> dict[str, PersonRow]:
    found: dict[str, PersonRow] = {}
    for row, values in _convert_rows("people", rows, problems):
        record = PersonRow(row, *values)  # type: ignore[arg-type]
        if record.code is not None:
            _keep_first("people", found, record.code, record, row, problems)
    return found


def read_strategies(
    rows: Iterator[Sequence[object] | BrokenRow], problems: list[Problem]
) -> dict[str, StrategyRow]:
    found: dict[str, StrategyRow] = {}
    for row, values in _convert_rows("strategies", rows, problems):
        record = StrategyRow(row, *values)  # type: ignore[arg-type]
        if record.code is not None:
            _keep_first("strategies", found, record.code, record, row, problems)
    return found


def read_projects(
    rows: Iterator[Sequence[object] | BrokenRow], problems: list[Problem]
) -> dict[str, ProjectRow]:
    found: dict[str, ProjectRow] = {}
    for row, values in _convert_rows("projects", rows, problems):
        record = ProjectRow(row, *values)  # type: ignore[arg-type]
        if record.starts_on and record.ends_on and record.ends_on < record.starts_on:
            problems.append(
                Problem(
                    "projects",
                    row,
                    "end_date",
                    format_date(record.ends_on),
                    text.end_before_start(format_date(record.starts_on)),
                )
            )
        if record.code is not None:
            _keep_first("projects", found, record.code, record, row, problems)
    return found


def read_indicators(
    rows: Iterator[Sequence[object] | BrokenRow], problems: list[Problem]
) -> dict[tuple[str, str], IndicatorRow]:
    found: dict[tuple[str, str], IndicatorRow] = {}
    per_project: dict[str, int] = {}
    for row, values in _convert_rows("indicators", rows, problems):
        project_code, code = values[0], values[1]
        if project_code is None or code is None:
            continue
        position = per_project.get(project_code, 0) + 1  # type: ignore[call-overload]
        per_project[project_code] = position  # type: ignore[index]
        record = IndicatorRow(row, *values, position)  # type: ignore[arg-type, call-arg]
        _keep_first("indicators", found, record.key, record, row, problems)
    return found
