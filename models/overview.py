"""Who has reported what this quarter, seen from above: a director's office, an area's planning group.

Read-only queries for the chat commands `สถานะโรงเรียน`, `ภาพรวมเขต` and `ใครยังไม่ส่ง`, and for a bound
planning-group chat's `สถานะ`. A project's state for a period is its report's status, or none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.linking import LinkedPerson
from models.org import ActingApprover, Office, Person
from models.plan import Project, ProjectOwner
from models.prepared import Prepared
from models.reports import ProgressReport, ReportVersion
from models.types import ProjectStatus, Role

NOT_REPORTED = "none"


@dataclass(frozen=True)
class ProjectRow:
    project_id: int
    code: str
    name: str
    office_id: int
    status: str  # a ReportStatus value, or NOT_REPORTED
    progress_pct: Decimal | None
    owners: tuple[str, ...]  # full names, in the listed order


@dataclass(frozen=True)
class OfficeCount:
    office_id: int
    office_name: str
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def waiting(self) -> int:
        """Projects with nothing sent yet (not reported, a draft, or returned for revision)."""
        return sum(n for s, n in self.by_status.items() if s in ("none", "draft", "returned"))


def area_root(session: Session, office_id: int) -> Office | None:
    """The area office at the top of `office_id`'s tree."""
    office = session.get(Office, office_id)
    while office is not None and office.parent_id is not None:
        office = session.get(Office, office.parent_id)
    return office


def offices_under(session: Session, root_id: int) -> dict[int, Office]:
    """The office and every office below it, by id."""
    found: dict[int, Office] = {}
    frontier = [root_id]
    root = session.get(Office, root_id)
    if root is not None:
        found[root_id] = root
    while frontier:
        children = list(session.exec(select(Office).where(col(Office.parent_id).in_(frontier))))
        frontier = [o.id for o in children if o.id is not None and o.id not in found]
        found.update({o.id: o for o in children if o.id is not None})
    return found


def principals_of(session: Session, person_id: int, on: date) -> list[int]:
    """People `person_id` acts for on `on` (ผู้รักษาราชการแทน)."""
    return list(
        session.exec(
            select(ActingApprover.principal_id).where(
                ActingApprover.acting_id == person_id,
                col(ActingApprover.starts_on) <= on,
                col(ActingApprover.ends_on) >= on,
            )
        )
    )


def is_director(session: Session, person: Person, on: date) -> bool:
    """An approver by role, the named approver of a project, or acting for one today."""
    if person.has_role(Role.APPROVER):
        return True
    if principals_of(session, person.id or 0, on):
        return True
    return session.exec(select(Project.id).where(Project.approver_id == person.id)).first() is not None


_ACTING = ActingApprover.__table__  # type: ignore[attr-defined]
_PROJECT = Project.__table__  # type: ignore[attr-defined]
_OWNER = ProjectOwner.__table__  # type: ignore[attr-defined]
# Built once: it runs for most events of a linked person (their menu's roles).
_ROLE_FACTS = sa.select(
    sa.exists().where(
        _ACTING.c.acting_id == sa.bindparam("person_id"),
        _ACTING.c.starts_on <= sa.bindparam("on", type_=_ACTING.c.starts_on.type),
        _ACTING.c.ends_on >= sa.bindparam("on", type_=_ACTING.c.ends_on.type),
    ),
    sa.exists().where(_PROJECT.c.approver_id == sa.bindparam("person_id")),
    sa.exists()
    .select_from(_OWNER.join(_PROJECT, _PROJECT.c.id == _OWNER.c.project_id))
    .where(_OWNER.c.person_id == sa.bindparam("person_id"), _PROJECT.c.fiscal_year == sa.bindparam("fy")),
)


def role_facts(session: Session, person_id: int, on: date, fiscal_year: int) -> tuple[bool, bool, bool]:
    """In one round trip: whether the person acts for someone on `on`, is a project's named approver,
    and owns a project of `fiscal_year` (what `is_director` and owning projects ask one by one)."""
    acting, approves, owns = session.execute(
        _ROLE_FACTS, {"person_id": person_id, "on": on, "fy": fiscal_year}
    ).one()
    return bool(acting), bool(approves), bool(owns)


_PERSON = Person.__table__  # type: ignore[attr-defined]
_REPORT = ProgressReport.__table__  # type: ignore[attr-defined]
_VERSION = ReportVersion.__table__  # type: ignore[attr-defined]
_ACTIVE = sa.literal_column(f"'{ProjectStatus.ACTIVE.value}'")  # a literal: planned once (models/projects.py)


def _project_statement(fiscal_year: object, period_id: object) -> sa.Select:  # type: ignore[type-arg]
    """A fiscal year's active projects with their report's state for the period and their owners'
    names: one row per project and owner (a project without owners once), as plain columns."""
    return (
        sa.select(
            _PROJECT.c.id,
            _PROJECT.c.code,
            _PROJECT.c.name,
            _PROJECT.c.office_id,
            _REPORT.c.status,
            _VERSION.c.progress_pct,
            _PERSON.c.full_name,
        )
        .select_from(_PROJECT)
        .outerjoin(_REPORT, sa.and_(_REPORT.c.project_id == _PROJECT.c.id, _REPORT.c.period_id == period_id))
        .outerjoin(
            _VERSION,
            sa.and_(_VERSION.c.report_id == _REPORT.c.id, _VERSION.c.version == _REPORT.c.current_version),
        )
        # A chain of outer joins, not a nested join: SQLite would materialise every owner for that.
        .outerjoin(_OWNER, _OWNER.c.project_id == _PROJECT.c.id)
        .outerjoin(_PERSON, _PERSON.c.id == _OWNER.c.person_id)
        .where(_PROJECT.c.fiscal_year == fiscal_year, _PROJECT.c.status == _ACTIVE)
    )


def _rows(found: Iterable[Any]) -> list[ProjectRow]:
    """`_project_statement`'s rows, one per project in their order, its owners in theirs."""
    projects: dict[int, tuple[tuple[Any, ...], list[str]]] = {}
    for project_id, *columns, owner in found:
        entry = projects.get(project_id)
        if entry is None:
            entry = projects[project_id] = (tuple(columns), [])
        if owner is not None:
            entry[1].append(owner)
    return [
        ProjectRow(
            project_id,
            code,
            name,
            office_id,
            str(status) if status else NOT_REPORTED,
            Decimal(str(progress)) if progress is not None else None,
            tuple(owners),
        )
        for project_id, ((code, name, office_id, status, progress), owners) in projects.items()
    ]


_ON = sa.bindparam("on", type_=sa.Date())
_PRINCIPALS = sa.select(_ACTING.c.principal_id).where(
    _ACTING.c.acting_id == sa.bindparam("person_id"), _ACTING.c.starts_on <= _ON, _ACTING.c.ends_on >= _ON
)
# Built once (a director's `สถานะ`): the projects of the office and those approved by the director or
# by whom they act for today, with the offices of those, in one round trip.
# The projects as a union of their ids, each part found by its own index (office, approver), not as
# one OR over the year's projects: SQLite scanned every project of the year for that (0.18 ms a
# director on the bench's 60 schools against 0.03 ms).
_OVERSEEN = _PROJECT.alias("overseen")
_OVERSEEN_IDS = sa.union(
    sa.select(_OVERSEEN.c.id).where(_OVERSEEN.c.office_id == sa.bindparam("office_id")),
    sa.select(_OVERSEEN.c.id).where(
        _OVERSEEN.c.office_id.in_(sa.select(_PERSON.c.office_id).where(_PERSON.c.id.in_(_PRINCIPALS)))
    ),
    sa.select(_OVERSEEN.c.id).where(_OVERSEEN.c.approver_id == sa.bindparam("person_id")),
    sa.select(_OVERSEEN.c.id).where(_OVERSEEN.c.approver_id.in_(_PRINCIPALS)),
)
_DIRECTOR_PROJECTS = (
    _project_statement(sa.bindparam("fy"), sa.bindparam("period_id"))
    .where(_PROJECT.c.id.in_(_OVERSEEN_IDS))
    .order_by(_PROJECT.c.code, _PROJECT.c.id, _OWNER.c.position)
)
_PREPARED_DIRECTOR_PROJECTS = Prepared(_DIRECTOR_PROJECTS)  # a director's status: on the driver's cursor


def director_projects(
    session: Session, person: Person | LinkedPerson, fiscal_year: int, period_id: int | None, on: date
) -> list[ProjectRow]:
    """The projects a director oversees: those of his office and those he (or whom he acts for) approves."""
    values = {"person_id": person.id or 0, "office_id": person.office_id, "on": on}
    found = _PREPARED_DIRECTOR_PROJECTS.rows(session, {**values, "fy": fiscal_year, "period_id": period_id})
    return _rows(found)


def area_counts(session: Session, root_id: int, fiscal_year: int, period_id: int | None) -> list[OfficeCount]:
    """Per office of the area, how many of its projects are in each state for the period."""
    offices = offices_under(session, root_id)
    statement = (
        select(Project.office_id, ProgressReport.status, sa.func.count())
        .select_from(Project)
        .outerjoin(
            ProgressReport,
            sa.and_(
                col(ProgressReport.project_id) == col(Project.id), col(ProgressReport.period_id) == period_id
            ),
        )
        .where(
            col(Project.fiscal_year) == fiscal_year,
            col(Project.status) == ProjectStatus.ACTIVE,
            col(Project.office_id).in_(list(offices)),
        )
        .group_by(col(Project.office_id), col(ProgressReport.status))
    )
    counts: dict[int, Counter[str]] = {}
    for office_id, status, n in session.exec(statement):
        counts.setdefault(office_id, Counter())[str(status) if status else NOT_REPORTED] += int(n)
    return [
        OfficeCount(office_id, offices[office_id].name, dict(c))
        for office_id, c in sorted(counts.items(), key=lambda kv: offices[kv[0]].code)
    ]


def not_submitted(
    session: Session, root_id: int, fiscal_year: int, period_id: int | None, limit: int = 200
) -> tuple[list[tuple[str, ProjectRow]], int]:
    """Projects of the area with nothing sent for the period (office name, row), and how many in all."""
    offices = offices_under(session, root_id)
    waiting = sa.or_(_REPORT.c.id.is_(None), _REPORT.c.status.in_(["draft", "returned"]))
    statement = (
        _project_statement(fiscal_year, period_id)
        .where(_PROJECT.c.office_id.in_(list(offices)), waiting)
        .order_by(_PROJECT.c.office_id, _PROJECT.c.code, _PROJECT.c.id, _OWNER.c.position)
    )
    rows = _rows(session.execute(statement))
    return [(offices[row.office_id].name, row) for row in rows[:limit]], len(rows)
