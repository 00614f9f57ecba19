"""How many pushes the rest of the month must keep for what cannot wait: the budget's reserve.

Approval requests and escalations go out within one working day whatever the month has left; so
reminders may only spend what the month's quota holds beyond them. This module forecasts that need
from the database on the tick's day, for the working days after it up to the month's end:

* **approval requests**: for each quarter whose reports are being chased (its due date within
  ``[-LEAD, +TRAIL]`` working days of a day), every report not yet submitted (or returned) is expected
  to be submitted once on one of the window's remaining working days, uniformly; an approver gets one
  push on a day when at least one of his reports came in the day before. With ``n`` reports left over
  ``w`` days, the chance that an approver is pushed on a given day is ``1 - (1 - 1/w) ** n``; the
  forecast is the sum over approvers and days. It leans high: submissions bunch (most come after
  the same reminder or the same phone round), so an approver gets fewer push days than a uniform
  spread gives (the 60-school simulation forecast 419 on 4 Jan 2027; 226 went in January).
* **the planning group**: one message on each day that can carry an escalation (after a quarter's
  due date, while its reports are chased) and on each weekly digest day, counted for every member of
  its LINE group (``[budget] planning_group_members``; LINE counts each) or for each planner pushed
  (its heads of monitoring, or every planner of an area without one: ``scheduler.tick._planning_weight``).

The forecast is an expectation, not a bound; the tick keeps ``[budget] forecast_percent`` of it.
Nothing here writes, and the clock is the ``day`` given.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import ProgressReport, Project, ReportingPeriod
from models.types import ReportStatus
from scheduler.deadlines import due_date
from scheduler.rules import Rules
from scheduler.workdays import WorkCalendar

__all__ = ["LEAD", "TRAIL", "Forecast", "urgent_forecast"]

LEAD = 6  # working days before the due date from which a quarter's reports come in
TRAIL = 15  # and after it (late reports, the chased, the returned and resubmitted)

_project: sa.Table = Project.__table__  # type: ignore[attr-defined]
_report: sa.Table = ProgressReport.__table__  # type: ignore[attr-defined]
_period: sa.Table = ReportingPeriod.__table__  # type: ignore[attr-defined]
_NOT_SUBMITTED = (ReportStatus.DRAFT.value, ReportStatus.RETURNED.value)


@dataclass(frozen=True)
class Forecast:
    """Expected pushes after ``day`` to the month's end that cannot wait."""

    approvals: float = 0.0
    planning: float = 0.0
    days: int = 0  # working days counted

    @property
    def total(self) -> float:
        return self.approvals + self.planning


def _month_end(day: date) -> date:
    first_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next - timedelta(days=1)


def _working_days(calendar: WorkCalendar, after: date, until: date) -> list[date]:
    days, d = [], after
    while True:
        d = calendar.next_working_day(d)
        if d > until:
            return days
        days.append(d)


def urgent_forecast(
    conn: Connection,
    day: date,
    rules: Rules,
    calendar: WorkCalendar,
    *,
    planning_weight: int,
    include_today: bool = False,
) -> Forecast:
    """The expected urgent pushes of the working days after ``day`` (and ``day`` itself with
    ``include_today``) up to its month's end; ``planning_weight``: what one planning-group message
    costs (its LINE group's members, or the planners pushed: its heads of monitoring, or all)."""
    start = day - timedelta(days=1) if include_today else day
    ahead = _working_days(calendar, start, _month_end(day))
    if not ahead:
        return Forecast()
    periods = conn.execute(
        sa.select(_period.c.id, _period.c.fiscal_year, _period.c.ends_on).where(
            _period.c.ends_on >= day - timedelta(days=60), _period.c.ends_on <= day + timedelta(days=40)
        )
    ).all()
    approvals = 0.0
    planning_days: set[date] = set()
    digest_weekday = rules.digest.weekday
    for d in ahead:
        week_start = d - timedelta(days=(d.weekday() - digest_weekday) % 7)
        if rules.digest.enabled and calendar.previous_working_day(d) < week_start <= d:
            planning_days.add(d)
    for period_id, fiscal_year, ends_on in periods:
        due = due_date(ends_on, rules, calendar)
        first, last = calendar.add_working_days(due, -LEAD), calendar.add_working_days(due, TRAIL)
        # Pushes go the working day after a submission: the days of the window still to come, shifted.
        open_days = _working_days(calendar, max(day, first) - timedelta(days=1), last)
        pushed_days = [d for d in ahead if first < d <= calendar.add_working_days(last, 1)]
        for d in ahead:
            if due < d <= calendar.add_working_days(last, rules.approvals.escalate_after_working_days):
                planning_days.add(d)
        if not open_days or not pushed_days:
            continue
        per_approver = _outstanding(conn, period_id, fiscal_year)
        share = 1.0 / len(open_days)
        for n in per_approver.values():
            approvals += (1.0 - (1.0 - share) ** n) * min(len(pushed_days), len(open_days))
    return Forecast(approvals, float(planning_weight * len(planning_days)), len(ahead))


def _outstanding(conn: Connection, period_id: int, fiscal_year: int) -> dict[int, int]:
    """Reports of the period not submitted yet (or returned), per approver of their project."""
    statement = (
        sa.select(_project.c.approver_id, sa.func.count())
        .select_from(
            _project.outerjoin(
                _report, sa.and_(_report.c.project_id == _project.c.id, _report.c.period_id == period_id)
            )
        )
        .where(
            _project.c.fiscal_year == fiscal_year,
            _project.c.status == "active",
            _project.c.approver_id.is_not(None),
            sa.or_(_report.c.id.is_(None), _report.c.status.in_(_NOT_SUBMITTED)),
        )
        .group_by(_project.c.approver_id)
    )
    counts: dict[int, int] = defaultdict(int)
    for approver_id, count in conn.execute(statement):
        counts[int(approver_id)] += int(count)
    return counts
