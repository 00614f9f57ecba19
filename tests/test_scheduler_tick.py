"""The tick's edges: the dry-run CLI, the message budget, a bound planning group, office overrides,
acting approvers, and the service's catch-up of a missed tick."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from scheduler_office import Generated, generate_office, line_user_id, local_dt
from sqlalchemy.engine import Engine
from sqlmodel import Session
from support import make_settings
from typer.testing import CliRunner

from bot.delivery import Deliverer
from bot.line_client import LineClient
from messages.reminders import ItemKind
from models import ActingApprover, ChatBinding, Lease, Office, OutboxMessage, SchedulerRun
from scheduler.clock import FixedClock
from scheduler.process_steps import load_process_steps
from scheduler.rules import Rules, load_rules
from scheduler.service import SchedulerService
from scheduler.tick import TickSetup, plan_for, run_tick
from scheduler.workdays import WorkCalendar
from tidtam.cli import app

TZ = ZoneInfo("Asia/Bangkok")
_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]


def _office(engine: Engine, **kwargs) -> Generated:  # type: ignore[no-untyped-def]
    def q1(index: int):  # type: ignore[no-untyped-def]
        if index % 3 == 0:
            return ("approved", local_dt(date(2027, 1, 4)), local_dt(date(2027, 1, 4)))
        if index % 3 == 1:
            return ("submitted", local_dt(date(2027, 1, 6)), local_dt(date(2027, 1, 6)))
        return None

    return generate_office(
        engine, schools=3, projects_per_school=3, teachers_per_school=2, reports={1: q1}, **kwargs
    )


def _setup(quota: int = 0, rules: Rules | None = None) -> TickSetup:
    rules = rules or load_rules()
    return TickSetup(rules, WorkCalendar(), TZ, tuple(load_process_steps()), monthly_quota=quota)


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.select(sa.func.count()).select_from(t.__table__)).scalar_one()  # type: ignore[attr-defined]
            for t in (OutboxMessage, SchedulerRun, Lease)
        )


def test_remind_dry_run_prints_one_block_per_recipient_and_changes_nothing(
    engine: Engine,
    db_url: str,
    fake_line,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    _office(engine, linked=lambda pid: pid != 7)
    monkeypatch.chdir(tmp_path)
    settings = make_settings(db_url, fake_line, tmp_path)
    env = {"TIDTAM_DATABASE_URL": settings.database_url, "TIDTAM_MONTHLY_MESSAGE_QUOTA": "0"}
    runner = CliRunner()
    outputs = []
    for text in ("2027-01-08", "8/1/2570"):
        result = runner.invoke(app, ["remind", "--dry-run", "--date", text], env=env)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert outputs[0] == outputs[1]
    out = outputs[0]
    assert "วันที่ 8 ม.ค. 2570 (2027-01-08)" in out
    # Teacher 1 of school 1 owns projects 1 and 3; project 3 (index 2) is not reported: one reminder.
    block = out.split("== T00001-1 ครูจำลอง 1-1")[1].split("\n== ")[0]
    assert "(report_due) อีก 1 วันทำการ ครบกำหนดส่งรายงานไตรมาส 1/2570 (11 ม.ค. 2570)" in block
    assert "P2570-00001-03" in block and "P2570-00001-01" not in block
    assert "[U" in out.split("== T00001-1")[1].splitlines()[0]
    # The director of school 1 has a report waiting 2 working days (submitted 6 Jan).
    director = out.split("== D00001 นายผู้อำนวยการ 1")[1].split("\n== ")[0]
    assert "(approval_pending)" in director and "P2570-00001-02" in director
    # Person 7 (the first teacher of school 2) has not linked LINE: listed as not sent, no block.
    assert "ไม่ได้ส่ง (ยังไม่ผูก LINE หรือบล็อก): 1 คน\n  - T00002-1 ครูจำลอง 2-1: report_due" in out
    assert "== T00002-1" not in out
    assert _counts(engine) == (0, 0, 0)
    bad = runner.invoke(app, ["remind", "--dry-run", "--date", "31/2/2570"], env=env)
    assert bad.exit_code == 2


def test_budget_switches_to_digest_only_and_tells_the_planning_group_once(engine: Engine) -> None:
    g = _office(engine)
    now = datetime(2027, 1, 7, 9, 0, tzinfo=TZ).astimezone(UTC)
    with engine.begin() as conn:  # 8 of a 10-message quota used this month
        conn.execute(
            _outbox.insert(),
            [
                {
                    "retry_key": f"00000000-0000-4000-8000-{n:012d}", "dedupe_key": f"old:{n}", "kind": "push",
                    "recipients": [line_user_id(900 + n)], "person_ids": [], "rule": "test", "subject": "", "messages": [],
                    "purpose": "", "status": "sent", "attempts": 1, "not_before": now, "next_attempt_at": now,
                    "created_at": now,
                }
                for n in range(8)
            ],
        )  # fmt: skip
    clock = FixedClock(datetime(2027, 1, 8, 8, 30, tzinfo=TZ))
    first = run_tick(engine, clock, _setup(quota=10))
    assert first.ran and first.digest_only and first.used_before == 8
    assert first.plan is not None
    kinds = {p: {i.kind for i in r.items} for r in first.plan.recipients for p in r.person_ids}
    assert set(kinds) == set(g.planner_ids), "only the planning group is messaged"
    for planner in g.planner_ids:
        assert {ItemKind.BUDGET_NOTICE, ItemKind.REMINDER_SUMMARY} <= kinds[planner]
        assert ItemKind.REPORT_DUE not in kinds[planner]
    assert first.rows == 1 and first.recipients == 2, "one multicast to both planners"
    clock.set(datetime(2027, 1, 11, 8, 30, tzinfo=TZ))
    second = run_tick(engine, clock, _setup(quota=10))
    assert second.digest_only and second.plan is not None
    later = {i.kind for r in second.plan.recipients for i in r.items}
    assert ItemKind.BUDGET_NOTICE not in later and ItemKind.REMINDER_SUMMARY in later
    # With room in the budget, people get their own reminders.
    with engine.connect() as conn:
        plan, digest_only, _used, _ = plan_for(conn, date(2027, 1, 8), _setup(quota=100_000))
    assert not digest_only and any(ItemKind.REPORT_DUE in {i.kind for i in r.items} for r in plan.recipients)


def test_a_bound_planning_group_gets_one_push_instead_of_each_planner(engine: Engine) -> None:
    g = _office(engine)
    group_id = "C" + "a" * 32
    with Session(engine) as s:
        s.add(
            ChatBinding(
                chat_id=group_id,
                chat_type="group",
                office_id=g.planning_id,
                bound_at=datetime(2027, 1, 4, 9, 0, tzinfo=TZ),
            )
        )
        s.commit()
    # 14 Jan 2570: three working days after the Q1 due date: the late escalation.
    result = run_tick(engine, FixedClock(datetime(2027, 1, 14, 8, 30, tzinfo=TZ)), _setup())
    assert result.plan is not None
    group = [r for r in result.plan.recipients if r.to == group_id]
    assert len(group) == 1 and not group[0].person_ids
    escalation = next(i for i in group[0].items if i.kind is ItemKind.LATE_ESCALATION)
    assert escalation.total == 3 and [line.code for line in escalation.lines] == [
        "S00001",
        "S00002",
        "S00003",
    ]
    assert not any(set(r.person_ids) & set(g.planner_ids) for r in result.plan.recipients)


def test_office_overrides_and_acting_approvers(engine: Engine) -> None:
    g = _office(engine)
    school = g.school_ids[0]
    with Session(engine) as s:
        office = s.get(Office, school)
        assert office is not None
        office.settings = {"rules": {"report_due": {"days_after_quarter_end": 15}}}  # due Fri 15 Jan 2570
        acting = g.teachers_of[g.school_ids[1]][0]
        s.add(
            ActingApprover(
                principal_id=g.director_of[g.school_ids[1]], acting_id=acting,
                starts_on=date(2027, 1, 12), ends_on=date(2027, 1, 12),
                created_at=datetime(2027, 1, 4, 9, 0, tzinfo=TZ),
            )
        )  # fmt: skip
        s.commit()
    # Reminders 7, 3 and 1 working days before: school 1's later due date then gives none on the 8th.
    setup = _setup(rules=load_rules().patched({"reminders": {"working_days_before": [7, 3, 1]}}))
    with engine.connect() as conn:
        on_8th, *_ = plan_for(conn, date(2027, 1, 8), setup)
        on_12th, *_ = plan_for(conn, date(2027, 1, 12), setup)
        on_14th, *_ = plan_for(conn, date(2027, 1, 14), setup)
    due_on_8th = {
        p for r in on_8th.recipients for i in r.items if i.kind is ItemKind.REPORT_DUE for p in r.person_ids
    }
    # The first teacher of each school owns its one unreported project; school 1 is due later.
    assert due_on_8th == {g.teachers_of[g.school_ids[1]][0], g.teachers_of[g.school_ids[2]][0]}
    due_on_14th = [
        (r.person_ids, i) for r in on_14th.recipients for i in r.items if i.kind is ItemKind.REPORT_DUE
    ]
    assert due_on_14th and all(i.days == 1 and i.on == date(2027, 1, 15) for _p, i in due_on_14th)
    assert {p for ps, _i in due_on_14th for p in ps} == {g.teachers_of[school][0]}
    overdue_to = {
        p
        for r in on_12th.recipients
        for i in r.items
        if i.kind is ItemKind.APPROVER_OVERDUE
        for p in r.person_ids
    }
    assert acting in overdue_to and g.director_of[g.school_ids[1]] not in overdue_to
    assert g.director_of[g.school_ids[2]] in overdue_to and g.director_of[school] not in overdue_to


async def test_the_service_catches_up_a_missed_tick_once(
    engine: Engine, db_url: str, fake_line, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _office(engine)
    settings = make_settings(
        db_url, fake_line, tmp_path, TIDTAM_MONTHLY_MESSAGE_QUOTA=0, TIDTAM_DISPATCH_INTERVAL_SECONDS=0.2
    )
    client = LineClient(
        access_token=fake_line.access_token,
        api_base_url=fake_line.base_url,
        data_api_base_url=fake_line.base_url,
        timeout=5,
    )
    clock = FixedClock(datetime(2027, 1, 8, 7, 0, tzinfo=TZ))
    deliverer = Deliverer(engine, client, clock.now, "svc")
    service = SchedulerService(engine, settings, clock, deliverer, setup=_setup())
    assert not service.missed_tick(), "before 08:30 nothing was missed"
    assert not service.missed_tick(datetime(2027, 1, 1, 10, 0, tzinfo=TZ)), (
        "New Year's Day is not a working day"
    )
    clock.set(datetime(2027, 1, 8, 10, 0, tzinfo=TZ))  # the service was down at 08:30
    assert service.missed_tick()
    service.start()
    try:
        assert service.scheduler is not None
        job = service.scheduler.get_job("daily-tick")
        assert (
            job is not None and "day_of_week='mon-fri'" in str(job.trigger) and "hour='8'" in str(job.trigger)
        )
        for _ in range(600):
            tick = service.last_tick
            if tick is not None and len(fake_line.deliveries) >= tick.recipients and not service._running:
                break
            await asyncio.sleep(0.05)
        assert service.last_tick is not None and service.last_tick.ran
        sent = len(fake_line.deliveries)
        assert sent == service.last_tick.recipients > 0
    finally:
        await service.stop()
    again = SchedulerService(engine, settings, clock, deliverer, setup=_setup())
    assert not again.missed_tick()
    again.start()
    await asyncio.sleep(0.5)
    await again.stop()
    with engine.connect() as conn:
        runs = conn.execute(sa.select(SchedulerRun.__table__.c.run_on)).scalars().all()  # type: ignore[attr-defined]
    assert runs == [date(2027, 1, 8)]
    assert len(fake_line.deliveries) == sent
    client.close()
    assert timedelta(0) <= clock.now() - datetime(2027, 1, 8, 10, 0, tzinfo=TZ) < timedelta(seconds=1)
