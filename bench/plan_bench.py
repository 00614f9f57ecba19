"""Planning benchmark and plan check: time `scheduler.tick.plan_for` alone on a database generated once
(planning does not write), and print a digest of the whole plan, to compare two checkouts on the same
database, alternately (A, B, A, B: the machine is shared, so judge by CPU).

    # once: the tick bench's 30,000-school office (PostgreSQL: into a database you created)
    PYTHONPATH=$PWD .venv/bin/python bench/tick_bench.py --child-generate sqlite:////tmp/p.sqlite3
    # then, from each checkout's root (the script plans with the code of the checkout it is in)
    PYTHONPATH=$PWD .venv/bin/python bench/plan_bench.py sqlite:////tmp/p.sqlite3 [--dump FILE]

Prints one JSON line: wall seconds, CPU of this process and of the planning worker it forks (waited
for), peak RSS, the recipients, and the digest (SHA-256 of the plan's recipients, their items and lines
in order, the unreachable, the rides, the planners, ...). Two checkouts plan the same database alike
if their digests match; ``--dump`` writes what was hashed, for a diff when they do not.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

from tick_bench import DAY, TZ  # the tick bench's day and zone (it puts this checkout first on the path)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _canonical(plan: Any, rest: tuple[Any, ...]) -> bytes:
    """The plan as text: every field, dicts in their order, recipients with every field."""
    fields = {f.name: getattr(plan, f.name) for f in dataclasses.fields(plan)}
    shown = {
        name: (
            [[getattr(r, f.name) for f in dataclasses.fields(r)] for r in value]
            if name in ("recipients", "rides")
            else list(value.items())
            if isinstance(value, dict)
            else value
        )
        for name, value in fields.items()
    }
    return repr((shown, rest)).encode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url")
    parser.add_argument(
        "--workers", type=int, default=None, help="planning workers (default: as the tick decides)"
    )
    parser.add_argument("--dump", help="write the hashed text of the plan here")
    args = parser.parse_args()

    from models.db import make_engine
    from scheduler.process_steps import load_process_steps
    from scheduler.rules import load_rules
    from scheduler.tick import TickSetup, plan_for
    from scheduler.workdays import WorkCalendar

    setup = TickSetup(
        load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()), monthly_quota=0,
        plan_workers=args.workers, build_workers=None,
    )  # fmt: skip
    engine = make_engine(args.url)
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")  # connected before the clock starts
        started = time.perf_counter()
        own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        plan, *rest = plan_for(conn, DAY, setup)
        wall = time.perf_counter() - started
        own, children = _cpu(resource.RUSAGE_SELF) - own, _cpu(resource.RUSAGE_CHILDREN) - children
    engine.dispose()
    text = _canonical(plan, tuple(rest))
    if args.dump:
        Path(args.dump).write_bytes(text)
    print(
        json.dumps(
            {
                "wall_s": round(wall, 3),
                "cpu_s": round(own, 3),
                "worker_cpu_s": round(children, 3),
                "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "recipients": len(plan.recipients),
                "digest": hashlib.sha256(text).hexdigest()[:16],
                "load": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
