"""The worker process: handles stored webhook events and runs the scheduler, apart from the web process.

The web process only verifies, stores and acknowledges; it never waits behind event handling for the
interpreter. When `tidtam serve` starts the worker it hands it the read end of a pipe, and the web
process writes a byte after each commit of new events: the worker wakes at once and otherwise sweeps
the store once a second (for events another replica stored). A worker started on its own has no pipe
and polls the store every few milliseconds (an indexed query) instead. Several workers may run
(replicas): events of one user are still handled one at a time and in order (advisory locks on
PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.context import warm_calendars
from bot.intake import FLOOD_WAKE_PAUSE
from models import health
from models.db import make_engine, worker_engine_options
from scheduler.clock import Clock, make_clock
from scheduler.service import scheduler_lifespan
from tidtam.service import log_clock, make_processor, settle_heap
from tidtam.settings import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 0.01  # without a wake-up pipe
CLOCK_MOVED = b"c"  # on the wake-up pipe: the service clock was moved (any other byte: new events)
HEARTBEAT_SECONDS = 5.0  # how often a worker records that it is alive (`/readyz` reads it)
SWEEP_SECONDS = 1.0  # with one: only other replicas' events are found by looking
_PR_SET_PDEATHSIG = 1


class WakeWorker:
    """The web process's end of the wake-up pipe: `wake()` tells the worker new events are stored.

    The write never blocks the event loop: a full pipe already holds wake-ups the worker has not read,
    and a worker that is gone finds what is pending when it starts again.
    """

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self.fd = fd

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError (full) or BrokenPipeError (no reader)
            os.write(self.fd, b"w")

    def clock_moved(self) -> None:
        """Tell the worker the service clock was moved (the simulator's clock panel): it reads the
        new offset before it handles the events that follow, instead of within a second."""
        with contextlib.suppress(OSError):
            os.write(self.fd, CLOCK_MOVED)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def listen_for_wakeups(
    fd: int,
    notify: Callable[[], None],
    pause: Callable[[], float] = lambda: 0.0,
    clock_moved: Callable[[], None] | None = None,
) -> threading.Thread:
    """The worker's end: call `notify` whenever the web process writes, then wait `pause()` seconds
    (wake-ups meanwhile are read at once afterwards); ends when the pipe closes. A clock move among
    what was read (`WakeWorker.clock_moved`) calls `clock_moved` first, so the events stored after
    the move are handled at the moved time (a dashboard link issued at the old time had expired by
    the new one)."""

    def run() -> None:
        try:
            while chunk := os.read(fd, 4096):  # several wake-ups read at once are one pass
                if clock_moved is not None and CLOCK_MOVED in chunk:
                    try:
                        clock_moved()
                    except Exception:  # the clock still follows the stored offset every second
                        log.warning("reading the moved clock failed", exc_info=True)
                notify()
                wait = pause()
                if wait > 0:
                    time.sleep(wait)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)

    thread = threading.Thread(target=run, name="tidtam-wakeups", daemon=True)
    thread.start()
    return thread


def die_with_parent() -> None:
    """On Linux, have the kernel stop this process when the process that started it dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def run_worker(
    settings: Settings,
    clock: Clock | None = None,
    wake_fd: int | None = None,
    clock_offset: timedelta | None = None,
    share: tuple[int, int] | None = None,
) -> None:
    """The worker's life: `clock` defaults to the service's (`make_clock`), from `clock_offset` when
    `tidtam serve` hands down its own TIDTAM_NOW offset, so both processes show one time. `share`
    (i, n): worker i of the n `tidtam serve` started (TIDTAM_WORKERS); it handles its share of the
    sources, and only worker 0 runs the scheduler (the daily tick and the outbox dispatcher)."""
    # No pre-ping: a round trip before every checkout, on the hot path of each event (make_engine's
    # default for PostgreSQL: only a connection idle in the pool for a while is checked). A claim or a
    # pending read that meets a connection the server dropped is made again at once on a fresh one
    # (models/events.py; the pool is replaced at the first disconnect SQLAlchemy sees).
    engine = make_engine(
        settings.database_url, pool_pre_ping=False, **worker_engine_options(settings.database_url)
    )
    own_clock = make_clock(settings, engine, base=clock_offset, follow=True) if clock is None else None
    clock = clock or own_clock
    assert clock is not None
    log_clock(clock, settings)
    line, deliverer, processor = make_processor(
        settings,
        engine,
        clock,
        workers=max(1, settings.event_workers),
        poll_seconds=POLL_SECONDS if wake_fd is None else SWEEP_SECONDS,
        flood_rate=settings.flood_rate,
        share=share,
    )
    if wake_fd is not None:
        # Under a flood every worker is busy anyway: a wake-up per commit of the web process would only
        # take CPU from it. Outside one, each wake-up counts.
        listen_for_wakeups(
            wake_fd,
            processor.notify,
            lambda: FLOOD_WAKE_PAUSE if processor.flooding else 0.0,
            clock_moved=getattr(clock, "refresh", None),
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    warm_calendars(clock.now().date())  # the deadlines the first answers tell
    settle_heap()
    processor.start()
    holder = f"{socket.gethostname()}:{os.getpid()}"[-64:]
    beating = asyncio.create_task(keep_beating(engine, holder, clock, processor.alive))
    try:
        if share is None or share[0] == 0:
            async with scheduler_lifespan(engine, settings, clock, deliverer):
                await stop.wait()
        else:
            await stop.wait()
    finally:
        beating.cancel()
        processor.stop()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(health.forget, engine, holder)
        line.close()
        if own_clock is not None:
            own_clock.stop()
        engine.dispose()


async def keep_beating(engine: Engine, holder: str, clock: Clock, alive: Callable[[], bool]) -> None:
    """Record every HEARTBEAT_SECONDS that this worker is alive, while its event processor is."""
    started = clock.now()
    failing = False
    while True:
        if alive():
            try:
                await asyncio.to_thread(health.beat, engine, holder, clock.now(), started_at=started)
                failing = False
            except Exception:
                if not failing:  # once per outage, not every beat
                    log.warning("recording the worker's heartbeat failed", exc_info=True)
                failing = True
        await asyncio.sleep(HEARTBEAT_SECONDS)
