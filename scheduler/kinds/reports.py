"""Reports due: reminders before the due date and on it (``[reminders]``), the overdue notice in the
approver's daily message (and the reporter's, with ``[overdue] notify_reporter``), and the late
escalation to the planning group by office (``[overdue] escalate_after_working_days``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from messages.reminders import ItemKind, Line
from scheduler.kinds.base import (
    _NOT_SUBMITTED,
    Day,
    Key,
    RuleKind,
    _Acc,
    _Bucket,
    _due_date,
    _Org,
    _owner,
    _Period,
    _project,
    _report,
    driver_rows,
)


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
            # The order SQLite's plan gives anyway (no sort there); a hash join on an analyzed
            # PostgreSQL database would otherwise list a person's projects in a different order, or
            # past the cap different ones, from one run to the next.
            .order_by(_project.c.id, _owner.c.person_id)
        )
        subject, fq = period.subject, period.fq
        actions_of = _actions(org, {u: events for (u, pid), events in fired.items() if pid == period_id})
        cap = acc.cap
        for person_id, project_id, code, name, office_id, approver_id in driver_rows(conn, statement):
            actions = actions_of.get(office_id)
            if actions is None:
                continue
            line = Line(code, name)
            for to, kind, days, due, found, area in actions:
                if to is _REPORTER:
                    if person_id is None:
                        continue
                    who = person_id
                elif to is _APPROVER:
                    if approver_id is None:
                        continue
                    who = acting.get(approver_id, approver_id)
                else:
                    acc.office_bucket(area, kind, subject, fq, due, days).add(project_id, office_id, code)
                    continue
                bucket = found.get(who)
                if bucket is None:
                    bucket = found[who] = acc.bucket(("p", who), kind, subject, fq, due, days)
                bucket.add(project_id, line, cap)


_REPORTER, _APPROVER, _OFFICE = "reporter", "approver", "office"

# What one row of the report select adds, for one event: to whom (the project's owner, its approver
# or whoever acts for them, the area's planning group), the item's kind, working days, due date, the
# buckets already found (person id → bucket) and the area's key.
_Action = tuple[str, ItemKind, int, date, dict[int, _Bucket], Key]


def _actions(
    org: _Org, events_of: Mapping[int, list[tuple[ItemKind, int, date]]]
) -> dict[int, list[_Action]]:
    """Office id → what each of its rows adds, in the order of the events that fired for its unit
    (the buckets are then made in the order one pass over the events per row made them): worked out
    once per unit, not per row, since the report loop runs once per project owner of the office."""
    per_unit: dict[int, list[_Action]] = {}
    for u, events in events_of.items():
        notify, area = org.units[u].rules.overdue.notify_reporter, ("a", org.units[u].area_id)
        actions: list[_Action] = []
        for kind, days, due in events:
            if kind is ItemKind.REPORT_DUE or (kind is ItemKind.REPORT_OVERDUE and notify):
                actions.append((_REPORTER, kind, days, due, {}, area))
            if kind is ItemKind.REPORT_OVERDUE:
                actions.append((_APPROVER, ItemKind.APPROVER_OVERDUE, days, due, {}, area))
            elif kind is not ItemKind.REPORT_DUE:
                actions.append((_OFFICE, kind, days, due, {}, area))
        per_unit[u] = actions
    return {office_id: per_unit[u] for office_id, u in org.unit_of.items() if u in per_unit}


def select(d: Day) -> None:
    _report_rules(d.conn, d.day, d.org, d.units, d.periods, d.acc, d.acting)


KIND = RuleKind(
    "report_due",
    personal=frozenset({ItemKind.REPORT_DUE, ItemKind.REPORT_OVERDUE, ItemKind.APPROVER_OVERDUE}),
    planning=frozenset({ItemKind.LATE_ESCALATION}),
    select=select,
)
