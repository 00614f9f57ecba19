"""The handlers alone, word by word: CPU and SQL statements per event of each word of the bench's mix.

    .venv/bin/python bench/handler_mix_bench.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/handler_mix_bench.py --no-postgres --rich-menus --dump /tmp/replies.json

`bench/handle_bench.py` measures the whole worker (claim, handler, outbox, delivery); this one calls
only `bot.handlers.handle_event`, as the processor does (one session and transaction per event,
committed after the handler), on a generated office with everyone linked, the answer bench's words
cycling per person (`สถานะ`, `โครงการของฉัน`, `รายงานผล`, `ยกเลิก`, `ช่วยเหลือ`). It prints, per word,
the handler's thread CPU and SQL statements per event. `--script form` walks the report form instead
(FORM_SCRIPT). `--rich-menus` records a rich menu per role set
as `tidtam line setup` would (production runs so; without it every event asks whether menus exist).
`--profile FILE` writes a cProfile of the handling alone and prints the Python calls per event of
each word (a figure the machine's load does not move; the profile times thread CPU, inflated by the
profiler). `--dump FILE` writes every reply's JSON in event order, to compare two versions' answers
byte for byte.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from answer_bench import SCRIPT, seed  # noqa: E402
from handle_bench import _event  # noqa: E402
from scratch_db import PostgresUnavailable, scratch_postgres  # noqa: E402

# `--script form`: steps of the report form (a project, its status, progress, budget, indicators), then
# cancel (the draft is kept: the next round resumes it). What each person is asked depends on their
# projects, so some answers are corrections: every one is a form step.
FORM_SCRIPT = ("รายงานผล", "1", "2", "50", "5000", "10", "10", "10", "ยกเลิก")
PG_ADMIN_URL = os.environ.get("TIDTAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class _Line:
    """The few LINE calls a handler makes, answered at once and counted."""

    def __init__(self) -> None:
        self.loading = 0
        self.links = 0

    def show_loading(self, chat_id: str, seconds: int = 10) -> bool:
        self.loading += 1
        return True

    def get_content(self, message_id: str, *, max_bytes: int) -> tuple[bytes, str]:
        raise AssertionError("no media in this mix")

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> bool:
        self.links += 1
        return True


def _set_up_rich_menus(engine: Any, now: Any) -> None:
    from sqlmodel import Session

    from messages.rich_menus import all_specs
    from models.rich_menus import RichMenu

    with Session(engine) as session:
        for n, spec in enumerate(all_specs()):
            session.add(RichMenu(key=spec.key, name=spec.name, line_id=f"richmenu-{n:032d}", created_at=now))
        session.commit()


def measure(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    import sqlalchemy as sa
    from sqlmodel import Session

    from bot.context import EventContext
    from bot.handlers import handle_event
    from bot.processor import read_event
    from models.db import make_engine
    from models.messaging import WebhookEvent
    from scheduler.clock import SystemClock
    from scheduler.service import configured_rules
    from tidtam import migrate
    from tidtam.settings import Settings

    migrate.upgrade(url)
    users = seed(url, args.schools)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    engine = make_engine(url, pool_pre_ping=False)
    clock = SystemClock()
    rules = configured_rules(settings)
    if args.rich_menus:
        _set_up_rich_menus(engine, clock.now())
    line = _Line()
    script = FORM_SCRIPT if args.script == "form" else SCRIPT
    steps = dict.fromkeys(users, 0)
    events = []
    for n in range(args.events + args.warmup):
        user = users[n % len(users)]
        text = script[steps[user] % len(script)]
        steps[user] += 1
        events.append((text, json.dumps(_event(user, text, n), ensure_ascii=False)))

    statements = [0]
    shown: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    issued_now: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements[0] += 1
        issued_now.append(" ".join(statement.split())[:240])

    sa.event.listen(engine, "before_cursor_execute", count)
    cpu: dict[str, float] = defaultdict(float)
    sql: dict[str, int] = defaultdict(int)
    seen: dict[str, int] = defaultdict(int)
    dumped: list[list[dict[str, Any]]] = []
    profiles: dict[str, cProfile.Profile] = {}  # per word: its Python calls per event
    for n, (text, payload) in enumerate(events):
        now = clock.now()
        with Session(engine, expire_on_commit=False) as session:
            raw, event = read_event(payload)
            row = WebhookEvent(
                id=n + 1, webhook_event_id=raw["webhookEventId"], source_key=raw["source"]["userId"],
                event_type="message", payload=payload, received_at=now,
            )  # fmt: skip
            ctx = EventContext(
                session=session, row=row, raw=raw, event=event, now=now, tz=settings.tz, line=line,
                rules=rules,  # as the service's (tidtam/service.py): deadlines as reminders compute them
            )  # fmt: skip
            issued_now.clear()
            before, cpu0 = statements[0], time.thread_time()
            profile = None
            if args.profile and n >= args.warmup:
                profile = profiles.setdefault(text, cProfile.Profile(time.thread_time))
                profile.enable()
            handle_event(ctx)
            session.flush()  # what the handler left for the commit is its cost too
            if profile is not None:
                profile.disable()
            spent, issued = time.thread_time() - cpu0, statements[0] - before
            session.commit()
        if n >= args.warmup and text in args.show_sql and tuple(issued_now) not in shown[text]:
            shown[text].add(tuple(issued_now))  # each different list of statements once
            print(f"{name}: the statements of a {text}", *(f"    {s}" for s in issued_now), sep="\n")
        if args.dump:
            dumped.append(ctx.replies)
        if n >= args.warmup:
            cpu[text] += spent
            sql[text] += issued
            seen[text] += 1
    sa.event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    calls: dict[str, float] = {}
    if profiles:
        stats = {word: pstats.Stats(profile) for word, profile in profiles.items()}
        calls = {word: s.total_calls / seen[word] for word, s in stats.items()}  # type: ignore[attr-defined]
        calls["all"] = sum(s.total_calls for s in stats.values()) / sum(seen.values())  # type: ignore[attr-defined]
        merged = pstats.Stats(*profiles.values())  # type: ignore[arg-type]
        merged.dump_stats(f"{args.profile}.{name}")
    if args.dump:
        Path(f"{args.dump}.{name}").write_text(json.dumps(dumped, ensure_ascii=False, indent=1))
    total = sum(seen.values())
    return {
        "words": {
            w: (seen[w], cpu[w] / seen[w] * 1000, sql[w] / seen[w]) for w in dict.fromkeys(script) if seen[w]
        },
        "all": (total, sum(cpu.values()) / total * 1000, sum(sql.values()) / total),
        "loading": line.loading,
        "links": line.links,
        "calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=60)
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument(
        "--script", choices=("mix", "form"), default="mix", help="the answer bench's words, or form steps"
    )
    parser.add_argument("--rich-menus", action="store_true", help="record rich menus as line setup does")
    parser.add_argument("--dump", metavar="FILE", help="write every reply's JSON to FILE.<backend>")
    parser.add_argument(
        "--profile", metavar="FILE", help="write a cProfile of the handlers to FILE.<backend>"
    )
    parser.add_argument(
        "--show-sql", metavar="WORD", nargs="*", default=(), help="print WORD's SQL (each list once)"
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, Any] | str] = {}
    with tempfile.TemporaryDirectory(prefix="tidtam-mix-bench-") as tmp:
        if not args.no_sqlite:
            results["sqlite"] = measure("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args)
        if not args.no_postgres:
            try:
                with scratch_postgres(PG_ADMIN_URL, prefix="tidtam_mix_bench", migrate=False) as url:
                    results["postgresql"] = measure("postgresql", url, args)
            except PostgresUnavailable as exc:
                results["postgresql"] = str(exc)
    menus = "rich menus set up" if args.rich_menus else "no rich menus"
    print(f"\nhandle_event alone, {args.events} events after {args.warmup}, {args.schools} schools, {menus}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, result in results.items():
        if isinstance(result, str):
            print(f"{name:<11} {result}")
            continue
        print(f"{name}: (loading animations {result['loading']}, rich menu links {result['links']})")
        for word, (n, ms, st) in [*result["words"].items(), ("all", result["all"])]:
            calls = f"  {result['calls'][word]:6.0f} Python calls" if result["calls"] else ""
            print(f"  {word:<14} {n:>5} events  {ms:6.2f} ms CPU  {st:5.1f} SQL statements{calls} per event")


if __name__ == "__main__":
    main()
