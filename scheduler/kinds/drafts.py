"""Drafts (and returned reports) left untouched (``[drafts] idle_days``): one nudge to their owner."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from messages import scheduler_text as text
from messages.reminders import ItemKind, Line
from scheduler.kinds.base import (
    _NOT_SUBMITTED,
    Day,
    RuleKind,
    _Acc,
    _local_midnight_utc,
    _Org,
    _owner,
    _period,
    _project,
    _report,
)


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
        .order_by(_report.c.id, _owner.c.person_id)  # a stable order of lines (see the report rules)
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


def select(d: Day) -> None:
    _draft_rules(d.conn, d.day, d.tz, d.org, d.units, d.acc)


KIND = RuleKind("drafts", personal=frozenset({ItemKind.DRAFT_IDLE}), planning=frozenset(), select=select)
