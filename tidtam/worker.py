"""The worker process: handles stored webhook events and runs the scheduler, apart from the web process.

The web process only verifies, stores and acknowledges; it never waits behind event handling for the
interpreter. The worker finds new events by polling the store every few milliseconds (an indexed
query), so no signal needs to cross the process boundary. Several workers may run (replicas): events
of one user are still handled one at a time and in order (advisory locks on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import sys

from models.db import make_engine
from scheduler.clock import Clock, SystemClock
from scheduler.service import scheduler_lifespan
from tidtam.service import make_processor, settle_heap
from tidtam.settings import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 0.01
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """On Linux, have the kernel stop this process when the process that started it dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def run_worker(settings: Settings, clock: Clock | None = None) -> None:
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    line, deliverer, processor = make_processor(
        settings, engine, clock, workers=max(1, settings.event_workers), poll_seconds=POLL_SECONDS
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    settle_heap()
    processor.start()
    try:
        async with scheduler_lifespan(engine, settings, clock, deliverer):
            await stop.wait()
    finally:
        processor.stop()
        line.close()
        engine.dispose()
