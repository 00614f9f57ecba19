"""A questionnaire as a workbook: `tidtam evaluation template FILE.xlsx` writes a blank one with Thai
headers (and an example), and `read_sheets` reads one back into the loader's Raw tree, every value
named by its sheet and row."""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill

from evaluation.loader import QUESTION_FIELDS, QuestionnaireError, Raw
from messages import evaluation as txt
from tidtam.workbook.text_cells import append_row

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def write_template(path: Path) -> None:
    book = Workbook()
    how_to = book.active
    how_to.title = txt.HOW_TO_SHEET
    for line in txt.HOW_TO_LINES:
        append_row(how_to, [line])
    how_to.column_dimensions["A"].width = 100
    form = book.create_sheet(txt.FORM_SHEET)
    for label in txt.FORM_ROWS.values():
        append_row(form, [label, ""])
    form.column_dimensions["A"].width = 28
    form.column_dimensions["B"].width = 70
    questions = book.create_sheet(txt.QUESTIONS_SHEET)
    append_row(questions, [txt.QUESTION_HEADERS[f] for f in QUESTION_FIELDS])
    for index in range(1, len(QUESTION_FIELDS) + 1):
        cell = questions.cell(row=1, column=index)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        questions.column_dimensions[cell.column_letter].width = 22
    for row in txt.EXAMPLE_ROWS:
        append_row(questions, list(row))
    questions.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_sheets(path: Path) -> Raw:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise QuestionnaireError([txt.problem(txt.where_file(), "not_xlsx")]) from None
    try:
        for sheet in (txt.FORM_SHEET, txt.QUESTIONS_SHEET):
            if sheet not in book.sheetnames:
                raise QuestionnaireError([txt.problem(txt.where_file(), "sheet_missing", sheet=sheet)])
        top: dict[str, Raw] = {}
        labels = {label: key for key, label in txt.FORM_ROWS.items()}
        for number, row in enumerate(book[txt.FORM_SHEET].iter_rows(values_only=True), start=1):
            if not row:
                continue
            key = labels.get(_cell(row[0]))
            if key is not None:
                top[key] = Raw(
                    _cell(row[1]) if len(row) > 1 else "", txt.where_row(txt.FORM_SHEET, number), number
                )
        rows = book[txt.QUESTIONS_SHEET].iter_rows(values_only=True)
        header = [_cell(v) for v in next(rows, ())]
        columns: dict[str, int] = {}
        for field in QUESTION_FIELDS:
            label = txt.QUESTION_HEADERS[field]
            if label in header:
                columns[field] = header.index(label)
            elif field in ("key", "kind", "text"):
                where = txt.where_row(txt.QUESTIONS_SHEET, 1)
                raise QuestionnaireError(
                    [txt.problem(where, "header_missing", sheet=txt.QUESTIONS_SHEET, header=label)]
                )
        questions: list[Raw] = []
        for number, row in enumerate(rows, start=2):
            values = [_cell(v) for v in row]
            if not any(values):
                continue
            where = txt.where_row(txt.QUESTIONS_SHEET, number)
            fields = {
                field: Raw(values[index], where, number)
                for field, index in columns.items()
                if index < len(values) and values[index]
            }
            questions.append(Raw(fields, where, number))
        top["questions"] = Raw(questions, txt.where_row(txt.QUESTIONS_SHEET, 1), 1)
        return Raw(top, txt.where_row(txt.FORM_SHEET, 1), 1)
    finally:
        book.close()
