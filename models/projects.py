"""Read-side queries about projects and their reports, for chat answers and the scheduler."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from models.plan import Project, ProjectOwner, ReportingPeriod
from models.reports import ProgressReport, ReportVersion


@dataclass(frozen=True, slots=True)
class OpenPeriod:
    """A reporting period as the chat answers read it (plain values: no ORM object)."""

    id: int
    fiscal_year: int
    quarter: int
    starts_on: date
    ends_on: date
    due_on: date


_PERIOD = ReportingPeriod.__table__  # type: ignore[attr-defined]
_TODAY = sa.bindparam("today", type_=sa.Date())
# Built once: the earliest started period not yet past its due date, else the one containing today.
_OPEN_PERIOD = (
    sa.select(_PERIOD.c.id, _PERIOD.c.fiscal_year, _PERIOD.c.quarter)
    .add_columns(_PERIOD.c.starts_on, _PERIOD.c.ends_on, _PERIOD.c.due_on)
    .where(_PERIOD.c.starts_on <= _TODAY, sa.or_(_PERIOD.c.due_on >= _TODAY, _PERIOD.c.ends_on >= _TODAY))
    # Constants in the SQL text, not parameters: PostgreSQL then plans the statements built on this
    # (the sender's row, models/linking.py) once, not at every execution.
    .order_by(sa.case((_PERIOD.c.due_on >= _TODAY, sa.literal_column("0")), else_=sa.literal_column("1")))
    .order_by(_PERIOD.c.starts_on)
    .limit(sa.literal_column("1"))
)


def open_period(session: Session, today: date) -> OpenPeriod | None:
    """The period people should be reporting on today.

    The earliest period that has started and is not yet past its due date (so early January still
    means the quarter just ended, due on the 10th); failing that, the period containing today.
    """
    found = session.execute(_OPEN_PERIOD, {"today": today}).first()
    return OpenPeriod(*found) if found is not None else None


@dataclass(frozen=True)
class ProjectState:
    project_id: int
    code: str
    name: str
    budget_satang: int
    report_status: str | None  # None: nothing reported for the period
    progress_pct: Decimal | None


_PROJECT = Project.__table__  # type: ignore[attr-defined]
_OWNER = ProjectOwner.__table__  # type: ignore[attr-defined]
_REPORT = ProgressReport.__table__  # type: ignore[attr-defined]
_VERSION = ReportVersion.__table__  # type: ignore[attr-defined]


def project_state_columns(project: Any = _PROJECT) -> tuple[Any, ...]:
    """The columns of a `ProjectState` (`project_states`), of `project` (the table or an alias of it)
    joined by `with_report_state`."""
    own = (project.c.id, project.c.code, project.c.name, project.c.budget_satang)
    return (*own, _REPORT.c.status, _VERSION.c.progress_pct)


def with_report_state(joined: Any, project: Any, period_id: Any) -> Any:
    """`joined` (holding `project`) with each project's report for `period_id` and its current version."""
    return joined.outerjoin(
        _REPORT, sa.and_(_REPORT.c.project_id == project.c.id, _REPORT.c.period_id == period_id)
    ).outerjoin(
        _VERSION,
        sa.and_(_VERSION.c.report_id == _REPORT.c.id, _VERSION.c.version == _REPORT.c.current_version),
    )


# Built once: a person's projects of a fiscal year, with their report's state for a period.
_PROJECTS_OF_PERSON = (
    sa.select(*project_state_columns())
    .select_from(
        with_report_state(
            _PROJECT.join(_OWNER, _OWNER.c.project_id == _PROJECT.c.id), _PROJECT, sa.bindparam("period_id")
        )
    )
    .where(_OWNER.c.person_id == sa.bindparam("person_id"), _PROJECT.c.fiscal_year == sa.bindparam("fy"))
    .order_by(_PROJECT.c.code)
)


def project_states(rows: Iterable[Any]) -> list[ProjectState]:
    """Rows of `project_state_columns` as `ProjectState`s."""
    return [
        ProjectState(
            project_id=project_id or 0,
            code=code,
            name=name,
            budget_satang=budget,
            report_status=str(status) if status is not None else None,
            progress_pct=pct,
        )
        for project_id, code, name, budget, status, pct in rows
    ]


def projects_of_person(
    session: Session, person_id: int, fiscal_year: int, period_id: int | None = None
) -> list[ProjectState]:
    """Projects `person_id` is responsible for in `fiscal_year`, with their report state for a period."""
    rows = session.execute(
        _PROJECTS_OF_PERSON, {"person_id": person_id, "fy": fiscal_year, "period_id": period_id}
    )
    return project_states(rows)
