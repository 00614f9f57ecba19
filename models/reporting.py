"""Writing quarterly progress reports: the facts a report form needs, drafts, and submitting a version.

Answers travel as the chat form stores them (JSON-ready): `project` and `period` as id strings,
`status` an `ImplementationStatus` value, `progress` a decimal string, `budget` integer satang,
`indicators` {indicator id: decimal string}, free texts, and `photos` a list of EvidencePhoto ids.
A skipped optional answer is `{"skipped": true}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.ops import AuditLog
from models.org import Person
from models.plan import Indicator, Project, ProjectOwner, ReportingPeriod
from models.prepared import Prepared
from models.reports import ApprovalDecision, EvidencePhoto, IndicatorResult, ProgressReport, ReportVersion
from models.types import DecisionOutcome, ImplementationStatus, ReportStatus


class ReportingError(Exception):
    """A report cannot be written as asked (e.g. it is already approved)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ProjectRef:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class IndicatorFact:
    id: int
    code: str
    name: str
    unit: str
    target: Decimal | None


@dataclass(frozen=True)
class ProjectFacts:
    id: int
    code: str
    name: str
    fiscal_year: int
    budget_satang: int
    approver_id: int | None
    indicators: tuple[IndicatorFact, ...]
    office_id: int = 0


@dataclass(frozen=True)
class PeriodChoice:
    period_id: int
    fiscal_year: int
    quarter: int
    due_on: date
    report_status: str | None
    late: bool
    starts_on: date | None = None  # the period's dates (None: not read with it)
    ends_on: date | None = None

    @property
    def returned(self) -> bool:
        return self.report_status == ReportStatus.RETURNED


def person_projects(session: Session, person_id: int, fiscal_year: int) -> list[ProjectRef]:
    rows = session.exec(
        select(Project.id, Project.code, Project.name)
        .join(ProjectOwner, col(ProjectOwner.project_id) == col(Project.id))
        .where(col(ProjectOwner.person_id) == person_id, col(Project.fiscal_year) == fiscal_year)
        .order_by(col(Project.code))
    )
    return [ProjectRef(int(i), c, n) for i, c, n in rows]  # type: ignore[arg-type]


_PROJECT = Project.__table__  # type: ignore[attr-defined]
_OWNER = ProjectOwner.__table__  # type: ignore[attr-defined]
_REPORT = ProgressReport.__table__  # type: ignore[attr-defined]
_PERIOD = ReportingPeriod.__table__  # type: ignore[attr-defined]


def projects_and_drafts_of(project: Any = _PROJECT, reports: Any = _REPORT) -> tuple[Any, ...]:
    """The columns `person_projects_and_drafts` reads, of `project` and `reports` (the tables or
    aliases of them) joined by `unapproved_reports_of_year`."""
    return (project.c.id, project.c.code, project.c.name, reports.c.draft)


def unapproved_reports_of_year(joined: Any, project: Any, reports: Any = _REPORT) -> Any:
    """`joined` (holding `project`) with each project's reports (`reports`: the table or an alias)
    not yet approved of the fiscal year bound as "fy" (a row per report; one with NULLs for a project
    without)."""
    return joined.outerjoin(
        reports,
        sa.and_(
            reports.c.project_id == project.c.id,
            reports.c.status != ReportStatus.APPROVED.value,
            reports.c.period_id.in_(
                sa.select(_PERIOD.c.id).where(_PERIOD.c.fiscal_year == sa.bindparam("fy")).scalar_subquery()
            ),
        ),
    )


# Built once: what the report form starts from (`person_projects` and `projects_with_drafts` in one
# round trip), a row per project and unapproved report of the fiscal year.
_PROJECTS_AND_DRAFTS = (
    sa.select(*projects_and_drafts_of())
    .select_from(
        unapproved_reports_of_year(_PROJECT.join(_OWNER, _OWNER.c.project_id == _PROJECT.c.id), _PROJECT)
    )
    .where(_OWNER.c.person_id == sa.bindparam("person_id"), _PROJECT.c.fiscal_year == sa.bindparam("fy"))
    .order_by(_PROJECT.c.code)
)
_PREPARED_PROJECTS_AND_DRAFTS = Prepared(
    _PROJECTS_AND_DRAFTS
)  # every report form started: on the driver's cursor


def projects_and_drafts_of_rows(rows: Any) -> tuple[list[ProjectRef], set[int]]:
    """Rows of `projects_and_drafts_of`, in the projects' order: the projects, and those with a draft.
    A row without a project (an outer join's NULLs) is skipped."""
    projects: dict[int, ProjectRef] = {}
    drafts: set[int] = set()
    for project_id, code, name, draft in rows:
        if project_id is None:
            continue
        projects.setdefault(project_id, ProjectRef(int(project_id), code, name))
        if draft:  # JSON null, SQL NULL (no such report) and an empty draft alike: nothing waiting
            drafts.add(project_id)
    return list(projects.values()), drafts


def person_projects_and_drafts(
    session: Session, person_id: int, fiscal_year: int
) -> tuple[list[ProjectRef], set[int]]:
    """`person_projects` and, of those, `projects_with_drafts`, in one round trip."""
    return projects_and_drafts_of_rows(
        _PREPARED_PROJECTS_AND_DRAFTS.rows(session, {"person_id": person_id, "fy": fiscal_year})
    )


def projects_with_drafts(session: Session, project_ids: list[int], fiscal_year: int) -> set[int]:
    """Which of `project_ids` have a report of `fiscal_year` with a draft waiting to be finished."""
    if not project_ids:
        return set()
    rows = session.exec(
        select(ProgressReport.project_id, ProgressReport.draft)
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(ProgressReport.period_id))
        .where(
            col(ProgressReport.project_id).in_(project_ids),
            col(ReportingPeriod.fiscal_year) == fiscal_year,
            col(ProgressReport.status) != ReportStatus.APPROVED,
        )
    )
    # A JSON column may hold JSON null rather than SQL NULL: test the value, not the column.
    return {project_id for project_id, draft in rows if draft}


def is_owner(session: Session, person_id: int, project_id: int) -> bool:
    statement = select(ProjectOwner).where(
        ProjectOwner.person_id == person_id, ProjectOwner.project_id == project_id
    )
    return session.exec(statement).first() is not None


_INDICATOR = Indicator.__table__  # type: ignore[attr-defined]
# Built once: a project and its indicators in one round trip (a report form reads them at each step).
_PROJECT_FACTS = (
    sa.select(_PROJECT.c.code, _PROJECT.c.name, _PROJECT.c.fiscal_year, _PROJECT.c.budget_satang)
    .add_columns(_PROJECT.c.approver_id, _PROJECT.c.office_id)
    .add_columns(
        _INDICATOR.c.id, _INDICATOR.c.code, _INDICATOR.c.name, _INDICATOR.c.unit, _INDICATOR.c.target
    )
    .select_from(_PROJECT)
    .outerjoin(_INDICATOR, _INDICATOR.c.project_id == _PROJECT.c.id)
    .where(_PROJECT.c.id == sa.bindparam("project_id"))
    .order_by(_INDICATOR.c.position, _INDICATOR.c.code)
)


def project_facts(session: Session, project_id: int) -> ProjectFacts | None:
    rows = session.execute(_PROJECT_FACTS, {"project_id": project_id}).all()
    if not rows:
        return None
    code, name, fiscal_year, budget, approver_id, office_id = rows[0][:6]
    return ProjectFacts(
        id=project_id,
        code=code,
        name=name,
        fiscal_year=fiscal_year,
        budget_satang=budget,
        approver_id=approver_id,
        office_id=office_id,
        indicators=tuple(
            IndicatorFact(
                i_id or 0, i_code, i_name, i_unit, Decimal(str(target)) if target is not None else None
            )
            for *_, i_id, i_code, i_name, i_unit, target in rows
            if i_id is not None
        ),
    )


# Built once: a project's periods of a fiscal year that have started, each with its report's status.
_REPORTABLE = (
    sa.select(
        _PERIOD.c.id,
        _PERIOD.c.fiscal_year,
        _PERIOD.c.quarter,
        _PERIOD.c.starts_on,
        _PERIOD.c.ends_on,
        _PERIOD.c.due_on,
        _REPORT.c.status,
    )
    .select_from(_PERIOD)
    .outerjoin(
        _REPORT,
        sa.and_(_REPORT.c.period_id == _PERIOD.c.id, _REPORT.c.project_id == sa.bindparam("project_id")),
    )
    .where(
        _PERIOD.c.fiscal_year == sa.bindparam("fy"),
        _PERIOD.c.starts_on <= sa.bindparam("today", type_=sa.Date()),
    )
    .order_by(_PERIOD.c.quarter)
)


def reportable_periods(
    session: Session,
    project_id: int,
    fiscal_year: int,
    today: date,
    due: Callable[[Any], date] | None = None,
) -> list[PeriodChoice]:
    """Periods of the project's year that have started and still take a report from its owner:
    not yet submitted, or returned for revision, or submitted but not yet decided (a new version).
    `due` gives a period's deadline (scheduler/deadlines.py: the one reminders use) from the period
    (its `ends_on` and stored `due_on`, as plain values: `models.projects.OpenPeriod`); else the stored one."""
    from models.projects import OpenPeriod

    rows = session.execute(_REPORTABLE, {"project_id": project_id, "fy": fiscal_year, "today": today})
    result = []
    for period_id, fy, quarter, starts_on, ends_on, stored_due, report_status in rows:
        status = str(report_status) if report_status is not None else None
        if status == ReportStatus.APPROVED:
            continue
        period = OpenPeriod(period_id, fy, quarter, starts_on, ends_on, stored_due)
        due_on = due(period) if due is not None else stored_due
        result.append(
            PeriodChoice(
                period_id=period_id or 0,
                fiscal_year=fy,
                quarter=quarter,
                due_on=due_on,
                report_status=status,
                late=due_on < today and status in (None, ReportStatus.DRAFT),
                starts_on=starts_on,
                ends_on=ends_on,
            )
        )
    return result


# Built once (the report form asks at every choice of a project and period): SQLAlchemy caches its compiled form.
_FIND_REPORT = select(ProgressReport).where(
    col(ProgressReport.project_id) == sa.bindparam("project_id"),
    col(ProgressReport.period_id) == sa.bindparam("period_id"),
)


def find_report(session: Session, project_id: int, period_id: int) -> ProgressReport | None:
    return session.exec(_FIND_REPORT, params={"project_id": project_id, "period_id": period_id}).first()


def latest_version(session: Session, report: ProgressReport) -> ReportVersion | None:
    if not report.current_version:
        return None
    statement = select(ReportVersion).where(
        ReportVersion.report_id == report.id, ReportVersion.version == report.current_version
    )
    return session.exec(statement).first()


def version_answers(session: Session, report: ProgressReport, version: ReportVersion) -> dict[str, Any]:
    """A submitted version as form answers (to reopen a returned report, or offer last quarter's)."""
    results = session.exec(select(IndicatorResult).where(IndicatorResult.version_id == version.id))
    photos = session.exec(select(EvidencePhoto.id).where(EvidencePhoto.version_id == version.id))
    skipped = {"skipped": True}
    answers: dict[str, Any] = {
        "project": str(report.project_id),
        "period": str(report.period_id),
        "status": str(version.implementation_status),
        "progress": str(version.progress_pct),
        "budget": int(version.budget_disbursed_satang),
        "indicators": {str(r.indicator_id): str(r.value) for r in results if r.value is not None},
        "activities": version.activities,
        "problems": version.problems or skipped,
        "suggestions": version.suggestions or skipped,
        "photos": [str(p) for p in photos],
    }
    if version.implementation_status == ImplementationStatus.CANCELLED:
        answers["status_reason"] = version.status_reason
    return answers


_PREVIOUS_REPORT = (
    select(ProgressReport)
    .join(ReportingPeriod, col(ReportingPeriod.id) == col(ProgressReport.period_id))
    .where(
        col(ProgressReport.project_id) == sa.bindparam("project_id"),
        col(ReportingPeriod.starts_on)
        < sa.select(_PERIOD.c.starts_on).where(_PERIOD.c.id == sa.bindparam("period_id")).scalar_subquery(),
        col(ProgressReport.current_version) > 0,
    )
    .order_by(col(ReportingPeriod.starts_on).desc())
    .limit(1)
)


def previous_quarter_answers(session: Session, project_id: int, period_id: int) -> dict[str, Any] | None:
    """The latest submitted answers of this project's most recent earlier period (for defaults)."""
    # One round trip, the period's start read in it (an unknown period has none: nothing earlier).
    report = session.exec(_PREVIOUS_REPORT, params={"project_id": project_id, "period_id": period_id}).first()
    if report is None:
        return None
    version = latest_version(session, report)
    return version_answers(session, report, version) if version else None


def last_return(session: Session, report: ProgressReport) -> ApprovalDecision | None:
    statement = (
        select(ApprovalDecision)
        .where(ApprovalDecision.report_id == report.id, ApprovalDecision.outcome == DecisionOutcome.RETURNED)
        .order_by(col(ApprovalDecision.decided_at).desc())
    )
    return session.exec(statement).first()


@dataclass(frozen=True)
class ReturnNote:
    """Why a report is open for revision: a director's return, or the planning group's reopening."""

    reason: str
    by: str | None  # None: the planning group, no named person
    at: datetime


def why_reopened(session: Session, report: ProgressReport) -> ReturnNote | None:
    """The latest reason a returned report is open again, whichever came last."""
    decision = last_return(session, report)
    reopened = session.exec(
        select(AuditLog)
        .where(
            AuditLog.entity_type == "progress_report",
            AuditLog.entity_id == str(report.id),
            AuditLog.action == "report_reopened",
        )
        .order_by(col(AuditLog.at).desc())
    ).first()
    if reopened is not None and (decision is None or reopened.at >= decision.decided_at):
        actor = session.get(Person, reopened.actor_person_id) if reopened.actor_person_id else None
        return ReturnNote(
            str(reopened.details.get("reason", "")), actor.full_name if actor else None, reopened.at
        )
    if decision is not None:
        director = session.get(Person, decision.decided_by_id)
        return ReturnNote(decision.reason, director.full_name if director else "", decision.decided_at)
    return None


def _ids(answers: dict[str, Any]) -> tuple[int, int]:
    return int(answers["project"]), int(answers["period"])


def get_or_create_report(session: Session, project_id: int, period_id: int, now: datetime) -> ProgressReport:
    report = find_report(session, project_id, period_id)
    if report is None:
        report = ProgressReport(project_id=project_id, period_id=period_id, created_at=now, updated_at=now)
        session.add(report)
        session.flush()
    return report


def save_draft(session: Session, person_id: int, answers: dict[str, Any], now: datetime) -> None:
    """Keep a report's unsubmitted answers; a no-op until the project and period are chosen, and for
    an approved report."""
    if "project" not in answers or "period" not in answers:
        return
    project_id, period_id = _ids(answers)
    # The report exists after the first step that knew both: one UPDATE, no read first.
    updated = session.execute(
        sa.update(ProgressReport)
        .where(
            col(ProgressReport.project_id) == project_id,
            col(ProgressReport.period_id) == period_id,
            col(ProgressReport.status) != ReportStatus.APPROVED,
        )
        .values(draft=answers, draft_by_id=person_id, draft_updated_at=now)
    )
    if updated.rowcount == 1:  # type: ignore[attr-defined]
        return
    # No report yet (or an approved one, which keeps its answers): inserted with its draft. One
    # written meanwhile by another event is updated as above instead, unless it is approved.
    dialect: Any = (
        sa.dialects.postgresql if session.get_bind().dialect.name == "postgresql" else sa.dialects.sqlite
    )
    insert = dialect.insert(_REPORT)
    session.execute(
        insert.values(
            project_id=project_id,
            period_id=period_id,
            status=ReportStatus.DRAFT.value,
            current_version=0,
            draft=answers,
            draft_by_id=person_id,
            draft_updated_at=now,
            created_at=now,
            updated_at=now,
        ).on_conflict_do_update(
            index_elements=[_REPORT.c.project_id, _REPORT.c.period_id],
            set_={
                "draft": insert.excluded.draft,
                "draft_by_id": insert.excluded.draft_by_id,
                "draft_updated_at": insert.excluded.draft_updated_at,
            },
            where=_REPORT.c.status != ReportStatus.APPROVED.value,
        )
    )


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, dict) else str(value)


def submit_report(
    session: Session, person_id: int, answers: dict[str, Any], now: datetime
) -> tuple[ProgressReport, ReportVersion]:
    """Create the next version of the report from complete answers and mark it submitted."""
    project_id, period_id = _ids(answers)
    if not is_owner(session, person_id, project_id):
        raise ReportingError("not_owner")
    report = get_or_create_report(session, project_id, period_id, now)
    session.refresh(report, with_for_update=session.get_bind().dialect.name == "postgresql")
    if report.status == ReportStatus.APPROVED:
        raise ReportingError("already_approved")
    status = ImplementationStatus(answers["status"])
    version = ReportVersion(
        report_id=report.id or 0,
        version=report.current_version + 1,
        status=ReportStatus.SUBMITTED,
        implementation_status=status,
        status_reason=_text(answers.get("status_reason")) if status == ImplementationStatus.CANCELLED else "",
        progress_pct=Decimal(str(answers.get("progress", "0"))),
        budget_disbursed_satang=int(answers.get("budget") or 0),
        activities=_text(answers.get("activities")),
        problems=_text(answers.get("problems")),
        suggestions=_text(answers.get("suggestions")),
        submitted_by_id=person_id,
        submitted_at=now,
        created_at=now,
    )
    session.add(version)
    session.flush()
    for indicator_id, value in (answers.get("indicators") or {}).items():
        if isinstance(value, dict):
            continue
        session.add(
            IndicatorResult(
                version_id=version.id or 0, indicator_id=int(indicator_id), value=Decimal(str(value))
            )
        )
    _attach_photos(
        session, report, version, [int(p) for p in answers.get("photos") or [] if str(p).isdigit()], now
    )
    report.current_version = version.version
    report.status = ReportStatus.SUBMITTED
    report.draft = None
    report.draft_updated_at = None
    report.updated_at = now
    session.add(report)
    session.add(
        AuditLog(
            at=now,
            actor_person_id=person_id,
            actor="line",
            action="report_submitted",
            entity_type="progress_report",
            entity_id=str(report.id),
            details={"version": version.version, "version_id": version.id},
        )
    )
    return report, version


def _attach_photos(
    session: Session, report: ProgressReport, version: ReportVersion, photo_ids: list[int], now: datetime
) -> None:
    for photo in session.exec(select(EvidencePhoto).where(col(EvidencePhoto.id).in_(photo_ids))):
        if photo.report_id != report.id:
            continue  # never attach someone else's photo, whatever the answers say
        if photo.version_id is None:
            photo.version_id = version.id
            session.add(photo)
        elif photo.version_id != version.id:
            # Kept from an earlier version: the new version gets its own reference to the same file.
            session.add(
                EvidencePhoto(
                    report_id=photo.report_id,
                    version_id=version.id,
                    uploaded_by_id=photo.uploaded_by_id,
                    line_message_id=photo.line_message_id,
                    path=photo.path,
                    content_type=photo.content_type,
                    size_bytes=photo.size_bytes,
                    sha256=photo.sha256,
                    created_at=now,
                )
            )


def add_photo(
    session: Session,
    *,
    answers: dict[str, Any],
    person_id: int,
    line_message_id: str,
    path: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
    now: datetime,
) -> EvidencePhoto:
    project_id, period_id = _ids(answers)
    report = get_or_create_report(session, project_id, period_id, now)
    photo = EvidencePhoto(
        report_id=report.id or 0,
        uploaded_by_id=person_id,
        line_message_id=line_message_id,
        path=path,
        content_type=content_type,
        size_bytes=size_bytes,
        sha256=sha256,
        created_at=now,
    )
    session.add(photo)
    session.flush()
    return photo
