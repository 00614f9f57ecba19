"""The service: one FastAPI app that wires settings, the database and the rooms together."""

from __future__ import annotations

import gc
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from bot.delivery import Deliverer
from bot.handlers import handle_event, prepare_batch
from bot.intake import EventIntake
from bot.line_client import LineClient
from bot.media_links import MediaLinks
from bot.processor import EventProcessor, Handler
from bot.webhook import add_webhook_endpoint
from dashboard.web import install_dashboard
from models.db import make_engine
from models.health import last_beat
from models.linking import LinkLimits
from scheduler.clock import Clock, ShiftedClock, make_clock
from scheduler.service import configured_rules, scheduler_lifespan
from tidtam.media_pages import add_media_pages
from tidtam.settings import Settings

log = logging.getLogger(__name__)
# `/readyz` wants a worker's heartbeat (every 5 s, tidtam/worker.py) at most this old.
READY_BEAT_SECONDS = 20.0
SENDERS = 8  # concurrent requests to LINE from one process's deliverer


def settle_heap() -> None:
    """Move everything alive after start-up (modules, the app, table metadata) out of the garbage
    collector's reach, for a long-running process.

    Without it every full collection walks those hundreds of thousands of objects again: in the webhook
    they were a third of the CPU per acknowledgement and the 100+ ms stalls in its latency tail. Called
    by the `serve` and `worker` entry points, not by `create_app`, so tests that build many apps in one
    process keep the default behaviour.
    """
    gc.collect()
    gc.freeze()


def link_limits(settings: Settings) -> LinkLimits:
    """The link-code limits as configured (the processor's, and what a dashboard shows them against)."""
    return LinkLimits(
        tries_per_office_per_hour=settings.link_tries_per_office_per_hour,
        wrong_tries_per_hour=settings.link_tries_per_hour,
    )


def media_links(settings: Settings) -> MediaLinks:
    return MediaLinks.from_secret(settings.public_url, settings.line_channel_secret.get_secret_value())


def make_processor(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    handler: Handler = handle_event,
    *,
    workers: int,
    poll_seconds: float | None = None,
    flood_rate: int = 0,
    share: tuple[int, int] | None = None,
) -> tuple[LineClient, Deliverer, EventIntake]:
    """The LINE client, the outbox deliverer and the event intake (with its processor), wired the same way for the
    web process (inline processing) and the worker process. The worker process holds handling back
    under a flood (`flood_rate`); inline, handling shares the web process's interpreter lock anyway,
    so that mode is for a single process that meets no floods (tests, small installs)."""
    line = LineClient(
        access_token=settings.line_channel_access_token.get_secret_value(),
        api_base_url=settings.line_api_base_url,
        data_api_base_url=settings.line_data_api_base_url,
        timeout=settings.line_timeout_seconds,
    )
    # A batch's replies go out concurrently over the client's keep-alive connections.
    deliverer = Deliverer(engine, line, clock.now, f"{socket.gethostname()}:{os.getpid()}", senders=SENDERS)
    processor = EventProcessor(
        engine,
        handler,
        deliverer=deliverer,
        line=line,
        now=clock.now,
        tz=settings.tz,
        media_dir=settings.media_dir,
        approval_levels=settings.approval_levels,
        hold_for_replies=settings.hold_for_replies,
        link_limits=link_limits(settings),
        public_url=settings.public_url,
        media_links=media_links(settings),
        rules=configured_rules(settings),  # TIDTAM_TICK_TIME: when held rows are released
        prepare=prepare_batch if handler is handle_event else None,  # a test's handler reads its own
    )
    intake = EventIntake(
        engine,
        processor,
        deliverer=deliverer,
        workers=workers,
        flood_rate=flood_rate,
        poll_seconds=poll_seconds,
        share=share,
    )
    return line, deliverer, intake


def log_clock(clock: Clock, settings: Settings) -> None:
    """One line at start when the service's clock is not the system time (TIDTAM_NOW, or moved)."""
    if getattr(clock, "simulated", False):
        state = clock.describe(settings.tz)  # type: ignore[attr-defined]
        log.warning("the service clock is simulated (%s): it is %s", state["origin"], state["now"])


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    clock_offset: timedelta | None = None,
    handler: Handler = handle_event,
    wake_worker: Callable[[], None] | None = None,
) -> FastAPI:
    """The service. `clock` and `handler` are the seams a simulation or a test may replace (by default
    the service's clock, `scheduler.clock.make_clock`, starting from `clock_offset` when `tidtam serve`
    hands the one it gives its worker); `wake_worker` tells a separate worker process that new events
    are stored (`tidtam serve`)."""
    inline = settings.event_processing == "inline" and settings.event_workers > 0
    # With a separate worker, this process only stores events, and retries a locked SQLite itself
    # without blocking (models/events.py EventStore); inline, its own writers queue on an in-process lock.
    engine = make_engine(settings.database_url, sqlite_busy_ms=30_000 if inline else 5)
    own_clock = make_clock(settings, engine, base=clock_offset) if clock is None else None
    clock = clock or own_clock
    assert clock is not None
    line, deliverer, processor = make_processor(
        settings, engine, clock, handler, workers=settings.event_workers
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log_clock(clock, settings)
        if own_clock is not None:
            own_clock.follow()  # a move made by another process reaches this one within a second
        if inline:
            processor.start()
        try:
            if inline:
                async with scheduler_lifespan(engine, settings, clock, deliverer):
                    yield
            else:
                yield  # a `tidtam worker` process handles events and runs the scheduler
        finally:
            await committer.close()
            if inline:
                processor.stop()
            line.close()
            if own_clock is not None:
                own_clock.stop()
            engine.dispose()

    app = FastAPI(title="Tidtam", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.processor = processor
    app.state.clock = clock  # the simulator shows it and moves it (scheduler.travel.move_clock)
    # After a move, the simulator tells the worker processes at once (`clock_moved`, tidtam/worker.py).
    app.state.clock_moved = getattr(wake_worker, "clock_moved", None)
    app.state.deliverer = deliverer
    install_dashboard(app)  # the planning group's pages under /dashboard
    committer = add_webhook_endpoint(
        app,
        engine=engine,
        channel_secret=settings.line_channel_secret.get_secret_value(),
        now=clock.now,
        notify=processor.notify if inline or wake_worker is None else wake_worker,
    )

    add_media_pages(
        app,
        engine=engine,
        links=media_links(settings),
        media_dir=settings.media_dir,
        now=clock.now,
        tz=settings.tz,
    )

    def database_answers() -> bool:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception:  # the health checks report, they do not raise
            return False
        return True

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Whether this replica should get traffic (for an orchestrator): the database answers, and
        events are being handled: the inline processor runs, or a worker beat recently."""
        body: dict[str, object] = {"status": "ready"}
        problems = []
        if not database_answers():
            body["database"] = "unreachable"
            problems.append("the database does not answer")
        else:
            body["database"] = engine.dialect.name
            if inline:
                running = processor.alive()
                body["worker"] = "inline" if running else "stopped"
                if not running:
                    problems.append("event processing has stopped")
            else:
                seen = last_beat(engine)
                ago = (clock.now() - seen).total_seconds() if seen is not None else None
                body["worker_seen_seconds_ago"] = round(ago, 1) if ago is not None else None
                if ago is None or ago > READY_BEAT_SECONDS:
                    problems.append("no worker has been seen lately")
        if problems:
            body.update(status="not ready", problems=problems)
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        if not database_answers():
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        body: dict[str, object] = {"status": "ok", "database": engine.dialect.name}
        if isinstance(clock, ShiftedClock) and clock.simulated:
            body["clock"] = clock.describe(settings.tz)
        return JSONResponse(body)

    return app
