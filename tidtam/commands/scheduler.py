"""`tidtam scheduler` (the scheduler alone), `tidtam remind` (one day's tick, or a dry run of it) and
`tidtam dispatch` (drain the outbox)."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.line_client import LineClient
    from scheduler.campaigns import DueMessage
    from scheduler.planner import Plan
    from tidtam.settings import Settings


def _holder(given: str | None) -> str:
    return given or f"{socket.gethostname()}:{os.getpid()}"


def print_plan(plan: Plan, campaigns: Sequence[DueMessage] = ()) -> None:
    """One block per recipient: who (code and name), then each item of their message, and what
    evaluation campaigns add to it (folded into the same push)."""
    from messages import scheduler_text as text
    from messages.reminders import item_text

    extra: dict[int, list[DueMessage]] = {}
    for due in campaigns:
        extra.setdefault(due.person_id, []).append(due)
    alone = [ms for p, ms in extra.items() if not any(p in r.person_ids for r in plan.recipients)]
    echo = typer.echo
    total = len(plan.recipients) + len(alone)
    echo(text.dry_run_heading(plan.day, total))
    blocks = [
        (r.label, r.to, r.items, [m for p in r.person_ids for m in extra.get(p, [])]) for r in plan.recipients
    ]
    blocks += [(ms[0].label, ms[0].to, (), ms) for ms in alone]
    for label, to, items, dues in blocks:
        echo("")
        echo(f"== {label} [{to}]")
        number = 0
        for number, item in enumerate(items, start=1):
            lines = item_text(item, plan.max_lines)
            echo(f"  {number}. ({item.kind.value}) {lines[0]}")
            for line in lines[1:]:
                echo(f"     {line}")
        for offset, due in enumerate(dues, start=number + 1):
            echo(f"  {offset}. ({due.purpose}) {due.line}")
    if plan.rides:
        echo("")
        echo(text.planning_on_reply(len(plan.rides)))
        for r in plan.rides:
            echo(f"  - {r.label}: {', '.join(item.kind.value for item in r.items)}")
    if plan.unreachable:
        echo("")
        echo(text.dry_run_unreachable(len(plan.unreachable)))
        for person_id in sorted(plan.unreachable):
            person = plan.people[person_id]
            kinds = ", ".join(item.kind.value for item in plan.unreachable[person_id])
            echo(f"  - {person.code} {person.full_name}: {kinds}")


def register(app: typer.Typer) -> None:
    @app.command("remind")
    def remind(
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Print what the tick would send; send and change nothing."
        ),
        date_text: str | None = typer.Option(
            None, "--date", help="The day, e.g. 2027-01-08 or 8/1/2570 (default today)."
        ),
    ) -> None:
        """Run today's tick now, or (--dry-run) print what a day's tick would send."""
        from sqlmodel import Session

        from messages import scheduler_text as text
        from messages.errors import InputError
        from messages.thai_dates import parse_date
        from models.db import make_engine
        from scheduler.campaigns import due_messages
        from scheduler.clock import local_today, make_clock
        from scheduler.service import tick_setup
        from scheduler.tick import plan_for, run_tick
        from tidtam.settings import Settings

        settings = Settings()
        setup = tick_setup(settings, holder=_holder(None))
        engine = make_engine(settings.database_url)
        try:
            clock = make_clock(settings, engine)
            today = local_today(clock, settings.tz)
            try:
                day = parse_date(date_text, today=today) if date_text else today
            except InputError as exc:
                typer.echo(f"cannot read the date {date_text!r}: {exc.reply_text}", err=True)
                raise typer.Exit(2) from exc
            if dry_run:
                with engine.connect() as conn:
                    plan, digest_only, used, _ = plan_for(conn, day, setup)
                    conn.rollback()
                with Session(engine) as session:
                    campaigns = due_messages(session, day)
                print_plan(plan, campaigns)
                if digest_only:
                    typer.echo("\n" + text.dry_run_digest_only(used, setup.monthly_quota))
                return
            if day != today:
                typer.echo("only today's tick can be run for real; use --dry-run for another day", err=True)
                raise typer.Exit(2)
            _refuse_simulated_clock(settings)
            result = run_tick(engine, clock, setup)
            typer.echo(
                f"{result.day}: {result.reason or 'queued'} — {result.recipients} messages in {result.rows} outbox rows"
            )
        finally:
            engine.dispose()

    @app.command("dispatch")
    def dispatch(
        holder: str | None = typer.Option(
            None, help="Dispatcher name; give the same one on restart to reclaim its rows."
        ),
        until_empty: bool = typer.Option(
            False, "--until-empty", help="Stop when nothing is due, instead of looping."
        ),
        batch: int = typer.Option(100, help="Rows claimed per batch."),
    ) -> None:
        """Send what is due in the outbox."""
        import asyncio
        import signal

        from bot.delivery import Deliverer
        from models.db import make_engine
        from scheduler.clock import make_clock
        from scheduler.dispatch import Dispatcher
        from scheduler.service import tick_setup
        from tidtam.settings import Settings

        settings = Settings()
        _refuse_simulated_clock(settings)
        setup = tick_setup(settings)
        engine = make_engine(settings.database_url)
        line = _line_client(settings)
        clock = make_clock(settings, engine, follow=not until_empty)
        dispatcher = Dispatcher(
            engine,
            Deliverer(engine, line, clock.now, _holder(holder)),
            clock,
            setup.tz,
            setup.rules.delivery,
            batch=batch,
        )
        try:
            if holder:
                dispatcher.release_own_claims()
            if until_empty:
                totals = dispatcher.drain()
                typer.echo(f"sent {totals.sent}, failed {totals.failed}, retrying {totals.retrying}")
                return

            async def loop() -> None:
                stop = asyncio.Event()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    asyncio.get_running_loop().add_signal_handler(sig, stop.set)
                await dispatcher.run(stop, interval=settings.dispatch_interval_seconds)

            asyncio.run(loop())
        finally:
            line.close()
            clock.stop()
            engine.dispose()

    @app.command("scheduler")
    def scheduler(
        holder: str | None = typer.Option(None, help="This replica's name (default host:pid)."),
    ) -> None:
        """Run the scheduler alone: the daily tick (with catch-up) and the outbox dispatcher."""
        import asyncio
        import signal

        from bot.delivery import Deliverer
        from models.db import make_engine
        from scheduler.clock import make_clock
        from scheduler.service import SchedulerService
        from tidtam import migrate
        from tidtam.settings import Settings

        settings = Settings()
        migrate.upgrade(settings.database_url)
        _refuse_simulated_clock(settings)
        engine = make_engine(settings.database_url)
        line = _line_client(settings)
        clock = make_clock(settings, engine, follow=True)
        deliverer = Deliverer(engine, line, clock.now, _holder(holder))

        async def main() -> None:
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            service = SchedulerService(engine, settings, clock, deliverer)
            service.start()
            typer.echo(
                f"scheduler running: daily tick at {service.setup.rules.delivery.tick_time} ({settings.timezone})"
            )
            try:
                await stop.wait()
            finally:
                await service.stop()

        try:
            asyncio.run(main())
        finally:
            line.close()
            clock.stop()
            engine.dispose()


def _refuse_simulated_clock(settings: Settings) -> None:
    """What sends or queues for real refuses a simulated clock with a real LINE channel (exit code 2)."""
    from tidtam.commands.serve import refuse_simulated_clock_with_real_line

    refuse_simulated_clock_with_real_line(settings)


def _line_client(settings: Settings) -> LineClient:
    from bot.line_client import LineClient

    return LineClient(
        access_token=settings.line_channel_access_token.get_secret_value(),
        api_base_url=settings.line_api_base_url,
        data_api_base_url=settings.line_data_api_base_url,
        timeout=settings.line_timeout_seconds,
    )
