"""`tidtam serve`: the web service (LINE webhook, health check) under uvicorn."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from tidtam.settings import Settings


@contextmanager
def worker_process(settings: Settings) -> Iterator[None]:
    """Start `tidtam worker` beside the web process when events are handled out of process."""
    if settings.event_processing != "worker" or settings.event_workers <= 0:
        yield
        return
    from tidtam.worker import die_with_parent

    # The parent-death signal is armed between fork and exec, so the worker can never outlive this
    # process, even when it is killed (uvicorn re-raises SIGTERM after shutting down) before cleanup.
    child = subprocess.Popen(
        [sys.executable, "-m", "tidtam.cli", "worker", "--with-parent"], preexec_fn=die_with_parent
    )
    try:
        yield
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str | None = typer.Option(None, help="Interface to bind (default TIDTAM_HOST or 127.0.0.1)."),
        port: int | None = typer.Option(None, help="Port (default TIDTAM_PORT or 8000)."),
        migrate_first: bool = typer.Option(True, "--migrate/--no-migrate", help="Upgrade the schema first."),
    ) -> None:
        """Run the service."""
        import uvicorn

        from tidtam import migrate
        from tidtam.service import create_app, settle_heap

        settings = Settings()
        if migrate_first:
            migrate.upgrade(settings.database_url)
        with worker_process(settings):
            app = create_app(settings)
            settle_heap()
            uvicorn.run(
                app,
                host=host or settings.host,
                port=port or settings.port,
                log_level=settings.log_level.lower(),
                access_log=False,  # access logs would carry LINE user ids in paths of some routes
            )
