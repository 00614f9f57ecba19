"""The deadline a handler tells (`EventContext.report_due_on`) is the scheduler's
(`scheduler.deadlines.report_due_on`), however it is remembered within a batch's transaction and
however calendars are shared between events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.context import EventContext
from models import Office, OfficeHoliday
from models.types import HolidayKind, OfficeKind
from scheduler.deadlines import report_due_on
from scheduler.rules import Rules

NOW = datetime(2026, 11, 24, tzinfo=UTC)
QUARTER_END = date(2026, 12, 31)  # + 10 days = Sunday 10 January 2027, rolled to Monday the 11th


def _ctx(session: Session, rules: Rules) -> EventContext:
    return EventContext(
        session=session,
        row=None,
        raw={},
        event=None,
        now=NOW,
        tz=ZoneInfo("Asia/Bangkok"),
        line=None,
        rules=rules,
    )  # type: ignore[arg-type]


def _offices(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        area = Office(code="AREA", name="สพม.", kind=OfficeKind.AREA_OFFICE, created_at=NOW, updated_at=NOW)
        session.add(area)
        session.flush()
        plain = Office(
            code="S1",
            name="โรงเรียน ๑",
            kind=OfficeKind.SCHOOL,
            parent_id=area.id,
            created_at=NOW,
            updated_at=NOW,
        )
        own = Office(
            code="S2",
            name="โรงเรียน ๒",
            kind=OfficeKind.SCHOOL,
            parent_id=area.id,
            settings={"rules": {"report_due": {"days_after_quarter_end": 14}}},
            created_at=NOW,
            updated_at=NOW,
        )
        session.add_all([plain, own])
        session.commit()
        assert area.id and plain.id and own.id
        return area.id, plain.id, own.id


def test_a_handlers_deadline_is_the_schedulers_before_and_after_an_office_declares_a_day_off(
    engine: Engine,
) -> None:
    rules = Rules()
    area, plain, own = _offices(engine)
    stored = date(2000, 1, 1)  # what a handler without rules would tell: never the answer here
    with Session(engine) as session:
        ctx = _ctx(session, rules)
        told = [ctx.report_due_on(QUARTER_END, office, stored) for office in (plain, own, plain, area)]
        assert told == [
            report_due_on(session, QUARTER_END, office, rules) for office in (plain, own, plain, area)
        ]
        assert told[:2] == [date(2027, 1, 11), date(2027, 1, 14)]
    with Session(engine) as session:
        session.add(
            OfficeHoliday(office_id=area, day=date(2027, 1, 11), kind=HolidayKind.HOLIDAY, name="วันหยุด")
        )
        session.commit()
    with Session(engine) as session:  # the next batch's transaction sees the new day off
        ctx = _ctx(session, rules)
        told = [ctx.report_due_on(QUARTER_END, office, stored) for office in (plain, own, area)]
        assert told == [report_due_on(session, QUARTER_END, office, rules) for office in (plain, own, area)]
        assert told[:2] == [date(2027, 1, 12), date(2027, 1, 14)]
    with Session(engine) as session:
        session.add(
            OfficeHoliday(office_id=None, day=date(2027, 1, 12), kind=HolidayKind.HOLIDAY, name="ทุกเขต")
        )
        session.commit()
    with Session(engine) as session:
        ctx = _ctx(session, rules)
        assert ctx.report_due_on(QUARTER_END, plain, stored) == date(2027, 1, 13)
        assert report_due_on(session, QUARTER_END, plain, rules) == date(2027, 1, 13)
    with Session(engine) as session:  # without rules: the stored deadline, as before
        assert _ctx(session, None).report_due_on(QUARTER_END, plain, stored) == stored  # type: ignore[arg-type]
