"""Dashboard benchmark: p50/p95 of the status page and the project list over real HTTP (the service under
uvicorn on a loopback port, a planner's session), and the time and peak memory of the quarter's export,
on PostgreSQL, for generated offices of 60, 3,000 and 30,000 schools (~10 projects each).

    .venv/bin/python bench/dashboard_bench.py                    # 60, 3,000 and 30,000 schools
    .venv/bin/python bench/dashboard_bench.py --schools 60 3000 --rounds 20

The office is tests/scheduler_office.py's generator with Q1 of FY 2570 reported in mixed states (the
tick benchmark's), two indicators per project with results, the clock at 8 Jan 2570. The export prints
its wall time, its own CPU time (the machine is shared: the wall time depends on the load average it
also prints) and its peak RSS. Each size runs in its own scratch database; the export runs
in a subprocess so its peak RSS is its own. Targets: status page p95 under 300 ms at 3,000 schools and
under 1 s at 30,000; the 30,000-school export under 60 s and 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from scratch_db import PostgresUnavailable, scratch_postgres  # noqa: E402

PG_ADMIN_URL = os.environ.get("TIDTAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2027, 1, 8, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok
PAGES = {
    "status page": "/dashboard?fy=2570&q=1",
    "status, late only": "/dashboard?fy=2570&q=1&late=1",
    "project list": "/dashboard/projects?fy=2570&q=1",
    "project list, late, page 40": "/dashboard/projects?fy=2570&q=1&late=1&page=40",
}


def _generate(url: str, schools: int) -> float:
    import sqlalchemy as sa
    from scheduler_office import generate_office
    from tick_bench import _reports  # the tick benchmark's mix of report states

    from models.db import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    generate_office(engine, schools=schools, reports={1: _reports}, linked=lambda p: p % 25 != 0)
    with engine.connect() as conn:
        # The generator makes no indicators: two per project, with a result in each reported version,
        # so the export's indicator sheet (and the project sheet's summary column) is measured too.
        conn.execute(
            sa.text(
                "INSERT INTO indicator (project_id, code, name, unit, target, kind, position) "
                "SELECT p.id, 'K' || g, 'จำนวนนักเรียนที่เข้าร่วมกิจกรรม ' || g, 'คน', 100 * g, 'output', g "
                "FROM project p CROSS JOIN generate_series(1, 2) g"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO indicator_result (version_id, indicator_id, value, note) "
                "SELECT v.id, i.id, 40 * i.position, '' FROM report_version v "
                "JOIN progress_report r ON r.id = v.report_id AND v.version = r.current_version "
                "JOIN indicator i ON i.project_id = r.project_id"
            )
        )
        conn.execute(sa.text("ANALYZE"))  # what autovacuum does after a bulk load; plans are wrong without it
        conn.commit()
    engine.dispose()
    return time.perf_counter() - started


def _session_cookie(url: str) -> str:
    from sqlmodel import Session, select

    from models.dashboard import issue_login, redeem_login
    from models.db import make_engine
    from models.org import Person

    engine = make_engine(url)
    with Session(engine) as s:
        planner = s.exec(select(Person).where(Person.roles.contains("planner"))).first()  # type: ignore[union-attr]
        assert planner is not None and planner.id is not None
        token = issue_login(s, planner.id, NOW)
        opened = redeem_login(s, token, NOW)
        s.commit()
    engine.dispose()
    return opened.token  # type: ignore[union-attr]


def _pages(url: str, rounds: int) -> dict[str, list[float]]:
    import httpx
    from support import running_service

    from scheduler.clock import FixedClock
    from tidtam.settings import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        TIDTAM_DATABASE_URL=url,
        TIDTAM_SCHEDULER_ENABLED=False,
        TIDTAM_EVENT_PROCESSING="inline",
        TIDTAM_EVENT_WORKERS=0,
    )
    cookie = _session_cookie(url)
    timings: dict[str, list[float]] = {name: [] for name in PAGES}
    with running_service(settings, clock=FixedClock(NOW)) as base:
        client = httpx.Client(base_url=base, timeout=120, cookies={"tidtam_dashboard": cookie})
        for path in PAGES.values():  # warm up: connections, template compilation, the database's caches
            assert client.get(path).status_code == 200
        for _ in range(rounds):
            for name, path in PAGES.items():
                started = time.perf_counter()
                response = client.get(path)
                timings[name].append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:200]
    return timings


def _peak_rss_mib() -> float:
    """This process's own peak RSS. Not getrusage's ru_maxrss: Linux keeps it across execve, so a child
    started from this (large) benchmark process would report the parent's peak at the fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_export(url: str) -> None:
    from sqlmodel import Session

    from dashboard.exports import export
    from dashboard.queries import choose_period
    from models.db import make_engine
    from tidtam.settings import Settings

    engine = make_engine(url)
    tz = Settings(_env_file=None).tz  # type: ignore[call-arg]
    with tempfile.TemporaryDirectory() as folder, Session(engine) as session:
        period = choose_period(session, date(2027, 1, 8), 2570, 1)
        assert period is not None
        started, cpu = time.perf_counter(), time.process_time()
        summary = export(session, period, Path(folder) / "q1.xlsx", tz=tz)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        size = (Path(folder) / "q1.xlsx").stat().st_size
    engine.dispose()
    peak = _peak_rss_mib()
    print(
        json.dumps(
            {
                "s": seconds,
                "cpu_s": cpu,
                "peak_mib": peak,
                "projects": summary.projects,
                "indicators": summary.indicators,
                "mib": size / 2**20,
            }
        )
    )


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench(schools: int, rounds: int, export: bool = True) -> None:
    with scratch_postgres(PG_ADMIN_URL, prefix="tidtam_dashboard_bench") as url:
        generated_s = _generate(url, schools)
        print(f"{schools:,} schools: generated in {generated_s:.1f} s")
        for name, values in _pages(url, rounds).items():
            print(
                f"{schools:,} schools: {name}: p50 {statistics.median(values) * 1000:.0f} ms, "
                f"p95 {_quantile(values, 0.95) * 1000:.0f} ms ({len(values)} requests)"
            )
        if not export:
            return
        out = subprocess.run(
            [sys.executable, __file__, "--child-export", url], check=True, capture_output=True, text=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{schools:,} schools: export of {r['projects']:,} projects and {r['indicators']:,} indicators "
            f"to .xlsx ({r['mib']:.1f} MiB) in {r['s']:.1f} s (the export's own CPU {r['cpu_s']:.1f} s; "
            f"load average {os.getloadavg()[0]:.1f}), peak RSS {r['peak_mib']:.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, nargs="+", default=[60, 3_000, 30_000])
    parser.add_argument("--rounds", type=int, default=20, help="requests per page and size")
    parser.add_argument("--no-export", action="store_true", help="measure the pages only")
    parser.add_argument("--child-export")
    args = parser.parse_args()
    if args.child_export:
        child_export(args.child_export)
        return
    print(
        f"dashboard benchmark on PostgreSQL; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for schools in args.schools:
        try:
            bench(schools, args.rounds, export=not args.no_export)
        except PostgresUnavailable as exc:
            print(f"postgresql: skipped, {exc}")
            return


if __name__ == "__main__":
    main()
