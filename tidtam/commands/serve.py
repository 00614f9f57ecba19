"""`tidtam serve`: the web service (LINE webhook, health check) under uvicorn."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import typer

from tidtam.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from tidtam.worker import WakeWorker


def refuse_simulated_clock_with_real_line(settings: Settings) -> None:
    """Exit with code 2 when TIDTAM_NOW or a moved clock would run together with a real LINE channel."""
    from models.db import make_engine
    from scheduler.clock import real_line_conflict

    engine = make_engine(settings.database_url)
    try:
        problem = real_line_conflict(settings, engine)
    finally:
        engine.dispose()
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)


def _offset_option(offset: timedelta | None) -> list[str]:
    """The worker's `--clock-offset-us`: the web process's TIDTAM_NOW offset, so both show one time."""
    if offset is None:
        return []
    return ["--clock-offset-us", str(offset // timedelta(microseconds=1))]


def worker_count(settings: Settings) -> int:
    """How many worker processes `serve` starts: TIDTAM_WORKERS on PostgreSQL; one on SQLite, which has
    one writer at a time (several processes would only queue on its lock), said once in the log."""
    if settings.workers > 1 and settings.database_url.startswith("sqlite"):
        logging.getLogger(__name__).warning(
            "TIDTAM_WORKERS=%d: SQLite runs one worker process (several need PostgreSQL)", settings.workers
        )
        return 1
    return settings.workers


@contextmanager
def worker_process(
    settings: Settings, clock_offset: timedelta | None = None
) -> Iterator[Callable[[], None] | None]:
    """Start the `tidtam worker` processes (TIDTAM_WORKERS, `worker_count`) beside the web process when
    events are handled out of process; yields what wakes them after new events are stored (None when
    there is no worker). With several, each handles its share of the users (`--share I/N`) and the
    first also runs the scheduler."""
    if settings.event_processing != "worker" or settings.event_workers <= 0:
        yield None
        return
    from tidtam.worker import WakeWorker, die_with_parent

    count = worker_count(settings)
    wakes: list[WakeWorker] = []
    children: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(count):
            read_end, write_end = os.pipe()
            wakes.append(WakeWorker(write_end))
            share = ["--share", f"{index}/{count}"] if count > 1 else []
            # The parent-death signal is armed between fork and exec, so a worker can never outlive this
            # process, even when it is killed (uvicorn re-raises SIGTERM after shutting down) before cleanup.
            try:
                children.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "tidtam.cli",
                            "worker",
                            "--with-parent",
                            "--wake-fd",
                            str(read_end),
                            *share,
                            *_offset_option(clock_offset),
                        ],
                        preexec_fn=die_with_parent,
                        pass_fds=(read_end,),
                    )
                )
            finally:
                os.close(read_end)  # the worker holds its own copy

        yield _Wakes(wakes)
    finally:
        for wake in wakes:
            wake.close()
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


class _Wakes:
    """What wakes the workers `tidtam serve` started: called, after new events are stored;
    `clock_moved()`, after the service clock was moved (tidtam/worker.py `WakeWorker`)."""

    def __init__(self, wakes: Sequence[WakeWorker]) -> None:
        self._wakes = list(wakes)

    def __call__(self) -> None:
        for wake in self._wakes:
            wake.wake()

    def clock_moved(self) -> None:
        for wake in self._wakes:
            wake.clock_moved()


def run_service(
    settings: Settings,
    *,
    host: str,
    port: int,
    extend: Callable[[FastAPI], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """The web process under uvicorn, with its worker process beside it (`serve` and `demo`). Refuses
    (exit code 2) a simulated clock with a real LINE channel. `extend` adds to the app before it
    serves (the demo's simulator); `on_ready` runs once the port is listening, `on_stop` once the
    server has shut down (before uvicorn re-raises the signal that stopped it)."""

    from scheduler.clock import start_offset
    from tidtam.http_server import server_config
    from tidtam.logs import configure_logging
    from tidtam.service import create_app, settle_heap

    refuse_simulated_clock_with_real_line(settings)
    configure_logging(settings.log_level)
    clock_offset = start_offset(settings)  # TIDTAM_NOW's, taken once for both processes
    with worker_process(settings, clock_offset) as wake_worker:
        app = create_app(settings, wake_worker=wake_worker, clock_offset=clock_offset)
        if extend is not None:
            extend(app)
        config = server_config(app, host=host, port=port, log_level=settings.log_level.lower())
        settle_heap()
        _server(config, on_ready, on_stop).run()  # type: ignore[attr-defined]


def _server(
    config: object, on_ready: Callable[[], None] | None, on_stop: Callable[[], None] | None
) -> object:
    """uvicorn's server, calling `on_ready` once its port listens and `on_stop` once it has shut down."""
    import uvicorn

    class ReadyServer(uvicorn.Server):
        async def startup(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
            await super().startup(sockets=sockets)
            if on_ready is not None and self.started:
                on_ready()

        async def shutdown(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
            try:
                await super().shutdown(sockets=sockets)
            finally:
                if on_stop is not None:
                    on_stop()

    return ReadyServer(config)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str | None = typer.Option(None, help="Interface to bind (default TIDTAM_HOST or 127.0.0.1)."),
        port: int | None = typer.Option(None, help="Port (default TIDTAM_PORT or 8000)."),
        migrate_first: bool = typer.Option(True, "--migrate/--no-migrate", help="Upgrade the schema first."),
    ) -> None:
        """Run the service."""
        from tidtam import migrate

        settings = Settings()
        if migrate_first:
            migrate.upgrade(settings.database_url)
        run_service(settings, host=host or settings.host, port=port or settings.port)
