"""Tick benchmark: plan and queue one day's tick for a generated office of N schools (~10 projects each)
on SQLite and PostgreSQL, each step in its own subprocess so its peak memory is its own.

    .venv/bin/python bench/tick_bench.py                       # 30,000 schools (~300,000 projects)
    .venv/bin/python bench/tick_bench.py --schools 2000 --no-postgres

The day is 8 Jan 2570 (2027-01-08): one working day before the first quarter's reports are due (the due
date, 10 Jan, is a Sunday and rolls to Monday 11 Jan), with 40 % of projects not reported, drafts
idle for three days, and approvals pending for two and five working days, so every personal rule
fires at once. Prints the time to plan, the time to plan and queue (the whole tick; its CPU, the CPU of
the worker processes it forks to plan beside it and to build the day's rows, on PostgreSQL the CPU of
the server's backends that served it, read from /proc (not the planning worker's own backend, gone by
then), and on SQLite how long the WAL checkpoint ran on after it), peak RSS, the
messages queued, and the ratio of messages to distinct recipients (target 1.0) against the naive count
of one message per due item. Targets: under 10 s and 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from scratch_db import PostgresUnavailable, scratch_postgres  # noqa: E402

PG_ADMIN_URL = os.environ.get("TIDTAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DAY = date(2027, 1, 8)
TZ = ZoneInfo("Asia/Bangkok")


def child_generate(url: str, schools: int) -> None:
    from scheduler_office import busy_day_reports, generate_office

    from models.db import make_engine
    from tidtam import migrate

    migrate.upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    generated = generate_office(
        engine, schools=schools, reports={1: busy_day_reports}, linked=lambda p: p % 25 != 0
    )
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load (it is off on this machine's server): without
        # statistics the planning selects run as nested loops, the report rules' about 3x slower.
        import sqlalchemy as sa

        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    print(json.dumps({"generate_s": time.perf_counter() - started, "projects": generated.projects}))


def child_tick(url: str) -> None:
    from models.db import make_engine
    from scheduler.clock import FixedClock
    from scheduler.process_steps import load_process_steps
    from scheduler.rules import load_rules
    from scheduler.tick import TickSetup, plan_for, run_tick
    from scheduler.workdays import WorkCalendar

    engine = make_engine(url)
    from tidtam.settings import Settings

    settings = Settings()  # TIDTAM_TICK_PLAN_WORKERS, TIDTAM_TICK_BUILD_WORKERS
    setup = TickSetup(
        load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()), monthly_quota=0,
        plan_workers=settings.tick_plan_workers, build_workers=settings.tick_build_workers,
    )  # fmt: skip
    started, cpu = time.perf_counter(), _cpu()
    with engine.connect() as conn:
        plan, *_ = plan_for(conn, DAY, setup)
    plan_s, plan_cpu = time.perf_counter() - started, _cpu() - cpu
    recipients = len(plan.recipients)
    del plan
    clock = FixedClock(datetime(2027, 1, 8, 8, 30, tzinfo=TZ))
    server = _server_cpu(engine)
    started, cpu, workers = time.perf_counter(), _cpu(), _cpu(resource.RUSAGE_CHILDREN)
    result = run_tick(engine, clock, setup)
    tick_s, tick_cpu = time.perf_counter() - started, _cpu() - cpu
    workers_cpu = _cpu(resource.RUSAGE_CHILDREN) - workers  # the forked row builders, waited for
    # SQLite: the WAL checkpoint of the day's write runs on a thread after the commit
    # (models.outbox.checkpoint_later); how long after the tick it goes on.
    for thread in threading.enumerate():
        if thread.name == "wal-checkpoint":
            thread.join()
    checkpoint_s = time.perf_counter() - started - tick_s
    server_after = _server_cpu(engine)
    server_cpu = (
        sum(total - server.get(pid, 0.0) for pid, total in server_after.items()) if server_after else None
    )
    engine.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "plan_s": plan_s,
                "tick_s": tick_s,
                "plan_cpu": plan_cpu,
                "tick_cpu": tick_cpu,
                "workers_cpu": workers_cpu,
                "checkpoint_s": checkpoint_s,
                "server_cpu": server_cpu,
                "peak_mib": usage.ru_maxrss / 1024,
                "workers_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "recipients": recipients,
                "messages": result.recipients,
                "rows": result.rows,
                "naive": result.naive,
                "ratio": result.ratio,
                "unreachable": result.unreachable,
                "reason": result.reason,
            }
        )
    )


def _server_cpu(engine) -> dict[int, float]:  # type: ignore[no-untyped-def]
    """CPU seconds so far of each PostgreSQL backend serving the bench's database (the server runs on
    this machine; empty for SQLite or when /proc does not show them)."""
    import sqlalchemy as sa

    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        found = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return {}
            found[int(pid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _run(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(label: str, url: str, schools: int, fresh: bool) -> None:
    if fresh:
        made = _run("--child-generate", url, "--schools", str(schools))
        print(f"{label}: generated {made['projects']:,} projects in {made['generate_s']:.1f} s")
    r = _run("--child-tick", url)
    print(
        f"{label}: plan {r['plan_s']:.2f} s (CPU {r['plan_cpu']:.2f} s) · plan + queue, the whole tick "
        f"{r['tick_s']:.2f} s (CPU {r['tick_cpu']:.2f} s{_workers(r)}{_server(r)}){_checkpoint(r)} · peak RSS {r['peak_mib']:.0f} MiB{_workers_peak(r)} · load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
        f"{label}: queued {r['messages']:,} messages in {r['rows']:,} outbox rows to {r['recipients']:,} recipients "
        f"(ratio {r['ratio']:.2f} per recipient; naive one-per-item count {r['naive']:,}, "
        f"{r['naive'] / max(1, r['messages']):.1f}× more); {r['unreachable']:,} people not reachable on LINE {r['reason']}".rstrip()
    )


def _workers(r: dict[str, object]) -> str:
    workers = r.get("workers_cpu")
    return f"; its forked workers {workers:.2f} s" if isinstance(workers, float) and workers > 0 else ""


def _workers_peak(r: dict[str, object]) -> str:
    peak = r.get("workers_peak_mib")
    return (
        f" (its worker {peak:.0f} MiB, most of it shared with it)"
        if r.get("workers_cpu") and isinstance(peak, float)
        else ""
    )


def _checkpoint(r: dict[str, object]) -> str:
    after = r.get("checkpoint_s")
    return (
        f" (its WAL checkpoint ran {after:.2f} s on after it)"
        if isinstance(after, float) and after > 0.01
        else ""
    )


def _server(r: dict[str, object]) -> str:
    server = r.get("server_cpu")
    return f"; the server's backends {server:.2f} s" if isinstance(server, float) else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=30_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--child-generate")
    parser.add_argument("--child-tick")
    args = parser.parse_args()
    if args.child_generate:
        child_generate(args.child_generate, args.schools)
        return
    if args.child_tick:
        child_tick(args.child_tick)
        return
    print(f"tick benchmark: {args.schools:,} schools, day {DAY} (1 working day before Q1 reports are due)")
    if not args.no_sqlite:
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"tick-{args.schools}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        bench("SQLite", f"sqlite:///{path}", args.schools, fresh=True)
    if not args.no_postgres:
        try:
            with scratch_postgres(PG_ADMIN_URL, prefix="tidtam_tick_bench", migrate=False) as url:
                bench("PostgreSQL", url, args.schools, fresh=True)
        except PostgresUnavailable as exc:
            print(f"postgresql: skipped, {exc}")


if __name__ == "__main__":
    main()
