"""`tidtam clock`: show the service's time, or move it (demos, simulations) and run what the days
passed over would have run — their daily ticks, then the dispatcher (scheduler/travel.py).

The move is stored in the database, so the running service (web process and worker) follows it
within a second. Refused while a real LINE channel is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from scheduler.clock import ShiftedClock
    from scheduler.travel import MoveSummary
    from tidtam.settings import Settings


@contextmanager
def _service() -> Iterator[tuple[Settings, Engine, ShiftedClock]]:
    from models.db import make_engine
    from scheduler.clock import make_clock
    from tidtam.settings import Settings

    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        yield settings, engine, make_clock(settings, engine)
    finally:
        engine.dispose()


def _show(settings: Settings, clock: ShiftedClock) -> None:
    from messages.clock import service_time

    typer.echo(service_time(clock.now(), settings.tz, clock.origin))


def _move(target: Callable[[Settings, Engine, ShiftedClock], datetime | None]) -> None:
    """Move the clock to what ``target`` says (None: print why not, exit 1), then print what it did."""
    from messages import clock as text
    from scheduler.travel import ClockError, move_clock

    with _service() as (settings, engine, clock):
        to = target(settings, engine, clock)
        if to is None:
            typer.echo(text.no_reminder_ahead(), err=True)
            raise typer.Exit(1)
        try:
            summary = move_clock(engine, settings, to, clock=clock)
        except ClockError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        _print_move(settings, summary)
        _show(settings, clock)


def _print_move(settings: Settings, summary: MoveSummary) -> None:
    from messages.clock import describe_move

    for line in describe_move(summary, settings.tz):
        typer.echo(line)


def read_target(text: str, settings: Settings, clock: ShiftedClock) -> datetime:
    """``tidtam clock set``'s argument: an ISO date-time, or a Thai date with an optional time
    (``15/1/2570 08:30``); in the office's zone unless it says otherwise."""
    from messages.clock import parse_date_time
    from scheduler.clock import local_today, parse_instant

    try:
        return parse_instant(text, settings.tz)
    except ValueError:
        pass
    day, at = parse_date_time(text, today=local_today(clock, settings.tz))  # InputError: Thai
    return datetime.combine(day, at, tzinfo=settings.tz)


def register(app: typer.Typer) -> None:
    clock_app = typer.Typer(
        help="The service's clock: show it, or move it (demos, simulations; never with real LINE)."
    )

    @clock_app.callback(invoke_without_command=True)
    def main(ctx: typer.Context) -> None:
        """Show the service's time (what `show` does) unless a sub-command is given."""
        if ctx.invoked_subcommand is None:
            show()

    @clock_app.command("show")
    def show() -> None:
        """Print the service's date and time (Buddhist Era) and whether it is simulated."""
        with _service() as (settings, _engine, clock):
            _show(settings, clock)

    @clock_app.command("set")
    def set_(
        when: str = typer.Argument(
            ..., metavar="DATETIME", help="2027-01-15T08:30, 15/1/2570 08:30, … (a date alone: midnight)."
        ),
    ) -> None:
        """Move the clock to DATETIME; the daily ticks of the working days passed over run, then the
        dispatcher. Moving back only moves the clock."""
        from messages.errors import InputError

        def target(settings: Settings, _engine: Engine, clock: ShiftedClock) -> datetime:
            try:
                return read_target(when, settings, clock)
            except InputError as exc:
                typer.echo(exc.reply_text, err=True)
                raise typer.Exit(2) from exc

        _move(target)

    @clock_app.command("next-day")
    def next_day() -> None:
        """Move the clock to the next working day at the daily tick time."""
        from scheduler.service import tick_setup
        from scheduler.travel import next_working_day

        _move(lambda settings, _engine, clock: next_working_day(clock.now(), tick_setup(settings)))

    @clock_app.command("next-reminder")
    def next_reminder() -> None:
        """Move the clock to the next daily tick that would send something (as the database is now)."""
        from scheduler import travel
        from scheduler.service import tick_setup

        _move(lambda settings, engine, clock: travel.next_reminder(engine, tick_setup(settings), clock.now()))

    @clock_app.command("reset")
    def reset() -> None:
        """Forget the move: back to the system time (or to TIDTAM_NOW's, where it is set)."""
        from messages.clock import clock_reset
        from scheduler.travel import reset_clock

        with _service() as (settings, engine, clock):
            typer.echo(clock_reset(reset_clock(engine, clock=clock)))
            _show(settings, clock)

    app.add_typer(clock_app, name="clock")
