"""The one deadline of a quarter's report: the date reminders use, shown everywhere people read it.

A report is due `report_due.days_after_quarter_end` days after the quarter ends, moved to the next
working day of the office's calendar when that is a day off (`roll_to_working_day`). The planner
(reminders) and the chat (`สถานะ`, the report form, the director's and planner's views) both ask here,
so the date a teacher is told is the date they are reminded of.

`deadline_inputs` reads what a deadline is made of (the office's and its area's rule overrides, the
days off they declared) in one statement and keeps, per process, the rules and the calendar made of
them, keyed by what was read: an office or holiday changed by any process is read by the next
call and makes other ones, and nothing read before can be served for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.ops import OfficeHoliday
from models.org import OFFICE, PARENT_OFFICE, Office, deadline_columns
from models.types import HolidayKind, OfficeKind
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
    return declared_calendar([(r.day, r.kind, r.name) for r in rows])


def declared_calendar(days: Sequence[tuple[date, str, str]]) -> WorkCalendar:
    """The work calendar with these declared days: (day, kind, name), in the order they were declared
    (a later holiday's name wins for a day declared twice)."""
    if not days:
        return WorkCalendar()
    return WorkCalendar(
        added={day: name for day, kind, name in days if kind == HolidayKind.HOLIDAY.value},
        removed=[day for day, kind, _ in days if kind == HolidayKind.WORKING_DAY.value],
    )


# The office, its parent (the area of nearly every office: a school's or a group's), and the days off
# declared for every office or for the area, in one row (models/org.py). The settings and the days
# are read as their stored text: the caches' keys, parsed only when new.
_INPUTS = (
    sa.select(*deadline_columns())
    .select_from(OFFICE)
    .outerjoin(PARENT_OFFICE, PARENT_OFFICE.c.id == OFFICE.c.parent_id)
    .where(OFFICE.c.id == sa.bindparam("office_id"))
)
_AREA = OfficeKind.AREA_OFFICE.value
_MAX_CACHED = 512
# (id(base), the area's settings, the office's) -> (base, the rules they make)
_RULES: dict[tuple[Any, ...], tuple[Rules, Rules]] = {}
_CALENDARS: dict[str, WorkCalendar] = {}  # the declared days, as read -> their calendar


def _settings_rules(text: str | None) -> Any:
    settings = json.loads(text) if text else None
    return (settings or {}).get("rules")


def _calendar(days_text: str | None) -> WorkCalendar:
    key = days_text or "[]"
    calendar = _CALENDARS.get(key)
    if calendar is None:
        declared = sorted(json.loads(key))  # [id, day, kind, name], in the order they were declared
        calendar = declared_calendar([(date.fromisoformat(d), k, n) for _, d, k, n in declared])
        if len(_CALENDARS) >= _MAX_CACHED:
            _CALENDARS.clear()
        _CALENDARS[key] = calendar
    return calendar


def deadline_inputs(
    session: Session, base: Rules, office_id: int, read: Sequence[Any] | None = None
) -> tuple[Rules, WorkCalendar]:
    """`office_rules` and `office_calendar` of `office_id`, in one round trip, the answer kept for
    the process by what was read (see the module's docstring). `read`: the `deadline_columns` of the
    office as a statement of this transaction already read them (`models.linking.sender_of`)."""
    if read is None:
        if session.autoflush:
            session.flush()  # as the ORM queries of office_rules/office_calendar would
        read = session.execute(_INPUTS, {"office_id": office_id}).first()
    if read is None:  # an unknown office
        return office_rules(session, base, office_id), office_calendar(session, office_id)
    code, kind, parent_id, settings, p_id, p_code, p_kind, p_parent_id, p_settings, days = read
    if kind == _AREA or parent_id is None:
        area: tuple[str, str | None] | None = (code, settings)
        own: tuple[str, str | None] | None = None
    elif p_id is None:  # a parent that is not there: no area (area_of)
        area, own = None, None
    elif p_kind == _AREA or p_parent_id is None:
        area, own = (p_code, p_settings), (code, settings)
    else:  # an office deeper in its area's tree: walked as the scheduler does
        return office_rules(session, base, office_id), office_calendar(session, office_id)
    key = (id(base), area and area[1], own and own[1])
    kept = _RULES.get(key)
    if kept is not None and kept[0] is base:  # the entry holds `base`: its id is not another's
        rules = kept[1]
    else:
        rules = base
        if area is not None:
            rules = rules.patched(_settings_rules(area[1]), f"office {area[0]} rules")
        if own is not None:
            rules = rules.patched(_settings_rules(own[1]), f"office {own[0]} rules")
        if len(_RULES) >= _MAX_CACHED:
            _RULES.clear()
        _RULES[key] = (base, rules)
    return rules, _calendar(days)


def report_due_on(session: Session, period_end: date, office_id: int, base: Rules) -> date:
    """The deadline of a quarter ending on `period_end` for a project of `office_id`."""
    return due_date(period_end, *deadline_inputs(session, base, office_id))
