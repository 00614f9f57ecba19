"""The LINE emulator's request check: CPU per reply body, jsonschema's walk alone against the fast check.

    .venv/bin/python bench/emulator_bench.py                  # ~20 s on 2 cores
    .venv/bin/python bench/emulator_bench.py --bodies 600 --rounds 7

The emulator validates every request body against LINE's OpenAPI spec (tidtam/emulator/schemas.py).
On a 2-core machine that CPU is taken from the product being measured (bench/answer_bench.py's
`line ms/ev`), though LINE's servers would not spend ours. This script builds `--bodies` reply
requests the way the product does (`wire.as_dict` of messages/ builders: the answers to the answer
bench's words — status, projects, help menus, cancel — and its Flex cards: the approval card, the
tap-to-select card, the daily reminder), plus line-bot-sdk's echo reply (one text) for reference, and
measures, per kind of body, the process CPU time (`time.process_time`) of:

* `jsonschema`: `Spec.jsonschema_errors`, the jsonschema walk the emulator ran for every body before;
* `fast`: `Spec.errors` as the emulator calls it now (the compiled check; jsonschema only for what it
  rejects, and these bodies are all valid);
* `check_request` before/after: rules.check_request on the raw bytes (headers, JSON parse, schema,
  LINE's limits), with the fast check switched off and on: the emulator's whole per-request check.

Each figure is the median over `--rounds` rounds, the two ways alternating within each round, so the
machine's load (it is shared) moves both alike; the load average is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from messages import approvals, chat, report_form, wire  # noqa: E402
from messages import menus as menu_text  # noqa: E402
from messages.reminders import Item, ItemKind, Line, daily_message_dict  # noqa: E402
from messages.rich_menus import ROLE_SETS  # noqa: E402
from scheduler.fiscal import FiscalQuarter  # noqa: E402
from tidtam.emulator import DEFAULT_ACCESS_TOKEN  # noqa: E402
from tidtam.emulator.rules import check_request  # noqa: E402
from tidtam.emulator.schemas import messaging_spec  # noqa: E402

SCHEMA = "ReplyMessageRequest"


def _projects(n: int, seed: int) -> list[chat.ProjectLine]:
    states = ("none", "draft", "submitted", "approved", "returned")
    return [
        chat.ProjectLine(
            f"P{seed % 90 + i:03d}",
            f"โครงการพัฒนาคุณภาพการเรียนรู้ที่ {seed + i}",
            (seed + i) * 10_000_00,
            states[(seed + i) % len(states)],
            Decimal(seed % 100) if (seed + i) % 2 else None,
        )
        for i in range(n)
    ]


def _card(seed: int) -> approvals.CardData:
    return approvals.CardData(
        report_id=seed,
        version=1 + seed % 3,
        project_code=f"P{seed % 900:03d}",
        project_name=f"โครงการส่งเสริมการอ่านออกเขียนได้ของนักเรียน รุ่นที่ {seed}",
        quarter=FiscalQuarter(2570, 1 + seed % 4),
        reporter="นางสาวใจดี มีสุข",
        implementation_status="in_progress",
        status_reason="",
        progress_pct=Decimal(seed % 100),
        disbursed_satang=seed * 1_000_00,
        budget_satang=1_250_000_00,
        indicators=tuple(
            approvals.IndicatorLine(f"ตัวชี้วัดที่ {i}", "ร้อยละ", Decimal(80), Decimal(seed % 80)) for i in range(3)
        ),
        activities="อบรมครู 3 ครั้ง จัดกิจกรรมค่ายการอ่าน",
        problems="งบประมาณมาช้า" if seed % 2 else "",
        photos=seed % 4,
        photos_url=f"https://tidtam.example.go.th/photos/{seed}?sig=abc",
    )


def _selection(seed: int) -> approvals.SelectView:
    rows = [
        approvals.SelectRow(
            n,
            approvals.PendingLine(f"P{seed % 90 + n:03d}", f"โครงการที่ {n}", FiscalQuarter(2570, 1), "ครูสมศรี"),
            marked=(n + seed) % 2 == 0,
            toggle=f"v1|sel|r={seed + n}",
        )
        for n in range(1, 9)
    ]
    return approvals.SelectView(
        rows=rows, total=20, marked_codes=["P001"], confirm="v1|sel|go", next="v1|sel|p=1"
    )


def _daily(seed: int) -> dict[str, Any]:
    lines = tuple(Line(f"P{i:03d}", f"โครงการที่ {seed + i}") for i in range(8))
    items = [
        Item(ItemKind.REPORT_OVERDUE, "2569Q4", (2569, 4), date(2026, 10, 12), 2, 8, lines),
        Item(ItemKind.REPORT_DUE, "2570Q1", (2570, 1), date(2027, 1, 11), 3, 2, lines[:2]),
        Item(ItemKind.APPROVAL_PENDING, "x", None, None, 2, 1, (Line("P001", "โครงการอ่าน", "2570Q1"),)),
    ]
    return daily_message_dict(items, date(2027, 1, 4))


KINDS: dict[str, Callable[[int], dict[str, Any]]] = {
    "echo text (reference)": lambda s: {"type": "text", "text": f"สถานะ {s}"},
    "status, text + quick replies": lambda s: wire.as_dict(
        chat.my_status(FiscalQuarter(2570, 1), date(2027, 1, 11), _projects(1 + s % 5, s))
    ),
    "my projects": lambda s: wire.as_dict(chat.my_projects(2570, _projects(1 + s % 5, s))),
    "help menu": lambda s: wire.as_dict(menu_text.help_for(ROLE_SETS[s % len(ROLE_SETS)], "นางสาวใจดี มีสุข")),
    "cancel": lambda s: wire.as_dict(report_form.cancelled()),
    "approval card, Flex": lambda s: wire.as_dict(approvals.approval_card(_card(s))),
    "selection card, Flex": lambda s: wire.as_dict(approvals.selection_card(_selection(s))),
    "daily reminder, Flex": _daily,
}


def build(n: int) -> dict[str, list[bytes]]:
    """`n` reply request bodies in all, as the wire carries them, spread over the kinds."""
    out: dict[str, list[bytes]] = {k: [] for k in KINDS}
    names = list(KINDS)
    for i in range(n):
        kind = names[i % len(names)]
        body = {"replyToken": f"{i:032x}", "messages": [KINDS[kind](i)]}
        out[kind].append(json.dumps(body, ensure_ascii=False).encode())
    return out


def cpu_per_call(fn: Callable[[Any], Any], items: list[Any], repeat: int) -> float:
    """Milliseconds of process CPU per call of `fn` over `items`, `repeat` times."""
    started = time.process_time()
    for _ in range(repeat):
        for item in items:
            fn(item)
    return (time.process_time() - started) / (repeat * len(items)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=320, help="reply bodies in all, over the kinds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2, help="passes over the bodies per measurement")
    args = parser.parse_args()

    spec = messaging_spec()
    op, _, _ = spec.match("POST", "/v2/bot/message/reply")
    assert op is not None and op.body_schema == SCHEMA
    headers = {"authorization": f"Bearer {DEFAULT_ACCESS_TOKEN}", "content-type": "application/json"}
    raw = build(args.bodies)
    parsed = {k: [json.loads(b) for b in v] for k, v in raw.items()}
    for kind, bodies in parsed.items():  # all valid, both ways (a refused body would time the error path)
        for body in bodies:
            assert spec.fast_valid(SCHEMA, body) is True and spec.jsonschema_errors(SCHEMA, body) == [], kind

    def whole(body: bytes) -> Any:
        return check_request(spec, op, headers, {}, body, access_token=DEFAULT_ACCESS_TOKEN)

    def without_fast_check(items: list[bytes], repeat: int) -> float:
        spec.fast_valid = lambda *_: None  # type: ignore[method-assign]  # Spec.errors as it was: jsonschema
        try:
            return cpu_per_call(whole, items, repeat)
        finally:
            del spec.fast_valid

    figures: dict[str, dict[str, list[float]]] = {k: {} for k in [*KINDS, "all kinds"]}
    everything_raw = [b for v in raw.values() for b in v]
    everything = [b for v in parsed.values() for b in v]
    for _ in range(args.rounds):
        for kind in KINDS:
            f = figures[kind]
            f.setdefault("jsonschema", []).append(
                cpu_per_call(lambda b: spec.jsonschema_errors(SCHEMA, b), parsed[kind], args.repeat)
            )
            f.setdefault("fast", []).append(
                cpu_per_call(lambda b: spec.errors(SCHEMA, b), parsed[kind], args.repeat)
            )
        f = figures["all kinds"]
        f.setdefault("jsonschema", []).append(
            cpu_per_call(lambda b: spec.jsonschema_errors(SCHEMA, b), everything, args.repeat)
        )
        f.setdefault("fast", []).append(
            cpu_per_call(lambda b: spec.errors(SCHEMA, b), everything, args.repeat)
        )
        f.setdefault("check_request before", []).append(without_fast_check(everything_raw, args.repeat))
        f.setdefault("check_request after", []).append(cpu_per_call(whole, everything_raw, args.repeat))

    print(
        f"{args.bodies} reply bodies, {args.rounds} rounds × {args.repeat} passes; CPU ms per request (median)"
    )
    print(f"{'kind':<30}{'bodies':>7}{'bytes':>7}{'jsonschema':>12}{'fast':>9}{'ratio':>8}")
    for kind, f in figures.items():
        slow, fast = statistics.median(f["jsonschema"]), statistics.median(f["fast"])
        bodies = raw.get(kind, everything_raw)
        size = sum(map(len, bodies)) // len(bodies)
        print(f"{kind:<30}{len(bodies):>7}{size:>7}{slow:>12.4f}{fast:>9.4f}{slow / fast:>7.1f}x")
    f = figures["all kinds"]
    before, after = statistics.median(f["check_request before"]), statistics.median(f["check_request after"])
    print(
        f"{'check_request (whole check)':<30}{len(everything_raw):>7}{'':>7}{before:>12.4f}{after:>9.4f}"
        f"{before / after:>7.1f}x"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
