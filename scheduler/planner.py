"""What is due on a day: (database state, local date, rules, calendar) → one list of items per recipient.

Nothing here reads the clock or writes to the database. Each rule is one set-based query over the
projects it can concern that day, narrowed first by arithmetic on dates: a reminder "3 working days
before the due date" only queries the periods whose due date is 3 working days away, pending approvals
only those submitted on the dates that are exactly 2 or 5 working days back, and so on. The rows come
back as plain tuples and are folded into per-recipient items in one pass (no ORM object per project),
so a 300,000-project office plans in seconds.

Rules are resolved per office (file defaults ← area office override ← the office's own override) and
grouped into "units" (area, rules, calendar); in an office without overrides there is one unit.
Planning-group items go to the area's bound LINE group when there is one, else to each planner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from messages import scheduler_text as text
from messages.reminders import Item, ItemKind, Line
from messages.thai_dates import format_date
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
from models.types import HolidayKind, OfficeKind, OutboxStatus, Reachability, ReportStatus
from scheduler.deadlines import due_date
from scheduler.process_steps import ProcessStep, StepWindow, windows_closing_within, windows_opening_on
from scheduler.rules import Rules
from scheduler.workdays import WorkCalendar

__all__ = ["PERSONAL_KINDS", "Plan", "Recipient", "plan_day", "unreachable_by_area"]

# Items a person gets about their own work; in digest-only mode (message budget) they are summarised
# to the planning group instead.
PERSONAL_KINDS = frozenset(
    {
        ItemKind.REPORT_DUE,
        ItemKind.REPORT_OVERDUE,
        ItemKind.APPROVER_OVERDUE,
        ItemKind.APPROVAL_PENDING,
        ItemKind.DRAFT_IDLE,
    }
)
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


@dataclass(frozen=True)
class Recipient:
    """Who gets one message: a person (``person_ids`` = them) or a LINE group chat (``person_ids`` empty)."""

    key: str  # "p<person id>" or "g<chat id>": stable, for dedupe keys
    to: str  # LINE user or group id
    label: str  # for people and logs: "T1 นางสาวใจดี มีสุข" or the group's office
    items: tuple[Item, ...]
    person_ids: tuple[int, ...] = ()
    area_id: int | None = None

    @property
    def personal(self) -> bool:
        return bool(self.person_ids)


@dataclass
class Plan:
    """A day's plan: one recipient per message, most urgent item first."""

    day: date
    recipients: list[Recipient] = field(default_factory=list)
    unreachable: dict[int, tuple[Item, ...]] = field(default_factory=dict)  # person id → items not sendable
    unreachable_area: dict[int, int | None] = field(default_factory=dict)
    people: dict[int, PersonRow] = field(default_factory=dict)
    areas_working: list[int] = field(default_factory=list)
    max_lines: int = 10
    planning_chats: dict[int, str] = field(default_factory=dict)  # area id → its planning LINE group
    planners: dict[int, list[int]] = field(default_factory=dict)  # area id → planner person ids
    area_names: dict[int, str] = field(default_factory=dict)
    area_of: dict[int, int] = field(default_factory=dict)  # office id → its area office id

    @property
    def naive_messages(self) -> int:
        """Messages a naive scheduler would send: one per due item (project, step...) per recipient."""
        return sum(max(1, item.total) for r in self.recipients for item in r.items)

    def kinds_for(self, person_id: int) -> set[ItemKind]:
        return {i.kind for r in self.recipients if person_id in r.person_ids for i in r.items}


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
        self.code = {r.id: r.code for r in rows}
        self.name = {r.id: r.name for r in rows}
        self.kind = {r.id: r.kind for r in rows}
        parent = {r.id: r.parent_id for r in rows}
        overrides = {
            r.id: (r.settings or {}).get("rules") for r in rows if r.settings and r.settings.get("rules")
        }
        self.area: dict[int, int] = {}
        for office_id in parent:
            self.area[office_id] = self._find_area(office_id, parent)
        calendars = self._calendars(conn, calendar)
        self.units: list[_Unit] = []
        unit_index: dict[tuple[int, Rules], int] = {}
        area_rules: dict[int, Rules] = {}
        self.unit_of: dict[int, int] = {}
        for office_id, area_id in self.area.items():
            if area_id not in area_rules:
                area_rules[area_id] = rules.patched(
                    overrides.get(area_id), f"office {self.code.get(area_id)} rules"
                )
            effective = area_rules[area_id]
            if office_id != area_id and office_id in overrides:
                effective = effective.patched(overrides[office_id], f"office {self.code[office_id]} rules")
            key = (area_id, effective)
            if key not in unit_index:
                unit_index[key] = len(self.units)
                self.units.append(_Unit(area_id, effective, calendars.get(area_id, calendars[None])))
            self.unit_of[office_id] = unit_index[key]
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
        result: dict[Key, list[Item]] = defaultdict(list)
        for who, items in self.ready.items():
            result[who].extend(items)
        for (who, kind, subject), b in self.buckets.items():
            result[who].append(Item(kind, subject, b.quarter, b.on, b.days, b.total, tuple(b.lines)))
        for (who, kind, subject), ob in self.office_buckets.items():
            offices = sorted(ob.by_office.items(), key=lambda kv: (-len(kv[1]), org.code.get(kv[0], "")))
            lines = tuple(
                Line(
                    org.code.get(office_id, ""),
                    org.label(office_id),
                    text.late_projects_detail(codes),
                )
                for office_id, codes in offices[: self.cap]
            )
            result[who].append(Item(kind, subject, ob.quarter, ob.on, ob.days, len(ob.seen), lines))
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


# --- the planner ------------------------------------------------------------------------------------


def plan_day(
    conn: Connection,
    day: date,
    rules: Rules,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    *,
    steps: Sequence[ProcessStep] = (),
    digest_only: bool = False,
    notices: Sequence[Item] = (),
) -> Plan:
    """Everything due on ``day`` (a local date), one ``Recipient`` per message.

    ``digest_only`` (the message budget is nearly spent) turns personal items into one summary for
    each planning group; ``notices`` are extra items for every planning group (the budget notice).
    Areas for which ``day`` is not a working day get nothing.
    """
    org = _Org(conn, rules, calendar)
    people = _people(conn)
    cap = rules.delivery.max_lines
    plan = Plan(day=day, people=people, max_lines=cap)
    working_units = [i for i, u in enumerate(org.units) if u.calendar.is_working_day(day)]
    plan.areas_working = sorted({org.units[i].area_id for i in working_units})
    if not working_units:
        return plan
    acc = _Acc(cap)
    acting = _acting_approvers(conn, day)
    periods = _periods(conn, day)
    _report_rules(conn, day, org, working_units, periods, acc, acting)
    _approval_rules(conn, day, tz, org, working_units, acc, acting, people)
    _draft_rules(conn, day, tz, org, working_units, acc)
    stuck: dict[int, list[Line]] | None = None
    for area_id in plan.areas_working:
        unit = org.units[org.area_unit[area_id]]
        if not unit.calendar.is_working_day(day):
            continue
        if unit.rules.process_steps.enabled and steps:
            _step_items(day, unit, steps, acc, area_id)
        if unit.rules.digest.enabled and _first_working_day_of_week(day, unit):
            _digest_items(conn, day, tz, org, unit, periods, acc, area_id, people)
            if stuck is None:
                stuck = _stuck(conn, day, org)
            if stuck.get(area_id):
                lines = stuck[area_id]
                acc.ready[("a", area_id)].append(
                    Item(ItemKind.STUCK_REPORTS, "stuck", None, day, 0, len(lines), tuple(lines[:cap]))
                )
        for notice in notices:
            acc.ready[("a", area_id)].append(notice)
    by_key = acc.items(org)
    if digest_only:
        _summarise_personal(by_key, people, org, cap)
    _resolve(conn, plan, by_key, people, org)
    return plan


def _stuck(conn: Connection, day: date, org: _Org) -> dict[int, list[Line]]:
    """Reports nobody can approve (``models.approvals.stuck_reports``), by area, for the digest."""
    from sqlmodel import Session

    from models.approvals import stuck_reports

    by_area: dict[int, list[Line]] = defaultdict(list)
    with Session(bind=conn) as session:
        for r in stuck_reports(session, day):
            area = org.area.get(r.office_id)
            if area is not None:
                detail = text.stuck_detail(org.label(r.office_id), r.fiscal_year, r.quarter)
                by_area[area].append(Line(r.project_code, r.project_name, detail))
    return by_area


def _people(conn: Connection) -> dict[int, PersonRow]:
    rows = conn.execute(
        sa.select(
            _person.c.id,
            _person.c.code,
            _person.c.full_name,
            _person.c.office_id,
            _person.c.roles,
            _person.c.line_user_id,
            _person.c.reachability,
        ).where(_person.c.active.is_(True))
    ).all()
    return {r[0]: PersonRow(*r) for r in rows}


def _acting_approvers(conn: Connection, day: date) -> dict[int, int]:
    rows = conn.execute(
        sa.select(_acting.c.principal_id, _acting.c.acting_id)
        .where(_acting.c.starts_on <= day, _acting.c.ends_on >= day)
        .order_by(_acting.c.id.desc())
    ).all()
    return {r.principal_id: r.acting_id for r in rows}


def _periods(conn: Connection, day: date) -> list[_Period]:
    rows = conn.execute(
        sa.select(
            _period.c.id, _period.c.fiscal_year, _period.c.quarter, _period.c.starts_on, _period.c.ends_on
        )
        .where(
            _period.c.ends_on >= day - timedelta(days=150), _period.c.starts_on <= day + timedelta(days=120)
        )
        .order_by(_period.c.starts_on)
    ).all()
    return [_Period(r.id, r.fiscal_year, r.quarter, r.starts_on, r.ends_on) for r in rows]


def _report_rules(
    conn: Connection,
    day: date,
    org: _Org,
    units: list[int],
    periods: list[_Period],
    acc: _Acc,
    acting: Mapping[int, int],
) -> None:
    """Reminders before the due date, overdue notices and the late escalation."""
    # (unit, period id) → [(kind, working days, due date)]
    fired: dict[tuple[int, int], list[tuple[ItemKind, int, date]]] = defaultdict(list)
    for u in units:
        unit = org.units[u]
        r, cal = unit.rules, unit.calendar
        if not r.report_due.enabled:
            continue
        for period in periods:
            due = _due_date(period.ends_on, r, cal)
            if r.reminders.enabled:
                for before in r.reminders.working_days_before:
                    if cal.add_working_days(due, -before) == day:
                        fired[(u, period.id)].append((ItemKind.REPORT_DUE, before, due))
                if r.reminders.on_due_day and due == day:
                    fired[(u, period.id)].append((ItemKind.REPORT_DUE, 0, due))
            if r.overdue.enabled:
                if (
                    r.overdue.notify_after_working_days
                    and cal.add_working_days(due, r.overdue.notify_after_working_days) == day
                ):
                    fired[(u, period.id)].append(
                        (ItemKind.REPORT_OVERDUE, r.overdue.notify_after_working_days, due)
                    )
                late = r.overdue.escalate_after_working_days
                if late and cal.add_working_days(due, late) == day:
                    fired[(u, period.id)].append((ItemKind.LATE_ESCALATION, late, due))
    by_period: dict[int, _Period] = {p.id: p for p in periods}
    for period_id in sorted({pid for (_u, pid) in fired}):
        period = by_period[period_id]
        statement = (
            sa.select(
                _owner.c.person_id,
                _project.c.id,
                _project.c.code,
                _project.c.name,
                _project.c.office_id,
                _project.c.approver_id,
            )
            .select_from(
                _project.outerjoin(_owner, _owner.c.project_id == _project.c.id).outerjoin(
                    _report, sa.and_(_report.c.project_id == _project.c.id, _report.c.period_id == period_id)
                )
            )
            .where(
                _project.c.fiscal_year == period.fiscal_year,
                _project.c.status == "active",
                sa.or_(_report.c.id.is_(None), _report.c.status.in_(_NOT_SUBMITTED)),
            )
        )
        subject, fq = period.subject, period.fq
        for person_id, project_id, code, name, office_id, approver_id in conn.execute(statement).all():
            u = org.unit_of.get(office_id)
            events = fired.get((u, period_id)) if u is not None else None
            if not events:
                continue
            for kind, days, due in events:
                if kind is ItemKind.REPORT_DUE:
                    if person_id is not None:
                        acc.bucket(("p", person_id), kind, subject, fq, due, days).add(
                            project_id, Line(code, name), acc.cap
                        )
                elif kind is ItemKind.REPORT_OVERDUE:
                    if person_id is not None and org.units[u].rules.overdue.notify_reporter:  # type: ignore[index]
                        acc.bucket(("p", person_id), kind, subject, fq, due, days).add(
                            project_id, Line(code, name), acc.cap
                        )
                    if approver_id is not None:
                        approver = acting.get(approver_id, approver_id)
                        acc.bucket(("p", approver), ItemKind.APPROVER_OVERDUE, subject, fq, due, days).add(
                            project_id, Line(code, name), acc.cap
                        )
                else:
                    who = ("a", org.units[u].area_id)  # type: ignore[index]
                    acc.office_bucket(who, kind, subject, fq, due, days).add(project_id, office_id, code)


def _dates_back(day: date, cal: WorkCalendar, working_days: int) -> list[date]:
    """Local dates D with exactly ``working_days`` working days in (D, day]."""
    found = []
    d = day
    for _ in range(working_days * 3 + 20):
        d -= timedelta(days=1)
        n = cal.working_days_between(d, day)
        if n == working_days:
            found.append(d)
        elif n > working_days:
            break
    return found


def _approval_rules(
    conn: Connection,
    day: date,
    tz: ZoneInfo,
    org: _Org,
    units: list[int],
    acc: _Acc,
    acting: Mapping[int, int],
    people: Mapping[int, PersonRow],
) -> None:
    """Reports waiting for their approver: a reminder after N working days, an escalation after M."""
    wanted: dict[int, dict[date, tuple[ItemKind, int]]] = {}
    for u in units:
        r, cal = org.units[u].rules, org.units[u].calendar
        if not r.approvals.enabled:
            continue
        dates: dict[date, tuple[ItemKind, int]] = {}
        for kind, n in (
            (ItemKind.APPROVAL_PENDING, r.approvals.remind_after_working_days),
            (ItemKind.APPROVAL_ESCALATION, r.approvals.escalate_after_working_days),
        ):
            if n:
                for d in _dates_back(day, cal, n):
                    dates[d] = (kind, n)
        wanted[u] = dates
    all_dates = [d for dates in wanted.values() for d in dates]
    if not all_dates:
        return
    lo, hi = (
        _local_midnight_utc(min(all_dates), tz),
        _local_midnight_utc(max(all_dates) + timedelta(days=1), tz),
    )
    statement = (
        sa.select(
            _report.c.id,
            _report.c.period_id,
            _project.c.code,
            _project.c.name,
            _project.c.office_id,
            _project.c.approver_id,
            _version.c.submitted_at,
            _period.c.fiscal_year,
            _period.c.quarter,
        )
        .select_from(
            _report.join(_project, _project.c.id == _report.c.project_id)
            .join(
                _version,
                sa.and_(
                    _version.c.report_id == _report.c.id, _version.c.version == _report.c.current_version
                ),
            )
            .join(_period, _period.c.id == _report.c.period_id)
        )
        .where(
            _report.c.status == ReportStatus.SUBMITTED.value,
            _version.c.submitted_at >= lo,
            _version.c.submitted_at < hi,
        )
    )
    for report_id, _pid, code, name, office_id, approver_id, submitted_at, fy, quarter in conn.execute(
        statement
    ).all():
        u = org.unit_of.get(office_id)
        if u not in wanted:
            continue
        local = submitted_at.astimezone(tz).date()
        hit = wanted[u].get(local)
        if hit is None:
            continue
        kind, n = hit
        subject = f"{fy}Q{quarter}"
        if kind is ItemKind.APPROVAL_PENDING:
            if approver_id is None:
                continue
            approver = acting.get(approver_id, approver_id)
            acc.bucket(("p", approver), kind, "approvals", None, None, n).add(
                report_id, Line(code, name, subject), acc.cap
            )
        else:
            approver = acting.get(approver_id, approver_id) if approver_id is not None else None
            who_name = people[approver].full_name if approver in people else None
            line = Line(code, name, text.approval_line_detail(org.label(office_id), who_name))
            area = org.units[u].area_id  # type: ignore[index]
            acc.bucket(("a", area), kind, "approvals", None, None, n).add(report_id, line, acc.cap)


def _draft_rules(conn: Connection, day: date, tz: ZoneInfo, org: _Org, units: list[int], acc: _Acc) -> None:
    """Drafts (and returned reports) untouched for N days since the previous tick day: one nudge each."""
    windows: dict[int, tuple[date, date, int]] = {}
    for u in units:
        r, cal = org.units[u].rules, org.units[u].calendar
        if r.drafts.enabled and r.drafts.idle_days:
            previous = cal.previous_working_day(day)
            idle = r.drafts.idle_days
            windows[u] = (previous - timedelta(days=idle), day - timedelta(days=idle), idle)
    if not windows:
        return
    lo = _local_midnight_utc(min(w[0] for w in windows.values()) + timedelta(days=1), tz)
    hi = _local_midnight_utc(max(w[1] for w in windows.values()) + timedelta(days=1), tz)
    statement = (
        sa.select(
            _owner.c.person_id,
            _report.c.id,
            _report.c.updated_at,
            _project.c.code,
            _project.c.name,
            _project.c.office_id,
            _period.c.fiscal_year,
            _period.c.quarter,
        )
        .select_from(
            _report.join(_project, _project.c.id == _report.c.project_id)
            .join(_owner, _owner.c.project_id == _project.c.id)
            .join(_period, _period.c.id == _report.c.period_id)
        )
        .where(_report.c.status.in_(_NOT_SUBMITTED), _report.c.updated_at >= lo, _report.c.updated_at < hi)
    )
    for person_id, report_id, updated_at, code, name, office_id, fy, quarter in conn.execute(statement).all():
        window = windows.get(org.unit_of.get(office_id, -1))
        if window is None:
            continue
        local = updated_at.astimezone(tz).date()
        after, until, idle = window
        if after < local <= until:
            acc.bucket(("p", person_id), ItemKind.DRAFT_IDLE, "drafts", None, None, idle).add(
                report_id, Line(code, name, text.draft_detail(quarter, fy)), acc.cap
            )


def _step_items(day: date, unit: _Unit, steps: Sequence[ProcessStep], acc: _Acc, area_id: int) -> None:
    cal, r = unit.calendar, unit.rules.process_steps
    previous = cal.previous_working_day(day)
    if r.announce_open:
        opening: list[StepWindow] = []
        d = previous + timedelta(days=1)
        while d <= day:
            opening.extend(windows_opening_on(d, steps))
            d += timedelta(days=1)
        if opening:
            lines = tuple(_step_line(w) for w in opening)
            subject = ",".join(f"{w.step.id}@{w.fiscal_year}" for w in opening)[:100]
            acc.ready[("a", area_id)].append(
                Item(ItemKind.STEP_OPEN, subject, on=day, total=len(lines), lines=lines)
            )
    n = r.nudge_working_days_before_close
    if n:
        closing = [
            w
            for w in windows_closing_within(day, n * 3 + 14, steps)
            if cal.add_working_days(w.end, -n) == day and w.start < day
        ]
        if closing:
            lines = tuple(_step_line(w) for w in closing)
            subject = ",".join(f"{w.step.id}@{w.fiscal_year}" for w in closing)[:100]
            acc.ready[("a", area_id)].append(
                Item(ItemKind.STEP_CLOSING, subject, on=day, days=n, total=len(lines), lines=lines)
            )


def _step_line(w: StepWindow) -> Line:
    return Line(w.step.id, w.step.title_th, f"{format_date(w.start)} – {format_date(w.end)}")


def _first_working_day_of_week(day: date, unit: _Unit) -> bool:
    week_start = day - timedelta(days=(day.weekday() - unit.rules.digest.weekday) % 7)
    return unit.calendar.previous_working_day(day) < week_start <= day


def _digest_items(
    conn: Connection,
    day: date,
    tz: ZoneInfo,
    org: _Org,
    unit: _Unit,
    periods: list[_Period],
    acc: _Acc,
    area_id: int,
    people: Mapping[int, PersonRow],
) -> None:
    """The weekly digest: the latest ended quarter's reports by office, and what could not be delivered."""
    # The latest quarter that has ended (its reports are the ones being chased), else the current one.
    ended = [p for p in periods if p.ends_on < day] or [p for p in periods if p.starts_on <= day]
    who: Key = ("a", area_id)
    if ended:
        period = ended[-1]
        due = _due_date(period.ends_on, unit.rules, unit.calendar)
        statement = (
            sa.select(_project.c.office_id, _report.c.status, sa.func.count())
            .select_from(
                _project.outerjoin(
                    _report, sa.and_(_report.c.project_id == _project.c.id, _report.c.period_id == period.id)
                )
            )
            .where(_project.c.fiscal_year == period.fiscal_year, _project.c.status == "active")
            .group_by(_project.c.office_id, _report.c.status)
        )
        per_office: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        past_due = day > due
        for office_id, status, count in conn.execute(statement):
            if org.area.get(office_id) != area_id:
                continue
            bucket = per_office[office_id]
            if status in (ReportStatus.SUBMITTED.value, ReportStatus.APPROVED.value):
                bucket[status] += count
            else:
                if status == ReportStatus.RETURNED.value:
                    bucket["returned"] += count
                bucket["late" if past_due else "open"] += count
        totals: dict[str, int] = defaultdict(int)
        for counts in per_office.values():
            for key, value in counts.items():
                totals[key] += value
        ranked = sorted(per_office.items(), key=lambda kv: (-kv[1].get("late", 0), org.code.get(kv[0], "")))
        lines = tuple(
            Line(
                org.code.get(office_id, ""),
                org.label(office_id),
                text.digest_office_detail(c, past_due),
            )
            for office_id, c in ranked[: acc.cap]
        )
        figures = text.digest_figures(totals, past_due)
        acc.ready[who].append(
            Item(ItemKind.DIGEST, period.subject, period.fq, due, 0, len(per_office), lines, figures)
        )
    # What could not be delivered in the past week: failed outbox rows and unreachable people.
    since, until = _local_midnight_utc(day - timedelta(days=7), tz), _local_midnight_utc(day, tz)
    failed = conn.execute(
        sa.select(_outbox.c.person_ids, _outbox.c.recipients, _outbox.c.last_error)
        .where(
            _outbox.c.status == OutboxStatus.FAILED.value,
            _outbox.c.created_at >= since,
            _outbox.c.created_at < until,
        )
        .order_by(_outbox.c.id)
    ).all()
    lines_out: list[Line] = []
    total = 0
    for person_ids, recipients, error in failed:
        names = [
            people[p]
            for p in (person_ids or [])
            if p in people and org.area.get(people[p].office_id) == area_id
        ]
        if person_ids and not names:
            continue
        total += max(1, len(names))
        reason = text.not_delivered(error)
        for person in names or [None]:
            if len(lines_out) < acc.cap:
                label = person.full_name if person else ", ".join(recipients or [])[:40]
                lines_out.append(Line(person.code if person else "", label, reason))
    runs = conn.execute(
        sa.select(_run.c.summary).where(_run.c.run_on >= day - timedelta(days=7), _run.c.run_on < day)
    ).all()
    unreachable: set[int] = set()
    for (summary,) in runs:
        unreachable.update(int(p) for p in (summary or {}).get("unreachable", {}).get(str(area_id), []))
    for person_id in sorted(unreachable):
        person = people.get(person_id)
        if person is None:
            continue
        total += 1
        if len(lines_out) < acc.cap:
            why = text.unreachable_reason(person.reachability == Reachability.BLOCKED.value)
            lines_out.append(Line(person.code, person.full_name, why))
    if total:
        acc.ready[who].append(Item(ItemKind.UNDELIVERED, "week", None, day, 0, total, tuple(lines_out)))


def _summarise_personal(
    by_key: dict[Key, list[Item]], people: Mapping[int, PersonRow], org: _Org, cap: int
) -> None:
    """Digest-only mode: personal items become one summary per planning group."""
    per_area: dict[int, dict[ItemKind, list[tuple[PersonRow, int]]]] = defaultdict(lambda: defaultdict(list))
    for who in [k for k in by_key if k[0] == "p"]:
        items = by_key[who]
        keep = [i for i in items if i.kind not in PERSONAL_KINDS]
        person = people.get(who[1])
        if person is not None:
            area = org.area.get(person.office_id)
            if area is not None:
                for item in items:
                    if item.kind in PERSONAL_KINDS:
                        per_area[area][item.kind].append((person, item.total))
        if keep:
            by_key[who] = keep
        else:
            del by_key[who]
    for area, kinds in per_area.items():
        figures = tuple(
            (text.SUMMARY_LABELS[k], sum(n for _p, n in rows))
            for k, rows in sorted(kinds.items(), key=lambda kv: kv[0].rank)
        )
        everyone = sorted(
            {p.id: p for rows in kinds.values() for p, _n in rows}.values(), key=lambda p: p.code
        )
        lines = tuple(Line(p.code, p.full_name) for p in everyone[:cap])
        by_key[("a", area)].append(
            Item(ItemKind.REMINDER_SUMMARY, "budget", None, None, 0, len(everyone), lines, figures)
        )


def _planning_targets(
    conn: Connection, people: Mapping[int, PersonRow], org: _Org
) -> tuple[dict[int, str], dict[int, list[int]]]:
    """Per area: its bound planning LINE group (preferred), and its planners."""
    chats: dict[int, str] = {}
    for chat_id, office_id in conn.execute(
        sa.select(_binding.c.chat_id, _binding.c.office_id)
        .where(_binding.c.active.is_(True))
        .order_by(_binding.c.id)
    ):
        area = org.area.get(office_id)
        if area is not None and area not in chats:
            chats[area] = chat_id
    planners: dict[int, list[int]] = defaultdict(list)
    for person in people.values():
        if "planner" in person.roles.split(","):
            area = org.area.get(person.office_id)
            if area is not None:
                planners[area].append(person.id)
    return chats, planners


def _resolve(
    conn: Connection, plan: Plan, by_key: Mapping[Key, list[Item]], people: Mapping[int, PersonRow], org: _Org
) -> None:
    """Turn (person | area) → items into recipients: areas to their group chat or each planner."""
    chats, planners = _planning_targets(conn, people, org)
    plan.planning_chats, plan.planners = chats, dict(planners)
    plan.area_names = {area: org.label(area) for area in set(org.area.values())}
    plan.area_of = dict(org.area)
    personal: dict[int, list[Item]] = defaultdict(list)
    for (kind, ident), items in by_key.items():
        if kind == "p":
            personal[ident].extend(items)
        elif ident in chats:
            ordered = tuple(sorted(items, key=_order))
            plan.recipients.append(
                Recipient(
                    f"g{chats[ident]}", chats[ident], text.group_label(org.label(ident)), ordered, (), ident
                )
            )
        else:
            for person_id in planners.get(ident, []):
                personal[person_id].extend(items)
    for person_id in sorted(personal):
        items = tuple(sorted(personal[person_id], key=_order))
        person = people.get(person_id)
        if person is None:
            continue
        area = org.area.get(person.office_id)
        if not person.reachable:
            plan.unreachable[person_id] = items
            plan.unreachable_area[person_id] = area
            continue
        plan.recipients.append(
            Recipient(
                f"p{person_id}",
                person.line_user_id or "",
                f"{person.code} {person.full_name}",
                items,
                (person_id,),
                area,
            )
        )


def _order(item: Item) -> tuple[int, str]:
    return (item.kind.rank, item.subject)


def unreachable_by_area(plan: Plan) -> dict[str, list[int]]:
    """For the tick's summary: unreachable people who had items, by area id (string keys for JSON)."""
    result: dict[str, list[int]] = defaultdict(list)
    for person_id in plan.unreachable:
        result[str(plan.unreachable_area.get(person_id))].append(person_id)
    return dict(result)
