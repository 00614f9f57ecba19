"""Reports nobody can approve (issue 16), listed in the weekly digest's message to the planning
group, found by the query the dashboard uses (``models.approvals.stuck_reports``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy.engine import Connection

from messages import scheduler_text as text
from messages.reminders import Item, ItemKind, Line
from scheduler.kinds.base import (
    Day,
    RuleKind,
    _Org,
)
from scheduler.kinds.digest import first_working_day_of_week


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


def select(d: Day) -> None:
    stuck: dict[int, list[Line]] | None = None
    for area_id, unit in d.area_units():
        if not (unit.rules.digest.enabled and first_working_day_of_week(d.day, unit)):
            continue
        if stuck is None:
            stuck = _stuck(d.conn, d.day, d.org)
        lines = stuck.get(area_id)
        if lines:
            item = Item(
                ItemKind.STUCK_REPORTS, "stuck", None, d.day, 0, len(lines), tuple(lines[: d.acc.cap])
            )
            d.acc.ready[("a", area_id)].append(item)


KIND = RuleKind("stuck", personal=frozenset(), planning=frozenset({ItemKind.STUCK_REPORTS}), select=select)
