"""The one deadline of a quarter's report: the date reminders use, shown everywhere people read it.

A report is due `report_due.days_after_quarter_end` days after the quarter ends, moved to the next
working day of the office's calendar when that is a day off (`roll_to_working_day`). The planner
(reminders) and the chat (`สถานะ`, the report form, the director's and planner's views) both ask here,
so the date a teacher is told is the date they are reminded of.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from models.ops import OfficeHoliday
from models.org import Office
from models.types import HolidayKind
from scheduler.rules import Rules
from scheduler.workdays import WorkCalendar


def due_date(period_end: date, rules: Rules, cal: WorkCalendar) -> date:
    due = period_end + timedelta(days=rules.report_due.days_after_quarter_end)
    if rules.report_due.roll_to_working_day and not cal.is_working_day(due):
        due = cal.next_working_day(due)
    return due


def area_of(session: Session, office_id: int) -> Office | None:
    """The area office an office belongs to: itself for an area office, else its nearest ancestor
    marked one (the top of its tree when none is); None for an unknown office."""
    office = session.get(Office, office_id)
    seen = 0
    while office is not None and office.parent_id is not None and office.kind != "area_office" and seen < 50:
        office, seen = session.get(Office, office.parent_id), seen + 1
    return office


def office_rules(session: Session, base: Rules, office_id: int) -> Rules:
    """`base` with the area office's overrides, then the office's own (as the planner applies them)."""
    area = area_of(session, office_id)
    rules = base
    if area is not None:
        rules = rules.patched((area.settings or {}).get("rules"), f"office {area.code} rules")
    office = session.get(Office, office_id)
    if office is not None and area is not None and office.id != area.id:
        rules = rules.patched((office.settings or {}).get("rules"), f"office {office.code} rules")
    return rules


def office_calendar(session: Session, office_id: int) -> WorkCalendar:
    """Thai public holidays with the days off (and working days) every office and this area declared."""
    area = area_of(session, office_id)
    wanted = [None] if area is None else [None, area.id]
    rows = session.exec(
        select(OfficeHoliday).where(
            col(OfficeHoliday.office_id).is_(None)
            | col(OfficeHoliday.office_id).in_([w for w in wanted if w])
        )
    ).all()
    if not rows:
        return WorkCalendar()
    return WorkCalendar(
        added={r.day: r.name for r in rows if r.kind == HolidayKind.HOLIDAY.value},
        removed=[r.day for r in rows if r.kind == HolidayKind.WORKING_DAY.value],
    )


def report_due_on(session: Session, period_end: date, office_id: int, base: Rules) -> date:
    """The deadline of a quarter ending on `period_end` for a project of `office_id`."""
    return due_date(period_end, office_rules(session, base, office_id), office_calendar(session, office_id))
