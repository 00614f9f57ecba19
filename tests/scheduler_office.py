"""A compact bulk generator of an area office for the scheduler's simulation and benchmark.

One area office with a planning group (two planners), N schools with a director and a few teachers
each, P projects per school (approver: the school's director; owner: a teacher, every fifth project a
second one), the fiscal year's four reporting periods, and optionally report states. Rows go in with
explicit ids: executemany on SQLite, COPY on PostgreSQL (then the sequences are moved past them), so
30,000 schools load in well under a minute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models import (
    FiscalYear,
    Office,
    Person,
    ProgressReport,
    Project,
    ProjectOwner,
    ReportingPeriod,
    ReportVersion,
)
from scheduler.fiscal import fiscal_year_bounds, quarters_of

CHUNK = 5_000
# (status, submitted_at, updated_at) of a project's report for a period, or None for no report.
ReportSpec = tuple[str, datetime | None, datetime] | None


@dataclass
class Generated:
    area_id: int
    planning_id: int
    school_ids: list[int]
    planner_ids: list[int]
    director_of: dict[int, int]  # school id → director person id
    teachers_of: dict[int, list[int]]  # school id → teacher person ids
    projects: int
    period_ids: dict[int, int]  # quarter → period id
    fiscal_year: int
    owners_of: dict[int, list[int]]  # project id → owner person ids (only when keep_owners)
    project_school: dict[int, int]  # project id → school id (only when keep_owners)


def line_user_id(person_id: int) -> str:
    """A valid LINE user id for a generated person (U + 32 hex digits)."""
    return f"U{person_id:032x}"


def _chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _insert(conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    if conn.dialect.name != "postgresql":
        for batch in _chunks(rows):
            conn.execute(table.insert(), batch)
        return
    from psycopg.types.json import Json

    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    columns: list[str] | None = None
    copy_cm = None
    copy = None
    for row in rows:
        if columns is None:
            columns = list(row)
            names = ", ".join(f'"{c}"' for c in columns)
            copy_cm = cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN')
            copy = copy_cm.__enter__()
        json_cols = {c for c in columns if isinstance(table.c[c].type, sa.JSON)}
        copy.write_row([Json(row[c]) if c in json_cols else row[c] for c in columns])  # type: ignore[union-attr]
    if copy_cm is not None:
        copy_cm.__exit__(None, None, None)


def _fix_sequences(conn: Connection, tables: Iterable[sa.Table]) -> None:
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{table.name}"), false)'
            )
        )


def _next_id(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()) + 1


def generate_office(
    engine: Engine,
    *,
    schools: int,
    fiscal_year: int = 2570,
    projects_per_school: int = 10,
    teachers_per_school: int = 4,
    linked: Callable[[int], bool] = lambda _pid: True,
    reports: dict[int, Callable[[int], ReportSpec]] | None = None,
    keep_owners: bool = False,
    now: datetime | None = None,
) -> Generated:
    """Generate the office; ``reports`` maps a quarter to a function of the project's index (0-based)
    giving its report state for that quarter. ``linked(person_id)`` says who has linked LINE."""
    now = now or datetime(2026, 9, 1, tzinfo=UTC)
    t: dict[str, sa.Table] = {
        m.__tablename__: m.__table__  # type: ignore[attr-defined]
        for m in (
            Office,
            Person,
            Project,
            ProjectOwner,
            ReportingPeriod,
            ProgressReport,
            ReportVersion,
            FiscalYear,
        )
    }
    office_t, person_t, project_t = t["office"], t["person"], t["project"]
    with engine.begin() as conn:
        office_id = _next_id(conn, office_t)
        person_id = _next_id(conn, person_t)
        project_id = _next_id(conn, project_t)
        report_id = _next_id(conn, t["progress_report"])
        version_id = _next_id(conn, t["report_version"])
        stamp = {"created_at": now, "updated_at": now}
        area_id, planning_id = office_id, office_id + 1
        school_ids = list(range(office_id + 2, office_id + 2 + schools))
        offices = [
            {
                "id": area_id,
                "code": "AREA",
                "name": "สพม.จำลอง",
                "kind": "area_office",
                "parent_id": None,
                "settings": {},
                **stamp,
            },
            {
                "id": planning_id,
                "code": "PLAN",
                "name": "กลุ่มนโยบายและแผน",
                "kind": "group",
                "parent_id": area_id,
                "settings": {},
                **stamp,
            },
        ]
        offices += [
            {
                "id": sid,
                "code": f"S{n:05d}",
                "name": f"โรงเรียนจำลองวิทยา {n}",
                "kind": "school",
                "parent_id": area_id,
                "settings": {},
                **stamp,
            }
            for n, sid in enumerate(school_ids, start=1)
        ]
        conn.execute(office_t.insert(), offices[:2])
        _insert(conn, office_t, offices[2:])

        people: list[dict[str, Any]] = []

        def person(code: str, name: str, office: int, roles: str) -> int:
            nonlocal person_id
            pid = person_id
            person_id += 1
            link = linked(pid)
            people.append(
                {
                    "id": pid, "code": code, "full_name": name, "position": "", "office_id": office, "roles": roles,
                    "line_user_id": line_user_id(pid) if link else None,
                    "reachability": "following" if link else "unlinked",
                    "linked_at": now if link else None, "active": True, **stamp,
                }
            )  # fmt: skip
            return pid

        planners = [person(f"PL{i}", f"นางวางแผน ที่{i}", planning_id, "planner") for i in (1, 2)]
        director_of: dict[int, int] = {}
        teachers_of: dict[int, list[int]] = {}
        for n, sid in enumerate(school_ids, start=1):
            director_of[sid] = person(f"D{n:05d}", f"นายผู้อำนวยการ {n}", sid, "approver")
            teachers_of[sid] = [
                person(f"T{n:05d}-{k}", f"ครูจำลอง {n}-{k}", sid, "reporter")
                for k in range(1, teachers_per_school + 1)
            ]
        _insert(conn, person_t, people)

        start, end = fiscal_year_bounds(fiscal_year)
        conn.execute(t["fiscal_year"].insert(), [{"year": fiscal_year, "starts_on": start, "ends_on": end}])
        period_ids: dict[int, int] = {}
        for q in quarters_of(fiscal_year):
            pid = conn.execute(
                t["reporting_period"].insert().values(
                    fiscal_year=fiscal_year, quarter=q.quarter, starts_on=q.start, ends_on=q.end,
                    due_on=q.end + timedelta(days=10),
                )
            ).inserted_primary_key[0]  # fmt: skip
            period_ids[q.quarter] = int(pid)

        owners_of: dict[int, list[int]] = {}
        project_school: dict[int, int] = {}
        projects: list[dict[str, Any]] = []
        owners: list[dict[str, Any]] = []
        report_rows: list[dict[str, Any]] = []
        version_rows: list[dict[str, Any]] = []
        index = 0
        for n, sid in enumerate(school_ids, start=1):
            teachers = teachers_of[sid]
            for k in range(projects_per_school):
                pid = project_id
                project_id += 1
                projects.append(
                    {
                        "id": pid, "code": f"P{fiscal_year}-{n:05d}-{k + 1:02d}", "fiscal_year": fiscal_year,
                        "name": f"โครงการพัฒนาคุณภาพการศึกษา {n}-{k + 1}", "office_id": sid,
                        "approver_id": director_of[sid], "budget_satang": 1_000_000 * (k + 1), "starts_on": start,
                        "ends_on": end, "emenscr_id": None, "status": "active", **stamp,
                    }
                )  # fmt: skip
                who = [teachers[k % len(teachers)]]
                if k % 5 == 4 and len(teachers) > 1:
                    who.append(teachers[(k + 1) % len(teachers)])
                owners.extend({"project_id": pid, "person_id": w, "position": i} for i, w in enumerate(who))
                if keep_owners:
                    owners_of[pid] = who
                    project_school[pid] = sid
                for quarter, spec_of in (reports or {}).items():
                    spec = spec_of(index)
                    if spec is None:
                        continue
                    status, submitted_at, updated_at = spec
                    version = 1 if submitted_at is not None or status != "draft" else 0
                    report_rows.append(
                        {
                            "id": report_id, "project_id": pid, "period_id": period_ids[quarter], "status": status,
                            "current_version": version, "created_at": updated_at, "updated_at": updated_at,
                        }
                    )  # fmt: skip
                    if version:
                        version_rows.append(
                            {
                                "id": version_id, "report_id": report_id, "version": 1, "status": status,
                                "implementation_status": "in_progress", "status_reason": "", "progress_pct": 50,
                                "budget_disbursed_satang": 0, "activities": "", "problems": "", "suggestions": "",
                                "submitted_by_id": who[0], "submitted_at": submitted_at, "created_at": updated_at,
                            }
                        )  # fmt: skip
                        version_id += 1
                    report_id += 1
                index += 1
            if len(projects) >= CHUNK:
                _insert(conn, project_t, projects)
                projects = []
        _insert(conn, project_t, projects)
        _insert(conn, t["project_owner"], owners)
        _insert(conn, t["progress_report"], report_rows)
        _insert(conn, t["report_version"], version_rows)
        _fix_sequences(conn, [office_t, person_t, project_t, t["progress_report"], t["report_version"]])
    return Generated(
        area_id, planning_id, school_ids, planners, director_of, teachers_of, index, period_ids, fiscal_year,
        owners_of, project_school,
    )  # fmt: skip


def local_dt(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A Bangkok wall-clock time as aware UTC."""
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo("Asia/Bangkok")).astimezone(
        UTC
    )


def busy_day_reports(index: int) -> tuple[str, datetime | None, datetime] | None:
    """Q1 report states for ``generate_office(reports={1: busy_day_reports})`` that make every personal
    rule fire on 8 Jan 2570 (2027-01-08, one working day before the due date): 40 % not started,
    idle drafts, returned reports, approvals pending for two and five working days, approved ones.
    Used by ``bench/tick_bench.py`` and ``tests/test_tick_rows.py``."""
    m = index % 10
    if m < 4:
        return None
    if m == 4:
        return ("draft", None, local_dt(date(2027, 1, 5)))
    if m == 5:
        return ("returned", local_dt(date(2027, 1, 4)), local_dt(date(2027, 1, 4)))
    if m == 6:
        return ("submitted", local_dt(date(2027, 1, 6)), local_dt(date(2027, 1, 6)))
    if m == 7:
        return ("submitted", local_dt(date(2026, 12, 30)), local_dt(date(2026, 12, 30)))
    return ("approved", local_dt(date(2027, 1, 4)), local_dt(date(2027, 1, 5)))
