"""The weekly digest names the reports nobody can approve (issue 16: no stuck reports), with the same
query the dashboard uses (``models.approvals.stuck_reports``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from scheduler_office import generate_office
from sqlalchemy.engine import Engine
from sqlmodel import Session

from messages.reminders import ItemKind, daily_message_json
from models import Project, ProjectOwner
from models.reporting import submit_report
from scheduler.process_steps import load_process_steps
from scheduler.rules import load_rules
from scheduler.tick import TickSetup, plan_for
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")
MONDAY = date(2027, 1, 18)  # a digest day after Q1's reports were due


def test_the_weekly_digest_lists_reports_nobody_can_approve(engine: Engine) -> None:
    g = generate_office(engine, schools=2, projects_per_school=2, teachers_per_school=1)
    head = g.planner_ids[0]  # a planner's own project at the area office, approved by herself
    now = datetime(2027, 1, 12, 3, 0, tzinfo=UTC)
    with Session(engine) as s:
        project = Project(code="AREA-9", fiscal_year=g.fiscal_year, name="โครงการของกลุ่มนโยบาย",
                          office_id=g.area_id, approver_id=head, budget_satang=0,
                          created_at=now, updated_at=now)  # fmt: skip
        s.add(project)
        s.flush()
        s.add(ProjectOwner(project_id=project.id, person_id=head))
        answers = {"project": str(project.id), "period": str(g.period_ids[1]), "status": "in_progress",
                   "progress": "50", "budget": 0, "indicators": {}, "activities": "x"}  # fmt: skip
        submit_report(s, head, answers, now)
        s.commit()
    setup = TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()))
    with engine.connect() as conn:
        plan, *_ = plan_for(conn, MONDAY, setup)
        tuesday, *_ = plan_for(conn, date(2027, 1, 19), setup)
    stuck = [i for r in plan.recipients for i in r.items if i.kind is ItemKind.STUCK_REPORTS]
    assert stuck and all(i.total == 1 and i.lines[0].code == "AREA-9" for i in stuck)
    assert {p for r in plan.recipients for i in r.items if i.kind is ItemKind.STUCK_REPORTS
            for p in r.person_ids} == set(g.planner_ids)  # fmt: skip
    text = daily_message_json(stuck, MONDAY, max_lines=10)
    assert "ยังไม่มีผู้อนุมัติ" in text and "AREA-9" in text
    assert not any(i.kind is ItemKind.STUCK_REPORTS for r in tuesday.recipients for i in r.items), "weekly"
