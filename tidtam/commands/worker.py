"""`tidtam worker`: handle stored webhook events and run the scheduler (started by `tidtam serve`)."""

from __future__ import annotations

import typer

WORKER_NICENESS = 19  # where SCHED_IDLE is not available


def yield_cpu_to_the_web_process() -> str:
    """Run this process only on CPU time the web process (and everything else) leaves idle.

    Acknowledging webhooks is the latency-critical path (LINE gives up on a slow webhook); handling
    events is backlog work that catches up a moment later. Linux's SCHED_IDLE does exactly that, and
    more than a high nice value: a waking web process takes a core running only this worker at once.
    Nothing is starved in practice: whenever the web process waits (for requests, for its commits),
    the worker runs; and a worker holding SQLite's write lock is never waited for by a busy web
    process, which then sleeps in 1 ms steps and so leaves the CPU to it. Returns what was applied.
    """
    import os

    policy = getattr(os, "SCHED_IDLE", None)
    if policy is not None:
        try:
            os.sched_setscheduler(0, policy, os.sched_param(0))
            return "SCHED_IDLE"
        except OSError:
            pass
    os.nice(WORKER_NICENESS)
    return f"nice {WORKER_NICENESS}"


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker(
        with_parent: bool = typer.Option(False, "--with-parent", help="Stop when the starting process dies."),
    ) -> None:
        """Process webhook events and run the scheduler in this process."""
        import asyncio
        import logging

        from tidtam.settings import Settings
        from tidtam.worker import die_with_parent, run_worker

        settings = Settings()
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
        if with_parent:
            die_with_parent()
            yield_cpu_to_the_web_process()
        asyncio.run(run_worker(settings))
