"""``tidtam template``: a blank workbook to fill in — an instructions sheet, then one sheet per table
with the Thai headers in row 1 (the data starts in row 2, as import expects). Every row goes through
``text_cells``, so no text in it can become a formula."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from messages import workbook as text
from tidtam.workbook.columns import SHEETS
from tidtam.workbook.text_cells import append_row

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
# Columns whose values come from a fixed list: a drop-down in Excel (typing other text still works).
_CHOICES = {
    ("offices", "kind"): "office_kind",
    ("strategies", "level"): "strategy_level",
    ("indicators", "kind"): "indicator_kind",
}


def headers(sheet: str) -> list[str]:
    """The Thai headers of a sheet, in column order."""
    return [text.COLUMN_HEADERS[(sheet, column.key)] for column in SHEETS[sheet]]


def write_template(path: Path) -> None:
    book = Workbook()
    _write_instructions(book.active)
    for sheet, columns in SHEETS.items():
        ws = book.create_sheet(sheet)
        append_row(ws, headers(sheet))
        ws.freeze_panes = "A2"
        for index, column in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=index)
            cell.font = _HEADER_FONT
            cell.fill = _REQUIRED_FILL if column.required else _HEADER_FILL
            letter = get_column_letter(index)
            ws.column_dimensions[letter].width = max(14, len(str(cell.value)) + 6)
            vocabulary = _CHOICES.get((sheet, column.key))
            if vocabulary:
                values = ",".join(text.VALUE_LABELS[vocabulary])
                check = DataValidation(
                    type="list", formula1=f'"{values}"', allow_blank=True, showErrorMessage=False
                )
                check.add(f"{letter}2:{letter}100000")
                ws.add_data_validation(check)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _write_instructions(ws) -> None:  # type: ignore[no-untyped-def]
    ws.title = text.INSTRUCTIONS_SHEET
    for line in text.INSTRUCTIONS_INTRO:
        append_row(ws, [line])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    append_row(ws, text.INSTRUCTIONS_HEADER)
    for cell in ws[ws.max_row]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    for sheet, columns in SHEETS.items():
        for column in columns:
            append_row(
                ws,
                [
                    text.sheet_label(sheet),
                    column.key,
                    text.COLUMN_HEADERS[(sheet, column.key)],
                    text.required_label(column.required),
                    text.COLUMN_HELP[(sheet, column.key)],
                ],
            )
    ws.append([])
    append_row(ws, [text.EXAMPLE_LABEL])
    ws[f"A{ws.max_row}"].font = _HEADER_FONT
    for sheet in SHEETS:
        append_row(ws, [text.sheet_label(sheet), *headers(sheet)])
        append_row(ws, ["", *text.EXAMPLE_ROWS[sheet]])
        for cell in ws[ws.max_row]:
            cell.font = Font(italic=True, color="808080")
    for letter, width in zip("ABCDE", (24, 16, 28, 10, 90), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=1, max_col=5):
        for cell in row:
            cell.alignment = Alignment(wrap_text=False, vertical="top")
