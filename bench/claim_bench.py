"""What claiming a batch of webhook events costs PostgreSQL on a store with a long history.

    .venv/bin/python bench/claim_bench.py                       # 200,000 done events, 2,000 sources
    .venv/bin/python bench/claim_bench.py --history 50000 --batch 16 --rounds 300 --explain

A scratch database (migrated to head) gets `--history` handled events spread over `--sources`
sources, then `--backlog` pending events of other sources that wait all along (a flood's backlog, 0 unless
given), then `--rounds` times a batch of `--batch` pending events (one per source), each claimed
by `models.events.claim_events` in its own transaction and committed, as a worker does; the pending
reads (`pending_events`) run once per round as the intake's quick pass does. Prints, per call, the
server's own time for the claim and the pending read (pg_stat_statements when the server loads it)
and the client's wall time; `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of one claim first.
Autovacuum may be off (it is on this machine's server): ANALYZE runs after seeding, VACUUM only
with `--vacuum`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from scratch_db import scratch_postgres  # noqa: E402
from sqlmodel import Session  # noqa: E402

PG_ADMIN_URL = os.environ.get("TIDTAM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PAYLOAD = (
    '{"type":"message","message":{"type":"text","id":"%(n)d","text":"สถานะ"},'
    '"webhookEventId":"01H%(n)023d","deliveryContext":{"isRedelivery":false},'
    '"timestamp":1733300000000,"source":{"type":"user","userId":"%(source)s"},'
    '"replyToken":"%(n)032x","mode":"active"}'
)


def _source(index: int) -> str:
    return f"U{index:032x}"


def seed_history(conn: sa.Connection, history: int, sources: int) -> None:
    conn.execute(
        sa.text(
            """
            INSERT INTO webhook_event (webhook_event_id, source_key, event_type, is_redelivery, payload,
                                       status, attempts, received_at, processed_at)
            SELECT 'h' || n, 'U' || lpad(to_hex(n % :sources), 32, '0'), 'message', false,
                   repeat('x', 380), 'done', 1, now() - interval '1 second' * (:history - n),
                   now() - interval '1 second' * (:history - n)
            FROM generate_series(1, :history) AS n
            """
        ),
        {"history": history, "sources": sources},
    )


def add_batch(conn: sa.Connection, round_no: int, batch: int, sources: int) -> list[tuple[int, str]]:
    wids, keys, payloads = [], [], []
    for k in range(batch):
        n = round_no * batch + k
        source = _source((round_no * 7 + k) % sources)
        wids.append(f"b{n}")
        keys.append(source)
        payloads.append(PAYLOAD % {"n": n, "source": source})
    found = conn.execute(
        sa.text(
            """
            INSERT INTO webhook_event (webhook_event_id, source_key, event_type, is_redelivery, payload,
                                       status, attempts, received_at)
            SELECT w, s, 'message', false, p, 'pending', 0, now()
            FROM unnest(CAST(:wids AS text[]), CAST(:keys AS text[]), CAST(:payloads AS text[])) AS b(w, s, p)
            RETURNING id, source_key
            """
        ),
        {"wids": wids, "keys": keys, "payloads": payloads},
    )
    return [(int(r[0]), str(r[1])) for r in found]


def explain(engine: sa.Engine, batch: list[tuple[int, str]], now: datetime) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) the claim of `batch` as the worker runs it after a few calls: a
    prepared statement's generic plan (psycopg prepares a statement on its fifth run), rolled back."""
    import re

    from models import events

    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    text = re.sub(r"(?<!:):(\w+)", number, events._PG_CLAIM_SQL)
    types = {"ids": "bigint[]", "lock_keys": "bigint[]", "done": "text", "now": "timestamptz"}
    with engine.connect() as conn:
        conn.execute(sa.text("SET LOCAL plan_cache_mode = force_generic_plan"))
        conn.exec_driver_sql(f"PREPARE claim ({', '.join(types[n] for n in order)}) AS {text}")
        literal = {  # EXPLAIN EXECUTE takes no bound parameters: the values are spelled out
            "ids": "'{" + ",".join(str(i) for i, _ in batch) + "}'",
            "lock_keys": "'{" + ",".join(str(events._lock_key(s)) for _, s in batch) + "}'",
            "done": "'done'",
            "now": f"'{now.isoformat()}'",
        }
        args = ", ".join(f"{literal[name]}::{types[name]}" for name in order)
        plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE claim ({args})").scalars()
        print("the claim's generic plan, after the rounds:", *plan, sep="\n  ")
        conn.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--sources", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument(
        "--backlog", type=int, default=0, help="pending events of other sources, waiting all along (a flood)"
    )
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--vacuum", action="store_true", help="VACUUM ANALYZE after seeding")
    args = parser.parse_args()

    from models.db import make_engine
    from models.events import claim_events, finish_claimed, pending_events

    with scratch_postgres(PG_ADMIN_URL, prefix="tidtam_claim") as url:
        engine = make_engine(url, pool_pre_ping=False)
        with engine.begin() as conn:
            seed_history(conn, args.history, args.sources)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Statistics while nothing is pending, as a store's usually are.
            conn.execute(sa.text("VACUUM ANALYZE webhook_event" if args.vacuum else "ANALYZE webhook_event"))
            stats = bool(
                conn.execute(
                    sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
                ).first()
            )
            if not stats:
                try:
                    conn.execute(sa.text("CREATE EXTENSION pg_stat_statements"))
                    stats = True
                except sa.exc.DBAPIError:
                    stats = False
            indexes = conn.execute(
                sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = 'webhook_event' ORDER BY 1")
            ).scalars()
            print("indexes:", *indexes, sep="\n  ")
        if args.backlog:
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        """
                        INSERT INTO webhook_event (webhook_event_id, source_key, event_type, is_redelivery,
                                                   payload, status, attempts, received_at)
                        SELECT 'w' || n, 'B' || lpad(to_hex(n % :sources), 32, '0'), 'message', false,
                               repeat('x', 380), 'pending', 0, now()
                        FROM generate_series(1, :backlog) AS n
                        """
                    ),
                    {"backlog": args.backlog, "sources": args.sources},
                )
        now = datetime.now(UTC)
        if stats:
            with engine.begin() as conn:
                conn.execute(sa.text("SELECT pg_stat_statements_reset()"))
        wall_claim = wall_pending = cpu_claim = 0.0
        claimed_total = 0
        for round_no in range(args.rounds):
            with engine.begin() as conn:
                batch = add_batch(conn, round_no, args.batch, args.sources)
            started = time.perf_counter()
            pending = pending_events(engine, above=batch[0][0] - 1, limit=2000)
            wall_pending += time.perf_counter() - started
            assert [i for i, _ in pending] == [i for i, _ in batch], (len(pending), len(batch))
            started, cpu = time.perf_counter(), time.process_time()
            with Session(engine) as session:
                claimed, unclaimed = claim_events(session, batch, now)
                finish_claimed(session, [row.id for row in claimed], now)
                session.commit()
            wall_claim += time.perf_counter() - started
            cpu_claim += time.process_time() - cpu
            assert not unclaimed, unclaimed
            claimed_total += len(claimed)
        if args.explain:
            with engine.begin() as conn:
                batch = add_batch(conn, args.rounds, args.batch, args.sources)
            explain(engine, batch, now)
        print(
            f"history {args.history:,} events over {args.sources:,} sources, backlog {args.backlog:,}; "
            f"{args.rounds} rounds of "
            f"{args.batch} pending events; {claimed_total:,} claimed"
        )
        print(
            f"client wall ms/call: claim+commit {wall_claim / args.rounds * 1000:.3f} "
            f"(this process's CPU {cpu_claim / args.rounds * 1000:.3f}), "
            f"pending read {wall_pending / args.rounds * 1000:.3f}"
        )
        if stats:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        """
                        SELECT calls, total_exec_time / calls AS ms, shared_blks_hit / calls AS hits,
                               left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS q
                        FROM pg_stat_statements
                        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                          AND (query LIKE '%webhook_event%')
                          AND query NOT LIKE '%INSERT%' AND calls >= :rounds
                        ORDER BY total_exec_time DESC
                        """
                    ),
                    {"rounds": args.rounds},
                ).all()
            print(f"{'server ms/call':>15}{'buffers/call':>14}  statement")
            for _calls, ms, hits, query in rows:
                print(f"{ms:>15.3f}{hits:>14.1f}  {query}")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        engine.dispose()


if __name__ == "__main__":
    main()
