"""A plan lists a person's projects in one order on both backends, however the rows lie on disk: the
planning selects are ordered (a PostgreSQL join returns rows in heap or hash order unless told, and an
updated row moves within its page), so the same database plans the same message from one run to the
next and on either backend."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from scheduler_office import generate_office
from sqlalchemy.engine import Engine

from messages.reminders import ItemKind
from models import Project, ProjectOwner
from scheduler.process_steps import load_process_steps
from scheduler.rules import load_rules
from scheduler.tick import TickSetup, plan_for
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")
DUE_EVE = date(2027, 1, 8)  # one working day before Q1's reports are due: every unreported project
_project = Project.__table__  # type: ignore[attr-defined]
_owner = ProjectOwner.__table__  # type: ignore[attr-defined]


def test_report_lines_follow_the_projects_order_not_the_storage_order(engine: Engine) -> None:
    g = generate_office(engine, schools=1, projects_per_school=6, teachers_per_school=1)
    teacher = g.teachers_of[g.school_ids[0]][0]
    with engine.begin() as conn:
        ids = sorted(conn.execute(sa.select(_project.c.id)).scalars())
        # Renaming the first three, and touching their owners, stores new versions of their rows
        # after the others' (PostgreSQL), whichever table its plan reads first.
        conn.execute(
            _project.update().where(_project.c.id.in_(ids[:3])).values(name=_project.c.name + " (แก้ไข)")
        )
        conn.execute(
            _owner.update().where(_owner.c.project_id.in_(ids[:3])).values(position=_owner.c.position)
        )
        codes: dict[int, str] = dict(conn.execute(sa.select(_project.c.id, _project.c.code)).all())
    setup = TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()), monthly_quota=0)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # the hash joins it plans for a big analyzed database
            conn.exec_driver_sql("SET enable_mergejoin = off")
            conn.exec_driver_sql("SET enable_nestloop = off")
        plan, *_ = plan_for(conn, DUE_EVE, setup)
    (mine,) = [r for r in plan.recipients if r.person_ids == (teacher,)]
    (due,) = [i for i in mine.items if i.kind is ItemKind.REPORT_DUE]
    assert [line.code for line in due.lines] == [codes[i] for i in ids]
