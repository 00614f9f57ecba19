"""Approval rules: who decides on a report version, recording decisions, reopening, what is pending.

- The approver is the project's approver, or whoever acts for them on the day (ActingApprover). When
  the person who submitted is the project's approver, the report goes one level up (their deputy does
  not decide on their own report in their name): the project office's
  `settings["escalation_approver"]` (a person code), else the parent office's
  `settings["approver"]`, else the parent office's people with the approver role, each with whoever
  acts for them on the day.
- Only a current approver may decide; nobody decides on their own report; a decision names the version
  it is about and is refused when that version is no longer the current one; a second decision on the
  same version and level is not recorded again (the unique key on (version, level) makes this hold
  even under races) and reports who decided first. Approval is final unless the planning group reopens.
- With `levels == 2` (planning verification), the director's approval passes the report to the planning
  group, whose decision is the final one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.ops import AuditLog
from models.org import ActingApprover, Office, Person
from models.plan import Project, ReportingPeriod
from models.reports import ApprovalDecision, ProgressReport, ReportVersion
from models.types import DecisionChannel, DecisionOutcome, ReportStatus, Role


class DecisionError(StrEnum):
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    OWN_REPORT = "own_report"
    STALE_VERSION = "stale_version"
    ALREADY_DECIDED = "already_decided"
    NEEDS_REASON = "needs_reason"
    NOT_PENDING = "not_pending"


@dataclass(frozen=True)
class DecisionResult:
    decision: ApprovalDecision | None
    error: DecisionError | None = None
    existing: ApprovalDecision | None = None  # the first decision, when this one was a repeat
    current_version: int | None = None  # when the decision named a stale version
    final: bool = False  # the report is now approved or returned for good (not waiting on level 2)

    @property
    def ok(self) -> bool:
        return self.error is None


def acting_for(session: Session, principal_id: int, on: date) -> list[Person]:
    statement = (
        select(Person)
        .join(ActingApprover, col(ActingApprover.acting_id) == col(Person.id))
        .where(
            col(ActingApprover.principal_id) == principal_id,
            col(ActingApprover.starts_on) <= on,
            col(ActingApprover.ends_on) >= on,
        )
    )
    return list(session.exec(statement))


def _person_by_code(session: Session, code: object) -> Person | None:
    if not code:
        return None
    return session.exec(select(Person).where(Person.code == str(code))).first()


def _next_level(session: Session, project: Project) -> list[Person]:
    office = session.get(Office, project.office_id)
    if office is None:
        return []
    escalation = _person_by_code(session, (office.settings or {}).get("escalation_approver"))
    if escalation is not None:
        return [escalation]
    parent = session.get(Office, office.parent_id) if office.parent_id else None
    if parent is None:
        return []
    named = _person_by_code(session, (parent.settings or {}).get("approver"))
    if named is not None:
        return [named]
    people = session.exec(select(Person).where(Person.office_id == parent.id, col(Person.active).is_(True)))
    return [p for p in people if p.has_role(Role.APPROVER)]


def approvers_for(session: Session, report: ProgressReport, version: ReportVersion, on: date) -> list[Person]:
    """Who may decide on `version` on day `on` (level 1), in the order cards should go to them."""
    project = session.get(Project, report.project_id)
    if project is None or project.approver_id is None:
        return []
    principal = session.get(Person, project.approver_id)
    submitter = version.submitted_by_id
    candidates: list[Person] = []
    if project.approver_id != submitter:
        candidates = [*acting_for(session, project.approver_id, on), *([principal] if principal else [])]
        candidates = [p for p in candidates if p.id != submitter]
    if not candidates:
        candidates = [p for p in _next_level(session, project) if p.id != submitter]
        for person in list(candidates):
            candidates[:0] = [a for a in acting_for(session, person.id or 0, on) if a.id != submitter]
    unique: dict[int, Person] = {}
    for person in candidates:
        unique.setdefault(person.id or 0, person)
    return list(unique.values())


def planners_for(session: Session, report: ProgressReport) -> list[Person]:
    """The planning group that verifies at level 2: planners of the project's area office tree (its
    heads of monitoring included: a head is a planner too)."""
    project = session.get(Project, report.project_id)
    office = session.get(Office, project.office_id) if project else None
    root = office
    while root is not None and root.parent_id is not None:
        root = session.get(Office, root.parent_id)
    if root is None:
        return []
    offices = [root.id, *session.exec(select(Office.id).where(Office.parent_id == root.id))]
    people = session.exec(
        select(Person).where(col(Person.office_id).in_(offices), col(Person.active).is_(True))
    )
    return [p for p in people if p.has_role(Role.PLANNER) or p.has_role(Role.MONITORING_HEAD)]


def current_version(session: Session, report: ProgressReport) -> ReportVersion | None:
    statement = select(ReportVersion).where(
        ReportVersion.report_id == report.id, ReportVersion.version == report.current_version
    )
    return session.exec(statement).first()


def decisions_of(session: Session, version_id: int) -> list[ApprovalDecision]:
    return list(
        session.exec(
            select(ApprovalDecision)
            .where(ApprovalDecision.version_id == version_id)
            .order_by(col(ApprovalDecision.level))
        )
    )


def pending_level(
    session: Session, report: ProgressReport, version: ReportVersion, levels: int
) -> int | None:
    """The level whose decision `version` awaits, or None if it awaits none."""
    if report.status != ReportStatus.SUBMITTED or version.version != report.current_version:
        return None
    decided = {d.level: d for d in decisions_of(session, version.id or 0)}
    if 1 not in decided:
        return 1
    if levels >= 2 and decided[1].outcome == DecisionOutcome.APPROVED and 2 not in decided:
        return 2
    return None


def may_decide(
    session: Session, person: Person, report: ProgressReport, version: ReportVersion, level: int, on: date
) -> bool:
    if person.id == version.submitted_by_id:
        return False
    people = planners_for(session, report) if level == 2 else approvers_for(session, report, version, on)
    return any(p.id == person.id for p in people)


def decidable_level(
    session: Session, person: Person, report: ProgressReport, on: date, levels: int = 1
) -> tuple[ReportVersion, int] | None:
    """The current version and the level at which `person` may decide on it now, if any."""
    version = current_version(session, report)
    if version is None:
        return None
    level = pending_level(session, report, version, levels)
    if level is None or not may_decide(session, person, report, version, level, on):
        return None
    return version, level


def record_decision(
    session: Session,
    *,
    report_id: int,
    version: int,
    person: Person,
    outcome: DecisionOutcome,
    channel: DecisionChannel,
    now: datetime,
    on: date,
    reason: str = "",
    levels: int = 1,
) -> DecisionResult:
    """Decide on version `version` of a report, applying every rule; returns what happened."""
    is_pg = session.get_bind().dialect.name == "postgresql"
    report = session.get(ProgressReport, report_id, with_for_update=is_pg)
    if report is None:
        return DecisionResult(None, DecisionError.NOT_FOUND)
    row = session.exec(
        select(ReportVersion).where(ReportVersion.report_id == report_id, ReportVersion.version == version)
    ).first()
    if row is None:
        return DecisionResult(None, DecisionError.NOT_FOUND)
    earlier = decisions_of(session, row.id or 0)
    if version != report.current_version:
        # Only someone who could decide on the current version learns that there is one.
        latest = current_version(session, report)
        if latest is not None and person.id == latest.submitted_by_id:
            return DecisionResult(None, DecisionError.OWN_REPORT)
        latest_level = pending_level(session, report, latest, levels) if latest is not None else None
        if (
            latest is not None
            and latest_level is not None
            and not may_decide(session, person, report, latest, latest_level, on)
        ):
            return DecisionResult(None, DecisionError.NOT_ALLOWED)
        return DecisionResult(None, DecisionError.STALE_VERSION, current_version=report.current_version)
    level = pending_level(session, report, row, levels)
    if level is None:
        existing = earlier[-1] if earlier else None
        if existing is not None:
            return DecisionResult(None, DecisionError.ALREADY_DECIDED, existing=existing)
        return DecisionResult(None, DecisionError.NOT_PENDING)
    if person.id == row.submitted_by_id:
        return DecisionResult(None, DecisionError.OWN_REPORT)
    if not may_decide(session, person, report, row, level, on):
        mine = next((d for d in earlier if d.decided_by_id == person.id), None)
        if mine is not None:  # e.g. the director taps again while the planning group verifies
            return DecisionResult(None, DecisionError.ALREADY_DECIDED, existing=mine)
        return DecisionResult(None, DecisionError.NOT_ALLOWED)
    reason = reason.strip()
    if outcome == DecisionOutcome.RETURNED and not reason:
        return DecisionResult(None, DecisionError.NEEDS_REASON)
    project = session.get(Project, report.project_id)
    principal_id = project.approver_id if project else None
    # Recorded only for an acting approver, not for the next level deciding an approver's own report.
    acting = level == 1 and principal_id not in (None, person.id)
    if acting and not any(p.id == person.id for p in acting_for(session, principal_id or 0, on)):
        acting = False
    on_behalf = principal_id if acting else None
    decision = ApprovalDecision(
        report_id=report_id,
        version_id=row.id or 0,
        level=level,
        outcome=outcome,
        decided_by_id=person.id or 0,
        on_behalf_of_id=on_behalf,
        channel=channel,
        reason=reason,
        decided_at=now,
    )
    try:
        with session.begin_nested():
            session.add(decision)
            session.flush()
    except sa.exc.IntegrityError:
        first = session.exec(
            select(ApprovalDecision).where(
                ApprovalDecision.version_id == row.id, ApprovalDecision.level == level
            )
        ).first()
        return DecisionResult(None, DecisionError.ALREADY_DECIDED, existing=first)
    final = outcome == DecisionOutcome.RETURNED or level >= levels
    if final:
        report.status = (
            ReportStatus.APPROVED if outcome == DecisionOutcome.APPROVED else ReportStatus.RETURNED
        )
    report.updated_at = now
    session.add(report)
    session.add(
        AuditLog(
            at=now,
            actor_person_id=person.id,
            actor="line" if channel != DecisionChannel.CLI else "cli",
            action=f"report_{outcome.value}",
            entity_type="progress_report",
            entity_id=str(report_id),
            details={
                "version": version,
                "version_id": row.id,
                "level": level,
                "channel": channel.value,
                "reason": reason,
                "on_behalf_of_id": on_behalf,
            },
        )
    )
    return DecisionResult(decision, final=final)


def reopen_report(
    session: Session, *, report_id: int, actor: str, reason: str, now: datetime, by: Person | None = None
) -> ProgressReport | None:
    """The planning group reopens an approved report for revision (the only way back from approval)."""
    is_pg = session.get_bind().dialect.name == "postgresql"
    report = session.get(ProgressReport, report_id, with_for_update=is_pg)
    if report is None or report.status != ReportStatus.APPROVED:
        return None
    version = current_version(session, report)
    report.status = ReportStatus.RETURNED
    report.updated_at = now
    session.add(report)
    session.add(
        AuditLog(
            at=now,
            actor_person_id=by.id if by is not None else None,
            actor=actor,
            action="report_reopened",
            entity_type="progress_report",
            entity_id=str(report_id),
            details={
                "version": report.current_version,
                "version_id": version.id if version is not None else None,
                "channel": DecisionChannel.CLI.value,
                "reason": reason,
            },
        )
    )
    return report


@dataclass(frozen=True)
class Pending:
    report: ProgressReport
    version: ReportVersion
    project: Project
    level: int
    approvers: tuple[Person, ...]


def pending_reports(
    session: Session, on: date, levels: int = 1, *, where: sa.ColumnElement[bool] | None = None
) -> list[Pending]:
    """Every submitted report waiting for a decision, with who may decide it (`where`: only among the
    reports whose project matches it)."""
    statement = (
        select(ProgressReport, ReportVersion, Project)
        .join(
            ReportVersion,
            sa.and_(
                col(ReportVersion.report_id) == col(ProgressReport.id),
                col(ReportVersion.version) == col(ProgressReport.current_version),
            ),
        )
        .join(Project, col(Project.id) == col(ProgressReport.project_id))
        .where(col(ProgressReport.status) == ReportStatus.SUBMITTED)
        .order_by(col(ReportVersion.submitted_at), col(ProgressReport.id))
    )
    if where is not None:
        statement = statement.where(where)
    result = []
    for report, version, project in session.exec(statement):
        level = pending_level(session, report, version, levels)
        if level is None:
            continue
        people = approvers_for(session, report, version, on) if level == 1 else planners_for(session, report)
        result.append(Pending(report, version, project, level, tuple(people)))
    return result


def pending_for(session: Session, person: Person, on: date, levels: int = 1) -> list[Pending]:
    """The reports waiting for `person`'s decision. The exact rule (`approvers_for`, `planners_for`)
    is checked only on the reports `person` could decide at all (`_decidable_by`), not on every
    submitted report of the database: a director's `รออนุมัติ` reads their own schools' reports."""
    where = _decidable_by(session, person, on, levels)
    if where is None:
        return []
    return [
        p
        for p in pending_reports(session, on, levels, where=where)
        if any(a.id == person.id for a in p.approvers)
    ]


def _decidable_by(session: Session, person: Person, on: date, levels: int) -> sa.ColumnElement[bool] | None:
    """A condition on Project that every project whose reports `person` may decide matches (more may
    match; the exact rule is checked after it), or None when there is none. Level 1 follows
    `approvers_for`: the project's approver, or one level up (`_next_level`), each with whoever acts
    for them; so `person` and the principals they act for on `on` are the candidates. Level 2 follows
    `planners_for`: a planner decides on the projects of their area office's tree."""
    principals = [
        a.principal_id
        for a in session.exec(
            select(ActingApprover).where(
                col(ActingApprover.acting_id) == person.id,
                col(ActingApprover.starts_on) <= on,
                col(ActingApprover.ends_on) >= on,
            )
        )
    ]
    people = [
        person,
        *(session.exec(select(Person).where(col(Person.id).in_(principals))) if principals else []),
    ]
    codes = {p.code for p in people if p.code}
    offices: set[int] = set()  # projects of these offices: `person` may be one level up
    parents: set[int] = set()  # projects of these offices' children: likewise
    for office in session.exec(
        select(Office).where(sa.cast(col(Office.settings), sa.Text).like("%approver%"))
    ):  # the few offices with a named approver (`settings["escalation_approver"]` or `["approver"]`)
        settings = office.settings or {}
        if str(settings.get("escalation_approver") or "") in codes:
            offices.add(office.id or 0)
        if str(settings.get("approver") or "") in codes:
            parents.add(office.id or 0)
    parents.update(p.office_id for p in people if p.has_role(Role.APPROVER) and p.active and p.office_id)
    if parents:
        offices.update(session.exec(select(Office.id).where(col(Office.parent_id).in_(sorted(parents)))))
    if levels >= 2 and person.has_role(Role.PLANNER) and person.office_id:
        offices.update(_area_tree(session, person.office_id))
    conditions = [col(Project.approver_id).in_(sorted({p.id for p in people if p.id is not None}))]
    if offices:
        conditions.append(col(Project.office_id).in_(sorted(offices)))
    return sa.or_(*conditions)


def _area_tree(session: Session, office_id: int) -> set[int]:
    """Every office under the root of `office_id`'s tree, the root included (`planners_for`'s area)."""
    parent_of = dict(session.exec(select(Office.id, Office.parent_id)).all())
    root = office_id
    while parent_of.get(root) is not None:
        root = parent_of[root] or root
    tree, frontier = {root}, {root}
    children: dict[int, list[int]] = {}
    for child, parent in parent_of.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    while frontier:
        frontier = {c for f in frontier for c in children.get(f, [])} - tree
        tree |= frontier
    return tree


@dataclass(frozen=True)
class StuckReport:
    """A submitted report that nobody can approve: its submitter is its approver and there is no level
    above (no `escalation_approver`, no parent office approver), or the project has no approver."""

    report_id: int
    version_id: int
    project_id: int
    project_code: str
    project_name: str
    office_id: int
    submitted_by_id: int | None
    submitted_at: datetime | None
    fiscal_year: int
    quarter: int


def stuck_reports(
    session: Session, on: date, *, office_ids: Collection[int] | None = None
) -> list[StuckReport]:
    """Every report waiting at level 1 that nobody may decide on ``on`` (the same rule as
    ``approvers_for``), oldest submission first; ``office_ids`` narrows to projects of those offices
    (a dashboard's scope). Only reports whose approver is missing or is their submitter can be stuck,
    so the rule is checked on those few rows, not on every pending report."""
    decided = (
        sa.select(ApprovalDecision.version_id)  # type: ignore[call-overload]
        .where(col(ApprovalDecision.version_id) == col(ReportVersion.id), col(ApprovalDecision.level) == 1)
        .exists()
    )
    statement = (
        sa.select(
            ProgressReport, ReportVersion, Project, ReportingPeriod.fiscal_year, ReportingPeriod.quarter
        )
        .join(
            ReportVersion,
            sa.and_(
                col(ReportVersion.report_id) == col(ProgressReport.id),
                col(ReportVersion.version) == col(ProgressReport.current_version),
            ),
        )
        .join(Project, col(Project.id) == col(ProgressReport.project_id))
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(ProgressReport.period_id))
        .where(
            col(ProgressReport.status) == ReportStatus.SUBMITTED,
            sa.or_(
                col(Project.approver_id).is_(None),
                col(Project.approver_id) == col(ReportVersion.submitted_by_id),
            ),
            ~decided,
        )
        .order_by(col(ReportVersion.submitted_at), col(ProgressReport.id))
    )
    if office_ids is not None:
        statement = statement.where(col(Project.office_id).in_(list(office_ids)))
    result = []
    for report, version, project, fiscal_year, quarter in session.execute(statement).all():
        if approvers_for(session, report, version, on):
            continue
        result.append(
            StuckReport(
                report.id or 0,
                version.id or 0,
                project.id or 0,
                project.code,
                project.name,
                project.office_id,
                version.submitted_by_id,
                version.submitted_at,
                fiscal_year,
                quarter,
            )
        )
    return result
