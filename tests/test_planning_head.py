"""The planning group's head of monitoring (issue 17's last gap): without a bound LINE group chat the
planning group's messages are pushed to its head(s) only, and every other planner gets the same items
on their next free reply; no head (or ``[planning] push_to = "all"``): every planner is pushed; a bound
chat: the chat. The budget's forecast counts what one planning-group message really costs; the
workbook takes the role's Thai name. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from scheduler_office import Generated, generate_office, line_user_id, local_dt
from sqlalchemy.engine import Engine
from sqlmodel import Session

from messages.reminders import ItemKind
from models import ChatBinding, OutboxMessage, Person, ProjectOwner, SchedulerRun
from models.outbox import RIDE_ONLY_RULE, take_riders
from scheduler.clock import FixedClock
from scheduler.forecast import urgent_forecast
from scheduler.planner import Plan
from scheduler.process_steps import load_process_steps
from scheduler.rules import Rules, RulesError, load_rules
from scheduler.tick import TickSetup, _planning_weight, plan_for, run_tick
from scheduler.workdays import WorkCalendar
from tidtam.workbook.cells import CellProblem, as_roles

TZ = ZoneInfo("Asia/Bangkok")
_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
_person = Person.__table__  # type: ignore[attr-defined]
ESCALATION_DAY = datetime(2027, 1, 14, 8, 30, tzinfo=TZ)  # 3 working days after Q1's due date


def _office(engine: Engine, *, head: bool = True) -> Generated:
    def q1(index: int):  # type: ignore[no-untyped-def]
        if index % 3 == 0:
            return ("approved", local_dt(date(2027, 1, 4)), local_dt(date(2027, 1, 4)))
        if index % 3 == 1:
            return ("submitted", local_dt(date(2027, 1, 6)), local_dt(date(2027, 1, 6)))
        return None

    g = generate_office(engine, schools=3, projects_per_school=3, teachers_per_school=2, reports={1: q1})
    if head:
        with engine.begin() as conn:
            conn.execute(
                _person.update()
                .where(_person.c.id == g.planner_ids[0])
                .values(roles="monitoring_head,planner")
            )
    return g


def _bind_chat(engine: Engine, g: Generated, chat_id: str) -> None:
    """The planning group binds its LINE group chat."""
    with Session(engine) as s:
        s.add(
            ChatBinding(chat_id=chat_id, chat_type="group", office_id=g.planning_id, bound_at=ESCALATION_DAY)
        )
        s.commit()


def _setup(quota: int = 0, rules: Rules | None = None) -> TickSetup:
    rules = rules or load_rules()
    return TickSetup(rules, WorkCalendar(), TZ, tuple(load_process_steps()), monthly_quota=quota)


def _kinds(plan: Plan, person_id: int) -> set[ItemKind]:
    return {i.kind for r in plan.recipients if person_id in r.person_ids for i in r.items}


def _rides(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_outbox.c.ride_key, _outbox.c.rider).where(_outbox.c.rule == RIDE_ONLY_RULE)
        ).all()
    return {row.ride_key: row.rider for row in rows}


def _pushed_to(engine: Engine) -> list[list[str]]:
    with engine.connect() as conn:
        return [
            list(r)
            for (r,) in conn.execute(
                sa.select(_outbox.c.recipients).where(
                    _outbox.c.status == "pending", _outbox.c.rule == "daily"
                )
            )
        ]


def test_the_head_is_pushed_and_the_other_planner_gets_it_on_a_free_reply(engine: Engine) -> None:
    g = _office(engine)
    head, other = g.planner_ids
    result = run_tick(engine, FixedClock(ESCALATION_DAY), _setup())
    plan = result.plan
    assert plan is not None
    assert ItemKind.LATE_ESCALATION in _kinds(plan, head)
    assert _kinds(plan, other) == set(), "the other planner is not pushed"
    assert plan.planners[g.area_id] == [head] and plan.on_reply[g.area_id] == [other]
    ride = next(r for r in plan.rides if r.person_ids == (other,))
    pushed = next(r for r in plan.recipients if r.person_ids == (head,))
    assert ride.items == pushed.items, "the same items, riding"
    # The outbox: a push to the head, nothing pushed to the other planner, one row waiting for his reply.
    recipients = [to for row in _pushed_to(engine) for to in row]
    assert line_user_id(head) in recipients and line_user_id(other) not in recipients
    rides = _rides(engine)
    assert set(rides) == {line_user_id(other)}
    assert "S00001" in rides[line_user_id(other)]
    with engine.connect() as conn:
        summary = conn.execute(sa.select(SchedulerRun.__table__.c.summary)).scalar_one()  # type: ignore[attr-defined]
    assert summary["planning"] == {"pushed": {str(g.area_id): [head]}, "on_reply": {str(g.area_id): [other]}}
    # He writes to the bot: the planning group's items ride on the answer, and are not pushed.
    with Session(engine) as session:
        taken = take_riders(session, line_user_id(other), ESCALATION_DAY.astimezone(UTC))
        session.commit()
    assert len(taken) == 1 and "S00001" in taken[0][1]
    with engine.connect() as conn:
        statuses = conn.execute(
            sa.select(_outbox.c.status).where(
                _outbox.c.rule == RIDE_ONLY_RULE, _outbox.c.ride_key == line_user_id(other)
            )
        ).scalars()
        assert list(statuses) == ["merged"]


def test_a_planner_pushed_anyway_gets_the_planning_groups_items_in_that_push(engine: Engine) -> None:
    """11 Jan 2570, Q1's due date and a Monday: the weekly digest for the planning group, and "due
    today" for the other planner, who owns an unreported project: his own push carries the digest
    too (it costs nothing more), and nothing waits for his reply."""
    g = _office(engine)
    head, other = g.planner_ids
    owners = ProjectOwner.__table__  # type: ignore[attr-defined]
    reports = sa.table("progress_report", sa.column("project_id"))
    with engine.begin() as conn:
        unreported = conn.execute(
            sa.select(sa.func.min(owners.c.project_id)).where(
                owners.c.project_id.not_in(sa.select(reports.c.project_id))
            )
        ).scalar_one()
        conn.execute(owners.insert().values(project_id=unreported, person_id=other))
    result = run_tick(engine, FixedClock(datetime(2027, 1, 11, 8, 30, tzinfo=TZ)), _setup())
    assert result.plan is not None
    assert ItemKind.DIGEST in _kinds(result.plan, head)
    assert ItemKind.REPORT_DUE in _kinds(result.plan, other)
    with engine.connect() as conn:
        subjects = conn.execute(
            sa.select(_outbox.c.subject).where(
                _outbox.c.rule == "daily", _outbox.c.recipients.cast(sa.String).contains(line_user_id(other))
            )
        ).scalars()
        (subject,) = list(subjects)
        summary = conn.execute(sa.select(SchedulerRun.__table__.c.summary)).scalar_one()  # type: ignore[attr-defined]
    assert "digest" in subject.split(",") and "report_due" in subject.split(",")
    assert line_user_id(other) not in _rides(engine)
    assert summary["planning"] == {
        "pushed": {str(g.area_id): [head, other]},
        "on_reply": {str(g.area_id): []},
    }


def test_without_a_head_every_planner_is_pushed(engine: Engine) -> None:
    g = _office(engine, head=False)
    result = run_tick(engine, FixedClock(ESCALATION_DAY), _setup())
    assert result.plan is not None
    for planner in g.planner_ids:
        assert ItemKind.LATE_ESCALATION in _kinds(result.plan, planner)
    assert result.plan.on_reply == {} and result.plan.rides == []
    assert _rides(engine) == {}


def test_an_unlinked_head_does_not_swallow_the_planning_groups_messages(engine: Engine) -> None:
    g = _office(engine)
    with engine.begin() as conn:
        conn.execute(
            _person.update()
            .where(_person.c.id == g.planner_ids[0])
            .values(line_user_id=None, reachability="unlinked")
        )
    with engine.connect() as conn:
        plan, *_ = plan_for(conn, ESCALATION_DAY.date(), _setup())
    assert ItemKind.LATE_ESCALATION in _kinds(plan, g.planner_ids[1])
    assert plan.on_reply == {} and g.planner_ids[0] in plan.unreachable


def test_a_bound_chat_still_gets_the_planning_groups_messages(engine: Engine) -> None:
    g = _office(engine)
    group_id = "C" + "b" * 32
    _bind_chat(engine, g, group_id)
    result = run_tick(engine, FixedClock(ESCALATION_DAY), _setup())
    assert result.plan is not None
    group = [r for r in result.plan.recipients if r.to == group_id]
    assert len(group) == 1 and ItemKind.LATE_ESCALATION in {i.kind for i in group[0].items}
    for planner in g.planner_ids:
        assert ItemKind.LATE_ESCALATION not in _kinds(result.plan, planner)
    assert result.plan.rides == [] and _rides(engine) == {}


def test_push_to_all_pushes_every_planner_even_with_a_head(engine: Engine) -> None:
    g = _office(engine)
    rules = load_rules().patched({"planning": {"push_to": "all"}})
    with engine.connect() as conn:
        plan, *_ = plan_for(conn, ESCALATION_DAY.date(), _setup(rules=rules))
    for planner in g.planner_ids:
        assert ItemKind.LATE_ESCALATION in _kinds(plan, planner)
    assert plan.rides == []


def test_the_area_offices_own_rules_can_switch_to_all(engine: Engine) -> None:
    g = _office(engine)
    with engine.begin() as conn:
        office = sa.table("office", sa.column("id"), sa.column("settings", sa.JSON))
        conn.execute(
            office.update()
            .where(office.c.id == g.area_id)
            .values(settings={"rules": {"planning": {"push_to": "all"}}})
        )
    with engine.connect() as conn:
        plan, *_ = plan_for(conn, ESCALATION_DAY.date(), _setup())
    assert all(ItemKind.LATE_ESCALATION in _kinds(plan, p) for p in g.planner_ids)


def test_the_rules_switch_defaults_to_head_and_refuses_other_values() -> None:
    assert load_rules().planning.push_to == "head"
    assert Rules().patched({"planning": {"push_to": "all"}}).planning.push_to == "all"
    with pytest.raises(RulesError, match="push_to"):
        Rules().patched({"planning": {"push_to": "everyone"}})
    with pytest.raises(RulesError, match="push_to"):
        Rules().patched({"planning": {"push_to": 1}})


def test_the_forecast_counts_one_planning_message_for_the_head_only(engine: Engine) -> None:
    """The budget's forecast of the month's urgent pushes: a planning-group message costs 1 with a
    head (2 planners, one pushed), 2 without, the chat's 4 members with a chat bound."""
    g = _office(engine)
    day = date(2027, 1, 14)
    with engine.connect() as conn:
        with_head, *_ = plan_for(conn, day, _setup())
    assert _planning_weight(with_head, 4) == 1
    with engine.begin() as conn:
        conn.execute(_person.update().where(_person.c.id == g.planner_ids[0]).values(roles="planner"))
    with engine.connect() as conn:
        no_head, *_ = plan_for(conn, day, _setup())
    assert _planning_weight(no_head, 4) == 2
    with Session(engine) as s:
        s.add(
            ChatBinding(
                chat_id="C" + "c" * 32, chat_type="group", office_id=g.planning_id, bound_at=ESCALATION_DAY
            )
        )
        s.commit()
    with engine.connect() as conn:
        chat, *_ = plan_for(conn, day, _setup())
    assert _planning_weight(chat, 4) == 4
    # And the tick's forecast (what reminders may not spend) counts the head alone.
    with engine.begin() as conn:
        conn.execute(sa.delete(ChatBinding.__table__))  # type: ignore[attr-defined]
        conn.execute(
            _person.update().where(_person.c.id == g.planner_ids[0]).values(roles="monitoring_head,planner")
        )
    result = run_tick(engine, FixedClock(ESCALATION_DAY), _setup(quota=10_000))
    with engine.connect() as conn:
        summary = conn.execute(sa.select(SchedulerRun.__table__.c.summary)).scalar_one()  # type: ignore[attr-defined]
        alone = urgent_forecast(conn, day, load_rules(), WorkCalendar(), planning_weight=1).planning
    assert result.ran and alone > 0
    assert summary["forecast"]["planning"] == round(alone, 1)


def test_who_was_left_out_rides_to_the_other_planner_too(engine: Engine) -> None:
    """Past the day's allowance the budget names those left out in the head's message; the other
    planner gets the same list on his next reply."""
    g = _office(engine)
    head, other = g.planner_ids
    rules = load_rules().patched({"budget": {"reserve_share": 0.95, "forecast_percent": 0}})
    result = run_tick(
        engine, FixedClock(datetime(2027, 1, 8, 8, 30, tzinfo=TZ)), _setup(quota=40, rules=rules)
    )
    assert result.ran and result.left_out > 0
    with engine.connect() as conn:
        to_head = conn.execute(
            sa.select(_outbox.c.rule, _outbox.c.subject).where(
                _outbox.c.rule.in_(["daily", "left_out"]), _outbox.c.ride_key == line_user_id(head)
            )
        ).all()
    assert any("reminder_summary" in (subject or "") for _rule, subject in to_head), to_head
    rider = _rides(engine).get(line_user_id(other), "")
    assert f"งดส่งรายบุคคลเพื่อประหยัดโควตา ({result.left_out} คน)" in rider


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        ("หัวหน้ากลุ่มงานติดตามฯ", "monitoring_head,planner"),
        ("หัวหน้ากลุ่มงานติดตาม", "monitoring_head,planner"),
        ("monitoring_head, reporter", "monitoring_head,planner,reporter"),
        ("ฝ่ายแผน, หัวหน้ากลุ่มงานติดตามฯ", "monitoring_head,planner"),
    ],
)
def test_the_workbook_takes_the_heads_thai_name(cell: str, stored: str) -> None:
    assert as_roles(cell) == stored


def test_an_unknown_role_is_still_refused() -> None:
    with pytest.raises(CellProblem):
        as_roles("หัวหน้า")


def test_the_dry_run_says_who_gets_it_on_a_reply(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    from messages.scheduler_text import planning_on_reply
    from tidtam.commands.scheduler import print_plan

    g = _office(engine)
    with engine.connect() as conn:
        plan, *_ = plan_for(conn, ESCALATION_DAY.date(), _setup())
    print_plan(plan)
    out = capsys.readouterr().out
    other = plan.people[g.planner_ids[1]]
    assert f"{planning_on_reply(1)}\n  - {other.code} {other.full_name}: " in out
    assert "late_escalation" in out.split(planning_on_reply(1))[1]
    assert f"== {other.code} {other.full_name}" not in out, "no block: he is not pushed"


def test_the_generated_office_has_one_head_of_monitoring() -> None:
    from tidtam.workbook.demo import generate

    planning = [row for sheet, row in generate(3, seed=4) if sheet == "people" and "planner" in str(row[4])]
    heads = [row for row in planning if "monitoring_head" in str(row[4]).split(",")]
    assert len(planning) >= 2 and len(heads) == 1


# --- a report nobody can approve: told at once, the way the tick reaches the planning group -----------


def _stuck_rows(
    engine: Engine, g: Generated, rules: Rules | None = None
) -> dict[str, tuple[str, str, str | None]]:
    """Tell the planning group about one submitted report; recipient → (status, rule, rider)."""
    from bot.approvals import tell_planning_stuck
    from models.reports import ProgressReport, ReportVersion

    with Session(engine) as s:
        version = s.exec(sa.select(ReportVersion).order_by(ReportVersion.id)).scalars().first()  # type: ignore[call-overload]
        assert version is not None
        report = s.get(ProgressReport, version.report_id)
        assert report is not None
        queued = tell_planning_stuck(s, report, version, ESCALATION_DAY.astimezone(UTC), rules)
        s.commit()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_outbox.c.recipients, _outbox.c.status, _outbox.c.rule, _outbox.c.rider).where(
                _outbox.c.purpose == "approval_stuck"
            )
        ).all()
    assert queued == len(rows)
    return {row.recipients[0]: (row.status, row.rule, row.rider) for row in rows}


def test_a_stuck_report_is_pushed_to_the_head_and_rides_to_the_other_planner(engine: Engine) -> None:
    g = _office(engine)
    head, other = (line_user_id(p) for p in g.planner_ids)
    rows = _stuck_rows(engine, g)
    assert set(rows) == {head, other}
    assert rows[head][:2] == ("pending", "approval_stuck") and rows[head][2] is None
    status, rule, rider = rows[other]
    assert (status, rule) == ("held", RIDE_ONLY_RULE), "never pushed: it rides on his reply"
    assert rider is not None and rider.startswith("ไม่มีผู้อนุมัติ: ")
    with Session(engine) as session:
        taken = take_riders(session, other, ESCALATION_DAY.astimezone(UTC))
        session.commit()
    assert [r for _id, r in taken] == [rider]


def test_a_stuck_report_goes_to_every_planner_without_a_head_or_with_push_to_all(engine: Engine) -> None:
    g = _office(engine, head=False)
    planners = {line_user_id(p) for p in g.planner_ids}
    rows = _stuck_rows(engine, g)
    assert set(rows) == planners and {status for status, _r, _x in rows.values()} == {"pending"}


def test_push_to_all_pushes_every_planner_a_stuck_report(engine: Engine) -> None:
    g = _office(engine)
    rows = _stuck_rows(engine, g, load_rules().patched({"planning": {"push_to": "all"}}))
    assert set(rows) == {line_user_id(p) for p in g.planner_ids}
    assert {status for status, _r, _x in rows.values()} == {"pending"}


def test_a_stuck_report_goes_to_the_bound_chat_alone(engine: Engine) -> None:
    g = _office(engine)
    group_id = "C" + "d" * 32
    _bind_chat(engine, g, group_id)
    rows = _stuck_rows(engine, g)
    assert set(rows) == {group_id} and rows[group_id][0] == "pending"
