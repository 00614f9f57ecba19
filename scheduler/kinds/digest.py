"""The planning group's weekly digest (``[digest]``): the latest ended quarter's reports by office,
and what could not be delivered in the past week."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from messages import scheduler_text as text
from messages.reminders import Item, ItemKind, Line
from models.types import OutboxStatus, Reachability, ReportStatus
from scheduler.kinds.base import (
    Day,
    Key,
    PersonRow,
    RuleKind,
    _Acc,
    _due_date,
    _local_midnight_utc,
    _Org,
    _outbox,
    _Period,
    _project,
    _report,
    _run,
    _Unit,
)


def first_working_day_of_week(day: date, unit: _Unit) -> bool:
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


def select(d: Day) -> None:
    for area_id, unit in d.area_units():
        if unit.rules.digest.enabled and first_working_day_of_week(d.day, unit):
            _digest_items(d.conn, d.day, d.tz, d.org, unit, d.periods, d.acc, area_id, d.people)


KIND = RuleKind(
    "digest", personal=frozenset(), planning=frozenset({ItemKind.DIGEST, ItemKind.UNDELIVERED}), select=select
)
