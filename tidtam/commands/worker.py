"""`tidtam worker`: handle stored webhook events and run the scheduler (started by `tidtam serve`)."""

from __future__ import annotations

import typer

WORKER_NICENESS = 5


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker(
        with_parent: bool = typer.Option(False, "--with-parent", help="Stop when the starting process dies."),
    ) -> None:
        """Process webhook events and run the scheduler in this process."""
        import asyncio
        import logging
        import os

        from tidtam.settings import Settings
        from tidtam.worker import die_with_parent, run_worker

        settings = Settings()
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
        if with_parent:
            die_with_parent()
            # Started beside the web process: acknowledging webhooks is the latency-critical path,
            # event handling is throughput work, so yield the CPU to the web process under load.
            os.nice(WORKER_NICENESS)
        asyncio.run(run_worker(settings))
