"""CPU per handled event, in one process, without the web server or LINE: what the worker itself costs.

    .venv/bin/python bench/handle_bench.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/handle_bench.py --events 2000 --profile /tmp/handle.prof --no-postgres

The machine is shared: wall times of a full bench move with everyone's load, CPU seconds much less.
This script seeds a generated office (every person linked), stores `--events` text events of the
answer bench's mix (`สถานะ`, `โครงการของฉัน`, `รายงานผล`, `ยกเลิก`, `ช่วยเหลือ`, cycling per person)
through the webhook's own `EventStore`, then has the worker's `EventProcessor` handle them in the
batches the intake would make (`--batch` sources, one event of each, per transaction: claim, handlers,
outbox, commit, delivery), LINE answered by an in-memory httpx transport (or, with `--wire`, by a
loopback server in another process, bench/wire_bench.py's, over the service's own client `_Wire`:
the deliverer then sends as in the service; the in-memory transport goes through httpx's request
machinery and the deliverer's sending threads instead, and costs more CPU than the wire). It
prints the SQL statements per handled event (the figure the machine's load does not move) and this
process's CPU per handled event (our code, SQLAlchemy, the database driver, httpx, the deliverer's
sending threads; PostgreSQL's own server CPU is not in it), once with the real handlers and once with
a handler that only replies ("fixed": what handling costs whatever the handler does) and, with `--profile FILE`, writes
a cProfile of the handling for `python -m pstats FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from answer_bench import SCRIPT, seed  # noqa: E402
from scratch_db import PostgresUnavailable, scratch_postgres  # noqa: E402

PG_ADMIN_URL = os.environ.get("TIDTAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _line_transport(replies: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    import httpx

    counter = iter(range(10**12, 10**13))

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/reply", "/push")):
            body = json.loads(request.content)
            if replies is not None and "replyToken" in body:
                replies[body["replyToken"]] = body["messages"]
            count = len(body["messages"])
            sent = [
                {"id": str(next(counter)), "quoteToken": "q" + secrets.token_hex(8)} for _ in range(count)
            ]
            return httpx.Response(200, json={"sentMessages": sent})
        return httpx.Response(200, json={})

    return httpx.MockTransport(answer)


def _event(user: str, text: str, n: int) -> dict[str, object]:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "webhookEventId": f"01H{n:023d}",
        "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": user},
        "replyToken": secrets.token_hex(16),
        "message": {
            "type": "text",
            "id": str(10**17 + n),
            "text": text,
            "quoteToken": "q" + secrets.token_hex(8),
        },
    }


def _rounds(pending: list[tuple[int, str]], size: int) -> list[list[tuple[int, str]]]:
    """The batches the intake would hand the processor (bot/intake.py): up to `size` sources, one
    event of each per batch, each source's events in order."""
    queues: dict[str, list[int]] = {}
    for event_id, source_key in pending:
        queues.setdefault(source_key, []).append(event_id)
    batches: list[list[tuple[int, str]]] = []
    keys = list(queues)
    for start in range(0, len(keys), size):
        group = {key: queues[key] for key in keys[start : start + size]}
        while group:
            batches.append([(ids.pop(0), key) for key, ids in group.items()])
            group = {key: ids for key, ids in group.items() if ids}
    return batches


def measure(name: str, url: str, args: argparse.Namespace, *, noop: bool = False) -> dict[str, float]:
    import sqlalchemy as sa

    from bot.delivery import Deliverer
    from bot.handlers import handle_event, prepare_batch
    from bot.line_client import LineClient
    from bot.processor import EventProcessor
    from models.db import make_engine
    from models.events import EventStore, incoming_from_raw, pending_events
    from scheduler.clock import SystemClock
    from scheduler.service import configured_rules
    from tidtam import migrate
    from tidtam.settings import Settings

    def echo(ctx) -> None:  # type: ignore[no-untyped-def]
        """No handler work: one text answer, to measure the fixed part of handling an event."""
        ctx.replies.append({"type": "text", "text": "ok"})

    migrate.upgrade(url)
    users = seed(url, args.schools)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    engine = make_engine(url, pool_pre_ping=False)  # as the worker's (tidtam/worker.py)
    clock = SystemClock()
    replies: dict[str, object] = {}
    if args.wire_url:  # the service's own wire (`_Wire`) to a loopback LINE in another process
        line = LineClient(access_token="bench", api_base_url=args.wire_url, data_api_base_url=args.wire_url)
        assert line._wire is not None, "no _Wire: a proxy in the environment?"
    else:
        line = LineClient(
            access_token="bench", api_base_url="http://line.invalid", data_api_base_url="http://line.invalid",
            transport=_line_transport(replies),
        )  # fmt: skip
    deliverer = Deliverer(engine, line, clock.now, "bench", senders=args.senders)
    processor = EventProcessor(
        engine,
        echo if noop else handle_event,
        deliverer=deliverer,
        line=line,
        now=clock.now,
        tz=settings.tz,
        rules=configured_rules(settings),  # as the service's (tidtam/service.py): real deadlines
        prepare=None if noop or args.no_prefetch else prepare_batch,
    )
    steps = dict.fromkeys(users, 0)
    raws = []
    for n in range(args.events + args.warmup):
        user = users[n % len(users)]
        raws.append(_event(user, SCRIPT[steps[user] % len(SCRIPT)], n))
        steps[user] += 1

    async def store() -> None:
        events = EventStore(engine)
        try:
            for start in range(0, len(raws), 500):
                await events.append([incoming_from_raw(r) for r in raws[start : start + 500]], clock.now())
        finally:
            await events.close()

    asyncio.run(store())
    pending = pending_events(engine, above=None, limit=len(raws))
    for batch in _rounds(pending[: args.warmup], args.batch):
        processor.process_batch(batch)
    rest = pending[args.warmup :]
    batches = _rounds(rest, args.batch)
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    profile = cProfile.Profile() if args.profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    for batch in batches:
        processor.process_batch(batch)
    if profile is not None:
        profile.disable()
        profile.dump_stats(f"{args.profile}.{name}{'.fixed' if noop else ''}")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    sa.event.remove(engine, "before_cursor_execute", count)
    if args.dump and not noop:
        tokens = [str(raw["replyToken"]) for raw in raws]
        with open(f"{args.dump}.{name}", "w", encoding="utf-8") as fh:
            json.dump([replies.get(token) for token in tokens], fh, ensure_ascii=False, indent=0)
    deliverer.close()
    line.close()
    engine.dispose()
    return {
        "events": len(rest),
        "cpu_ms": cpu / len(rest) * 1000,
        "wall_ms": wall / len(rest) * 1000,
        "statements": statements[0] / len(rest),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=60)
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile per backend to FILE.<backend>")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--batch", type=int, default=32, help="sources per batch (1: one event a transaction)"
    )
    parser.add_argument("--senders", type=int, default=8, help="the deliverer's concurrent sends")
    parser.add_argument(
        "--no-prefetch",
        action="store_true",
        help="no batch read of the senders (bot/handlers.py prepare_batch)",
    )
    parser.add_argument(
        "--dump", metavar="FILE", help="write every event's reply (in event order) to FILE.<backend>"
    )
    parser.add_argument(
        "--fixed-only", action="store_true", help="only the handler that just replies (the fixed part)"
    )
    parser.add_argument(
        "--wire",
        action="store_true",
        help="LINE over the service's own HTTP client to a loopback server in another process "
        "(bench/wire_bench.py's), not the in-memory transport: the deliverer sends as in the service",
    )
    args = parser.parse_args()
    args.wire_url = None
    server = None
    if args.wire:
        import subprocess

        from wire_bench import SERVER

        if args.dump:
            parser.error("--dump needs the in-memory transport (no --wire)")
        server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE)
        assert server.stdout is not None
        args.wire_url = f"http://127.0.0.1:{int(server.stdout.readline())}"
    try:
        run(args)
    finally:
        if server is not None:
            server.kill()
            server.wait()


def run(args: argparse.Namespace) -> None:
    results: dict[str, dict[str, float] | str] = {}
    with tempfile.TemporaryDirectory(prefix="tidtam-handle-bench-") as tmp:
        for noop in (True,) if args.fixed_only else (False, True):
            label = " (fixed)" if noop else ""
            if not args.no_sqlite:
                path = Path(tmp) / f"bench{'-fixed' if noop else ''}.sqlite3"
                results["sqlite" + label] = measure("sqlite", f"sqlite:///{path}", args, noop=noop)
            if not args.no_postgres:
                try:
                    with scratch_postgres(PG_ADMIN_URL, prefix="tidtam_handle_bench", migrate=False) as url:
                        results["postgresql" + label] = measure("postgresql", url, args, noop=noop)
                except PostgresUnavailable as exc:
                    results["postgresql" + label] = str(exc)
    print(
        f"\nCPU per handled event, {args.events} events after {args.warmup} to warm up, {args.schools} schools,"
        f" batches of up to {args.batch} sources, {args.senders} concurrent sends"
        + (", LINE over the wire" if args.wire else "")
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, result in results.items():
        if isinstance(result, str):
            print(f"{name:<18} {result}")
        else:
            print(
                f"{name:<18} {result['cpu_ms']:.2f} ms CPU, {result['wall_ms']:.2f} ms wall, "
                f"{result['statements']:.1f} SQL statements per event"
            )
    print("(fixed): the same events answered by a handler that does nothing but reply: the fixed cost of")
    print("handling an event (claim, outbox, commit, delivery); the rest is the handlers' share.")
    print("Target (issue 18): under 1.5 ms CPU per handled event.")


if __name__ == "__main__":
    main()
