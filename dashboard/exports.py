"""eMENSCR-ready exports: one row per project with its report for a quarter, and one per indicator.

The rows are read in batches of projects (keyset paging by id, a fixed number of queries per batch),
and written as they come: an .xlsx through a streaming sheet-XML writer (`dashboard/xlsx_stream.py`),
or CSV in UTF-8 with a BOM so
that Excel shows Thai. Which fields, under which headers and in which order is a column mapping
(TOML; the default is `dashboard/data/emenscr_columns.toml`), so an office can match the template its
ministry coordinator sends. Money is a number of baht with two decimals, dates are in BE, and no text
reaches a spreadsheet as a formula (`tidtam/workbook/text_cells.py`; in CSV a leading ', as OWASP
advises, since a CSV cell has no type).
"""

from __future__ import annotations

import csv
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

import messages.dashboard as text
from dashboard.queries import Period, projects_with_state
from dashboard.scope import Scope
from messages.thai_dates import format_date
from messages.thai_numbers import format_number
from models.org import Office, Person
from models.plan import Indicator, Project, ProjectOwner, ProjectStrategy, Strategy
from models.reports import ApprovalDecision, IndicatorResult, ProgressReport, ReportVersion
from models.types import DecisionOutcome, StrategyLevel
from tidtam.workbook.text_cells import FORMULA_TRIGGERS

DEFAULT_COLUMNS = Path(__file__).parent / "data" / "emenscr_columns.toml"
BATCH = 2000
CENT = Decimal("0.01")
PROJECT_FIELDS = frozenset(
    {
        "emenscr_id", "code", "name", "office", "office_code", "national_strategy", "master_plan",
        "obec_policy", "area_strategy", "fiscal_year", "quarter", "budget", "disbursed", "disbursed_pct",
        "progress_pct", "implementation_status", "indicators", "activities", "problems", "suggestions",
        "owners", "report_status", "submitted_on", "approver", "approved_on",
    }
)  # fmt: skip
INDICATOR_FIELDS = frozenset(
    {
        "emenscr_id",
        "code",
        "name",
        "indicator_code",
        "indicator",
        "indicator_kind",
        "unit",
        "target",
        "result",
        "achieved_pct",
    }
)
MONEY_FIELDS = frozenset({"budget", "disbursed"})
_LEVEL_FIELD = {
    StrategyLevel.NATIONAL: "national_strategy",
    StrategyLevel.MASTER_PLAN: "master_plan",
    StrategyLevel.OBEC: "obec_policy",
    StrategyLevel.AREA: "area_strategy",
}


class MappingError(ValueError):
    """A column mapping file that cannot be used; the message says which file and what is wrong."""


@dataclass(frozen=True)
class Sheet:
    title: str
    fields: tuple[str, ...]
    headers: tuple[str, ...]


@dataclass(frozen=True)
class ColumnMapping:
    projects: Sheet
    indicators: Sheet


def load_mapping(path: Path | None = None) -> ColumnMapping:
    """The column mapping of `path`, or the default one; raises MappingError naming what is wrong."""
    source = path or DEFAULT_COLUMNS
    try:
        document = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(text.mapping_unreadable(str(source), str(exc))) from exc

    def sheet(name: str, known: frozenset[str], title: str) -> Sheet:
        part = document.get(name, {})
        columns = part.get("columns", []) if isinstance(part, dict) else []
        if not columns:
            raise MappingError(text.mapping_no_columns(str(source), name))
        fields, headers = [], []
        for column in columns:
            field = column.get("field") if isinstance(column, dict) else None
            if field not in known:
                raise MappingError(text.mapping_unknown_field(str(source), name, str(field), sorted(known)))
            fields.append(field)
            headers.append(str(column.get("header") or field))
        return Sheet(str(part.get("sheet") or title), tuple(fields), tuple(headers))

    return ColumnMapping(
        sheet("projects", PROJECT_FIELDS, "projects"), sheet("indicators", INDICATOR_FIELDS, "indicators")
    )


def baht(satang: int | None) -> Decimal | None:
    return None if satang is None else (Decimal(satang) / 100).quantize(CENT)


def _pct(part: Decimal | int | None, whole: Decimal | int | None) -> Decimal | None:
    if part is None or not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, ROUND_HALF_UP)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _strategy_columns(session: Session) -> dict[int, dict[str, str]]:
    """For each strategy: the linkage columns it fills (itself and its ancestors, by level)."""
    rows = {s.id: s for s in session.exec(select(Strategy))}
    found: dict[int, dict[str, str]] = {}
    for strategy_id, strategy in rows.items():
        columns: dict[str, str] = {}
        node: Strategy | None = strategy
        depth = 0
        while node is not None and depth < 8:
            level = _LEVEL_FIELD.get(StrategyLevel(node.level)) if node.level in set(StrategyLevel) else None
            if level and level not in columns:
                columns[level] = f"{node.code} {node.title}"
            node = rows.get(node.parent_id) if node.parent_id is not None else None
            depth += 1
        found[strategy_id or 0] = columns
    return found


def project_rows(
    session: Session, period: Period, scope: Scope, *, tz: Any
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each project of the period's year in scope: its row, and its indicators' rows.

    Rows are plain tuples (Core, no ORM entities), read in keyset batches of project ids; the batch's
    linkage, indicators, results, approvals and owners are read by the batch's id range (a few
    queries per batch, no lists of bound ids)."""
    linkage = _strategy_columns(session)
    last_id = 0
    while True:
        statement, _ = projects_with_state(
            period,
            col(Project.id),
            col(Project.emenscr_id),
            col(Project.code),
            col(Project.name),
            col(Project.fiscal_year),
            col(Project.budget_satang),
            col(Project.approver_id),
            col(Office.name).label("office_name"),
            col(Office.code).label("office_code"),
            col(ReportVersion.id).label("version_id"),
            col(ReportVersion.budget_disbursed_satang),
            col(ReportVersion.progress_pct),
            col(ReportVersion.implementation_status),
            col(ReportVersion.activities),
            col(ReportVersion.problems),
            col(ReportVersion.suggestions),
            col(ReportVersion.submitted_at),
        )
        statement = scope.restrict(statement, col(Project.office_id))
        statement = (
            statement.join(Office, col(Office.id) == col(Project.office_id))
            .outerjoin(
                ReportVersion,
                sa.and_(
                    col(ReportVersion.report_id) == col(ProgressReport.id),
                    col(ReportVersion.version) == col(ProgressReport.current_version),
                ),
            )
            .where(col(Project.id) > last_id)
            .order_by(col(Project.id))
            .limit(BATCH)
        )
        batch = session.execute(statement).all()
        if not batch:
            return
        first_id, last_id = batch[0].id, batch[-1].id
        yield from _batch_rows(session, period, batch, (first_id, last_id), linkage, tz)


def _in_range(column: Any, span: tuple[int, int]) -> Any:
    return col(column).between(span[0], span[1])


def _batch_rows(
    session: Session,
    period: Period,
    batch: list[Any],
    span: tuple[int, int],
    linkage: dict[int, dict[str, str]],
    tz: Any,
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    links: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for project_id, strategy_id in session.execute(
        select(ProjectStrategy.project_id, ProjectStrategy.strategy_id)
        .where(_in_range(ProjectStrategy.project_id, span))
        .order_by(col(ProjectStrategy.project_id), col(ProjectStrategy.strategy_id))
    ):
        for field, label in linkage.get(strategy_id, {}).items():
            if label not in links[project_id][field]:
                links[project_id][field].append(label)
    indicators: dict[int, list[Any]] = defaultdict(list)
    for indicator in session.execute(
        select(
            Indicator.id,
            Indicator.project_id,
            Indicator.code,
            Indicator.name,
            Indicator.kind,
            Indicator.unit,
            Indicator.target,
        )
        .where(_in_range(Indicator.project_id, span))
        .order_by(col(Indicator.position), col(Indicator.code))
    ):
        indicators[indicator.project_id].append(indicator)
    this_version = sa.and_(
        col(ProgressReport.period_id) == period.id,
        _in_range(ProgressReport.project_id, span),
        col(ReportVersion.version) == col(ProgressReport.current_version),
    )
    results: dict[tuple[int, int], Decimal | None] = {}
    for version_id, indicator_id, value in session.execute(
        select(IndicatorResult.version_id, IndicatorResult.indicator_id, IndicatorResult.value)
        .join(ReportVersion, col(ReportVersion.id) == col(IndicatorResult.version_id))
        .join(ProgressReport, col(ProgressReport.id) == col(ReportVersion.report_id))
        .where(this_version)
    ):
        results[(version_id, indicator_id)] = _dec(value)
    approvals: dict[int, tuple[int | None, Any]] = {}
    for version_id, decided_by, decided_at in session.execute(
        select(ApprovalDecision.version_id, ApprovalDecision.decided_by_id, ApprovalDecision.decided_at)
        .join(ReportVersion, col(ReportVersion.id) == col(ApprovalDecision.version_id))
        .join(ProgressReport, col(ProgressReport.id) == col(ReportVersion.report_id))
        .where(this_version, ApprovalDecision.outcome == DecisionOutcome.APPROVED)
        .order_by(col(ApprovalDecision.level))
    ):
        approvals[version_id] = (decided_by, decided_at)  # the highest level's decision wins
    people_ids = {d[0] for d in approvals.values() if d[0]} | {r.approver_id for r in batch if r.approver_id}
    names = (
        dict(session.execute(select(Person.id, Person.full_name).where(col(Person.id).in_(people_ids))).all())
        if people_ids
        else {}
    )
    owners = _owners_in(session, span)
    for r in batch:
        reported = r.version_id is not None
        decision = approvals.get(r.version_id) if reported else None
        approver = names.get(decision[0]) if decision else names.get(r.approver_id, "")
        budget = baht(r.budget_satang)
        disbursed = baht(r.budget_disbursed_satang) if reported else None
        indicator_rows = []
        summaries = []
        for indicator in indicators.get(r.id, ()):
            target = _dec(indicator.target)
            result = results.get((r.version_id, indicator.id)) if reported else None
            indicator_rows.append(
                {
                    "emenscr_id": r.emenscr_id or "",
                    "code": r.code,
                    "name": r.name,
                    "indicator_code": indicator.code,
                    "indicator": indicator.name,
                    "indicator_kind": text.INDICATOR_KIND_LABELS.get(
                        str(indicator.kind), str(indicator.kind)
                    ),
                    "unit": indicator.unit,
                    "target": target,
                    "result": result,
                    "achieved_pct": _pct(result, target),
                }
            )
            summaries.append(
                text.indicator_summary(indicator.name, indicator.unit, _shown(target), _shown(result))
            )
        row = {
            "emenscr_id": r.emenscr_id or "",
            "code": r.code,
            "name": r.name,
            "office": r.office_name,
            "office_code": r.office_code,
            **{field: "\n".join(labels) for field, labels in links.get(r.id, {}).items()},
            "fiscal_year": r.fiscal_year,
            "quarter": period.quarter,
            "budget": budget,
            "disbursed": disbursed,
            "disbursed_pct": _pct(disbursed, budget),
            "progress_pct": _dec(r.progress_pct) if reported else None,
            "implementation_status": text.implementation_label(str(r.implementation_status))
            if reported
            else "",
            "indicators": "\n".join(summaries),
            "activities": r.activities if reported else "",
            "problems": r.problems if reported else "",
            "suggestions": r.suggestions if reported else "",
            "owners": ", ".join(owners.get(r.id, [])),
            "report_status": text.STATE_LABELS.get(r.state, r.state),
            "submitted_on": _be(r.submitted_at, tz) if reported else "",
            "approver": approver or "",
            "approved_on": _be(decision[1], tz) if decision else "",
        }
        yield row, indicator_rows


def _owners_in(session: Session, span: tuple[int, int]) -> dict[int, list[str]]:
    """The responsible people's names of the projects with ids in `span`, in their listed order."""
    found: dict[int, list[str]] = defaultdict(list)
    for project_id, name in session.execute(
        select(ProjectOwner.project_id, Person.full_name)
        .join(Person, col(Person.id) == col(ProjectOwner.person_id))
        .where(_in_range(ProjectOwner.project_id, span))
        .order_by(col(ProjectOwner.project_id), col(ProjectOwner.position), col(Person.full_name))
    ):
        found[int(project_id)].append(name)
    return found


def _shown(value: Decimal | None) -> str:
    return format_number(value) if value is not None else "–"


def _be(moment: Any, tz: Any) -> str:
    return "" if moment is None else format_date(moment.astimezone(tz).date())


# --- writers ------------------------------------------------------------------------------------------


def _values(sheet: Sheet, row: dict[str, Any]) -> list[Any]:
    """The row's values in the sheet's order (None where it has none: an empty cell)."""
    return [row.get(field) for field in sheet.fields]


@dataclass(frozen=True)
class ExportSummary:
    projects: int
    indicators: int
    files: tuple[Path, ...]


def write_xlsx(
    path: Path, mapping: ColumnMapping, rows: Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> ExportSummary:
    from dashboard.xlsx_stream import StreamingWorkbook

    money = [i for i, f in enumerate(mapping.projects.fields) if f in MONEY_FIELDS]
    counted = [0, 0]
    with StreamingWorkbook(path, [(mapping.projects.title, money), (mapping.indicators.title, ())]) as book:
        book.append(0, mapping.projects.headers)
        book.append(1, mapping.indicators.headers)
        for row, indicator_rows in rows:
            book.append(0, _values(mapping.projects, row))
            counted[0] += 1
            for indicator_row in indicator_rows:
                book.append(1, _values(mapping.indicators, indicator_row))
                counted[1] += 1
    return ExportSummary(counted[0], counted[1], (path,))


def csv_cell(value: Any) -> str:
    """One CSV cell: money and figures as plain decimals; a text that could start a formula gets a
    leading apostrophe (a CSV cell has no type to keep it text)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    shown = str(value)
    return "'" + shown if shown and shown[0] in FORMULA_TRIGGERS else shown


def indicators_path(path: Path) -> Path:
    """Where the CSV of indicators goes beside the CSV of projects."""
    return path.with_name(f"{path.stem}-indicators{path.suffix}")


def write_csv(
    path: Path, mapping: ColumnMapping, rows: Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> ExportSummary:
    second = indicators_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    counted = [0, 0]
    with (
        path.open("w", encoding="utf-8-sig", newline="") as main,
        second.open("w", encoding="utf-8-sig", newline="") as other,
    ):
        projects, indicators = csv.writer(main), csv.writer(other)
        projects.writerow(mapping.projects.headers)
        indicators.writerow(mapping.indicators.headers)
        for row, indicator_rows in rows:
            projects.writerow([csv_cell(v) for v in _values(mapping.projects, row)])
            counted[0] += 1
            for indicator_row in indicator_rows:
                indicators.writerow([csv_cell(v) for v in _values(mapping.indicators, indicator_row)])
                counted[1] += 1
    return ExportSummary(counted[0], counted[1], (path, second))


def export(
    session: Session,
    period: Period,
    path: Path,
    *,
    scope: Scope | None = None,
    mapping: ColumnMapping | None = None,
    tz: Any,
) -> ExportSummary:
    """Write the period's export to `path` (.xlsx or .csv by its suffix)."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise MappingError(text.export_suffix(str(path)))
    rows = project_rows(session, period, scope or Scope(None), tz=tz)
    mapping = mapping or load_mapping()
    return write_xlsx(path, mapping, rows) if suffix == ".xlsx" else write_csv(path, mapping, rows)
