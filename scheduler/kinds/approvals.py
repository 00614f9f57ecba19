"""Reports waiting for their approver (``[approvals]``): a reminder in the approver's daily message
after N working days, an escalation to the planning group after M."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from messages import scheduler_text as text
from messages.reminders import ItemKind, Line
from models.types import ReportStatus
from scheduler.kinds.base import (
    Day,
    PersonRow,
    RuleKind,
    _Acc,
    _local_midnight_utc,
    _Org,
    _period,
    _project,
    _report,
    _version,
)
from scheduler.workdays import WorkCalendar


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
        .order_by(_report.c.id)  # a stable order of lines on PostgreSQL too (see the report rules)
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


def select(d: Day) -> None:
    _approval_rules(d.conn, d.day, d.tz, d.org, d.units, d.acc, d.acting, d.people)


KIND = RuleKind(
    "approvals",
    personal=frozenset({ItemKind.APPROVAL_PENDING}),
    planning=frozenset({ItemKind.APPROVAL_ESCALATION}),
    select=select,
)
