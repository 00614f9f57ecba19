"""Reading a stored event into its SDK model: CPU per event, the SDK's path against the fast one.

    .venv/bin/python bench/parse_bench.py                  # the answer bench's events, 20,000 of each
    .venv/bin/python bench/parse_bench.py --events 50000 --rounds 7

`bot/processor.py` `read_event` turns each stored event (JSON text) into line-bot-sdk's models; the
usual shapes are built by `bot/event_parse.py` `fast_event` without pydantic's validation, the rest by
`sdk_parse_event` (`Event.from_dict`). This prints, for the answer bench's mix (text messages from
users, the emulator's `text_event` with bench/answer_bench.py's SCRIPT) and for a few other shapes,
the CPU per event (process_time, the best of `--rounds` rounds, then the median) of `parse_event` by
each path and of the whole `read_event` (json.loads, the shape checks, the model) with and without the
fast path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from answer_bench import SCRIPT  # noqa: E402

from bot import processor  # noqa: E402
from bot.event_parse import fast_event  # noqa: E402
from tidtam.emulator import LineEmulator, new_group_id, new_user_id  # noqa: E402


def mixes(count: int) -> dict[str, list[dict[str, Any]]]:
    line = LineEmulator()  # not started: only its event builders
    users = [new_user_id() for _ in range(200)]
    group = new_group_id()
    return {
        "answer bench (user text)": [line.text_event(users[i % 200], SCRIPT[i % len(SCRIPT)]) for i in range(count)],
        "group text": [line.group_text_event(group, users[i % 200], SCRIPT[i % len(SCRIPT)]) for i in range(count)],
        "postback with params": [line.postback_event(users[i % 200], "v1|pick", {"date": "2026-07-01"}) for i in range(count)],
        "mention (SDK path)": [
            line.text_event(users[i % 200], "@bot hi", mention={"mentionees": [{"index": 0, "length": 4, "type": "user", "userId": users[0]}]})
            for i in range(count)
        ],
    }  # fmt: skip


def cpu_us(fn: Callable[[Any], Any], items: list[Any], rounds: int) -> tuple[float, float]:
    """(best, median) CPU microseconds per item of `fn` over `items`, `rounds` times."""
    per_item = []
    for _ in range(rounds):
        start = time.process_time()
        for item in items:
            fn(item)
        per_item.append((time.process_time() - start) / len(items) * 1e6)
    return min(per_item), statistics.median(per_item)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20000, help="events of each shape")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    print(f"CPU us per event (process_time; best / median of {args.rounds} rounds of {args.events} events)")
    print(f"{'shape':<28}{'sdk_parse':>16}{'fast_parse':>16}{'read (sdk)':>16}{'read (fast)':>16}  fast took")
    for name, events in mixes(args.events).items():
        payloads = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in events]
        took = sum(fast_event(e) is not None for e in events) / len(events)
        sdk = cpu_us(processor.sdk_parse_event, events, args.rounds)
        fast = cpu_us(processor.parse_event, events, args.rounds)
        with mock.patch.object(processor, "fast_event", lambda raw: None):
            read_sdk = cpu_us(processor.read_event, payloads, args.rounds)
        read_fast = cpu_us(processor.read_event, payloads, args.rounds)
        cells = "".join(
            f"{f'{best:.1f} / {median:.1f}':>16}" for best, median in (sdk, fast, read_sdk, read_fast)
        )
        print(f"{name:<28}{cells}  {took:.0%}")


if __name__ == "__main__":
    main()
