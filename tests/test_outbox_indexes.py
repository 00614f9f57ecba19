"""Migration 0010_tickpar: the outbox's event and riding indexes are partial, so that the rows of a
big tick (no event, no riding key) stay out of them, and the queries that search them still use
them; PostgreSQL stores the messages column with lz4 where the server has it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

_PARTIAL = {"ix_outbox_message_event_id": "event_id", "ix_outbox_message_ride_key": "ride_key"}


def _definitions(conn: sa.Connection) -> dict[str, str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'outbox_message'")
        )
    else:
        rows = conn.execute(
            sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox_message'"
            )
        )
    return {name: sql or "" for name, sql in rows}


def _plan(conn: sa.Connection, sql: str, params: dict[str, object]) -> str:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        return "\n".join(row[0] for row in conn.execute(sa.text(f"EXPLAIN {sql}"), params))
    return "\n".join(str(row[-1]) for row in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"), params))


def test_the_event_and_riding_indexes_hold_only_rows_that_have_one_and_are_used(engine: Engine) -> None:
    with engine.begin() as conn:
        found = _definitions(conn)
        for name, column in _PARTIAL.items():
            assert name in found
            assert f"{column} IS NOT NULL" in found[name].replace("(", "").replace(")", ""), found[name]
        by_event = _plan(
            conn,
            "SELECT id FROM outbox_message WHERE event_id = :e AND status = 'pending' ORDER BY id",
            {"e": 7},
        )
        assert "ix_outbox_message_event_id" in by_event
        riding = _plan(
            conn,
            "SELECT id FROM outbox_message WHERE ride_key IN (:a, :b) AND status IN ('held', 'pending') "
            "AND rider IS NOT NULL ORDER BY id",
            {"a": "U1", "b": "U2"},
        )
        if conn.dialect.name == "sqlite":  # PostgreSQL may prefer the status index on an empty table
            assert "ix_outbox_message_ride_key" in riding
        rode = _plan(
            conn,
            "SELECT id FROM outbox_message WHERE ride_key = :a AND status = 'merged' AND rode_at >= :t LIMIT 1",
            {"a": "U1", "t": "2027-01-08"},
        )
        assert "ix_outbox_message_ride_key" in rode


def test_postgresql_compresses_messages_with_lz4_where_it_can(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL storage setting")
    with engine.connect() as conn:
        methods = conn.execute(
            sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        ).scalar()
        compression = conn.execute(
            sa.text(
                "SELECT attcompression FROM pg_attribute WHERE attrelid = 'outbox_message'::regclass "
                "AND attname = 'messages'"
            )
        ).scalar()
    assert compression == ("l" if methods and "lz4" in methods else "")
