"""Writing text into a workbook so that no spreadsheet takes it for a formula: the one guard every
workbook the product writes (the import template, the demo data, the link-code sheet) sends its rows
through.

A name such as ``=HYPERLINK("http://…","คลิก")`` must reach the planning group's Excel as the text the
person typed, not as a live formula beside other people's link codes. openpyxl writes a string that
starts with ``=`` as a formula; forcing the cell's type to string (``data_type = "s"``) writes it as
text, but Excel and LibreOffice turn such a cell into a formula again as soon as someone edits it, and
a re-save as CSV exports the bare ``=…``. So a text starting with any character that starts a formula
or a CSV injection (``=``, ``+``, ``-``, ``@``, tab, carriage return: OWASP's list) is written as a
string cell with the cell style's ``quotePrefix`` set and the Text number format (``@``) — what Excel
itself stores when someone types ``'=…`` — so it stays text when read, edited or exported, and its value
is exactly the stored text (no apostrophe added to the data, so a re-import reads the same value).
Characters XML cannot hold (control characters) are dropped, as no workbook can carry them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

FORMULA_TRIGGERS = frozenset("=+-@\t\r")
TEXT_FORMAT = "@"


def needs_guard(value: str) -> bool:
    """Would a spreadsheet take this text for a formula (now, or once edited or saved as CSV)?"""
    return bool(value) and value[0] in FORMULA_TRIGGERS


def text_cell(sheet: Any, value: str) -> Cell:
    """A cell holding ``value`` as text for any reader (see the module docstring)."""
    cell = Cell(sheet, row=1, column=1)  # append() places it; write-only sheets need a coordinate
    cell.value = value  # openpyxl makes a leading "=" a formula here ...
    cell.data_type = "s"  # ... so the type is set after the value
    cell.quotePrefix = True
    cell.number_format = TEXT_FORMAT
    return cell


def safe_value(sheet: Any, value: object) -> object:
    """``value`` ready for ``sheet.append``: text that could start a formula becomes a text cell."""
    if not isinstance(value, str):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", value) if ILLEGAL_CHARACTERS_RE.search(value) else value
    if text and text[0] in FORMULA_TRIGGERS:
        return text_cell(sheet, text)
    return text


def safe_row(sheet: Any, values: Iterable[object]) -> list[object]:
    """A row for ``sheet.append`` (a normal or a write-only worksheet) with every text guarded."""
    return [safe_value(sheet, value) for value in values]


def append_row(sheet: Any, values: Iterable[object]) -> None:
    sheet.append(safe_row(sheet, values))
