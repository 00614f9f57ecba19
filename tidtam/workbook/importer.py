"""``import_workbook``: read, validate, compare with the database, and write — all or nothing.

One transaction: the stored rows are loaded once, every sheet is validated, and only when there is no
error at all is anything written. Re-importing the same workbook finds every row unchanged and writes
nothing (no ``updated_at`` touched, no audit row). ``dry_run`` stops after the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from messages import workbook as text
from models import AuditLog
from scheduler.clock import Clock
from tidtam.workbook import validate
from tidtam.workbook.apply import apply_plan
from tidtam.workbook.existing import load_existing
from tidtam.workbook.plan import ImportPlan, make_plan
from tidtam.workbook.reader import Source, SourceError, known_titles, open_source
from tidtam.workbook.records import Parsed, Problem
from tidtam.workbook.references import check_references

AUDIT_LOG = AuditLog.__table__
_READERS = {
    "offices": validate.read_offices,
    "people": validate.read_people,
    "strategies": validate.read_strategies,
    "projects": validate.read_projects,
    "indicators": validate.read_indicators,
}


@dataclass
class ImportResult:
    problems: list[Problem]
    plan: ImportPlan | None = None
    written: bool = False
    dry_run: bool = False
    sheets_read: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_source(source: Source) -> Parsed:
    """Read and validate every known sheet of ``source`` (without the database's rows)."""
    problems: list[Problem] = []
    known, unknown = known_titles(source)
    for title in unknown:
        if title != text.INSTRUCTIONS_SHEET:
            problems.append(Problem(title, None, None, None, text.unknown_sheet(), is_error=False))
    if not known:
        problems.append(Problem("-", None, None, None, text.no_known_sheets()))
    found = {
        sheet: reader(iter(source.rows(known[sheet])), problems) if sheet in known else {}
        for sheet, reader in _READERS.items()
    }
    return Parsed(problems=problems, **found)  # type: ignore[arg-type]


def import_source(
    source: Source, engine: Engine, clock: Clock, *, dry_run: bool = False, label: str = "workbook"
) -> ImportResult:
    """Import from an open source; see the module docstring."""
    parsed = parse_source(source)
    with engine.begin() as conn:
        existing = load_existing(conn)
        check_references(parsed, existing)
        result = ImportResult(problems=parsed.problems, dry_run=dry_run)
        if parsed.errors:
            return result
        result.plan = make_plan(parsed, existing)
        if dry_run or not result.plan.changes_anything:
            return result
        now = clock.now()
        apply_plan(conn, result.plan, existing, now)
        details = {
            "source": label,
            "sheets": result.plan.counts(),
            "fiscal_years_created": result.plan.fiscal_years,
        }
        conn.execute(
            AUDIT_LOG.insert(),
            {
                "at": now,
                "actor": "import",
                "action": "import",
                "entity_type": "workbook",
                "entity_id": label[-64:],
                "details": details,
            },
        )
        result.written = True
    return result


def import_workbook(path: Path, engine: Engine, clock: Clock, *, dry_run: bool = False) -> ImportResult:
    """Import an .xlsx file or a folder of CSV files."""
    try:
        source = open_source(path)
    except SourceError as exc:
        return ImportResult(problems=[Problem(path.name, None, None, None, exc.message)])
    except OSError as exc:  # a folder or file we may not read
        detail = f"{type(exc).__name__}: {exc.strerror or ''}"
        return ImportResult(problems=[Problem(path.name, None, None, None, text.unreadable_file(detail))])
    try:
        return import_source(source, engine, clock, dry_run=dry_run, label=path.name)
    finally:
        source.close()
