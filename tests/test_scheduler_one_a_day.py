"""One push per person per day, whoever queues it: a planner's "remind one office now" from the
dashboard counts as the person's message of the day (the tick sends them nothing more that day), and
evaluation campaigns' invitations and reminders go in the tick's one message per person."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from scheduler_office import generate_office, line_user_id, local_dt
from sqlalchemy.engine import Engine
from sqlmodel import Session

from dashboard import activity
from messages.stored import expand
from models import OutboxMessage
from models.outbox import queue_push
from models.types import OutboxStatus
from scheduler.clock import FixedClock
from scheduler.process_steps import load_process_steps
from scheduler.rules import load_rules
from scheduler.tick import TickSetup, run_tick
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")
DAY = date(2027, 1, 8)  # Friday: one working day before Q1's reports are due (11 Jan)
_outbox: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).astimezone(UTC)


def _setup() -> TickSetup:
    return TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()))


def _office(engine: Engine):  # type: ignore[no-untyped-def]
    def q1(index: int):  # type: ignore[no-untyped-def]
        if index % 3 == 1:  # waiting for the director since 6 Jan
            return ("submitted", local_dt(date(2027, 1, 6)), local_dt(date(2027, 1, 6)))
        return None

    return generate_office(engine, schools=2, projects_per_school=3, teachers_per_school=2, reports={1: q1})


def _rows(engine: Engine, rule: str | None = None) -> list[sa.Row]:
    statement = sa.select(_outbox).order_by(_outbox.c.id)
    if rule is not None:
        statement = statement.where(_outbox.c.rule == rule)
    with engine.connect() as conn:
        return list(conn.execute(statement))


def test_people_reminded_from_the_dashboard_get_no_second_push_that_day(engine: Engine) -> None:
    g = _office(engine)
    school, other = g.school_ids
    director = g.director_of[school]
    setup = _setup()
    with Session(engine) as s:  # a card held for the director since yesterday afternoon
        queue_push(s, to=[line_user_id(director)], messages=[{"type": "text", "text": "card"}],
                   dedupe_key="approval:1", rule="approval_request", subject="report_version:1",
                   now=_at(date(2027, 1, 7), 15), person_ids=[director],
                   hold_until=_at(DAY, 10, 30), rider="รอท่านอนุมัติ")  # fmt: skip
        s.commit()
    with Session(engine) as s:  # 07:45: a planner reminds the first school now, before the tick
        reminders = activity.school_reminders(s, school, DAY, setup.calendar)
        assert reminders and director in {r.person_id for r in reminders}
        assert activity.remind_now(s, school, reminders, DAY, _at(DAY, 7, 45), setup) == len(reminders)
        s.commit()
    reminded = {r.person_id for r in reminders}
    result = run_tick(engine, FixedClock(_at(DAY, 8, 30)), setup)
    assert result.ran and result.plan is not None
    planned = {p for r in result.plan.recipients for p in r.person_ids}
    assert director in planned and len(reminded & planned) >= 2, "the day's rules had something for them"
    daily = [r for r in _rows(engine, "daily") if r.person_ids]
    pushed = {p for r in daily for p in r.person_ids}
    assert not (pushed & reminded), "nobody reminded this morning is pushed again"
    others = {p for t in g.teachers_of[other] for p in [t]} | {g.director_of[other]}
    assert pushed & others, "the other school's people still get their message"
    with engine.connect() as conn:
        summary = conn.execute(sa.text("SELECT summary FROM scheduler_run")).scalar_one()
    summary = summary if isinstance(summary, dict) else __import__("json").loads(summary)
    assert summary["messaged_already"] == len(reminded & planned)
    [card] = _rows(engine, "approval_request")
    [carrier] = [r for r in _rows(engine, "remind_now") if r.person_ids == [director]]
    assert card.status == OutboxStatus.MERGED.value and card.merged_into == carrier.id, (
        "the director's waiting card was listed in this morning's message"
    )
    per_person: dict[int, int] = {}
    for row in _rows(engine):
        if row.status != OutboxStatus.MERGED.value:
            for p in row.person_ids or ():
                per_person[p] = per_person.get(p, 0) + 1
    assert max(per_person.values()) == 1, "one push per person that day"


def test_a_campaign_opening_on_a_reminder_day_goes_in_the_same_push(engine: Engine) -> None:
    from evaluation.loader import parse_yaml
    from models.campaigns import start_campaign

    _office(engine)
    form = parse_yaml("title: แบบสอบถามสั้น\nquestions:\n  - {key: q, kind: rating, text: พอใจไหม}\n", name="s")
    with Session(engine, expire_on_commit=False) as s:
        _campaign, people = start_campaign(s, questionnaire=form, target="reporter", office_code=None,
                                           opens_on=DAY, closes_on=date(2027, 1, 29), remind_on=None,
                                           today=date(2027, 1, 7), now=_at(date(2027, 1, 7), 9))  # fmt: skip
        s.commit()
    invited = {p.id for p in people if p.line_user_id}
    assert invited
    result = run_tick(engine, FixedClock(_at(DAY, 8, 30)), _setup())
    assert result.ran and result.plan is not None
    reminded = {p for r in result.plan.recipients for p in r.person_ids} & invited
    assert reminded and invited - reminded, "some teachers have a reminder today, some only the invitation"
    rows = _rows(engine)
    invitations = [r for r in rows if r.rule == "campaign_invite"]
    assert len(invitations) == len(invited)
    assert {r.status for r in invitations} == {OutboxStatus.MERGED.value}, "every one folded into a push"
    pushes: dict[int, list[sa.Row]] = {}
    for row in rows:
        if row.rule == "daily" and row.status == OutboxStatus.PENDING.value:
            for p in row.person_ids or ():
                pushes.setdefault(p, []).append(row)
    assert invited <= set(pushes) and all(len(pushes[p]) == 1 for p in invited), "one push each"
    for p in invited:
        [push] = pushes[p]
        alt = [m.get("altText", "") for m in expand(push.messages)]  # what LINE is sent
        assert any("แบบประเมิน" in a for a in alt), "the invitation card is in it"
        assert ("campaign_invite" in push.subject) and (("report_due" in push.subject) == (p in reminded))


def test_remind_dry_run_shows_what_campaigns_would_send(engine: Engine, db_url: str, tmp_path) -> None:
    from typer.testing import CliRunner

    from evaluation.loader import parse_yaml
    from models.campaigns import start_campaign
    from tidtam.cli import app

    _office(engine)
    form = parse_yaml("title: แบบสอบถามสั้น\nquestions:\n  - {key: q, kind: rating, text: พอใจไหม}\n", name="s")
    with Session(engine, expire_on_commit=False) as s:
        start_campaign(s, questionnaire=form, target="reporter", office_code=None, opens_on=DAY,
                       closes_on=date(2027, 1, 29), remind_on=None, today=date(2027, 1, 7),
                       now=_at(date(2027, 1, 7), 9))  # fmt: skip
        s.commit()
    before = len(_rows(engine))
    env = {"TIDTAM_DATABASE_URL": db_url, "TIDTAM_MONTHLY_MESSAGE_QUOTA": "0"}
    out = CliRunner().invoke(app, ["remind", "--dry-run", "--date", "2027-01-08"], env=env)
    assert out.exit_code == 0, out.output
    assert "เชิญตอบแบบประเมิน: แบบสอบถามสั้น" in out.output
    block = out.output.split("== T00001-1 ")[1].split("\n== ")[0]
    assert "(campaign_invite)" in block and "(report_due)" in block
    assert len(_rows(engine)) == before, "a dry run queues nothing"


def test_reminders_the_budget_leaves_out_ride_on_a_free_reply_that_day_and_are_never_pushed(
    engine: Engine,
) -> None:
    from models.outbox import NEVER, RIDE_ONLY_RULE, release_held, take_riders
    from scheduler.tick import TickSetup as Setup

    g = generate_office(engine, schools=3, projects_per_school=3, teachers_per_school=2)
    setup = Setup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()), monthly_quota=4)
    result = run_tick(engine, FixedClock(_at(DAY, 8, 30)), setup)
    assert result.ran and result.left_out > 0
    rides = _rows(engine, RIDE_ONLY_RULE)
    assert rides and {r.status for r in rides} == {OutboxStatus.HELD.value}
    assert {r.not_before for r in rides} == {NEVER} and all(r.rider for r in rides)
    teachers = {t for ts in g.teachers_of.values() for t in ts}
    assert {p for r in rides for p in r.person_ids} <= teachers | set(g.director_of.values())
    with engine.begin() as conn:
        assert release_held(conn, _at(DAY, 23)) == 0, "never released as a push"
    first = rides[0]
    with Session(engine) as s:  # the person writes to the bot: the reminder rides on the reply
        taken = take_riders(s, first.recipients[0], _at(DAY, 10))
        s.commit()
    assert [row_id for row_id, _r in taken] == [first.id] and "ยังไม่ได้ส่ง" in taken[0][1]
    run_tick(engine, FixedClock(_at(date(2027, 1, 11), 8, 30)), setup)
    left = {r.id: r.status for r in _rows(engine, RIDE_ONLY_RULE) if r.created_at < _at(date(2027, 1, 9), 0)}
    assert left == {first.id: OutboxStatus.MERGED.value}, "the next tick removed what no reply took"
