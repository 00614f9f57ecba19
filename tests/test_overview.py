"""What a director and the planning group see (models/overview.py): whose projects, their state and
owners, on both backends; an acting director sees the projects of whom they act for on those days only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from approval_office import ApprovalOffice, make_office, submit
from sqlmodel import Session

from models.org import ActingApprover
from models.overview import NOT_REPORTED, director_projects, not_submitted
from models.plan import FiscalYear, Project, ProjectOwner
from scheduler.fiscal import fiscal_year_bounds


def _project(s: Session, code: str, office_id: int, approver_id: int, fy: int) -> Project:
    now = datetime.now(UTC)
    project = Project(code=code, fiscal_year=fy, name=f"โครงการ {code}", office_id=office_id,
                      approver_id=approver_id, budget_satang=100, created_at=now, updated_at=now)  # fmt: skip
    s.add(project)
    s.flush()
    return project


@pytest.fixture
def more(engine, office_clock) -> tuple[ApprovalOffice, dict[str, int], date, int]:  # type: ignore[no-untyped-def]
    """The approval office plus an area-office project of the area director with two owners (listed
    planner first), a planning-group project the school director approves with no owner, a project of
    last year, and the second teacher acting for the area director today."""
    today = office_clock.today
    office = make_office(engine, today=today)
    fy, seeded = office.seeded.fiscal_year, office.seeded
    with Session(engine, expire_on_commit=False) as s:
        area = _project(s, f"P{fy}-500", seeded.office.id, office.area_director.id, fy)
        s.add(ProjectOwner(project_id=area.id, person_id=office.teacher2.id, position=1))
        s.add(ProjectOwner(project_id=area.id, person_id=office.planner.id, position=0))
        planning = _project(s, f"P{fy}-050", seeded.planning.id, office.director.id, fy)
        starts_on, ends_on = fiscal_year_bounds(fy - 1)
        s.add(FiscalYear(year=fy - 1, starts_on=starts_on, ends_on=ends_on))
        old = _project(s, f"P{fy - 1}-001", seeded.school.id, office.director.id, fy - 1)
        s.add(ActingApprover(principal_id=office.area_director.id, acting_id=office.teacher2.id,
                             starts_on=today, ends_on=today, created_at=datetime.now(UTC)))  # fmt: skip
        s.commit()
    return office, {"area": area.id, "planning": planning.id, "old": old.id}, today, fy


def test_a_director_sees_the_schools_projects_and_those_they_approve_with_states_and_owners(
    engine, more
) -> None:
    office, made, today, fy = more
    with Session(engine) as s:
        submit(
            s, office.teacher.id, office.projects[0].id, office.period_id, datetime.now(UTC), progress="40"
        )
        s.commit()
        rows = director_projects(s, office.director, fy, office.period_id, today)
    codes = [r.code for r in rows]
    assert codes == sorted(codes) and made["old"] not in {r.project_id for r in rows}
    assert set(codes) == {*(p.code for p in office.projects), office.own_project.code, f"P{fy}-050"}
    by_code = {r.code: r for r in rows}
    first = by_code[office.projects[0].code]
    assert (first.status, str(first.progress_pct)) == ("submitted", "40.00")
    assert first.owners == (office.teacher.full_name,)
    second = by_code[office.projects[1].code]
    assert (second.status, second.progress_pct) == (NOT_REPORTED, None)
    assert by_code[f"P{fy}-050"].owners == ()  # a project nobody owns is listed too
    assert by_code[office.own_project.code].owners == (office.director.full_name,)


def test_an_acting_director_sees_the_principals_office_and_approvals_on_the_acting_day_only(
    engine, more
) -> None:
    office, made, today, fy = more
    with Session(engine) as s:
        acting = {r.project_id: r for r in director_projects(s, office.teacher2, fy, office.period_id, today)}
        later = director_projects(s, office.teacher2, fy, office.period_id, today + timedelta(days=1))
    assert acting[made["area"]].owners == (office.planner.full_name, office.teacher2.full_name)
    assert {p.id for p in office.projects} <= set(acting)  # their own school's
    assert made["planning"] not in acting  # approved by the school director, not the principal
    assert made["area"] not in {r.project_id for r in later}
    assert {r.project_id for r in later} == {p.id for p in office.projects} | {office.own_project.id}


def test_not_submitted_lists_the_areas_waiting_projects_with_owners_and_counts_them_all(engine, more) -> None:
    office, made, _, fy = more
    with Session(engine) as s:
        submit(s, office.teacher.id, office.projects[0].id, office.period_id, datetime.now(UTC))
        s.commit()
        listed, total = not_submitted(s, office.seeded.office.id, fy, office.period_id)
        first_two, same_total = not_submitted(s, office.seeded.office.id, fy, office.period_id, limit=2)
    ids = [row.project_id for _, row in listed]
    assert office.projects[0].id not in ids and made["old"] not in ids
    assert set(ids) == {office.projects[1].id, office.own_project.id, made["area"], made["planning"]}
    assert total == same_total == 4 and [row.project_id for _, row in first_two] == ids[:2]
    names = {row.project_id: (name, row.owners) for name, row in listed}
    assert names[made["area"]] == (
        office.seeded.office.name,
        (office.planner.full_name, office.teacher2.full_name),
    )
    assert names[made["planning"]] == (office.seeded.planning.name, ())
