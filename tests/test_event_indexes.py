"""Migration 0011_pendix: the webhook event store's indexes hold pending events only, the queries that
need them use them (on PostgreSQL in a prepared statement's generic plan too, with statistics taken
while nothing was pending), and the claim still tells an earlier pending event of the same source."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import events
from models.events import Unclaimed, claim_events, pending_events

NOW = datetime(2027, 1, 8, 9, 0, tzinfo=UTC)
_EVENT_INSERT = sa.text(
    """
    INSERT INTO webhook_event (webhook_event_id, source_key, event_type, is_redelivery, payload, status,
                               attempts, received_at)
    VALUES (:wid, :source, 'message', false, '{}', :status, 0, :at)
    """
)


def _definitions(conn: sa.Connection) -> dict[str, str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'webhook_event'")
        )
    else:
        rows = conn.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhook_event'")
        )
    return {
        name: " ".join((sql or "").replace("(", " ").replace(")", " ").replace("::text", "").split())
        for name, sql in rows
    }


def _add(conn: sa.Connection, rows: list[tuple[str, str, str]]) -> list[int]:
    conn.execute(_EVENT_INSERT, [{"wid": w, "source": s, "status": st, "at": NOW} for w, s, st in rows])
    ids = conn.execute(
        sa.text("SELECT id FROM webhook_event WHERE webhook_event_id IN :wids ORDER BY id").bindparams(
            sa.bindparam("wids", expanding=True)
        ),
        {"wids": [w for w, _, _ in rows]},
    ).scalars()
    return list(ids)


def test_the_event_indexes_hold_pending_events_only_and_the_old_ones_are_gone(engine: Engine) -> None:
    with engine.connect() as conn:
        found = _definitions(conn)
    assert "ix_webhook_event_source_key" not in found
    assert "ix_webhook_event_status_id" not in found
    assert "status = 'pending' AND id > 0" in found["ix_webhook_event_pending"], found
    source = found["ix_webhook_event_pending_source"]
    assert "source_key, id" in source and "status = 'pending'" in source, found
    assert "id > 0" not in source


def test_the_pending_reads_use_the_pending_index(engine: Engine) -> None:
    statements = {"all": events._PENDING_ALL, "above": events._PENDING_ABOVE}
    with engine.begin() as conn:
        _add(conn, [(f"e{n}", f"U{n % 7}", "done" if n % 3 else "pending") for n in range(60)])
        for name, statement in statements.items():
            sql = str(statement.compile(dialect=conn.dialect))
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
                plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + sql, {"above": 5, "limit": 10}).scalars())
            else:
                plan = "\n".join(
                    str(row[-1])
                    for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (5, 10, 0)[: sql.count("?")])
                )
            assert "ix_webhook_event_pending" in plan and "pending_source" not in plan, (name, plan)
    # and they read what they should: pending events only, in id order
    everything = pending_events(engine, above=None, limit=100)
    assert [s for _, s in everything] == [f"U{n % 7}" for n in range(60) if n % 3 == 0]
    assert [i for i, _ in everything] == sorted(i for i, _ in everything)
    above = pending_events(engine, above=everything[9][0], limit=5)
    assert above == everything[10:15]


def _generic_claim_plan(conn: sa.Connection, batch: list[tuple[int, str]]) -> str:
    """EXPLAIN ANALYZE of the claim's generic plan (a prepared statement's, as psycopg's prepared
    statements get after a few runs), on `conn`'s transaction."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    text = re.sub(r"(?<!:):(\w+)", number, events._PG_CLAIM_SQL)
    types = {"ids": "bigint[]", "lock_keys": "bigint[]", "done": "text", "now": "timestamptz"}
    literal = {
        "ids": "'{" + ",".join(str(i) for i, _ in batch) + "}'",
        "lock_keys": "'{" + ",".join(str(events._lock_key(s)) for _, s in batch) + "}'",
        "done": "'done'",
        "now": f"'{NOW.isoformat()}'",
    }
    conn.execute(sa.text("SET LOCAL plan_cache_mode = force_generic_plan"))
    conn.exec_driver_sql(f"PREPARE test_claim ({', '.join(types[n] for n in order)}) AS {text}")
    try:
        args = ", ".join(f"{literal[n]}::{types[n]}" for n in order)
        return "\n".join(
            conn.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) EXECUTE test_claim ({args})").scalars()
        )
    finally:
        conn.exec_driver_sql("DEALLOCATE test_claim")


def test_the_claims_test_for_an_earlier_event_of_the_source_takes_the_sources_index_under_a_backlog(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's claim reads rows by id only (one worker)")
    with engine.connect() as conn:  # everything, statistics too, is rolled back at the end
        _add(conn, [(f"h{n}", f"U{n % 50}", "done") for n in range(5000)])
        conn.execute(sa.text("ANALYZE webhook_event"))  # statistics while nothing is pending
        _add(conn, [(f"b{n}", f"B{n % 50}", "pending") for n in range(2000)])  # others' backlog
        ids = _add(conn, [(f"n{n}", f"U{n}", "pending") for n in range(8)])
        plan = _generic_claim_plan(conn, [(event_id, f"U{n}") for n, event_id in enumerate(ids)])
        conn.rollback()
    subplan = plan[plan.index("SubPlan") :]
    assert "ix_webhook_event_pending_source" in subplan.splitlines()[1], plan
    assert "Rows Removed by Filter" not in subplan.split("CTE done")[0], plan


def test_the_claim_waits_for_an_earlier_pending_event_of_its_source_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one worker, which hands a source's events over in order itself")
    with engine.begin() as conn:
        old, first, other, second, later = _add(
            conn,
            [
                ("old", "Ua", "done"),  # handled long ago: no reason to wait
                ("first", "Ub", "pending"),  # an earlier pending event of Ub
                ("other", "Uc", "pending"),  # another source's: not Ub's concern
                ("second", "Ub", "pending"),
                ("later", "Ua", "pending"),
            ],
        )
    with Session(engine) as session:
        claimed, unclaimed = claim_events(session, [(second, "Ub"), (later, "Ua")], NOW)
        session.rollback()
    assert [row.id for row in claimed] == [later]
    assert unclaimed == {second: Unclaimed.BUSY}
    with Session(engine) as session:
        claimed, unclaimed = claim_events(session, [(first, "Ub"), (old, "Ua")], NOW)
        session.commit()
    assert [row.id for row in claimed] == [first] and unclaimed == {old: Unclaimed.GONE}
    with Session(engine) as session:  # first is done now: second goes ahead
        claimed, unclaimed = claim_events(session, [(second, "Ub"), (other, "Uc")], NOW)
        session.commit()
    assert [row.id for row in claimed] == [second, other] and not unclaimed
