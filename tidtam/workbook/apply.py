"""Writing an ``ImportPlan`` inside the caller's transaction: bulk inserts (``bulk``: Core executemany
on SQLite, COPY on PostgreSQL) and Core executemany updates. New rows' ids are learned per table so
children can refer to them.

Offices and strategies refer to their own table: new rows are inserted parents first, one tree level
per batch. A project's owner and strategy links are part of the project: when they change, the
project's links are replaced (the only deletes an import makes; rows of the sheets are never deleted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scheduler.fiscal import FiscalQuarter, fiscal_year_bounds
from tidtam.workbook import bulk
from tidtam.workbook.existing import (
    FISCAL_YEAR,
    INDICATOR,
    OFFICE,
    PERSON,
    PROJECT,
    PROJECT_OWNER,
    PROJECT_STRATEGY,
    REPORTING_PERIOD,
    STRATEGY,
    Existing,
)
from tidtam.workbook.plan import ImportPlan
from tidtam.workbook.records import IndicatorRow, PersonRow, ProjectRow

REPORT_DUE_DAYS_AFTER_QUARTER = 10


def _insert(conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    bulk.insert(conn, table, rows)


def _insert_returning_ids(
    conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]]
) -> dict[str, int]:
    return bulk.insert_with_ids(conn, table, rows)


def _update(conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    columns = None
    for batch in bulk.chunks(rows):
        if columns is None:
            columns = {k: sa.bindparam(k) for k in batch[0] if k != "row_id"}
            statement = table.update().where(table.c.id == sa.bindparam("row_id")).values(columns)
        conn.execute(statement, batch)


def _by_depth(records: list[Any], parent_of: Callable[[Any], str | None]) -> list[list[Any]]:
    """New tree nodes grouped so each group's parents are stored or in an earlier group."""
    new = {r.code: r for r in records}
    depth: dict[str, int] = {}

    def depth_of(code: str) -> int:
        if code not in depth:
            chain = [code]
            while (parent := parent_of(new[chain[-1]])) in new and parent not in depth:
                chain.append(parent)
            base = depth[parent] + 1 if parent in new else 0
            for offset, node in enumerate(reversed(chain)):
                depth[node] = base + offset
        return depth[code]

    levels: dict[int, list[Any]] = {}
    for record in records:
        levels.setdefault(depth_of(record.code), []).append(record)
    return [levels[d] for d in sorted(levels)]


def apply_plan(conn: Connection, plan: ImportPlan, existing: Existing, now: datetime) -> None:
    """Write everything in ``plan``; the caller owns the transaction."""
    _write_fiscal_years(conn, plan)
    office_ids = {code: id_ for code, (id_, _) in existing.offices.items()}
    person_ids = {code: id_ for code, (id_, _) in existing.people.items()}
    strategy_ids = {code: id_ for code, (id_, _) in existing.strategies.items()}
    project_ids = {code: found[0] for code, found in existing.projects.items()}

    offices = plan.sheets["offices"]
    for level in _by_depth(offices.create, lambda r: r.parent_code):
        office_ids.update(
            _insert_returning_ids(
                conn,
                OFFICE,
                (
                    {
                        "code": r.code,
                        "name": r.name,
                        "kind": r.kind,
                        "parent_id": office_ids.get(r.parent_code),
                        "settings": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for r in level
                ),
            )
        )
    _update(
        conn,
        OFFICE,
        (
            {
                "row_id": id_,
                "name": r.name,
                "kind": r.kind,
                "parent_id": office_ids.get(r.parent_code),
                "updated_at": now,
            }
            for id_, r in offices.update
        ),
    )

    people = plan.sheets["people"]
    person_ids.update(
        _insert_returning_ids(conn, PERSON, (_person(r, office_ids, now) for r in people.create))
    )
    _update(
        conn, PERSON, ({"row_id": id_, **_person(r, office_ids, now, new=False)} for id_, r in people.update)
    )

    strategies = plan.sheets["strategies"]
    for level in _by_depth(strategies.create, lambda r: r.parent_code):
        strategy_ids.update(
            _insert_returning_ids(
                conn,
                STRATEGY,
                (
                    {
                        "code": r.code,
                        "level": r.level,
                        "title": r.title,
                        "parent_id": strategy_ids.get(r.parent_code),
                    }
                    for r in level
                ),
            )
        )
    _update(
        conn,
        STRATEGY,
        (
            {"row_id": id_, "level": r.level, "title": r.title, "parent_id": strategy_ids.get(r.parent_code)}
            for id_, r in strategies.update
        ),
    )

    projects = plan.sheets["projects"]
    ids = (office_ids, person_ids)
    project_ids.update(
        _insert_returning_ids(conn, PROJECT, (_project(r, *ids, now) for r in projects.create))
    )
    _update(
        conn, PROJECT, ({"row_id": id_, **_project(r, *ids, now, new=False)} for id_, r in projects.update)
    )
    _write_links(conn, projects.create, projects.update, existing, project_ids, person_ids, strategy_ids)

    indicators = plan.sheets["indicators"]
    _insert(conn, INDICATOR, (_indicator(r, project_ids) for r in indicators.create))
    _update(
        conn,
        INDICATOR,
        ({"row_id": id_, **_indicator(r, project_ids, new=False)} for id_, r in indicators.update),
    )


def _person(r: PersonRow, office_ids: dict[str, int], now: datetime, new: bool = True) -> dict[str, Any]:
    row = {
        "full_name": r.full_name,
        "position": r.position,
        "office_id": office_ids[r.office_code],
        "roles": r.roles,
        "updated_at": now,
    }
    if new:
        row.update(code=r.code, reachability="unlinked", active=True, created_at=now)
    return row


def _project(
    r: ProjectRow, office_ids: dict[str, int], person_ids: dict[str, int], now: datetime, new: bool = True
) -> dict[str, Any]:
    row = {
        "fiscal_year": r.fiscal_year,
        "name": r.name,
        "office_id": office_ids[r.office_code],
        "approver_id": person_ids[r.approver_code] if r.approver_code else None,
        "budget_satang": r.budget_satang,
        "starts_on": r.starts_on,
        "ends_on": r.ends_on,
        "emenscr_id": r.emenscr_id,
        "updated_at": now,
    }
    if new:
        row.update(code=r.code, status="active", created_at=now)
    return row


def _indicator(r: IndicatorRow, project_ids: dict[str, int], new: bool = True) -> dict[str, Any]:
    row = {"name": r.name, "unit": r.unit, "target": r.target, "kind": r.kind, "position": r.position}
    if new:
        row.update(project_id=project_ids[r.project_code], code=r.code)
    return row


def _write_links(
    conn: Connection,
    created: list[ProjectRow],
    updated: list[tuple[int, ProjectRow]],
    existing: Existing,
    project_ids: dict[str, int],
    person_ids: dict[str, int],
    strategy_ids: dict[str, int],
) -> None:
    """Owners and strategy links of new projects, and of updated projects whose links changed."""
    owners_changed = [r for _, r in updated if existing.projects[r.code][2] != hash(r.owner_codes)]
    links_changed = [
        r for _, r in updated if existing.projects[r.code][3] != hash(frozenset(r.strategy_codes))
    ]
    for table, changed in ((PROJECT_OWNER, owners_changed), (PROJECT_STRATEGY, links_changed)):
        for batch in bulk.chunks({"pid": project_ids[r.code]} for r in changed):
            conn.execute(table.delete().where(table.c.project_id.in_([b["pid"] for b in batch])))
    _insert(
        conn,
        PROJECT_OWNER,
        (
            {"project_id": project_ids[r.code], "person_id": person_ids[code], "position": position}
            for r in [*created, *owners_changed]
            for position, code in enumerate(r.owner_codes)
        ),
    )
    _insert(
        conn,
        PROJECT_STRATEGY,
        (
            {"project_id": project_ids[r.code], "strategy_id": strategy_ids[code]}
            for r in [*created, *links_changed]
            for code in r.strategy_codes
        ),
    )


def _write_fiscal_years(conn: Connection, plan: ImportPlan) -> None:
    years = [
        {"year": y, "starts_on": fiscal_year_bounds(y)[0], "ends_on": fiscal_year_bounds(y)[1]}
        for y in plan.fiscal_years
    ]
    _insert(conn, FISCAL_YEAR, years)
    periods = []
    for fy, quarter in plan.periods:
        q = FiscalQuarter(fy, quarter)
        periods.append(
            {
                "fiscal_year": fy,
                "quarter": quarter,
                "starts_on": q.start,
                "ends_on": q.end,
                "due_on": q.end + timedelta(days=REPORT_DUE_DAYS_AFTER_QUARTER),
            }
        )
    _insert(conn, REPORTING_PERIOD, periods)
