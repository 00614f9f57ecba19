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
from bot.crew import Crew, at_own_priority
from bot.processor import EventProcessor
from models.events import EventStore, IncomingEvent, incoming_from_raw
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


def test_under_a_flood_the_worker_reads_wake_ups_in_bulk() -> None:
    """While every worker is busy anyway, a wake-up per commit of the web process would only take CPU
    from it: the listener pauses after each one (the processor passes its flood pause)."""
    read_end, write_end = os.pipe()
    calls: list[float] = []
    listener = listen_for_wakeups(read_end, lambda: calls.append(time.monotonic()), lambda: 0.2)
    wake = WakeWorker(write_end)
    for _ in range(50):  # one commit every 10 ms for half a second
        wake.wake()
        time.sleep(0.01)
    wake.close()
    listener.join(10)
    assert not listener.is_alive()
    assert 1 <= len(calls) <= 5  # at most one pass per 0.2 s, not one per commit


def _processor(engine: Engine, handler, **options) -> EventProcessor:  # type: ignore[no-untyped-def]
    """An event processor with no LINE side (the tests look at what the handler saw)."""
    return EventProcessor(
        engine, handler, deliverer=None, line=None, now=lambda: NOW, tz=ZoneInfo("Asia/Bangkok"), **options
    )


def _event(event_id: str, user: str, text: str) -> IncomingEvent:
    """A text event as the webhook stores it."""
    return incoming_from_raw(
        {
            "type": "message",
            "webhookEventId": event_id,
            "source": {"type": "user", "userId": user},
            "deliveryContext": {"isRedelivery": False},
            "timestamp": 1764039600000,
            "mode": "active",
            "message": {"type": "text", "id": event_id, "text": text},
        }
    )


def _append(engine: Engine, events: list[IncomingEvent]) -> None:
    async def append() -> None:
        store = EventStore(engine)
        try:
            await store.append(events, NOW)
        finally:
            await store.close()

    asyncio.run(append())


def _store(engine: Engine, users: int) -> None:
    """One pending event from each of `users` users."""
    _append(engine, [_event(f"ev{i:04d}", f"U{i:032d}", "ช่วยเหลือ") for i in range(users)])


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
    processor = _processor(engine, handler, workers=2)
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

    processor = _processor(engine, handler, workers=1)
    processor.start()
    try:
        time.sleep(0.2)
        _append(engine, [_event("late", "U" + "9" * 32, "สถานะ")])
        processor.notify()  # deferred: the one worker is busy and has sources waiting
        gate.set()
        assert _wait_for(lambda: "late" in handled)
    finally:
        gate.set()
        processor.stop()
    assert len(handled) == 5


# --- yielding under a flood (bot/crew.py) -------------------------------------------------------------

linux_only = pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")


@linux_only
def test_under_a_flood_the_crew_yields_and_afterwards_fresh_threads_work_at_the_normal_priority() -> None:
    seen: list[tuple[int, int, str]] = []  # (item, scheduling policy, thread name: unique in a crew)
    retired: list[str] = []

    def work(item: int) -> None:
        seen.append((item, os.sched_getscheduler(0), threading.current_thread().name))

    crew: Crew[int] = Crew(2, work, on_retire=lambda: retired.append(threading.current_thread().name))
    done = threading.Event()

    def dispatcher() -> None:  # what the processor's dispatcher does each turn, at the normal priority
        while not done.is_set():
            crew.staff()
            time.sleep(0.01)

    staffing = threading.Thread(target=dispatcher)
    staffing.start()
    try:
        crew.flood = True
        for item in range(6):
            crew.submit(item)
        assert _wait_for(lambda: len(seen) == 6)
        flood_threads = {thread for _, _, thread in seen}
        assert {policy for _, policy, _ in seen} == {os.SCHED_IDLE}
        crew.flood = False
        for item in range(6, 40):
            crew.submit(item)
            time.sleep(0.002)  # one at a time: every thread gets a turn to wake
        assert _wait_for(lambda: len(seen) == 40)
    finally:
        done.set()
        staffing.join(10)
        crew.stop()
    after = seen[6:]
    assert sorted(item for item, _, _ in after) == list(range(6, 40))  # nothing lost in the hand-over
    assert {policy for _, policy, _ in after} == {os.SCHED_OTHER}
    assert not flood_threads & {thread for _, _, thread in after}  # a lowered thread takes no more work
    assert set(retired) <= flood_threads and retired  # it retired instead, and was replaced
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the caller's own thread was never touched


@linux_only
def test_a_lowered_thread_hands_lock_holding_sections_to_a_thread_at_the_normal_priority() -> None:
    """SQLite's write lock must not be held by a thread that any busy process can keep off the CPU."""
    ran: list[tuple[str, str, int]] = []  # (where called, thread that ran the section, its policy)

    def section(label: str) -> str:
        ran.append((label, threading.current_thread().name, os.sched_getscheduler(0)))
        if label == "fails":
            raise ValueError("the section's own error")
        return label

    outcomes: list[str] = []

    def work(label: str) -> None:
        try:
            outcomes.append(at_own_priority(lambda: section(label)))
        except ValueError as exc:
            outcomes.append(str(exc))

    crew: Crew[str] = Crew(1, work)
    crew.staff()
    try:
        crew.submit("normal")
        assert _wait_for(lambda: len(outcomes) == 1)
        crew.flood = True
        crew.submit("lowered")
        crew.submit("fails")
        assert _wait_for(lambda: len(outcomes) == 3)
    finally:
        crew.stop()
    assert outcomes == ["normal", "lowered", "the section's own error"]
    (_, normal_thread, normal_policy), (_, lowered_at, lowered_policy), _ = ran
    assert normal_thread.startswith("tidtam-event-") and normal_policy == os.SCHED_OTHER  # run in place
    assert lowered_at.endswith("-steward") and lowered_policy == os.SCHED_OTHER  # handed over
    assert at_own_priority(lambda: threading.current_thread().name) == threading.current_thread().name


@linux_only
@pytest.mark.parametrize("max_wait", [20.0, 0.0])
def test_the_worker_yields_while_a_backlog_lasts_but_not_beyond_the_longest_wait(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, max_wait: float
) -> None:
    """A backlog of at least `flood_backlog` events is handled at SCHED_IDLE; when events have waited
    FLOOD_MAX_WAIT (here 0 s: at once), they are handled at the worker's own priority again."""
    monkeypatch.setattr(processor_module, "FLOOD_MAX_WAIT", max_wait)
    _store(engine, users=40)
    policies: list[int] = []
    gate = threading.Event()

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        gate.wait(20)
        policies.append(os.sched_getscheduler(0))

    processor = _processor(engine, handler, workers=2, flood_backlog=10, poll_seconds=0.01)
    processor.start()
    try:
        time.sleep(0.3)  # the first pass reads all 40; the next turn judges the flood
        gate.set()
        assert _wait_for(lambda: len(policies) == 40)
    finally:
        gate.set()
        processor.stop()
    if max_wait:
        assert policies.count(os.SCHED_IDLE) >= 30  # all but the first few (taken before the judgement)
    else:
        assert set(policies) == {os.SCHED_OTHER}


def test_two_worker_replicas_handle_each_event_once_and_each_users_in_order(db_url: str) -> None:
    """PostgreSQL, several worker processes (here two processors with their own engines): the row
    lock and the per-source advisory lock share the work without doubles or reordering."""
    if not db_url.startswith("postgresql"):
        pytest.skip("several workers on one database need PostgreSQL (SQLite runs one worker)")
    from models.db import make_engine

    users, per_user = 12, 8
    engines = [make_engine(db_url) for _ in range(2)]
    handled: list[tuple[str, int, str]] = []  # (user, n, replica)
    lock = threading.Lock()

    def handler_for(replica: str):  # type: ignore[no-untyped-def]
        def handler(ctx) -> None:  # type: ignore[no-untyped-def]
            n = int(ctx.raw["message"]["text"])
            # A user's first event is slow: unguarded, the other replica would handle the next one meanwhile.
            time.sleep(0.05 if n == 0 else 0.001)
            with lock:
                handled.append((ctx.row.source_key, n, replica))

        return handler

    processors = [
        _processor(engine, handler_for(name), workers=4, poll_seconds=0.01)
        for engine, name in zip(engines, ("a", "b"), strict=True)
    ]
    for n in range(per_user):
        _append(engines[0], [_event(f"ev-{u}-{n}", f"U{u:032d}", str(n)) for u in range(users)])
    for processor in processors:
        processor.start()
    try:
        assert _wait_for(lambda: len(handled) >= users * per_user, seconds=30)
    finally:
        for processor in processors:
            processor.stop()
        for engine in engines:
            engine.dispose()
    assert len(handled) == users * per_user  # each exactly once
    for u in range(users):
        assert [n for user, n, _ in handled if user == f"U{u:032d}"] == list(range(per_user))
    assert {replica for _, _, replica in handled} == {"a", "b"}  # both replicas took part


def test_with_a_separate_worker_the_web_process_wakes_it_after_each_commit(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`serve` and `demo` hand `create_app` the pipe's writer: a stored event wakes the worker."""
    from support import make_settings, running_service

    from fakeline import FakeLine

    wakes = threading.Semaphore(0)
    with FakeLine() as fake:
        settings = make_settings(db_url, fake, tmp_path, TIDTAM_EVENT_PROCESSING="worker")
        with running_service(settings, wake_worker=wakes.release) as base_url:
            fake.webhook_url = f"{base_url}/callback"
            user = fake.add_user("ครู ก")
            assert fake.send_sync(fake.text_event(user, "ช่วยเหลือ")).status_code == 200
            assert wakes.acquire(timeout=10)
            assert fake.send_sync(fake.text_event(user, "สถานะ")).status_code == 200
            assert wakes.acquire(timeout=10)
        assert fake.deliveries == []  # nothing was handled in the web process itself
