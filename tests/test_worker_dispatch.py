"""How the worker learns of new events and how often it looks: the wake-up pipe from the web process,
and a dispatcher that does not query the store again while its workers have enough in hand."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import bot.processor as processor_module
from bot.processor import EventProcessor
from models.events import EventStore, incoming_from_raw
from models.messaging import WebhookEvent
from models.types import EventStatus
from tidtam.worker import WakeWorker, listen_for_wakeups

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def _wait_for(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_wake_up_reaches_the_worker_and_a_closed_pipe_ends_its_listener() -> None:
    read_end, write_end = os.pipe()
    woken = threading.Event()
    listener = listen_for_wakeups(read_end, woken.set)
    wake = WakeWorker(write_end)
    wake.wake()
    assert woken.wait(10)
    wake.close()
    listener.join(10)
    assert not listener.is_alive()
    wake.wake()  # the web process after the worker went away: nothing raised


def test_waking_never_blocks_the_web_process_and_many_wake_ups_are_one_pass() -> None:
    read_end, write_end = os.pipe()
    wake = WakeWorker(write_end)
    for _ in range(200_000):  # far more than a pipe holds, and nobody reads yet
        wake.wake()
    assert len(os.read(read_end, 1 << 20)) >= 4096  # the pipe filled up; the writes beyond were dropped
    calls: list[float] = []
    listener = listen_for_wakeups(read_end, lambda: calls.append(time.monotonic()))
    for _ in range(1_000):
        wake.wake()
    wake.close()
    listener.join(10)
    assert not listener.is_alive()
    assert 1 <= len(calls) < 1_000  # read in chunks: a burst of wake-ups costs a few passes, not 1,000


def _store(engine: Engine, users: int) -> None:
    async def append() -> None:
        store = EventStore(engine)
        try:
            await store.append(
                [
                    incoming_from_raw(
                        {
                            "type": "message",
                            "webhookEventId": f"ev{i:04d}",
                            "source": {"type": "user", "userId": f"U{i:032d}"},
                            "deliveryContext": {"isRedelivery": False},
                            "timestamp": 1764039600000,
                            "mode": "active",
                            "message": {"type": "text", "id": str(i), "text": "ช่วยเหลือ"},
                        }
                    )
                    for i in range(users)
                ],
                NOW,
            )
        finally:
            await store.close()

    asyncio.run(append())


def test_the_dispatcher_waits_for_a_free_worker_instead_of_querying_on_every_wake_up(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processor_module, "SWEEP_SECONDS", 3600.0)  # no periodic full pass meanwhile
    _store(engine, users=10)
    gate = threading.Event()
    handled: list[str] = []

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        gate.wait(20)
        handled.append(ctx.row.source_key)

    reads: list[str] = []

    def count_reads(conn, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT WEBHOOK_EVENT.ID, WEBHOOK_EVENT.SOURCE_KEY"):
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count_reads)
    processor = EventProcessor(
        engine, handler, deliverer=None, line=None, now=lambda: NOW, tz=ZoneInfo("Asia/Bangkok"), workers=2
    )
    processor.start()
    try:
        # The first pass hands all ten users to the pool; both workers are then held by the gate.
        assert _wait_for(lambda: len(reads) >= 1)
        time.sleep(0.2)
        before = len(reads)
        for _ in range(50):  # a flood of wake-ups while every worker is busy
            processor.notify()
            time.sleep(0.005)
        assert len(reads) == before  # the store was not read again for any of them
        gate.set()
        assert _wait_for(lambda: len(handled) == 10)
    finally:
        gate.set()
        processor.stop()
        sa.event.remove(engine, "before_cursor_execute", count_reads)
    assert sorted(handled) == [f"U{i:032d}" for i in range(10)]
    with Session(engine) as session:
        statuses = set(session.exec(select(WebhookEvent.status)))
    assert statuses == {EventStatus.DONE}


def test_a_deferred_pass_runs_once_a_worker_frees_up(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events stored while every worker was busy are read when one frees up, not at the next sweep."""
    monkeypatch.setattr(processor_module, "SWEEP_SECONDS", 3600.0)
    _store(engine, users=4)
    gate = threading.Event()
    handled: list[str] = []

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        gate.wait(20)
        handled.append(ctx.row.webhook_event_id)

    processor = EventProcessor(
        engine,
        handler,
        deliverer=None,
        line=None,
        now=lambda: NOW,
        tz=ZoneInfo("Asia/Bangkok"),
        workers=1,
    )
    processor.start()
    try:
        time.sleep(0.2)
        _late = incoming_from_raw(
            {
                "type": "message",
                "webhookEventId": "late",
                "source": {"type": "user", "userId": "U" + "9" * 32},
                "deliveryContext": {"isRedelivery": False},
                "timestamp": 1764039600000,
                "mode": "active",
                "message": {"type": "text", "id": "late", "text": "สถานะ"},
            }
        )

        async def append_late() -> None:
            store = EventStore(engine)
            try:
                await store.append([_late], NOW)
            finally:
                await store.close()

        asyncio.run(append_late())
        processor.notify()  # deferred: the one worker is busy and has sources waiting
        gate.set()
        assert _wait_for(lambda: "late" in handled)
    finally:
        gate.set()
        processor.stop()
    assert len(handled) == 5
