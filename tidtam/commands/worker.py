"""`tidtam worker`: handle stored webhook events and run the scheduler (started by `tidtam serve`)."""

from __future__ import annotations

import typer


def yield_cpu_to_the_web_process(priority: str) -> str:
    """Lower this process's CPU priority below the web process's; returns what was applied.

    Acknowledging webhooks is the latency-critical path (LINE gives up on a slow webhook); handling
    events is backlog work that may lag a moment under a flood. A nice value (default 10) keeps the
    web process first while replies still get their share whatever else runs on the machine.
    `idle` (Linux SCHED_IDLE) goes further: the worker only gets CPU nothing else wants, which
    acknowledges a flood fastest but lets any busy neighbour (an import, the database, a benchmark's
    load generator) hold replies back; falls back to nice 19 where unavailable.
    """
    import os

    # Called before any other thread starts: they inherit it. On Linux, pid 0 is the calling thread.
    if priority == "idle" and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "SCHED_IDLE"
        except OSError:
            pass
    if priority == "idle":
        priority = "19"
    os.nice(int(priority))
    return f"nice {priority}"


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker(
        with_parent: bool = typer.Option(False, "--with-parent", help="Stop when the starting process dies."),
        wake_fd: int | None = typer.Option(
            None, "--wake-fd", help="Read end of the pipe `tidtam serve` signals new events on."
        ),
        clock_offset_us: int | None = typer.Option(
            None, "--clock-offset-us", hidden=True, help="The starting process's TIDTAM_NOW offset."
        ),
        share: str | None = typer.Option(
            None, "--share", hidden=True, help="I/N: worker I of the N `tidtam serve` started."
        ),
    ) -> None:
        """Process webhook events and run the scheduler in this process."""
        import asyncio
        from datetime import timedelta

        from tidtam.commands.serve import refuse_simulated_clock_with_real_line
        from tidtam.logs import configure_logging
        from tidtam.settings import Settings
        from tidtam.worker import die_with_parent, run_worker

        settings = Settings()
        configure_logging(settings.log_level)
        if with_parent:
            die_with_parent()
            yield_cpu_to_the_web_process(settings.worker_priority)
        else:  # `tidtam serve` has checked already
            refuse_simulated_clock_with_real_line(settings)
        offset = None if clock_offset_us is None else timedelta(microseconds=clock_offset_us)
        part = None
        if share:
            index, count = (int(x) for x in share.split("/", 1))
            part = (index, count)
        asyncio.run(run_worker(settings, wake_fd=wake_fd, clock_offset=offset, share=part))
