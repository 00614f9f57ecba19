"""What every rule kind works with: the office tree and its rules, the day's accumulator of items,
the tables, and the registry's declaration of a kind (``RuleKind``).

A rule kind (``scheduler/kinds/<kind>.py``) is one file: the rules section it follows, the items it
puts into messages (each declared personal, about a person's own work, or for the planning group),
and ``select(day)``, which queries what is due on the day and adds it to ``day.acc``, to a person
(``("p", person id)``) or to an area's planning group (``("a", area id)``). The planner folds what
the kinds added into one message per recipient. Nothing here reads the clock or writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from messages import scheduler_text as text
from messages.reminders import Item, ItemKind, Line
from models import (
    ActingApprover,
    ChatBinding,
    Office,
    OfficeHoliday,
    OutboxMessage,
    Person,
    ProgressReport,
    Project,
    ProjectOwner,
    ReportingPeriod,
    ReportVersion,
    SchedulerRun,
)
from models.types import HolidayKind, OfficeKind, Reachability, ReportStatus
from scheduler.deadlines import due_date
from scheduler.process_steps import ProcessStep
from scheduler.rules import Rules
from scheduler.workdays import WorkCalendar

_FOLLOWING = Reachability.FOLLOWING.value
_NOT_SUBMITTED = (ReportStatus.DRAFT.value, ReportStatus.RETURNED.value)

T = sa.Table
_project: T = Project.__table__  # type: ignore[attr-defined]
_owner: T = ProjectOwner.__table__  # type: ignore[attr-defined]
_report: T = ProgressReport.__table__  # type: ignore[attr-defined]
_version: T = ReportVersion.__table__  # type: ignore[attr-defined]
_period: T = ReportingPeriod.__table__  # type: ignore[attr-defined]
_person: T = Person.__table__  # type: ignore[attr-defined]
_office: T = Office.__table__  # type: ignore[attr-defined]
_acting: T = ActingApprover.__table__  # type: ignore[attr-defined]
_binding: T = ChatBinding.__table__  # type: ignore[attr-defined]
_holiday: T = OfficeHoliday.__table__  # type: ignore[attr-defined]
_outbox: T = OutboxMessage.__table__  # type: ignore[attr-defined]
_run: T = SchedulerRun.__table__  # type: ignore[attr-defined]


class PersonRow(NamedTuple):
    id: int
    code: str
    full_name: str
    office_id: int
    roles: str
    line_user_id: str | None
    reachability: str

    @property
    def reachable(self) -> bool:
        return bool(self.line_user_id) and self.reachability == _FOLLOWING


def driver_rows(conn: Connection, statement: sa.Executable) -> Sequence[tuple[Any, ...]]:
    """The rows of ``statement`` as the database driver's own tuples: SQLAlchemy binds the parameters
    and runs it, but no ``Row`` is made per row and no column's type processes its values (for the
    report rules' 210,000 rows at 30,000 schools that machinery costs about 0.4 s of CPU, on the
    planner's critical path). Only for selects of columns whose driver values are their values:
    integers and strings, not ``UTCDateTime`` timestamps (naive text on SQLite), booleans or JSON."""
    result = conn.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


# --- the office tree and its rules ---------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    area_id: int
    rules: Rules
    calendar: WorkCalendar


class _Org:
    """Offices, their area office, the rules and calendar that apply to each."""

    def __init__(self, conn: Connection, rules: Rules, calendar: WorkCalendar) -> None:
        rows = conn.execute(
            sa.select(
                _office.c.id,
                _office.c.code,
                _office.c.name,
                _office.c.kind,
                _office.c.parent_id,
                _office.c.settings,
            )
        ).all()
        ids, codes, names, kinds, parents, settings = zip(*rows, strict=True) if rows else ((),) * 6
        self.code: dict[int, str] = dict(zip(ids, codes, strict=True))
        self.name: dict[int, str] = dict(zip(ids, names, strict=True))
        self.kind: dict[int, str] = dict(zip(ids, kinds, strict=True))
        parent: dict[int, int | None] = dict(zip(ids, parents, strict=True))
        overrides = {
            office_id: found["rules"]
            for office_id, found in zip(ids, settings, strict=True)
            if found and found.get("rules")
        }
        self.area: dict[int, int] = {}
        for office_id in parent:
            self.area[office_id] = self._find_area(office_id, parent)
        calendars = self._calendars(conn, calendar)
        self.units: list[_Unit] = []
        unit_index: dict[tuple[int, Rules], int] = {}
        area_rules: dict[int, Rules] = {}
        self.unit_of: dict[int, int] = {}
        # The unit of an area's offices without rules of their own: the area's, found once (a key
        # hashes the whole rules tree, a Python call per nested section, 30,000 times a tick).
        area_unit: dict[int, int] = {}
        for office_id, area_id in self.area.items():
            own = office_id != area_id and office_id in overrides
            if not own and area_id in area_unit:
                self.unit_of[office_id] = area_unit[area_id]
                continue
            if area_id not in area_rules:
                area_rules[area_id] = rules.patched(
                    overrides.get(area_id), f"office {self.code.get(area_id)} rules"
                )
            effective = area_rules[area_id]
            if own:
                effective = effective.patched(overrides[office_id], f"office {self.code[office_id]} rules")
            key = (area_id, effective)
            if key not in unit_index:
                unit_index[key] = len(self.units)
                self.units.append(_Unit(area_id, effective, calendars.get(area_id, calendars[None])))
            self.unit_of[office_id] = unit_index[key]
            if not own:
                area_unit[area_id] = unit_index[key]
        self.area_unit = {area_id: self.unit_of[area_id] for area_id in set(self.area.values())}

    def _find_area(self, office_id: int, parent: Mapping[int, int | None]) -> int:
        seen = 0
        current = office_id
        while seen < 50:
            if self.kind.get(current) == OfficeKind.AREA_OFFICE.value:
                return current
            up = parent.get(current)
            if up is None:
                return current
            current, seen = up, seen + 1
        return current  # pragma: no cover - a cycle in the tree

    @staticmethod
    def _calendars(conn: Connection, base: WorkCalendar) -> dict[int | None, WorkCalendar]:
        rows = conn.execute(
            sa.select(_holiday.c.office_id, _holiday.c.day, _holiday.c.kind, _holiday.c.name)
        ).all()
        result: dict[int | None, WorkCalendar] = {None: base}
        if not rows:
            return result
        shared = [r for r in rows if r.office_id is None]
        for office_id in {r.office_id for r in rows}:
            applicable = shared + (
                [r for r in rows if r.office_id == office_id] if office_id is not None else []
            )
            result[office_id] = WorkCalendar(
                added={r.day: r.name for r in applicable if r.kind == HolidayKind.HOLIDAY.value},
                removed=[r.day for r in applicable if r.kind == HolidayKind.WORKING_DAY.value],
            )
        return result

    def label(self, office_id: int) -> str:
        return self.name.get(office_id, str(office_id))


# --- accumulating items ------------------------------------------------------------------------------


class _Bucket:
    """Lines of one item for one recipient; keeps a bounded number of lines and the full count."""

    __slots__ = ("days", "keys", "lines", "on", "quarter", "total")

    def __init__(self, quarter: tuple[int, int] | None, on: date | None, days: int) -> None:
        self.quarter, self.on, self.days = quarter, on, days
        self.lines: list[Line] = []
        self.keys: set[Any] = set()
        self.total = 0

    def add(self, key: Any, line: Line, cap: int) -> None:
        if key in self.keys:
            return
        self.keys.add(key)
        self.total += 1
        if len(self.lines) < cap:
            self.lines.append(line)


class _OfficeBucket:
    """An escalation listing late projects grouped by office."""

    __slots__ = ("by_office", "days", "on", "quarter", "seen")

    def __init__(self, quarter: tuple[int, int] | None, on: date | None, days: int) -> None:
        self.quarter, self.on, self.days = quarter, on, days
        self.by_office: dict[int, list[str]] = defaultdict(list)
        self.seen: set[int] = set()

    def add(self, project_id: int, office_id: int, code: str) -> None:
        if project_id not in self.seen:
            self.seen.add(project_id)
            self.by_office[office_id].append(code)


Key = tuple[str, int]  # ("p", person id) or ("a", area id)


class _Acc:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buckets: dict[tuple[Key, ItemKind, str], _Bucket] = {}
        self.office_buckets: dict[tuple[Key, ItemKind, str], _OfficeBucket] = {}
        self.ready: dict[Key, list[Item]] = defaultdict(list)

    def bucket(
        self,
        who: Key,
        kind: ItemKind,
        subject: str,
        quarter: tuple[int, int] | None,
        on: date | None,
        days: int,
    ) -> _Bucket:
        key = (who, kind, subject)
        found = self.buckets.get(key)
        if found is None:
            found = self.buckets[key] = _Bucket(quarter, on, days)
        return found

    def office_bucket(
        self,
        who: Key,
        kind: ItemKind,
        subject: str,
        quarter: tuple[int, int] | None,
        on: date | None,
        days: int,
    ) -> _OfficeBucket:
        key = (who, kind, subject)
        found = self.office_buckets.get(key)
        if found is None:
            found = self.office_buckets[key] = _OfficeBucket(quarter, on, days)
        return found

    def items(self, org: _Org) -> dict[Key, list[Item]]:
        return assemble([self.sections(org)])

    def sections(self, org: _Org) -> Sections:
        """What was accumulated, as finished items in the three sections ``assemble`` joins: the
        ready items, the buckets' items, the office buckets' items (each in the order added)."""
        return _sections(
            self.ready,
            [(who, kind, subject, b.quarter, b.on, b.days, b.total, tuple(b.lines))
             for (who, kind, subject), b in self.buckets.items()],
            [(who, kind, subject, ob.quarter, ob.on, ob.days, ob.by_office, len(ob.seen))
             for (who, kind, subject), ob in self.office_buckets.items()],
            org,
            self.cap,
        )  # fmt: skip

    def plain(self) -> tuple[Any, ...]:
        """What was accumulated as plain tuples, strings and numbers, which pickle fast (an ``Item`` or
        a ``Line`` takes a Python call each way): `plain_sections` makes the sections of it."""
        return (
            {who: list(items) for who, items in self.ready.items()},
            [(who, kind._value_, subject, b.quarter, b.on, b.days, b.total, list(map(tuple, b.lines)))
             for (who, kind, subject), b in self.buckets.items()],
            [(who, kind._value_, subject, ob.quarter, ob.on, ob.days, dict(ob.by_office), len(ob.seen))
             for (who, kind, subject), ob in self.office_buckets.items()],
        )  # fmt: skip


def plain_sections(plain: tuple[Any, ...], org: _Org, cap: int) -> Sections:
    """`_Acc.sections` of what `_Acc.plain` gave (in another process)."""
    ready, buckets, offices = plain
    kinds = {kind._value_: kind for kind in ItemKind}
    line = tuple.__new__
    return _sections(
        ready,
        [(who, kinds[kind], subject, quarter, on, days, total, tuple([line(Line, t) for t in lines]))
         for who, kind, subject, quarter, on, days, total, lines in buckets],
        [(who, kinds[kind], *rest) for who, kind, *rest in offices],
        org,
        cap,
    )  # fmt: skip


def _sections(
    ready: Mapping[Key, list[Item]],
    buckets: Sequence[tuple[Any, ...]],
    offices: Sequence[tuple[Any, ...]],
    org: _Org,
    cap: int,
) -> Sections:
    bucketed = [
        (who, Item(kind, subject, quarter, on, days, total, lines))
        for who, kind, subject, quarter, on, days, total, lines in buckets
    ]
    by_office: list[tuple[Key, Item]] = []
    for who, kind, subject, quarter, on, days, codes_by_office, seen in offices:
        ranked = sorted(codes_by_office.items(), key=lambda kv: (-len(kv[1]), org.code.get(kv[0], "")))
        lines = tuple(
            Line(org.code.get(office_id, ""), org.label(office_id), text.late_projects_detail(codes))
            for office_id, codes in ranked[:cap]
        )
        by_office.append((who, Item(kind, subject, quarter, on, days, seen, lines)))
    return {who: list(items) for who, items in ready.items()}, bucketed, by_office


# An accumulator's items (`_Acc.sections`): ready ones by recipient, then the buckets' and the office
# buckets' (recipient, item) in the order they were first added to.
Sections = tuple[dict[Key, list[Item]], list[tuple[Key, Item]], list[tuple[Key, Item]]]


def assemble(parts: Sequence[Sequence[Any]]) -> dict[Key, list[Item]]:
    """Recipient → items from the sections of one accumulator, or of several (one per rule kind, in
    the registry's order, so long as no two kinds fill the same bucket): the same dict, in the same
    order, as one accumulator all of them had added to would give. Every ready item first, then the
    buckets' items, then the office buckets'."""
    result: dict[Key, list[Item]] = defaultdict(list)
    for ready, _bucketed, _by_office in parts:
        for who, items in ready.items():
            result[who].extend(items)
    for _ready, bucketed, _by_office in parts:
        for who, item in bucketed:
            result[who].append(item)
    for _ready, _bucketed, by_office in parts:
        for who, item in by_office:
            result[who].append(item)
    return result


# --- time helpers -------------------------------------------------------------------------------------


def _local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _due_date(period_end: date, rules: Rules, cal: WorkCalendar) -> date:
    return due_date(period_end, rules, cal)  # the one deadline, shared with the chat


@dataclass(frozen=True)
class _Period:
    id: int
    fiscal_year: int
    quarter: int
    starts_on: date
    ends_on: date

    @property
    def subject(self) -> str:
        return f"{self.fiscal_year}Q{self.quarter}"

    @property
    def fq(self) -> tuple[int, int]:
        return (self.fiscal_year, self.quarter)


# --- the registry's declaration of a kind ---------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """What a kind's ``select`` gets: the database, the day and the office's units that work on it."""

    conn: Connection
    day: date
    tz: ZoneInfo
    org: _Org
    units: list[int]  # indexes into ``org.units`` of the units for which ``day`` is a working day
    areas: list[int]  # area offices for which ``day`` is a working day
    periods: list[_Period]
    acc: _Acc
    acting: Mapping[int, int]  # principal → whoever acts for them on the day
    people: Mapping[int, PersonRow]
    steps: Sequence[ProcessStep] = ()

    def area_units(self) -> list[tuple[int, _Unit]]:
        """(area id, its unit) for each area working on the day."""
        found = []
        for area_id in self.areas:
            unit = self.org.units[self.org.area_unit[area_id]]
            if unit.calendar.is_working_day(self.day):
                found.append((area_id, unit))
        return found


@dataclass(frozen=True)
class RuleKind:
    """One kind of rule: its name (the rules file's section), the items it produces, and whether each
    is personal (a person's own work: summarised for the planning group when the budget is nearly
    spent, and a reminder the budget may leave out) or for the planning group."""

    name: str
    personal: frozenset[ItemKind]
    planning: frozenset[ItemKind]
    select: Callable[[Day], None]
