"""Import benchmark: a generated N-school workbook imported into a fresh SQLite file and a fresh
PostgreSQL database, each import in its own subprocess so its peak memory is its own.

    .venv/bin/python bench/import_bench.py                # 30,000 schools (~300,000 projects)
    .venv/bin/python bench/import_bench.py --schools 2000 --no-postgres

The workbook is cached under var/bench/. Prints rows/s, wall time and peak RSS for the first import and
for a second, no-op re-import of the same file. Target: 30,000 schools in under 60 s and 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch_db import PostgresUnavailable, scratch_postgres  # noqa: E402

PG_ADMIN_URL = os.environ.get("TIDTAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def child(url: str, workbook: str) -> None:
    """Run one import and print its figures as JSON (called in a subprocess)."""
    from datetime import UTC, datetime

    from models.db import make_engine
    from scheduler.clock import FixedClock
    from tidtam.workbook import import_workbook

    engine = make_engine(url)
    started = time.perf_counter()
    result = import_workbook(Path(workbook), engine, FixedClock(datetime(2026, 10, 1, tzinfo=UTC)))
    wall = time.perf_counter() - started
    engine.dispose()
    counts = result.plan.counts() if result.plan else {}
    rows = sum(c["created"] + c["updated"] + c["unchanged"] for c in counts.values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kib = usage.ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "wall": wall,
                "rows": rows,
                "peak_mib": peak_kib / 1024,
                "errors": len(result.errors),
                "cpu": usage.ru_utime + usage.ru_stime,
                "written": result.written,
                "counts": counts,
            }
        )
    )


def ensure_workbook(schools: int, seed: int) -> Path:
    from tidtam.workbook.demo import write_demo_xlsx

    path = ROOT / "var" / "bench" / f"demo-{schools}-seed{seed}-fy2570.xlsx"
    if path.exists():
        print(f"workbook: {path.relative_to(ROOT)} (cached, {path.stat().st_size / 2**20:.1f} MiB)")
        return path
    started = time.perf_counter()
    partial = path.with_suffix(".partial.xlsx")
    counts = write_demo_xlsx(partial, schools, seed)
    partial.rename(path)
    print(
        f"workbook: generated {path.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s: {counts.rows}"
    )
    return path


def run_import(label: str, url: str, workbook: Path) -> None:
    for attempt in ("first import", "re-import (no-op)"):
        done = subprocess.run(
            [sys.executable, __file__, "--child", url, str(workbook)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            print(f"{label} {attempt}: FAILED\n{done.stderr[-3000:]}")
            return
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        rate = figures["rows"] / figures["wall"] if figures["wall"] else 0
        print(
            f"{label:10} {attempt:18} wall {figures['wall']:7.1f} s  rows {figures['rows']:>9,}  "
            f"{rate:>9,.0f} rows/s  cpu {figures['cpu']:6.1f} s  peak RSS {figures['peak_mib']:6.0f} MiB  "
            f"errors {figures['errors']}"
        )


def bench_sqlite(workbook: Path) -> None:
    from tidtam import migrate

    path = ROOT / "var" / "bench" / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    try:
        run_import("sqlite", url, workbook)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def bench_postgres(workbook: Path) -> None:
    try:
        with scratch_postgres(PG_ADMIN_URL) as url:
            run_import("postgresql", url, workbook)
    except PostgresUnavailable as exc:
        print(f"postgresql: skipped, {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("URL", "WORKBOOK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"cpus: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    workbook = ensure_workbook(args.schools, args.seed)
    if not args.no_sqlite:
        bench_sqlite(workbook)
    if not args.no_postgres:
        bench_postgres(workbook)


if __name__ == "__main__":
    main()
