"""Read-side queries about projects and their reports, for chat answers and the scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.plan import Project, ProjectOwner, ReportingPeriod
from models.reports import ProgressReport, ReportVersion


def open_period(session: Session, today: date) -> ReportingPeriod | None:
    """The period people should be reporting on today.

    The earliest period that has started and is not yet past its due date (so early January still
    means the quarter just ended, due on the 10th); failing that, the period containing today.
    """
    candidates = list(
        session.exec(
            select(ReportingPeriod)
            .where(col(ReportingPeriod.starts_on) <= today, col(ReportingPeriod.due_on) >= today)
            .order_by(col(ReportingPeriod.starts_on))
        )
    )
    if candidates:
        return candidates[0]
    return session.exec(
        select(ReportingPeriod).where(
            col(ReportingPeriod.starts_on) <= today, col(ReportingPeriod.ends_on) >= today
        )
    ).first()


@dataclass(frozen=True)
class ProjectState:
    project_id: int
    code: str
    name: str
    budget_satang: int
    report_status: str | None  # None: nothing reported for the period
    progress_pct: Decimal | None


def projects_of_person(
    session: Session, person_id: int, fiscal_year: int, period_id: int | None = None
) -> list[ProjectState]:
    """Projects `person_id` is responsible for in `fiscal_year`, with their report state for a period."""
    statement = (
        select(Project, ProgressReport, ReportVersion)
        .join(ProjectOwner, col(ProjectOwner.project_id) == col(Project.id))
        .outerjoin(
            ProgressReport,
            sa.and_(
                col(ProgressReport.project_id) == col(Project.id), col(ProgressReport.period_id) == period_id
            ),
        )
        .outerjoin(
            ReportVersion,
            sa.and_(
                col(ReportVersion.report_id) == col(ProgressReport.id),
                col(ReportVersion.version) == col(ProgressReport.current_version),
            ),
        )
        .where(col(ProjectOwner.person_id) == person_id, col(Project.fiscal_year) == fiscal_year)
        .order_by(col(Project.code))
    )
    result = []
    for project, report, version in session.exec(statement):
        result.append(
            ProjectState(
                project_id=project.id or 0,
                code=project.code,
                name=project.name,
                budget_satang=project.budget_satang,
                report_status=str(report.status) if report else None,
                progress_pct=version.progress_pct if version else None,
            )
        )
    return result
