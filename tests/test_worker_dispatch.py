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

import bot.intake as intake_module
from bot.intake import (
    COALESCE_BATCH,
    COALESCE_SECONDS,
    MAX_COALESCE,
    Crew,
    EventIntake,
    FloodGauge,
    coalesce_wait,
)
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


def test_a_clock_move_is_read_before_the_events_after_it_are_handled() -> None:
    """`clock_moved` on the pipe makes the listener refresh the worker's clock before it notifies the
    intake (the events stored after a move are handled at the moved time); plain wake-ups do not,
    and a failing refresh does not stop the listener."""
    read_end, write_end = os.pipe()
    calls: list[str] = []
    refreshes = iter([None, RuntimeError("the database is away")])

    def refresh() -> None:
        calls.append("clock")
        failure = next(refreshes, None)
        if failure is not None:
            raise failure

    listener = listen_for_wakeups(read_end, lambda: calls.append("events"), clock_moved=refresh)
    wake = WakeWorker(write_end)
    wake.wake()
    assert _wait_for(lambda: calls == ["events"])
    wake.clock_moved()
    wake.wake()  # the next event, stored after the move
    assert _wait_for(lambda: calls[-1] == "events" and "clock" in calls)
    assert calls[1] == "clock"  # the clock first, then the pass that handles the event
    wake.clock_moved()  # its refresh fails: logged, and the events are still handled
    assert _wait_for(lambda: calls.count("clock") == 2 and calls[-1] == "events")
    wake.wake()
    assert _wait_for(lambda: calls.count("events") >= 4)
    assert calls.count("clock") == 2
    wake.close()
    listener.join(10)
    assert not listener.is_alive()


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


def _processor(engine: Engine, handler, **options) -> EventIntake:  # type: ignore[no-untyped-def]
    """The worker's event intake over a processor with no LINE side (the tests look at what the
    handler saw)."""
    processor = EventProcessor(
        engine, handler, deliverer=None, line=None, now=lambda: NOW, tz=ZoneInfo("Asia/Bangkok")
    )
    return EventIntake(engine, processor, **options)


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
    monkeypatch.setattr(intake_module, "SWEEP_SECONDS", 3600.0)  # no periodic full pass meanwhile
    monkeypatch.setattr(intake_module, "BUSY_READ_PAUSE", 3600.0)  # nor a pass to measure arrivals
    users = intake_module.MAX_BATCH + 8  # more than one batch: each of the two workers gets one
    _store(engine, users=users)
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
        # The first pass hands every user to the pool; both workers are then held by the gate.
        assert _wait_for(lambda: len(reads) >= 1)
        time.sleep(0.2)
        before = len(reads)
        for _ in range(50):  # a flood of wake-ups while every worker is busy
            processor.notify()
            time.sleep(0.005)
        assert len(reads) == before  # the store was not read again for any of them
        gate.set()
        assert _wait_for(lambda: len(handled) == users)
    finally:
        gate.set()
        processor.stop()
        sa.event.remove(engine, "before_cursor_execute", count_reads)
    assert sorted(handled) == [f"U{i:032d}" for i in range(users)]
    with Session(engine) as session:
        statuses = set(session.exec(select(WebhookEvent.status)))
    assert statuses == {EventStatus.DONE}


def test_a_deferred_pass_runs_once_a_worker_frees_up(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events stored while every worker was busy are read when one frees up, not at the next sweep."""
    monkeypatch.setattr(intake_module, "SWEEP_SECONDS", 3600.0)
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


def test_a_steady_stream_waits_to_share_a_transaction_and_a_lone_event_does_not() -> None:
    """A wake-up waits for more only while enough arrive to be worth it, and never long."""
    assert coalesce_wait(0.0) == COALESCE_SECONDS  # nothing else arriving: read the store at once
    assert coalesce_wait(10.0) == COALESCE_SECONDS  # one more would come within MAX_COALESCE: not worth it
    assert coalesce_wait(100.0) == MAX_COALESCE  # ten or so share the transaction
    assert coalesce_wait(1000.0) * 1000.0 == pytest.approx(COALESCE_BATCH)  # no longer than a batch takes
    assert coalesce_wait(1e6) == COALESCE_SECONDS
    for rate in (0.5, 20.0, 50.0, 250.0, 5000.0):
        assert COALESCE_SECONDS <= coalesce_wait(rate) <= MAX_COALESCE


def test_the_wait_follows_the_rate_the_passes_found() -> None:
    gauge = FloodGauge(0)  # no flood judged: the rate still sizes the wait
    gauge.observe(0.0, 0)
    for step in range(1, 11):  # ten events every 0.1 s: 100 a second
        gauge.observe(step / 10, 10)
    assert gauge.arrival_rate(1.0) == pytest.approx(100.0)
    assert coalesce_wait(gauge.arrival_rate(1.0)) == MAX_COALESCE
    assert coalesce_wait(gauge.arrival_rate(5.0)) == COALESCE_SECONDS  # the stream stopped


def test_a_pass_hands_its_sources_to_one_worker_up_to_a_full_batch(engine: Engine) -> None:
    """Twenty sources found at once are one transaction on one thread, not one per free worker."""
    _store(engine, users=20)
    threads: list[str] = []

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)

    processor = _processor(engine, handler, workers=4)
    processor.start()
    try:
        assert _wait_for(lambda: len(threads) == 20)
    finally:
        processor.stop()
    assert len(set(threads)) == 1


# --- holding back under a flood (bot/intake.py Crew) ---------------------------------------------------------


def test_a_held_crew_finishes_what_it_is_on_and_starts_nothing_more_until_released() -> None:
    started: list[int] = []
    pieces: list[tuple[int, int]] = []
    gate = threading.Event()
    crew: Crew[int] = Crew(2, lambda item: work(item))

    def work(item: int) -> None:
        started.append(item)
        if item == 0:  # long work in three pieces, waiting while held between them
            for piece in range(3):
                if piece and not crew.wait_while_held():
                    return
                pieces.append((item, piece))
                gate.wait(10)

    crew.start()
    try:
        crew.submit(0)
        assert _wait_for(lambda: pieces == [(0, 0)])
        crew.hold(True)
        gate.set()  # the piece in hand finishes; the next one waits for the release
        for item in range(1, 6):
            crew.submit(item)
        time.sleep(0.3)
        assert crew.held
        assert started == [0] and pieces == [(0, 0)]
        crew.hold(False)
        assert _wait_for(lambda: len(started) == 6 and len(pieces) == 3)
    finally:
        gate.set()
        crew.stop()
    assert sorted(started[1:]) == [1, 2, 3, 4, 5]  # nothing lost
    assert pieces == [(0, 0), (0, 1), (0, 2)]


def test_stopping_a_held_crew_ends_its_threads() -> None:
    crew: Crew[int] = Crew(3, lambda item: None)
    crew.start()
    crew.hold(True)
    crew.submit(1)
    started = time.monotonic()
    crew.stop(timeout=5)
    assert time.monotonic() - started < 5
    assert not any(thread.is_alive() for thread in crew._threads)


def _stream(
    gauge: FloodGauge, per_pass: int, *, start: float, seconds: float, pass_every: float = 0.01
) -> list[tuple[float, bool]]:
    """Feed `gauge` the passes of a stream of `per_pass` new events every `pass_every` seconds for
    `seconds`, judging after each pass as the intake does; nothing is handled while held, so the
    oldest event in hand has waited since the hold began (0 while events are handled at once).
    Returns (time, held) after each pass."""
    held, held_since, judged = False, 0.0, []
    at = start
    while at < start + seconds - 1e-9:
        gauge.observe(at, per_pass)
        now_held = gauge.judge(at, at - held_since if held else 0.0, held)
        if now_held and not held:
            held_since = at
        held = now_held
        judged.append((at, held))
        at += pass_every
    return judged


def test_a_flood_holds_handling_while_it_arrives_and_releases_it_once_it_eases() -> None:
    """Events arriving at `rate` a second or faster hold handling; once they arrive at less than half
    that, the hold ends within the measuring window. Times and counts are given, not measured."""
    gauge = FloodGauge(300, max_wait=20.0)
    gauge.observe(0.0, 500)  # the first pass finds what an earlier process left: not an arrival
    assert gauge.judge(0.0, 0.0, held=False) is False
    flood = _stream(gauge, per_pass=20, start=0.01, seconds=1.5)  # 2,000 events/s for 1.5 s
    assert not flood[0][1]  # one pass tells no rate yet
    began = next(at for at, held in flood if held)
    assert began <= 0.05  # the flood is seen within its first few passes
    assert all(held for at, held in flood if at >= began)  # and held while it lasts
    calm = _stream(gauge, per_pass=0, start=1.51, seconds=1.0, pass_every=0.05)
    over = next(at for at, held in calm if not held)
    assert over <= 1.51 + FloodGauge(300).window + 0.05  # released once the window holds no flood
    assert not any(held for at, held in calm if at >= over)
    # Easing to 200 a second (above half the rate) keeps a hold; 100 a second ends it.
    easing = FloodGauge(300)
    _stream(easing, per_pass=20, start=0.0, seconds=0.5)
    assert all(held for _, held in _stream(easing, per_pass=2, start=0.5, seconds=1.0)[30:])
    assert not any(held for _, held in _stream(easing, per_pass=1, start=1.5, seconds=1.0)[30:])


def test_a_flood_that_stops_is_released_at_the_first_pass_that_finds_nothing_new() -> None:
    """A burst's last event arrived: the first pass `quiet` seconds or more after the one before that
    finds nothing new ends the hold at once (the window still holds the burst's rate), and does not
    begin one; a pass sooner than that after the last one, or one that finds anything, does not."""
    gauge = FloodGauge(300, max_wait=20.0, quiet=0.04)
    gauge.observe(0.0, 0)
    flood = _stream(gauge, per_pass=50, start=0.05, seconds=0.5, pass_every=0.05)  # 1,000 events/s
    assert flood[-1][1]  # held at the flood's last pass (0.50)
    gauge.observe(0.52, 0)  # too soon after the last pass to tell
    assert gauge.judge(0.52, 0.45, held=True) is True
    gauge.observe(0.57, 0)  # 0.05 s of nothing: stopped
    assert gauge.arrival_rate(0.57) >= 300  # the window alone would still hold it
    assert gauge.judge(0.57, 0.5, held=True) is False
    assert gauge.judge(0.58, 0.0, held=False) is False  # and no new hold while nothing arrives
    gauge.observe(0.62, 50)  # a new wave: the rate rules again
    assert gauge.judge(0.62, 0.0, held=False) is True


def test_below_the_flood_rate_or_with_no_rate_set_nothing_is_held() -> None:
    assert not any(held for _, held in _stream(FloodGauge(300), per_pass=2, start=0.0, seconds=2.0))
    assert not any(held for _, held in _stream(FloodGauge(0), per_pass=100, start=0.0, seconds=2.0))


@pytest.mark.parametrize("max_wait", [20.0, 0.0])
def test_a_flood_that_does_not_end_holds_handling_no_longer_than_the_longest_wait(max_wait: float) -> None:
    """Past FLOOD_MAX_WAIT (here 20 s, or 0 s: at once) events are handled whatever arrives, so replies
    keep up with their reply tokens; a hold begins again only once the oldest event in hand has waited
    less than half as long."""
    gauge = FloodGauge(300, max_wait=max_wait)
    gauge.observe(0.0, 0)
    judged = _stream(gauge, per_pass=20, start=0.01, seconds=max_wait + 5.0)
    held_at = [at for at, held in judged if held]
    if not max_wait:
        assert held_at == []  # handled while it arrives
        return
    assert held_at[0] <= 0.05
    released = next(at for at, held in judged if at > held_at[0] and not held)
    assert max_wait - 0.05 <= released - held_at[0] <= max_wait + 0.05
    # Released with a backlog 15 s old: not held again; once what is in hand is under 10 s old, held.
    last = judged[-1][0]  # the flood still arriving
    assert gauge.judge(last + 0.01, 15.0, held=False) is False
    assert gauge.judge(last + 0.02, 9.0, held=False) is True


class _ScriptedGauge(FloodGauge):
    """A gauge whose judgement the test sets, recording what the intake observed."""

    def __init__(self) -> None:
        super().__init__(300)
        self.flood = True
        self.fresh: list[int] = []

    def observe(self, at: float, fresh: int) -> None:
        self.fresh.append(fresh)

    def judge(self, at: float, oldest_wait: float, held: bool) -> bool:
        return self.flood


def test_the_intake_holds_its_crew_while_the_gauge_says_flood_then_handles_everything_in_order(
    engine: Engine,
) -> None:
    handled: list[tuple[str, str]] = []
    lock = threading.Lock()

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        with lock:
            handled.append((ctx.row.source_key, ctx.raw["message"]["text"]))

    users = [f"U{u:032d}" for u in range(20)]
    _append(engine, [_event(f"h{n:04d}", users[n % 20], str(n // 20)) for n in range(60)])
    gauge = _ScriptedGauge()
    intake = _processor(engine, handler, workers=2, poll_seconds=0.01, gauge=gauge)
    intake.start()
    try:
        assert _wait_for(lambda: sum(gauge.fresh) == 60)  # the intake read every event
        assert intake.flooding
        time.sleep(0.3)
        assert handled == []  # held from before its first pass: nothing handled
        gauge.flood = False
        assert _wait_for(lambda: len(handled) == 60)
        assert not intake.flooding
    finally:
        intake.stop()
    for user in users:
        assert [text for source, text in handled if source == user] == ["0", "1", "2"]


@pytest.mark.parametrize("batch", [1, intake_module.MAX_BATCH])
def test_two_worker_replicas_handle_each_event_once_and_each_users_in_order(
    db_url: str, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL, several worker processes (here two processors with their own engines): the row
    lock and the per-source advisory lock share the work without doubles or reordering. With one
    source per batch both replicas take part; with full batches the replica that reads first may
    claim every source at once, and the other's claims meet its locks."""
    if not db_url.startswith("postgresql"):
        pytest.skip("several workers on one database need PostgreSQL (SQLite runs one worker)")
    from models.db import make_engine

    monkeypatch.setattr(intake_module, "MAX_BATCH", batch)

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
    if batch == 1:
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
