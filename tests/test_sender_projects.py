"""A `สถานะ` or `โครงการของฉัน` reads the sender's projects with the sender (`sender_of(...,
with_projects=True)`, one round trip): the same projects and states `projects_of_person` reads, the
sender's other facts unchanged, and the event context asks again for any other year or period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from approval_office import link, make_office, submit
from sqlmodel import Session, select

from bot.context import EventContext
from bot.processor import parse_event
from models.linking import sender_of
from models.messaging import WebhookEvent
from models.plan import ReportingPeriod
from models.projects import open_period, projects_of_person
from scheduler.fiscal import fiscal_year_of

T, D, T2 = ("U" + c * 32 for c in "abc")


def _linked_office(engine, today):  # type: ignore[no-untyped-def]
    office = make_office(engine, today=today)
    for person, user in ((office.teacher, T), (office.director, D), (office.teacher2, T2)):
        link(engine, person, user)
    with Session(engine) as s:  # a state to read: the teacher's first project submitted
        submit(
            s, office.teacher.id, office.projects[0].id, office.period_id, datetime.now(UTC), progress="40"
        )
        s.commit()
    return office


def test_the_projects_read_with_the_sender_are_those_projects_of_person_reads(engine, office_clock) -> None:
    office = _linked_office(engine, office_clock.today)
    days = [office_clock.today + timedelta(days=n) for n in (0, 200, 400)]  # the last: another year
    with Session(engine) as s:
        for day in days:
            fy, period = fiscal_year_of(day), open_period(s, day)
            for user, person in ((T, office.teacher), (D, office.director), (T2, office.teacher2)):
                with_projects, conversation = sender_of(s, user, day, fy, with_projects=True)
                alone, same_conversation = sender_of(s, user, day, fy)
                assert with_projects is not None and conversation is same_conversation
                expected = projects_of_person(s, person.id, fy, period.id if period else None)
                assert list(with_projects.projects or ()) == expected
                assert replace(with_projects, projects=None) == alone  # nothing else changes
        teacher, _ = sender_of(s, T, days[0], fiscal_year_of(days[0]), with_projects=True)
        director, _ = sender_of(s, D, days[0], fiscal_year_of(days[0]), with_projects=True)
        nobody, _ = sender_of(s, T2, days[0], fiscal_year_of(days[0]), with_projects=True)
    assert teacher is not None and director is not None and nobody is not None
    assert [p.code for p in teacher.projects or ()] == [p.code for p in office.projects]
    assert (teacher.projects or ())[0].report_status == "submitted"
    assert str((teacher.projects or ())[0].progress_pct) == "40.00"
    # The joined projects do not change what the facts look at: the director approves the teacher's
    # projects and owns one; the second teacher owns none.
    assert (
        director.approves
        and director.owns
        and [p.code for p in director.projects or ()] == [office.own_project.code]
    )
    assert nobody.projects == () and not nobody.owns


def _period_ids(session: Session, fiscal_year: int) -> list[int]:
    rows = session.exec(select(ReportingPeriod.id).where(ReportingPeriod.fiscal_year == fiscal_year))
    return [int(period_id) for period_id in rows]


def _context(session: Session, now: datetime) -> EventContext:
    raw = {"type": "message", "webhookEventId": "ev-projects", "source": {"type": "user", "userId": T},
           "deliveryContext": {"isRedelivery": False}, "timestamp": int(now.timestamp() * 1000),
           "mode": "active", "replyToken": "r" * 32,
           "message": {"type": "text", "id": "1", "text": "สถานะ", "quoteToken": "q" * 16}}  # fmt: skip
    row = WebhookEvent(webhook_event_id="ev-projects", source_key=T, event_type="message", payload="{}",
                       received_at=now)  # fmt: skip
    return EventContext(session=session, row=row, raw=raw, event=parse_event(raw), now=now,
                        tz=ZoneInfo("Asia/Bangkok"), line=None)  # fmt: skip


def test_the_context_uses_the_projects_read_for_their_year_and_period_only(engine, office_clock) -> None:
    office = _linked_office(engine, office_clock.today)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with Session(engine) as s:
        ctx = _context(s, office_clock.now())
        fy = fiscal_year_of(ctx.today)
        ctx.person, _ = sender_of(s, T, ctx.today, fy, with_projects=True)
        read = len(statements)
        assert ctx.projects_of_person(fy, office.period_id) == projects_of_person(
            s, office.teacher.id, fy, office.period_id
        )
        assert len(statements) == read + 1  # only the comparison's own query
        other = next(p for p in _period_ids(s, fy) if p != office.period_id)
        before = len(statements)
        assert ctx.projects_of_person(fy, other) == projects_of_person(s, office.teacher.id, fy, other)
        assert len(statements) == before + 2  # another period: asked again (and compared)
        before = len(statements)
        assert ctx.projects_of_person(fy - 1, office.period_id) == []
        assert len(statements) == before + 1  # another year: asked again
