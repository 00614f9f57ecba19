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
        # What fires for each unit on this period, and per unit whether reporters hear of overdue
        # reports, looked up once per unit, not per row; buckets are found and filled inline (this
        # loop runs once per project owner of the office).
        events_of = {u: events for (u, pid), events in fired.items() if pid == period_id}
        notify = {u: org.units[u].rules.overdue.notify_reporter for u in events_of}
        unit_of, buckets, cap = org.unit_of, acc.buckets, acc.cap
        for person_id, project_id, code, name, office_id, approver_id in driver_rows(conn, statement):
            events = events_of.get(unit_of.get(office_id))  # type: ignore[arg-type]
            if not events:
                continue
            u = unit_of[office_id]
            line = Line(code, name)
            for kind, days, due in events:
                if kind is ItemKind.REPORT_DUE or kind is ItemKind.REPORT_OVERDUE:
                    if person_id is not None and (kind is ItemKind.REPORT_DUE or notify[u]):
                        key = (("p", person_id), kind, subject)
                        bucket = buckets.get(key)
                        if bucket is None:
                            bucket = buckets[key] = _Bucket(fq, due, days)
                        bucket.add(project_id, line, cap)
                    if kind is ItemKind.REPORT_OVERDUE and approver_id is not None:
                        approver = acting.get(approver_id, approver_id)
                        acc.bucket(("p", approver), ItemKind.APPROVER_OVERDUE, subject, fq, due, days).add(
                            project_id, line, cap
                        )
                else:
                    who = ("a", org.units[u].area_id)
                    acc.office_bucket(who, kind, subject, fq, due, days).add(project_id, office_id, code)


def select(d: Day) -> None:
    _report_rules(d.conn, d.day, d.org, d.units, d.periods, d.acc, d.acting)


KIND = RuleKind(
    "report_due",
    personal=frozenset({ItemKind.REPORT_DUE, ItemKind.REPORT_OVERDUE, ItemKind.APPROVER_OVERDUE}),
    planning=frozenset({ItemKind.LATE_ESCALATION}),
    select=select,
)
