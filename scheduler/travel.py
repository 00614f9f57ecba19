"""Moving the service's clock, and running what the time passed over would have run.

``move_clock(engine, settings, to)`` is what the demo's simulator and ``tidtam clock`` call (and a
year's replay, issue 17): it runs the daily tick of every working day whose tick time falls between
the service's time before the move (exclusive) and ``to`` (inclusive), each at its own tick time, then
stores the new offset (every process of the service follows it within a second), then drains the
outbox once at the new time, so that those days' reminders, escalations and digests arrive. A day
whose tick already ran is a no-op (``SchedulerRun``), so moving back and forward again sends nothing
twice. The ticks run before the offset is stored: a move cut short is finished by moving again, and
the service's own scheduler, which ticks today once the clock shows its tick time, finds the new
today already done instead of racing for it. Moving back only stores the offset (nothing is undone);
``reset_clock`` forgets the move.

The helpers give the targets of the simulator's buttons: the next working day at the tick time, and
the next tick that would send something.
"""

from __future__ import annotations

import logging
import os
import socket
import time as walltime
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery import Deliverer
from models import ReportingPeriod, SchedulerRun
from models.clock import clear_offset, store_offset
from scheduler.clock import FixedClock, ShiftedClock, make_clock
from scheduler.dispatch import Dispatcher, DispatchTotals
from scheduler.service import tick_setup
from scheduler.tick import DAILY_JOB, TickResult, TickSetup, plan_for, run_tick
from tidtam.settings import Settings

__all__ = [
    "ClockError",
    "MoveSummary",
    "move_clock",
    "next_reminder",
    "next_working_day",
    "reset_clock",
    "tick_instant",
    "ticks_between",
]

log = logging.getLogger(__name__)

LEASE_WAIT_SECONDS = 60.0  # how long a move waits for another replica's tick to finish
NEXT_REMINDER_HORIZON_DAYS = 92  # how far ahead next_reminder plans day by day (about a quarter)
_run: sa.Table = SchedulerRun.__table__  # type: ignore[attr-defined]
_period: sa.Table = ReportingPeriod.__table__  # type: ignore[attr-defined]


class ClockError(Exception):
    """A move that must not happen (for an operator: English)."""


@dataclass
class MoveSummary:
    """What a move did."""

    before: datetime
    after: datetime
    ticks: list[TickResult] = field(default_factory=list)  # the ticks that ran, in date order
    already: list[date] = field(default_factory=list)  # days whose tick had already run
    busy: list[date] = field(default_factory=list)  # days another replica kept the tick lease on
    dispatch: DispatchTotals | None = None  # None: left to the service's dispatcher

    @property
    def days_ticked(self) -> list[date]:
        return [tick.day for tick in self.ticks]

    @property
    def queued(self) -> int:
        """Messages queued by the ticks (a multicast to 3 counts 3)."""
        return sum(tick.recipients for tick in self.ticks)

    @property
    def sent(self) -> int:
        return self.dispatch.sent if self.dispatch is not None else 0


def tick_instant(day: date, setup: TickSetup) -> datetime:
    """When the daily tick of ``day`` is due (UTC)."""
    return datetime.combine(day, setup.rules.delivery.tick, tzinfo=setup.tz).astimezone(UTC)


def ticks_between(before: datetime, after: datetime, setup: TickSetup) -> list[date]:
    """Working days whose tick time falls in (before, after]."""
    days = []
    day = before.astimezone(setup.tz).date()
    last = after.astimezone(setup.tz).date()
    while day <= last:
        if setup.calendar.is_working_day(day) and before < tick_instant(day, setup) <= after:
            days.append(day)
        day += timedelta(days=1)
    return days


def _holder() -> str:
    return f"clock:{socket.gethostname()}:{os.getpid()}"[-64:]


def move_clock(
    engine: Engine,
    settings: Settings,
    to: datetime,
    *,
    clock: ShiftedClock | None = None,
    deliverer: Deliverer | None = None,
    setup: TickSetup | None = None,
) -> MoveSummary:
    """Move the service's clock to ``to`` (aware) and run the ticks and the dispatcher the time passed
    over would have run.

    ``clock`` is the caller's own service clock, refreshed after the move (default: one built from the
    settings); ``deliverer`` sends the outbox (default: one on the settings' LINE API when an access
    token is set, else the service's own dispatcher sends within its interval).
    """
    if to.tzinfo is None or to.utcoffset() is None:
        raise ValueError("move_clock needs a timezone-aware datetime")
    if settings.real_line_channel:
        raise ClockError(
            "the clock cannot be moved while a real LINE channel is configured (LINE_CHANNEL_* set and "
            f"LINE_API_BASE_URL is {settings.line_api_base_url}): reminders would reach real people"
        )
    to = to.astimezone(UTC)
    clock = clock or make_clock(settings, engine)
    setup = setup or tick_setup(settings, holder=_holder())
    summary = MoveSummary(before=clock.now(), after=to)
    for day in ticks_between(summary.before, to, setup):
        result = _tick_once(engine, day, setup)
        if result.ran:
            summary.ticks.append(result)
        elif result.reason == "already ran":
            summary.already.append(day)
        else:
            summary.busy.append(day)
    system_now = clock.system.now()
    store_offset(engine, to - system_now, moved_to=to, moved_at=system_now)
    clock.refresh()
    log.info(
        "service clock moved by %s: %d ticks ran, %d messages queued",
        to - summary.before,
        len(summary.ticks),
        summary.queued,
    )
    summary.dispatch = _dispatch(engine, settings, clock, setup, deliverer)
    return summary


def _tick_once(engine: Engine, day: date, setup: TickSetup) -> TickResult:
    """The day's tick at its own tick time; waits (bounded) while another replica holds the lease."""
    deadline = walltime.monotonic() + LEASE_WAIT_SECONDS
    while True:
        result = run_tick(engine, FixedClock(tick_instant(day, setup)), setup, day=day)
        if result.ran or result.reason == "already ran" or walltime.monotonic() > deadline:
            return result
        walltime.sleep(0.2)


def _dispatch(
    engine: Engine, settings: Settings, clock: ShiftedClock, setup: TickSetup, deliverer: Deliverer | None
) -> DispatchTotals | None:
    own = None
    if deliverer is None:
        if not settings.line_channel_access_token.get_secret_value():
            return None  # no LINE to talk to from here: the service's dispatcher sends
        from bot.line_client import LineClient

        own = LineClient(
            access_token=settings.line_channel_access_token.get_secret_value(),
            api_base_url=settings.line_api_base_url,
            data_api_base_url=settings.line_data_api_base_url,
            timeout=settings.line_timeout_seconds,
        )
        deliverer = Deliverer(engine, own, clock.now, _holder())
    try:
        return Dispatcher(engine, deliverer, clock, setup.tz, setup.rules.delivery).drain()
    finally:
        if own is not None:
            own.close()


def reset_clock(engine: Engine, *, clock: ShiftedClock | None = None) -> bool:
    """Forget the move: the clock runs on the system time again (or from TIDTAM_NOW, where it is set).
    Nothing is ticked or undone. True if the clock had been moved."""
    forgotten = clear_offset(engine)
    if clock is not None:
        clock.refresh()
    if forgotten:
        log.info("service clock reset")
    return forgotten


def next_working_day(now: datetime, setup: TickSetup) -> datetime:
    """The next working day after ``now``'s date, at the tick time."""
    return tick_instant(setup.calendar.next_working_day(now.astimezone(setup.tz).date()), setup)


def next_reminder(
    engine: Engine, setup: TickSetup, now: datetime, *, horizon_days: int = NEXT_REMINDER_HORIZON_DAYS
) -> datetime | None:
    """The next tick after ``now`` that would send something, as the planner sees the database now
    (planned day by day, up to ``horizon_days`` ahead, ticks already run skipped); past the horizon,
    the next due date of a reporting period; None when there is neither."""
    start = now.astimezone(setup.tz).date()
    with engine.connect() as conn:
        done = set(
            conn.execute(
                sa.select(_run.c.run_on).where(
                    _run.c.job == DAILY_JOB,
                    _run.c.run_on >= start,
                    _run.c.run_on <= start + timedelta(days=horizon_days),
                )
            ).scalars()
        )
        for offset in range(horizon_days + 1):
            day = start + timedelta(days=offset)
            if not setup.calendar.is_working_day(day) or day in done or tick_instant(day, setup) <= now:
                continue
            plan, *_ = plan_for(conn, day, setup)
            if plan.recipients:
                conn.rollback()
                return tick_instant(day, setup)
        due = conn.execute(
            sa.select(sa.func.min(_period.c.due_on)).where(
                _period.c.due_on > start + timedelta(days=horizon_days)
            )
        ).scalar()
        conn.rollback()
    if due is None:
        return None
    if not setup.calendar.is_working_day(due):
        due = setup.calendar.next_working_day(due)
    return tick_instant(due, setup)
