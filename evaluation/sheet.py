"""Evaluation workbooks: `tidtam evaluation template FILE.xlsx` writes a blank questionnaire with Thai
headers (and an example), `read_sheets` reads one back into the loader's Raw tree (every value named
by its sheet and row), and `write_results` writes a campaign's results. Every row goes through
`text_cells`, so no answer can become a formula."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill

from evaluation.loader import QUESTION_FIELDS, QuestionnaireError, Raw, from_dict
from evaluation.results import Results, percent
from evaluation.yearend import SuccessRate
from messages import evaluation as txt
from messages.thai_dates import format_datetime
from tidtam.workbook.text_cells import append_row

if TYPE_CHECKING:
    from models.campaigns import AnswerRow
    from models.evaluation import Campaign
    from models.plan import Strategy

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
    for key, label in txt.FORM_ROWS.items():
        append_row(form, [label, txt.FORM_EXAMPLE[key]])
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


def _header(sheet: Any, headers: Sequence[str]) -> None:
    append_row(sheet, list(headers))
    for index in range(1, len(headers) + 1):
        cell = sheet.cell(row=sheet.max_row, column=index)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        sheet.column_dimensions[cell.column_letter].width = 18


def _number(value: Decimal | None) -> float | str:
    return float(value) if value is not None else ""


def write_results(
    path: Path,
    campaign: Campaign,
    results: Results,
    answers: Sequence[AnswerRow],
    *,
    hide_people: bool,
    strategy_rates: Sequence[tuple[Strategy, SuccessRate]] = (),
    tz: Any,
) -> None:
    """The results workbook: summary by office, each question's figures, the comments, every answer
    (with who answered unless the campaign is anonymous or `hide_people`), the strategy success rates."""
    book = Workbook()
    summary = book.active
    summary.title = txt.RESULTS_SUMMARY_SHEET
    for line in txt.summary_title(campaign.title, campaign.opens_on, campaign.closes_on, campaign.anonymous):
        append_row(summary, [line])
    append_row(summary, [])
    _header(summary, txt.SUMMARY_HEADERS)
    for office in results.by_office:
        append_row(
            summary, [office.code, office.name, office.recipients, office.answered, _number(office.rate)]
        )
    append_row(summary, ["", txt.ALL_OFFICES, results.recipients, results.answered, _number(results.rate)])

    per_question = book.create_sheet(txt.RESULTS_QUESTIONS_SHEET)
    _header(per_question, txt.QUESTION_RESULT_HEADERS)
    comments = book.create_sheet(txt.RESULTS_COMMENTS_SHEET)
    _header(comments, txt.COMMENT_HEADERS)
    for number, result in enumerate(results.questions, start=1):
        q = result.question
        first = [number, q.text, txt.kind_label(q.kind.value), result.answered]
        if result.distribution:
            for label, count in result.distribution:
                share = percent(count, result.answered)
                append_row(
                    per_question,
                    [*first, label, count, _number(share), _number(result.mean), _number(result.median)],
                )
        else:
            append_row(per_question, [*first, "", "", "", _number(result.mean), _number(result.median)])
        for text in result.texts:
            append_row(comments, [number, q.text, text])

    listing = book.create_sheet(txt.RESULTS_ANSWERS_SHEET)
    questions = [q for q in from_dict(campaign.form).questions]
    identity = () if (hide_people or campaign.anonymous) else txt.ANSWER_IDENTITY_HEADERS
    _header(listing, [*identity, *txt.ANSWER_TIME_HEADERS, *(q.text for q in questions)])
    for row in answers:
        who = (
            []
            if not identity
            else [
                row.person.code if row.person else "",
                row.person.full_name if row.person else "",
                row.office.name if row.office else "",
            ]
        )
        times = [_local(row.submitted_at, tz), _local(row.updated_at, tz)]
        append_row(listing, [*who, *times, *(txt.answer_text(q, row.answers.get(q.key)) for q in questions)])

    if strategy_rates:
        strategies = book.create_sheet(txt.RESULTS_STRATEGY_SHEET)
        _header(strategies, txt.STRATEGY_HEADERS)
        for strategy, rate in strategy_rates:
            append_row(
                strategies,
                [
                    strategy.code,
                    strategy.title,
                    rate.projects,
                    rate.evaluated,
                    rate.achieved,
                    _number(rate.rate),
                ],
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def _local(moment: Any, tz: Any) -> str:
    return format_datetime(moment, tz)
