"""What the dashboard reads: report states per office, the project list, one project in full.

Every list is one or two SQL statements whatever its length (no query per row), limited to the
viewer's scope in SQL and paged, so a 30,000-school area costs a page, not the whole table.
A project's state for a quarter is one of `messages.dashboard.STATES`: not started (no report row),
draft, submitted, returned, approved, or late (not submitted by a due date that has passed).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from dashboard.scope import Scope, office_subtree, subtree
from messages.dashboard import STATES
from models.ops import AuditLog
from models.org import Office, Person
from models.plan import Indicator, Project, ProjectOwner, ProjectStrategy, ReportingPeriod, Strategy
from models.reports import ApprovalDecision, EvidencePhoto, IndicatorResult, ProgressReport, ReportVersion
from models.types import ProjectStatus, ReportStatus

PAGE_SIZE = 50


@dataclass(frozen=True)
class Period:
    id: int
    fiscal_year: int
    quarter: int
    starts_on: date
    ends_on: date
    due_on: date
    late: bool  # its due date has passed


def periods_of(session: Session, fiscal_year: int, today: date) -> list[Period]:
    rows = session.exec(
        select(ReportingPeriod)
        .where(ReportingPeriod.fiscal_year == fiscal_year)
        .order_by(col(ReportingPeriod.quarter))
    )
    return [
        Period(p.id or 0, p.fiscal_year, p.quarter, p.starts_on, p.ends_on, p.due_on, p.due_on < today)
        for p in rows
    ]


def fiscal_years(session: Session) -> list[int]:
    return [
        int(y)
        for y in session.exec(select(ReportingPeriod.fiscal_year).distinct().order_by(sa.desc("fiscal_year")))
    ]


def choose_period(
    session: Session, today: date, fiscal_year: int | None = None, quarter: int | None = None
) -> Period | None:
    """The asked quarter, or the one people are reporting on today (the latest started otherwise)."""
    if fiscal_year is None:
        from models.projects import open_period

        current = open_period(session, today)
        if current is not None:
            fiscal_year, quarter = current.fiscal_year, current.quarter
        else:
            years = fiscal_years(session)
            if not years:
                return None
            fiscal_year = years[0]
    periods = periods_of(session, fiscal_year, today)
    if not periods:
        return None
    if quarter is not None:
        return next((p for p in periods if p.quarter == quarter), None)
    started = [p for p in periods if p.starts_on <= today]
    return started[-1] if started else periods[0]


def state_of(period: Period) -> Any:
    """The SQL expression of a project's state for `period` (Project outer-joined to its report)."""
    not_sent = (
        sa.literal("late")
        if period.late
        else sa.case(
            (col(ProgressReport.id).is_not(None), sa.literal("draft")), else_=sa.literal("not_started")
        )
    )
    return sa.case(
        (col(ProgressReport.status) == ReportStatus.SUBMITTED.value, sa.literal("submitted")),
        (col(ProgressReport.status) == ReportStatus.APPROVED.value, sa.literal("approved")),
        (col(ProgressReport.status) == ReportStatus.RETURNED.value, sa.literal("returned")),
        else_=not_sent,
    )


def projects_with_state(period: Period, *columns: Any) -> Any:
    """`(statement, state)`: the active projects of the period's year with `columns` and their state."""
    state = state_of(period).label("state")
    return (
        select(*columns, state)
        .select_from(Project)
        .outerjoin(
            ProgressReport,
            sa.and_(
                col(ProgressReport.project_id) == col(Project.id), col(ProgressReport.period_id) == period.id
            ),
        )
        .where(
            col(Project.fiscal_year) == period.fiscal_year, col(Project.status) == ProjectStatus.ACTIVE.value
        )
    ), state


# --- status at a glance ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeStatus:
    office_id: int
    code: str
    name: str
    kind: str
    counts: dict[str, int]
    total: int


@dataclass(frozen=True)
class StatusPage:
    rows: list[OfficeStatus]
    totals: dict[str, int]
    total_projects: int
    office_count: int
    page: int
    pages: int


_COUNT_AT = 5 + len(
    STATES
)  # in a status row: office id, code, name, kind, total, the states, then the totals


def status_overview(
    session: Session,
    scope: Scope,
    period: Period,
    *,
    search: str = "",
    late_only: bool = False,
    page: int = 1,
) -> StatusPage:
    """Every office in scope that has projects this year, with its projects counted by state."""
    inner, _ = projects_with_state(period, col(Project.office_id).label("office_id"))
    inner = scope.restrict(inner, col(Project.office_id)).subquery("project_state")
    sums = [sa.func.sum(sa.case((inner.c.state == s, 1), else_=0)).label(s) for s in STATES]
    per_office = (
        select(inner.c.office_id, *sums, sa.func.count().label("total"))
        .group_by(inner.c.office_id)
        .subquery("per_office")
    )
    where = []
    if search.strip():
        pattern = f"%{search.strip()}%"
        where.append(sa.or_(col(Office.name).ilike(pattern), col(Office.code).ilike(pattern)))
    if late_only:
        where.append(per_office.c.late > 0)
    joined = per_office.join(Office, col(Office.id) == per_office.c.office_id)
    # The totals ride on the page's rows as window sums (computed before LIMIT): one pass over the
    # projects per page view, not two.
    everything = sa.over(sa.func.count())
    window = [sa.over(sa.func.sum(per_office.c[s])) for s in ("total", *STATES)]
    statement = (
        select(
            Office.id,
            Office.code,
            Office.name,
            Office.kind,
            per_office.c.total,
            *[per_office.c[s] for s in STATES],
            everything,
            *window,
        )
        .select_from(joined)
        .where(*where)
        .order_by(col(Office.code))
        .limit(PAGE_SIZE)
    )
    page = max(page, 1)
    rows = list(session.execute(statement.offset((page - 1) * PAGE_SIZE)))
    if not rows and page > 1:  # past the last page: show the last one
        rows = list(session.execute(statement))
        page = 1
        if rows:
            last = max(1, -(-int(rows[0][_COUNT_AT]) // PAGE_SIZE))
            rows, page = list(session.execute(statement.offset((last - 1) * PAGE_SIZE))), last
    office_count = int(rows[0][_COUNT_AT]) if rows else 0
    total_projects = int(rows[0][_COUNT_AT + 1]) if rows else 0
    totals = (
        {s: int(v or 0) for s, v in zip(STATES, rows[0][_COUNT_AT + 2 :], strict=True)}
        if rows
        else dict.fromkeys(STATES, 0)
    )
    pages = max(1, -(-office_count // PAGE_SIZE))
    result = [
        OfficeStatus(
            int(r[0]),
            r[1],
            r[2],
            str(r[3]),
            {s: int(v or 0) for s, v in zip(STATES, r[5:_COUNT_AT], strict=True)},
            int(r[4]),
        )
        for r in rows
    ]
    return StatusPage(result, totals, total_projects, office_count, page, pages)


# --- the project list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectFilters:
    strategy_id: int | None = None
    office_id: int | None = None
    state: str | None = None
    person: str = ""  # a responsible person's name or code, or part of the name
    late_only: bool = False
    search: str = ""  # project code or name


@dataclass(frozen=True)
class ProjectRow:
    id: int
    code: str
    name: str
    office_name: str
    state: str
    progress_pct: Decimal | None
    disbursed_satang: int | None
    budget_satang: int
    owners: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectPage:
    rows: list[ProjectRow]
    total: int
    page: int
    pages: int


def _filtered(period: Period, scope: Scope, filters: ProjectFilters, *columns: Any) -> Any:
    statement, state = projects_with_state(period, *columns)
    statement = scope.restrict(statement, col(Project.office_id))
    if filters.office_id is not None:
        statement = statement.where(
            col(Project.office_id).in_(select(office_subtree(filters.office_id).c.id))
        )
    if filters.strategy_id is not None:
        below = subtree(Strategy, filters.strategy_id, "strategy_tree")
        statement = statement.where(
            sa.exists(
                select(ProjectStrategy.project_id).where(
                    col(ProjectStrategy.project_id) == col(Project.id),
                    col(ProjectStrategy.strategy_id).in_(select(below.c.id)),
                )
            )
        )
    if filters.state in STATES:
        statement = statement.where(state == filters.state)
    if filters.late_only:
        statement = statement.where(state == "late")
    if filters.person.strip():
        typed = filters.person.strip()
        statement = statement.where(
            sa.exists(
                select(ProjectOwner.project_id)
                .join(Person, col(Person.id) == col(ProjectOwner.person_id))
                .where(
                    col(ProjectOwner.project_id) == col(Project.id),
                    sa.or_(col(Person.full_name).ilike(f"%{typed}%"), col(Person.code) == typed),
                )
            )
        )
    if filters.search.strip():
        pattern = f"%{filters.search.strip()}%"
        statement = statement.where(
            sa.or_(col(Project.code).ilike(pattern), col(Project.name).ilike(pattern))
        )
    return statement, state


def project_list(
    session: Session,
    scope: Scope,
    period: Period,
    filters: ProjectFilters,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> ProjectPage:
    counted, _ = _filtered(period, scope, filters, col(Project.id))
    total = int(session.execute(select(sa.func.count()).select_from(counted.subquery())).scalar_one())
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    statement, _ = _filtered(
        period,
        scope,
        filters,
        col(Project.id),
        col(Project.code),
        col(Project.name),
        col(Office.name).label("office_name"),
        col(ReportVersion.progress_pct),
        col(ReportVersion.budget_disbursed_satang),
        col(Project.budget_satang),
    )
    statement = (
        statement.join(Office, col(Office.id) == col(Project.office_id))
        .outerjoin(
            ReportVersion,
            sa.and_(
                col(ReportVersion.report_id) == col(ProgressReport.id),
                col(ReportVersion.version) == col(ProgressReport.current_version),
            ),
        )
        .order_by(col(Project.code))
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows = list(session.execute(statement))
    owners = owners_of(session, [int(r[0]) for r in rows])
    result = [
        ProjectRow(
            id=int(r[0]),
            code=r[1],
            name=r[2],
            office_name=r[3],
            state=r[7],
            progress_pct=Decimal(str(r[4])) if r[4] is not None else None,
            disbursed_satang=int(r[5]) if r[5] is not None else None,
            budget_satang=int(r[6]),
            owners=tuple(owners.get(int(r[0]), ())),
        )
        for r in rows
    ]
    return ProjectPage(result, total, page, pages)


def owners_of(session: Session, project_ids: list[int]) -> dict[int, list[str]]:
    """The responsible people's names of each project, in their listed order (one query)."""
    found: dict[int, list[str]] = defaultdict(list)
    if not project_ids:
        return found
    rows = session.execute(
        select(ProjectOwner.project_id, Person.full_name)
        .join(Person, col(Person.id) == col(ProjectOwner.person_id))
        .where(col(ProjectOwner.project_id).in_(project_ids))
        .order_by(col(ProjectOwner.project_id), col(ProjectOwner.position), col(Person.full_name))
    )
    for project_id, name in rows:
        found[int(project_id)].append(name)
    return found


@dataclass(frozen=True)
class Choice:
    id: int
    label: str
    depth: int = 0


def strategy_choices(session: Session) -> list[Choice]:
    """The plan hierarchy as an indented list (national strategy down to the area's strategies)."""
    rows = list(session.exec(select(Strategy).order_by(col(Strategy.code))))
    children: dict[int | None, list[Strategy]] = defaultdict(list)
    for s in rows:
        children[s.parent_id].append(s)
    known = {s.id for s in rows}
    result: list[Choice] = []

    def walk(parent: int | None, depth: int) -> None:
        for s in children.get(parent, []):
            result.append(Choice(s.id or 0, f"{s.code} {s.title}", depth))
            walk(s.id, depth + 1)

    walk(None, 0)
    for s in rows:  # a strategy whose parent is missing still appears
        if s.parent_id is not None and s.parent_id not in known:
            result.append(Choice(s.id or 0, f"{s.code} {s.title}", 0))
    return result


def office_name(session: Session, office_id: int) -> str:
    office = session.get(Office, office_id)
    return office.name if office else ""


# --- one project in full -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Linkage:
    """One linked strategy and its ancestors, from the national strategy down."""

    chain: tuple[Strategy, ...]


@dataclass
class VersionView:
    version: ReportVersion
    submitted_by: str
    results: dict[int, Decimal | None]  # indicator id → value
    photos: list[EvidencePhoto]
    changed: set[str] = field(default_factory=set)  # fields that differ from the version before


@dataclass(frozen=True)
class TrailEntry:
    at: datetime
    who: str
    what: str  # approved / returned / reopened
    reason: str
    version: int | None
    level: int | None


@dataclass
class QuarterView:
    period: Period
    report: ProgressReport | None
    state: str
    versions: list[VersionView]
    trail: list[TrailEntry]


@dataclass
class ProjectDetail:
    project: Project
    office: Office
    office_path: list[Office]
    approver: str
    owners: list[str]
    linkage: list[Linkage]
    indicators: list[Indicator]
    quarters: list[QuarterView]


_COMPARED = (
    "implementation_status",
    "progress_pct",
    "budget_disbursed_satang",
    "activities",
    "problems",
    "suggestions",
    "status_reason",
)


def _state(report: ProgressReport | None, period: Period) -> str:
    if report is not None and report.status in (
        ReportStatus.SUBMITTED,
        ReportStatus.APPROVED,
        ReportStatus.RETURNED,
    ):
        return str(report.status)
    if period.late:
        return "late"
    return "draft" if report is not None else "not_started"


def office_path(session: Session, office: Office) -> list[Office]:
    """The office and its parents, the area office first."""
    path = [office]
    while path[-1].parent_id is not None and len(path) < 16:
        parent = session.get(Office, path[-1].parent_id)
        if parent is None:
            break
        path.append(parent)
    return list(reversed(path))


def _linkage(session: Session, project_id: int) -> list[Linkage]:
    linked = list(
        session.exec(
            select(Strategy)
            .join(ProjectStrategy, col(ProjectStrategy.strategy_id) == col(Strategy.id))
            .where(ProjectStrategy.project_id == project_id)
            .order_by(col(Strategy.code))
        )
    )
    result = []
    for strategy in linked:
        chain = [strategy]
        while chain[-1].parent_id is not None and len(chain) < 8:
            parent = session.get(Strategy, chain[-1].parent_id)
            if parent is None:
                break
            chain.append(parent)
        result.append(Linkage(tuple(reversed(chain))))
    return result


def project_detail(session: Session, project_id: int, today: date) -> ProjectDetail | None:
    """Everything the project page shows, in a fixed number of queries (not one per version)."""
    project = session.get(Project, project_id)
    if project is None:
        return None
    office = session.get(Office, project.office_id)
    assert office is not None
    approver = session.get(Person, project.approver_id) if project.approver_id else None
    indicators = list(
        session.exec(
            select(Indicator)
            .where(Indicator.project_id == project_id)
            .order_by(col(Indicator.position), col(Indicator.code))
        )
    )
    periods = periods_of(session, project.fiscal_year, today)
    reports = {
        r.period_id: r
        for r in session.exec(select(ProgressReport).where(ProgressReport.project_id == project_id))
    }
    report_ids = [r.id for r in reports.values()]
    versions = list(
        session.exec(
            select(ReportVersion)
            .where(col(ReportVersion.report_id).in_(report_ids))
            .order_by(col(ReportVersion.version))
        )
    )
    version_ids = [v.id for v in versions]
    results: dict[int, dict[int, Decimal | None]] = defaultdict(dict)
    for r in session.exec(select(IndicatorResult).where(col(IndicatorResult.version_id).in_(version_ids))):
        results[r.version_id][r.indicator_id] = Decimal(str(r.value)) if r.value is not None else None
    photos: dict[int, list[EvidencePhoto]] = defaultdict(list)
    for p in session.exec(
        select(EvidencePhoto)
        .where(col(EvidencePhoto.version_id).in_(version_ids))
        .order_by(col(EvidencePhoto.id))
    ):
        photos[p.version_id or 0].append(p)
    decisions = list(
        session.exec(select(ApprovalDecision).where(col(ApprovalDecision.report_id).in_(report_ids)))
    )
    reopenings = list(
        session.exec(
            select(AuditLog).where(
                AuditLog.entity_type == "progress_report",
                col(AuditLog.entity_id).in_([str(i) for i in report_ids]),
                AuditLog.action == "report_reopened",
            )
        )
    )
    people_ids = (
        {v.submitted_by_id for v in versions}
        | {d.decided_by_id for d in decisions}
        | {a.actor_person_id for a in reopenings}
    )
    people = {
        p.id: p.full_name
        for p in session.exec(select(Person).where(col(Person.id).in_([i for i in people_ids if i])))
    }
    version_number = {v.id: v.version for v in versions}
    quarters = []
    for period in periods:
        report = reports.get(period.id)
        views: list[VersionView] = []
        for v in versions:
            if report is None or v.report_id != report.id:
                continue
            view = VersionView(
                v, people.get(v.submitted_by_id, ""), results.get(v.id or 0, {}), photos.get(v.id or 0, [])
            )
            if views:
                before = views[-1]
                view.changed = {
                    name for name in _COMPARED if getattr(before.version, name) != getattr(v, name)
                }
                view.changed |= {
                    f"indicator:{i}"
                    for i in set(view.results) | set(before.results)
                    if view.results.get(i) != before.results.get(i)
                }
            views.append(view)
        trail = [
            TrailEntry(
                d.decided_at,
                people.get(d.decided_by_id, ""),
                str(d.outcome),
                d.reason,
                version_number.get(d.version_id),
                d.level,
            )
            for d in decisions
            if report is not None and d.report_id == report.id
        ] + [
            TrailEntry(
                a.at,
                people.get(a.actor_person_id, "") if a.actor_person_id else "",
                "reopened",
                str(a.details.get("reason", "")),
                a.details.get("version"),
                None,
            )
            for a in reopenings
            if report is not None and a.entity_id == str(report.id)
        ]
        trail.sort(key=lambda t: t.at)
        quarters.append(QuarterView(period, report, _state(report, period), views, trail))
    return ProjectDetail(
        project=project,
        office=office,
        office_path=office_path(session, office),
        approver=approver.full_name if approver else "",
        owners=owners_of(session, [project_id]).get(project_id, []),
        linkage=_linkage(session, project_id),
        indicators=indicators,
        quarters=quarters,
    )


def photo_office(session: Session, photo_id: int) -> tuple[EvidencePhoto, int] | None:
    """A photo and the office of its project (to check the viewer's scope)."""
    row = session.execute(
        select(EvidencePhoto, Project.office_id)
        .join(ProgressReport, col(ProgressReport.id) == col(EvidencePhoto.report_id))
        .join(Project, col(Project.id) == col(ProgressReport.project_id))
        .where(col(EvidencePhoto.id) == photo_id)
    ).first()
    return (row[0], int(row[1])) if row else None
