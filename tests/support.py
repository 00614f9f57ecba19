"""Test helpers: run the real service on a loopback port, and seed a small office."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import (
    FiscalYear,
    Indicator,
    Office,
    Person,
    Project,
    ProjectOwner,
    ReportingPeriod,
    format_roles,
)
from models.linking import create_link_code
from models.types import IndicatorKind, OfficeKind, Role
from scheduler.fiscal import fiscal_year_bounds, fiscal_year_of, quarters_of
from tidtam.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a listening TCP socket on `port` (Linux /proc): a free port
    picked by `free_port` can be taken by another process before the service binds it, and that process
    would then answer the service's health check."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return False
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                return True
    return False


def start_serve(
    args: list[str], *, env: dict[str, str], cwd: Any, attempts: int = 3, **popen: Any
) -> tuple[subprocess.Popen[Any], int]:
    """`tidtam serve --port P *args` in a subprocess, returned once that process listens on P. If it
    exits first (another process took the port in between), it is started again on another port."""
    for _ in range(attempts):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tidtam.cli", "serve", "--port", str(port), *args],
            env=env,
            cwd=cwd,
            **popen,
        )
        deadline = time.monotonic() + 90  # bounded: a loaded machine imports slowly (10 s seen at load 7)
        while time.monotonic() < deadline and proc.poll() is None:
            if listens_on(proc.pid, port):
                return proc, port
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
            raise RuntimeError("service did not start")
        proc.communicate(timeout=10)
    raise RuntimeError(f"service exited at start {attempts} times")


def make_settings(db_url: str, fake: Any, tmp_path: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "TIDTAM_DATABASE_URL": db_url,
        "LINE_CHANNEL_SECRET": fake.channel_secret,
        "LINE_CHANNEL_ACCESS_TOKEN": fake.access_token,
        "LINE_API_BASE_URL": fake.base_url,
        "LINE_DATA_API_BASE_URL": fake.base_url,
        "TIDTAM_MEDIA_DIR": str(tmp_path / "media"),
        "TIDTAM_LINE_TIMEOUT_SECONDS": 5,
        # The scheduler runs on the system clock; e2e tests of the chat must not get real reminders.
        "TIDTAM_SCHEDULER_ENABLED": False,
        "TIDTAM_EVENT_PROCESSING": "inline",  # the harness runs the app in a thread: one process
        # Chat tests see approval cards and notices pushed at once; holding them for a free reply or
        # the next daily message (the default) has its own tests (tests/test_riders.py).
        "TIDTAM_HOLD_FOR_REPLIES": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Served:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


@contextmanager
def serving(
    settings: Settings,
    *,
    server: dict[str, Any] | None = None,
    port: int | None = None,
    extend: Any = None,
    **app_kwargs: Any,
) -> Iterator[Served]:
    """The product's FastAPI app under uvicorn in a thread, configured as `tidtam serve` configures it
    (`server` overrides some of `tidtam.http_server.server_config`'s limits; `extend(app)` adds to the
    app before it serves, as `tidtam demo` adds its simulator)."""
    from tidtam.http_server import server_config
    from tidtam.service import create_app

    port = port or free_port()
    app = create_app(settings, **app_kwargs)
    if extend is not None:
        extend(app)
    config = server_config(app, host="127.0.0.1", port=port, log_level="warning", **(server or {}))
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("service did not start")
        time.sleep(0.01)
    try:
        yield Served(f"http://127.0.0.1:{port}", uv, thread)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


@contextmanager
def running_service(settings: Settings, **app_kwargs: Any) -> Iterator[str]:
    """The product's FastAPI app under uvicorn in a thread; yields its base URL."""
    with serving(settings, **app_kwargs) as served:
        yield served.url


@dataclass
class Seeded:
    office: Office
    school: Office
    planning: Office
    teacher: Person
    director: Person
    planner: Person
    projects: list[Project]
    fiscal_year: int


def seed_office(engine: Engine, *, today: date, projects_for_teacher: int = 2) -> Seeded:
    """An area office with a planning group, one school, a teacher, a director, a planner and projects
    in the fiscal year containing `today`, with its four reporting periods."""
    now = datetime.now(UTC)  # row stamps only: the office's date is the caller's `today`
    fy = fiscal_year_of(today)
    with Session(engine, expire_on_commit=False) as s:
        area = Office(
            code="AREA", name="สพม.ทดสอบ", kind=OfficeKind.AREA_OFFICE, created_at=now, updated_at=now
        )
        s.add(area)
        s.flush()
        planning = Office(
            code="PLAN",
            name="กลุ่มนโยบายและแผน",
            kind=OfficeKind.GROUP,
            parent_id=area.id,
            created_at=now,
            updated_at=now,
        )
        school = Office(
            code="SCH1",
            name="โรงเรียนทดสอบวิทยา",
            kind=OfficeKind.SCHOOL,
            parent_id=area.id,
            created_at=now,
            updated_at=now,
        )
        s.add_all([planning, school])
        s.flush()

        def person(code: str, name: str, office: Office, roles: set[Role]) -> Person:
            p = Person(
                code=code,
                full_name=name,
                office_id=office.id or 0,
                roles=format_roles(roles),
                created_at=now,
                updated_at=now,
            )
            s.add(p)
            return p

        teacher = person("T1", "นางสาวใจดี มีสุข", school, {Role.REPORTER})
        director = person("D1", "นายผู้บริหาร ใจกว้าง", school, {Role.APPROVER})
        planner = person("PL1", "นางวางแผน รอบคอบ", planning, {Role.PLANNER, Role.ADMIN})
        start, end = fiscal_year_bounds(fy)
        s.add(FiscalYear(year=fy, starts_on=start, ends_on=end))
        s.flush()
        for q in quarters_of(fy):
            s.add(
                ReportingPeriod(
                    fiscal_year=fy,
                    quarter=q.quarter,
                    starts_on=q.start,
                    ends_on=q.end,
                    due_on=q.end + timedelta(days=10),
                )
            )
        projects = []
        for i in range(projects_for_teacher):
            project = Project(
                code=f"P{fy}-{i + 1:03d}",
                fiscal_year=fy,
                name=f"โครงการพัฒนาคุณภาพผู้เรียน {i + 1}",
                office_id=school.id or 0,
                approver_id=director.id,
                budget_satang=(i + 1) * 12_000_050,
                starts_on=start,
                ends_on=end,
                created_at=now,
                updated_at=now,
            )
            s.add(project)
            s.flush()
            s.add(ProjectOwner(project_id=project.id or 0, person_id=teacher.id or 0))
            s.add(
                Indicator(
                    project_id=project.id or 0,
                    code="K1",
                    name="จำนวนนักเรียนที่เข้าร่วม",
                    unit="คน",
                    target=100,
                    kind=IndicatorKind.OUTPUT,
                )
            )
            projects.append(project)
        s.commit()
        return Seeded(area, school, planning, teacher, director, planner, projects, fy)


def link_code_for(engine: Engine, *, person: Person | None = None, office: Office | None = None) -> str:
    with Session(engine) as s:
        code = create_link_code(s, now=datetime.now(UTC), created_by="test", person=person, office=office)
        s.commit()
    return code
