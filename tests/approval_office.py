"""An office for approval tests: the seeded office plus a deputy, a second teacher, the area director,
a project the school director owns, and helpers to submit report versions through `models/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from support import Seeded, seed_office

from models import (
    ActingApprover,
    AuditLog,
    Indicator,
    Person,
    Project,
    ProjectOwner,
    ReportingPeriod,
    format_roles,
)
from models.reporting import submit_report
from models.reports import ApprovalDecision, ProgressReport, ReportVersion
from models.types import IndicatorKind, Role

REPORT_ACTIONS = ("report_approved", "report_returned", "report_reopened")


@dataclass
class ApprovalOffice:
    seeded: Seeded
    deputy: Person  # acts for the director on some days
    teacher2: Person  # another reporter: may not decide anything
    area_director: Person  # the next level up, for the director's own reports
    own_project: Project  # owned by the director (their report goes one level up)
    period_id: int

    @property
    def teacher(self) -> Person:
        return self.seeded.teacher

    @property
    def director(self) -> Person:
        return self.seeded.director

    @property
    def planner(self) -> Person:
        return self.seeded.planner

    @property
    def projects(self) -> list[Project]:
        return self.seeded.projects


def _person(s: Session, code: str, name: str, office_id: int, roles: set[Role], now: datetime) -> Person:
    person = Person(
        code=code,
        full_name=name,
        office_id=office_id,
        roles=format_roles(roles),
        created_at=now,
        updated_at=now,
    )
    s.add(person)
    s.flush()
    return person


def make_office(engine: Engine, *, today: date, projects: int = 2) -> ApprovalOffice:
    seeded = seed_office(engine, today=today, projects_for_teacher=projects)
    now = datetime.now(UTC)  # row stamps only: the office's date is the caller's `today`
    with Session(engine, expire_on_commit=False) as s:
        deputy = _person(s, "DD1", "นายรอง ผู้อำนวยการ", seeded.school.id or 0, {Role.APPROVER}, now)
        teacher2 = _person(s, "T2", "นายครู สอง", seeded.school.id or 0, {Role.REPORTER}, now)
        area_director = _person(s, "AD1", "นางผู้อำนวยการ เขตพื้นที่", seeded.office.id or 0, {Role.APPROVER}, now)
        own = Project(
            code=f"P{seeded.fiscal_year}-900",
            fiscal_year=seeded.fiscal_year,
            name="โครงการของผู้อำนวยการ",
            office_id=seeded.school.id or 0,
            approver_id=seeded.director.id,
            budget_satang=5_000_000,
            created_at=now,
            updated_at=now,
        )
        s.add(own)
        s.flush()
        s.add(ProjectOwner(project_id=own.id or 0, person_id=seeded.director.id or 0))
        s.add(
            Indicator(
                project_id=own.id or 0,
                code="K1",
                name="ครูที่ผ่านการอบรม",
                unit="คน",
                target=10,
                kind=IndicatorKind.OUTPUT,
            )
        )
        period = s.exec(
            select(ReportingPeriod)
            .where(ReportingPeriod.fiscal_year == seeded.fiscal_year, col(ReportingPeriod.starts_on) <= today)
            .order_by(col(ReportingPeriod.quarter).desc())
        ).first()
        assert period is not None
        s.commit()
        return ApprovalOffice(seeded, deputy, teacher2, area_director, own, period.id or 0)


def add_projects(engine: Engine, office: ApprovalOffice, count: int, *, start: int = 100) -> list[Project]:
    """More projects of the teacher, approved by the director."""
    now = datetime.now(UTC)
    made = []
    with Session(engine, expire_on_commit=False) as s:
        for i in range(count):
            project = Project(
                code=f"P{office.seeded.fiscal_year}-{start + i:03d}",
                fiscal_year=office.seeded.fiscal_year,
                name=f"โครงการเพิ่มเติม {start + i}",
                office_id=office.seeded.school.id or 0,
                approver_id=office.director.id,
                budget_satang=1_000_000,
                created_at=now,
                updated_at=now,
            )
            s.add(project)
            s.flush()
            s.add(ProjectOwner(project_id=project.id or 0, person_id=office.teacher.id or 0))
            made.append(project)
        s.commit()
    return made


def answers(
    project_id: int, period_id: int, *, progress: str = "50", activities: str = "x"
) -> dict[str, Any]:
    return {
        "project": str(project_id),
        "period": str(period_id),
        "status": "in_progress",
        "progress": progress,
        "budget": 100000,
        "indicators": {},
        "activities": activities,
    }


def submit(
    session: Session, person_id: int, project_id: int, period_id: int, now: datetime, *, progress: str = "50"
) -> tuple[ProgressReport, ReportVersion]:
    return submit_report(session, person_id, answers(project_id, period_id, progress=progress), now)


def set_acting(engine: Engine, office: ApprovalOffice, starts_on: date, ends_on: date) -> None:
    with Session(engine) as s:
        s.add(
            ActingApprover(
                principal_id=office.director.id or 0,
                acting_id=office.deputy.id or 0,
                starts_on=starts_on,
                ends_on=ends_on,
                created_at=datetime.now(UTC),
            )
        )
        s.commit()


def link(engine: Engine, person: Person, user_id: str) -> None:
    """Link a person to a LINE user directly (linking itself is tested elsewhere)."""
    with Session(engine) as s:
        row = s.get(Person, person.id)
        assert row is not None
        row.line_user_id = user_id
        row.linked_at = datetime.now(UTC)
        s.add(row)
        s.commit()
    person.line_user_id = user_id


def decisions(engine: Engine, report_id: int | None = None) -> list[ApprovalDecision]:
    with Session(engine) as s:
        statement = select(ApprovalDecision).order_by(col(ApprovalDecision.id))
        if report_id is not None:
            statement = statement.where(ApprovalDecision.report_id == report_id)
        return list(s.exec(statement))


def audits(engine: Engine, report_id: int | None = None) -> list[AuditLog]:
    with Session(engine) as s:
        statement = (
            select(AuditLog).where(col(AuditLog.action).in_(REPORT_ACTIONS)).order_by(col(AuditLog.id))
        )
        if report_id is not None:
            statement = statement.where(AuditLog.entity_id == str(report_id))
        return list(s.exec(statement))


def report_status(engine: Engine, report_id: int) -> str:
    with Session(engine) as s:
        report = s.get(ProgressReport, report_id)
        assert report is not None
        return str(report.status)


def yesterday(today: date) -> date:
    return today - timedelta(days=1)
