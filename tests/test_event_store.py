"""The webhook's event store and group commit: what the 200 promises (stored once, durably) on both
backends, including a locked SQLite, a dropped PostgreSQL connection and a store that fails."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.webhook import GroupCommitter
from models.events import EventStore, IncomingEvent, incoming_from_raw
from models.messaging import WebhookEvent
from models.types import EventStatus

NOW = datetime(2026, 11, 25, 3, 0, 0, 123456, tzinfo=UTC)


def event(event_id: str, user: str = "U1", *, redelivery: bool = False) -> IncomingEvent:
    return incoming_from_raw(
        {
            "type": "message",
            "webhookEventId": event_id,
            "source": {"type": "user", "userId": user},
            "deliveryContext": {"isRedelivery": redelivery},
            "message": {"type": "text", "id": "1", "text": "สวัสดี"},
        }
    )


def stored(engine: Engine) -> list[WebhookEvent]:
    with Session(engine) as session:
        return list(session.exec(select(WebhookEvent).order_by(WebhookEvent.id)))


async def test_append_stores_each_event_once_with_its_columns(engine: Engine) -> None:
    store = EventStore(engine)
    try:
        first = await store.append([event("e1"), event("e2", "U2", redelivery=True), event("e1")], NOW)
        again = await store.append([event("e2"), event("e3")], NOW)
    finally:
        await store.close()
    assert (first, again) == (2, 1)
    rows = stored(engine)
    assert [r.webhook_event_id for r in rows] == ["e1", "e2", "e3"]
    second = rows[1]
    assert (second.source_key, second.event_type, second.is_redelivery) == ("U2", "message", True)
    assert second.status == EventStatus.PENDING and second.attempts == 0
    assert second.received_at == NOW  # UTC-aware, to the microsecond, on both backends
    assert json.loads(second.payload)["message"]["text"] == "สวัสดี"


async def test_a_batch_larger_than_one_statement_is_stored_whole(engine: Engine) -> None:
    store = EventStore(engine)
    store.PG_ROWS_PER_STATEMENT = 3  # PostgreSQL splits this batch into three statements
    try:
        ids = ["a", "b", "a", "c", "d", "b", "e", "f", "d"]  # repeats within and across statements
        assert await store.append([event(i) for i in ids], NOW) == 6
    finally:
        await store.close()
    assert sorted(r.webhook_event_id for r in stored(engine)) == ["a", "b", "c", "d", "e", "f"]


async def test_an_event_without_an_id_is_not_stored(engine: Engine) -> None:
    store = EventStore(engine)
    try:
        assert await store.append([event("")], NOW) == 0
    finally:
        await store.close()
    assert stored(engine) == []


async def test_sqlite_waits_for_another_writer_without_blocking_the_loop(tmp_path: object) -> None:
    from models.db import make_engine
    from tidtam import migrate

    url = f"sqlite:///{tmp_path}/locked.sqlite3"
    migrate.upgrade(url)
    engine = make_engine(url, sqlite_busy_ms=5)
    other = sqlite3.connect(engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
    store = EventStore(engine)
    ticks = 0
    served = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks >= 50:
                served.set()
            await asyncio.sleep(0.001)

    clock = asyncio.create_task(ticker())
    try:
        writing = asyncio.create_task(store.append([event("e1")], NOW))
        await asyncio.sleep(0)  # the write starts waiting for the lock
        # The loop goes on serving others (50 turns of another task) while the write waits: counted in
        # turns, not in a rate per wall-clock second, which a loaded machine cannot promise. A write that
        # held the loop would let the ticker run only after it had given up, and so be done by then.
        await asyncio.wait_for(served.wait(), timeout=30)
        assert not writing.done()  # still waiting for the lock
        other.execute("COMMIT")
        assert await asyncio.wait_for(writing, timeout=5) == 1
    finally:
        clock.cancel()
        other.close()
        await store.close()
        engine.dispose()
    assert [r.webhook_event_id for r in stored(make_engine(url))] == ["e1"]


async def test_sqlite_gives_up_after_its_deadline_and_stores_nothing(tmp_path: object) -> None:
    from models.db import make_engine
    from tidtam import migrate

    url = f"sqlite:///{tmp_path}/stuck.sqlite3"
    migrate.upgrade(url)
    engine = make_engine(url, sqlite_busy_ms=5)
    other = sqlite3.connect(engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    store = EventStore(engine)
    store.LOCKED_RETRY_SECONDS = 0.05
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await store.append([event("e1")], NOW)
        other.execute("ROLLBACK")
        assert await store.append([event("e1")], NOW) == 1  # the same store works once the lock is free
    finally:
        other.close()
        await store.close()
        engine.dispose()


async def test_postgresql_reconnects_after_the_server_drops_the_connection(pg_database_url: str) -> None:
    from conftest import _truncate_all

    from models.db import make_engine

    engine = make_engine(pg_database_url)
    _truncate_all(engine)
    store = EventStore(engine)
    try:
        assert await store.append([event("e1")], NOW) == 1
        pid = store._connection.info.backend_pid
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
        assert await store.append([event("e2")], NOW) == 1
        assert store._connection.info.backend_pid != pid
        assert [r.webhook_event_id for r in stored(engine)] == ["e1", "e2"]
    finally:
        await store.close()
        _truncate_all(engine)
        engine.dispose()


# --- group commit ------------------------------------------------------------------------------------


async def test_concurrent_requests_share_commits_and_each_waits_for_its_own() -> None:
    batches: list[list[str]] = []
    notified = 0

    async def store(events: list[IncomingEvent]) -> int:
        batches.append([e.webhook_event_id for e in events])
        await asyncio.sleep(0.01)  # a commit takes a while; requests arrive meanwhile
        return len(events)

    def notify() -> None:
        nonlocal notified
        notified += 1

    committer = GroupCommitter(store, notify)
    await asyncio.gather(*(committer.submit([event(f"e{i}")]) for i in range(30)))
    assert sorted(e for batch in batches for e in batch) == sorted(f"e{i}" for i in range(30))
    assert len(batches) < 30  # grouped
    assert notified == len(batches)
    await committer.close()


async def test_one_bad_request_fails_alone_and_its_batch_neighbours_are_stored() -> None:
    """Issue 13 (5): concurrent requests share a commit, but one whose events the database refuses
    must not fail the others: the batch is stored again one request at a time."""
    calls: list[list[str]] = []

    async def store(events: list[IncomingEvent]) -> int:
        ids = [e.webhook_event_id for e in events]
        calls.append(ids)
        if "bad" in ids:
            raise RuntimeError("the database refused a value")
        return len(events)

    committer = GroupCommitter(store, lambda: None)
    names = ["e0", "e1", "bad", "e3", "e4"]
    results = await asyncio.gather(*(committer.submit([event(n)]) for n in names), return_exceptions=True)
    assert [isinstance(r, RuntimeError) for r in results] == [False, False, True, False, False]
    assert len(calls[0]) == 5  # grouped first, then each request alone
    assert sorted(c[0] for c in calls[1:]) == sorted(names)
    await committer.submit([event("later")])  # no exception: the committer goes on
    await committer.close()


async def test_a_store_that_is_down_fails_every_request_and_the_next_batch_goes_on() -> None:
    down = True

    async def store(events: list[IncomingEvent]) -> int:
        if down:
            raise RuntimeError("database went away")
        return len(events)

    committer = GroupCommitter(store, lambda: None)
    results = await asyncio.gather(
        *(committer.submit([event(f"e{i}")]) for i in range(5)), return_exceptions=True
    )
    assert results and all(isinstance(r, RuntimeError) for r in results)
    down = False
    await committer.submit([event("later")])  # no exception: the committer recovered
    await committer.close()


async def test_a_cancelled_request_does_not_disturb_the_others() -> None:
    release = asyncio.Event()

    async def store(events: list[IncomingEvent]) -> int:
        await release.wait()
        return len(events)

    committer = GroupCommitter(store, lambda: None)
    gone = asyncio.create_task(committer.submit([event("gone")]))
    stays = asyncio.create_task(committer.submit([event("stays")]))
    await asyncio.sleep(0.01)
    gone.cancel()
    release.set()
    await stays
    assert gone.cancelled()
    await committer.close()


async def test_close_answers_requests_still_waiting_and_closes_the_store() -> None:
    closed = False

    async def store(events: list[IncomingEvent]) -> int:
        await asyncio.sleep(30)  # a commit that hangs
        return 0

    async def on_close() -> None:
        nonlocal closed
        closed = True

    committer = GroupCommitter(store, lambda: None, on_close=on_close)
    waiting = asyncio.create_task(committer.submit([event("e1")]))
    await asyncio.sleep(0.01)
    await committer.close(timeout=0.05)
    assert closed
    with pytest.raises(ConnectionAbortedError):
        await asyncio.wait_for(waiting, timeout=1)
