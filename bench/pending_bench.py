"""What a director's `รออนุมัติ` costs the database: `pending_for` against the rule applied to every
submitted report (what it did before it narrowed to the reports the person could decide).

    .venv/bin/python bench/pending_bench.py --schools 60 600

A generated office (SQLite in a scratch folder) with every project's report submitted; prints, per
size, the SQL statements and the time of both ways for the first project's director, after checking
that both list the same reports.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from answer_bench import seed  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402


def measure(schools: int) -> str:
    from models import Person, Project
    from models.approvals import pending_for, pending_reports
    from models.db import make_engine
    from models.plan import ProjectOwner, ReportingPeriod
    from models.reporting import submit_report
    from scheduler.clock import SystemClock, local_today
    from tidtam import migrate
    from tidtam.settings import Settings

    url = f"sqlite:///{tempfile.mkdtemp(prefix='pending-bench-')}/office.sqlite3"
    migrate.upgrade(url)
    seed(url, schools)
    engine = make_engine(url)
    now = datetime.now(UTC)
    on = local_today(SystemClock(), Settings(_env_file=None).tz)  # type: ignore[call-arg]
    with Session(engine) as s:
        period = s.exec(select(ReportingPeriod).order_by(col(ReportingPeriod.starts_on))).first()
        assert period is not None
        owners = {o.project_id: o.person_id for o in s.exec(select(ProjectOwner))}
        projects = [p for p in s.exec(select(Project).order_by(col(Project.id))) if p.id in owners]
        for p in projects:
            answers = {"project": str(p.id), "period": str(period.id), "status": "in_progress",
                       "progress": "50", "budget": 1000, "indicators": {}, "activities": "-"}  # fmt: skip
            submit_report(s, owners[p.id or 0], answers, now)
        s.commit()
        director = s.get(Person, projects[0].approver_id)
        assert director is not None
        statements = [0]

        def count(*_args: object) -> None:
            statements[0] += 1

        sa.event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        every = [p for p in pending_reports(s, on) if any(a.id == director.id for a in p.approvers)]
        every_ms, every_sql = (time.perf_counter() - started) * 1000, statements[0]
        statements[0] = 0
        started = time.perf_counter()
        narrowed = pending_for(s, director, on)
        narrowed_ms, narrowed_sql = (time.perf_counter() - started) * 1000, statements[0]
        assert {p.report.id for p in every} == {p.report.id for p in narrowed}
    engine.dispose()
    return (
        f"{schools:>6} schools {len(projects):>7} submitted  director's {len(narrowed):>3}   "
        f"every report: {every_sql:>7} statements {every_ms:>8.0f} ms   "
        f"pending_for: {narrowed_sql:>3} statements {narrowed_ms:>5.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, nargs="+", default=[60, 600])
    args = parser.parse_args()
    for schools in args.schools:
        print(measure(schools), flush=True)


if __name__ == "__main__":
    main()
