"""CPU per delivered reply when the deliverer sends a batch's rows to the LINE emulator.

    .venv/bin/python bench/send_bench.py                                      # this checkout
    .venv/bin/python bench/send_bench.py --roots /tmp/main . --rounds 3       # A/B, alternating

The webhook processor hands the deliverer a batch of up to 32 rows, usually each for a different
person (bot/delivery.py `Deliverer.deliver_claimed`). This script hosts the LINE emulator
(tidtam/emulator) in a process of its own (its CPU is not counted) with `--batch` friends; for each
checkout in `--roots`, in turn, `--rounds` times, a child process (`PYTHONPATH` that checkout) builds
the service's LINE client and a deliverer with `--senders` sending threads and delivers `--batches`
batches of `--batch` pushes (one per friend, a typical answer: a Thai text with quick-reply buttons,
each with its own retry key), and prints its own CPU (process_time, every thread) and its user and
system CPU (getrusage) per delivered row. The outcomes' recording is left out (a stub that says
every row was sent): only the sending is measured. Each child also measures `--senders 1` (every row
on the calling thread, one after another) as the floor of what the sends themselves cost.

The figures are means over the rounds with their ranges; the machine's load average is printed at
the end (CPU time is what load moves least, but it still moves it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EMULATOR = r"""
import json, sys
from tidtam.emulator import LineEmulator
line = LineEmulator().start()
users = [line.add_user(f"ครู {i}") for i in range(int(sys.argv[1]))]
print(json.dumps({"base_url": line.base_url, "token": line.access_token, "users": users}), flush=True)
for command in sys.stdin:  # "reset" between runs (the records would grow), EOF ends it
    line.deliveries.clear()
    line.requests.clear()
    print("ok", flush=True)
line.stop()
"""

MESSAGES = [
    {
        "type": "text",
        "text": "สถานะรายงานไตรมาส 2/2570 ของโรงเรียนคุณ: ส่งแล้ว 3 โครงการ รออนุมัติ 1 โครงการ "
        "ยังไม่ส่ง 2 โครงการ (กำหนดส่ง 11 ม.ค. 2570) แตะปุ่มด้านล่างเพื่อรายงานผล",
        "quickReply": {
            "items": [
                {"type": "action", "action": {"type": "message", "label": label, "text": label}}
                for label in ("รายงานผล", "สถานะ", "โครงการของฉัน", "ช่วยเหลือ")
            ]
        },
    }
]


def child(setup: dict[str, object], batches: int, senders_list: list[int]) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import create_engine

    from bot.delivery import Deliverer
    from bot.line_client import LineClient
    from models.outbox import QueuedRow
    from models.types import OutboxKind, OutboxStatus

    base = str(setup["base_url"])
    users = [str(u) for u in setup["users"]]  # type: ignore[attr-defined]
    engine = create_engine("sqlite://")  # the deliverer only asks its dialect: the recording is stubbed
    figures: dict[str, float] = {}
    counter = iter(range(1, 1 << 62))

    def batch() -> list[QueuedRow]:
        return [
            QueuedRow(
                id=next(counter),
                kind=OutboxKind.PUSH,
                recipients=[user],
                messages=MESSAGES,
                reply_token=None,
                reply_deadline=None,
                attempts=1,
                retry_key=str(uuid.uuid4()),
                purpose="answer",
                ref_type=None,
                ref_id=None,
            )
            for user in users
        ]

    for senders in senders_list:
        client = LineClient(access_token=str(setup["token"]), api_base_url=base, data_api_base_url=base)
        deliverer = Deliverer(engine, client, lambda: datetime.now(UTC), "bench", senders=senders)
        deliverer._record = lambda results: [OutboxStatus.SENT] * len(results)  # type: ignore[method-assign]
        for _ in range(20):  # warm up: the connections, the threads, caches
            report = deliverer.deliver_claimed(batch())
            assert report.sent == len(users), report
        work = [batch() for _ in range(batches)]
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        start = time.process_time()
        sent = 0
        for rows in work:
            sent += deliverer.deliver_claimed(rows).sent
        cpu = time.process_time() - start
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
        assert sent == batches * len(users), sent
        figures[f"cpu{senders}"] = cpu / sent
        figures[f"user{senders}"] = (usage1.ru_utime - usage0.ru_utime) / sent
        figures[f"sys{senders}"] = (usage1.ru_stime - usage0.ru_stime) / sent
        figures[f"csw{senders}"] = (
            (usage1.ru_nvcsw - usage0.ru_nvcsw) + (usage1.ru_nivcsw - usage0.ru_nivcsw)
        ) / sent
        deliverer.close()
        client.close()
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--roots", nargs="+", default=[str(ROOT)], help="checkouts to compare, in turn")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32, help="rows per batch, one per friend")
    parser.add_argument("--senders", type=int, default=8, help="the deliverer's sending threads")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    senders_list = [args.senders, 1] if args.senders != 1 else [1]
    if args.child:
        child(json.loads(args.child), args.batches, senders_list)
        return
    roots = [str(Path(root).resolve()) for root in args.roots]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    emulator = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, str(args.batch)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONPATH": roots[0]},
        cwd=roots[0],
    )
    results: dict[str, list[dict[str, float]]] = {root: [] for root in roots}
    try:
        assert emulator.stdout is not None and emulator.stdin is not None
        setup = emulator.stdout.readline()
        for _round in range(args.rounds):
            for root in roots:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        setup,
                        "--batches",
                        str(args.batches),
                        "--senders",
                        str(args.senders),
                    ],
                    env={**env, "PYTHONPATH": root},
                    cwd=root,
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=900,
                ).stdout
                results[root].append(json.loads(out.strip().splitlines()[-1]))
                emulator.stdin.write("reset\n")
                emulator.stdin.flush()
                emulator.stdout.readline()
    finally:
        if emulator.stdin is not None:
            emulator.stdin.close()
        emulator.wait(timeout=30)
    print(
        f"µs per delivered row, {args.batches} batches of {args.batch}: mean of {args.rounds} rounds "
        "[min–max]; csw: context switches per row"
    )
    for senders in senders_list:
        print(f"senders={senders}")
        for root, rounds in results.items():
            cells = []
            for name in ("cpu", "user", "sys", "csw"):
                values = [r[f"{name}{senders}"] * (1 if name == "csw" else 1e6) for r in rounds]
                cells.append(f"{name} {statistics.mean(values):6.1f} [{min(values):.1f}–{max(values):.1f}]")
            print(f"  {root:<26} " + "  ".join(cells))
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
