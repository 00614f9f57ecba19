"""The cost benchmark: a fiscal year of a 60-school office through ``tidtam simulate``, on the free
plan (300 pushes a month) and without a quota, with the wall time each took.

    .venv/bin/python bench/simulate_bench.py                 # 60 schools, quota 300 and none, seed 1
    .venv/bin/python bench/simulate_bench.py --schools 20 --seed 3

Prints each run's table (per month: paid as LINE counted it, ours, free replies, by kind) and totals.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def main() -> None:
    from tidtam.simulation.runner import SimulationConfig, run_simulation

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quotas", default="300,0", help="comma-separated; 0: no quota")
    args = parser.parse_args()
    for quota in (int(q) for q in args.quotas.split(",")):
        started = time.perf_counter()
        figures = run_simulation(SimulationConfig(schools=args.schools, quota=quota or None, seed=args.seed))
        print(figures.table())
        print(f"(simulated in {time.perf_counter() - started:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
