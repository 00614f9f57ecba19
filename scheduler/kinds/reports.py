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
    _due_date,
    _Org,
    _owner,
    _Period,
    _project,
    _report,
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


def select(d: Day) -> None:
    _report_rules(d.conn, d.day, d.org, d.units, d.periods, d.acc, d.acting)


KIND = RuleKind(
    "report_due",
    personal=frozenset({ItemKind.REPORT_DUE, ItemKind.REPORT_OVERDUE, ItemKind.APPROVER_OVERDUE}),
    planning=frozenset({ItemKind.LATE_ESCALATION}),
    select=select,
)
