"""The deadline a handler tells (`EventContext.report_due_on`) is the scheduler's
(`scheduler.deadlines.report_due_on`), however it is remembered within a batch's transaction and
however calendars are shared between events."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.context import EventContext
from models import Office, OfficeHoliday, Person
from models.linking import sender_of
from models.types import HolidayKind, OfficeKind
from scheduler.deadlines import deadline_inputs, due_date, office_calendar, office_rules, report_due_on
from scheduler.fiscal import fiscal_year_of
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


def _walked(session: Session, office: int, rules: Rules, days: list[date]) -> list[object]:
    """What the scheduler's walk (`office_rules`, `office_calendar`) makes of `office`'s deadline."""
    walked_rules, calendar = office_rules(session, rules, office), office_calendar(session, office)
    return [
        walked_rules.report_due,
        [calendar.is_working_day(d) for d in days],
        [calendar.holiday_name(d) for d in days],
        due_date(QUARTER_END, walked_rules, calendar),
    ]


def _user(office_id: int) -> str:
    return f"U{office_id:032d}"


def _read(session: Session, office: int, rules: Rules, days: list[date], read: object = None) -> list[object]:
    """The same, as `deadline_inputs` reads it in one statement (or as the sender's lookup read it:
    `read`) and keeps it for the process."""
    kept_rules, calendar = deadline_inputs(session, rules, office, read)  # type: ignore[arg-type]
    return [
        kept_rules.report_due,
        [calendar.is_working_day(d) for d in days],
        [calendar.holiday_name(d) for d in days],
        due_date(QUARTER_END, kept_rules, calendar),
    ]


def test_the_kept_deadline_inputs_are_the_walks_whatever_changes(engine: Engine) -> None:
    rules = Rules()
    area, plain, own = _offices(engine)
    with Session(engine) as session:  # a group of the area, and a unit inside that group
        group = Office(
            code="G1", name="กลุ่ม", kind=OfficeKind.GROUP, parent_id=area, created_at=NOW, updated_at=NOW,
            settings={"rules": {"report_due": {"days_after_quarter_end": 20}}},
        )  # fmt: skip
        session.add(group)
        session.flush()
        unit = Office(
            code="U1", name="หน่วย", kind=OfficeKind.GROUP, parent_id=group.id, created_at=NOW, updated_at=NOW
        )  # fmt: skip
        session.add(unit)
        session.commit()
        deep, group_id = unit.id, group.id
    offices = [plain, own, area, group_id, deep]
    days = [date(2027, 1, 1) + timedelta(days=n) for n in range(40)]
    with Session(engine) as session:  # someone linked at each office: the sender's lookup reads it too
        for office_id in offices:
            session.add(
                Person(
                    code=f"P{office_id}", full_name="ครู", office_id=office_id, line_user_id=_user(office_id),
                    created_at=NOW, updated_at=NOW,
                )
            )  # fmt: skip
        session.commit()

    def check() -> list[list[object]]:
        with Session(engine) as session:
            walked = [_walked(session, o, rules, days) for o in offices]
            assert [_read(session, o, rules, days) for o in offices] == walked
            assert [_read(session, o, rules, days) for o in offices] == walked  # from the process's cache
            on = NOW.date()
            senders = [sender_of(session, _user(o), on, fiscal_year_of(on))[0] for o in offices]
            read = [getattr(sender, "deadline", None) for sender in senders]
            assert all(r is not None for r in read)
            assert [_read(session, o, rules, days, r) for o, r in zip(offices, read, strict=True)] == walked
            for n, (office_id, sender) in enumerate(zip(offices, senders, strict=True)):
                ctx = _ctx(session, rules)  # a handler's deadline for its sender's office
                ctx.person = sender
                assert ctx.report_due_on(QUARTER_END, office_id, date(2000, 1, 1)) == walked[n][3]
            return walked

    first = check()
    changes = [
        OfficeHoliday(office_id=area, day=date(2027, 1, 11), kind=HolidayKind.HOLIDAY, name="วันหยุดเขต"),
        OfficeHoliday(office_id=None, day=date(2027, 1, 12), kind=HolidayKind.HOLIDAY, name="ทุกเขต"),
        OfficeHoliday(office_id=None, day=date(2027, 1, 1), kind=HolidayKind.WORKING_DAY, name="ทำงาน"),
    ]
    seen = [first]
    for change in changes:  # each declared day changes what is read, and so the answer
        with Session(engine) as session:
            session.add(change)
            session.commit()
        seen.append(check())
    with Session(engine) as session:  # the area's rules change: every office under it follows
        office = session.get(Office, area)
        assert office is not None
        office.settings = {"rules": {"report_due": {"days_after_quarter_end": 3}}}
        session.add(office)
        session.commit()
    seen.append(check())
    with Session(engine) as session:  # a day off renamed, then removed
        row = session.exec(select(OfficeHoliday).where(OfficeHoliday.name == "วันหยุดเขต")).one()
        row.name = "ชื่อใหม่"
        session.add(row)
        session.commit()
    seen.append(check())
    with Session(engine) as session:
        session.delete(session.exec(select(OfficeHoliday).where(OfficeHoliday.name == "ชื่อใหม่")).one())
        session.commit()
    seen.append(check())
    assert all(a != b for a, b in itertools.pairwise(seen))  # every change was seen
    assert seen[0][0][3] == date(2027, 1, 11) and seen[1][0][3] == date(2027, 1, 12)
    assert seen[2][0][3] == date(2027, 1, 13) and seen[4][0][3] == date(2027, 1, 4)
    with Session(engine) as session:  # an office the walk does not find: as the walk, not an error
        assert _read(session, 10**6, rules, days) == _walked(session, 10**6, rules, days)
