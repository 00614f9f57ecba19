"""The scheduler inside the service (or alone): APScheduler 3 says *when*, ``scheduler.tick`` *what*.

* The daily tick: a ``CronTrigger`` on Monday–Friday at the configured local time; holidays are
  skipped by the tick itself (the calendar knows Thai public holidays and the office's own).
* Catch-up: on start, a working day's tick that should already have run today and has not (the
  service was down at tick time) runs at once, once (``SchedulerRun`` makes any later attempt a no-op).
* The dispatcher drains the outbox every few seconds, and right after a tick.
* A moved or TIDTAM_NOW clock (``ShiftedClock``): APScheduler's triggers run on the real time, so the
  daily trigger only ticks when the service's clock says the tick is due, and a watch every
  ``TICK_WATCH_SECONDS`` runs a tick that came due on the service's clock (``scheduler.travel`` runs
  the ticks of the days a move passes over itself).

APScheduler only decides when to wake up; the tick reads the injected clock, so a test (or a replay)
drives the same code with a ``FixedClock``.

For the FastAPI lifespan::

    async with scheduler_lifespan(engine, settings, clock, deliverer):
        yield
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from bot.delivery import Deliverer
from models import SchedulerRun
from scheduler.clock import Clock, ShiftedClock
from scheduler.dispatch import Dispatcher
from scheduler.process_steps import load_process_steps
from scheduler.quota import line_quota_reader
from scheduler.rules import Rules, RulesError, load_rules, parse_clock_time
from scheduler.tick import DAILY_JOB, TickResult, TickSetup, run_tick
from scheduler.workdays import WorkCalendar
from tidtam.settings import Settings

__all__ = ["SchedulerService", "configured_rules", "scheduler_lifespan", "tick_setup"]

log = logging.getLogger(__name__)
TICK_WATCH_SECONDS = 10.0  # how often a service on a shifted clock looks whether its tick came due


def configured_rules(settings: Settings) -> Rules:
    """The rules file with the settings' overrides (``TIDTAM_TICK_TIME``, ``TIDTAM_QUIET_HOURS``): the
    rules the tick plans with, and those event handling holds rows by (``bot.riders.hold_until``)."""
    rules = load_rules(settings.rules_file)
    delivery = rules.delivery
    if settings.tick_time:
        parse_clock_time(settings.tick_time)
        delivery = dataclasses.replace(delivery, tick_time=settings.tick_time)
    if settings.quiet_hours:
        start, sep, end = settings.quiet_hours.partition("-")
        if not sep:
            raise RulesError(f"TIDTAM_QUIET_HOURS must look like 20:00-07:00, not {settings.quiet_hours!r}")
        parse_clock_time(start)
        parse_clock_time(end)
        delivery = dataclasses.replace(delivery, quiet_start=start.strip(), quiet_end=end.strip())
    return dataclasses.replace(rules, delivery=delivery)


def tick_setup(settings: Settings, *, holder: str = "tick") -> TickSetup:
    """Rules (file + settings overrides), calendar, process steps and quota from the settings."""
    return TickSetup(
        rules=configured_rules(settings),
        calendar=WorkCalendar(),
        tz=settings.tz,
        steps=tuple(load_process_steps(overrides=settings.process_steps_file)),
        monthly_quota=settings.monthly_message_quota,
        holder=holder,
        plan_workers=settings.tick_plan_workers,
        build_workers=settings.tick_build_workers,
    )


class SchedulerService:
    """The daily tick, its catch-up, and the outbox dispatcher, on the running asyncio loop."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        deliverer: Deliverer,
        *,
        setup: TickSetup | None = None,
        dispatch: bool = True,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        # LINE's own count of the month is read once per tick (scheduler/quota.py).
        self.setup = setup or dataclasses.replace(
            tick_setup(settings, holder=deliverer.holder), quota_reader=line_quota_reader(deliverer.client)
        )
        self.dispatcher = Dispatcher(engine, deliverer, clock, self.setup.tz, self.setup.rules.delivery)
        self.dispatch = dispatch
        self.scheduler: AsyncIOScheduler | None = None
        self.last_tick: TickResult | None = None
        self._running: set[asyncio.Task[object]] = set()

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start on the running event loop; runs a missed tick of today once."""
        tz = self.setup.tz
        at = self.setup.rules.delivery.tick
        scheduler = AsyncIOScheduler(timezone=tz)
        scheduler.add_job(
            self._due_tick_job,
            CronTrigger(day_of_week="mon-fri", hour=at.hour, minute=at.minute, timezone=tz),
            id="daily-tick",
            name="daily tick",
            coalesce=True,  # several missed fire times run once
            max_instances=1,
            misfire_grace_time=6 * 3600,
            replace_existing=True,
        )
        if self.dispatch:
            scheduler.add_job(
                self._dispatch_job,
                IntervalTrigger(seconds=self.settings.dispatch_interval_seconds, timezone=tz),
                id="dispatch",
                name="outbox dispatcher",
                coalesce=True,
                max_instances=1,
            )
            self.dispatcher.release_own_claims()
        if isinstance(self.clock, ShiftedClock):
            scheduler.add_job(
                self._due_tick_job,
                IntervalTrigger(seconds=TICK_WATCH_SECONDS, timezone=tz),
                id="tick-watch",
                name="tick due on the service's clock",
                coalesce=True,
                max_instances=1,
            )
        scheduler.start()
        self.scheduler = scheduler
        if self.missed_tick():
            log.info("today's tick was missed while the service was down: running it now")
            scheduler.add_job(self._tick_job, id="catch-up", name="catch-up tick")  # no trigger: once, now

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling and wait (bounded) for a tick or dispatch pass in progress."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)

    # --- decisions ----------------------------------------------------------------------------------

    def missed_tick(self, now: datetime | None = None) -> bool:
        """Whether today is a working day, its tick time has passed, and its tick has not run."""
        local = (now or self.clock.now()).astimezone(self.setup.tz)
        today = local.date()
        if not self.setup.calendar.is_working_day(today) or local.time() < self.setup.rules.delivery.tick:
            return False
        with self.engine.connect() as conn:
            done = conn.execute(
                sa.select(SchedulerRun.id).where(SchedulerRun.job == DAILY_JOB, SchedulerRun.run_on == today)
            ).first()
        return done is None

    def tick_now(self) -> TickResult | None:
        """Run today's tick (if a working day) and a dispatch pass, synchronously."""
        today = self.clock.now().astimezone(self.setup.tz).date()
        if not self.setup.calendar.is_working_day(today):
            log.info("%s is not a working day: no tick", today)
            return None
        self.last_tick = run_tick(self.engine, self.clock, self.setup)
        if self.dispatch:
            self.dispatcher.drain()
        return self.last_tick

    def tick_if_due(self) -> TickResult | None:
        """Today's tick, if it is due on the service's clock and has not run (see ``missed_tick``)."""
        return self.tick_now() if self.missed_tick() else None

    # --- jobs ---------------------------------------------------------------------------------------

    async def _due_tick_job(self) -> None:
        await self._tracked(asyncio.to_thread(self.tick_if_due))

    async def _tick_job(self) -> None:
        await self._tracked(asyncio.to_thread(self.tick_now))

    async def _dispatch_job(self) -> None:
        await self._tracked(asyncio.to_thread(self.dispatcher.drain))

    async def _tracked(self, work: object) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(work)  # type: ignore[arg-type]
        self._running.add(task)
        try:
            await task
        except Exception:
            log.exception("scheduler job failed")
        finally:
            self._running.discard(task)


@asynccontextmanager
async def scheduler_lifespan(
    engine: Engine, settings: Settings, clock: Clock, deliverer: Deliverer
) -> AsyncIterator[SchedulerService | None]:
    """Run the scheduler for the duration of a FastAPI lifespan (nothing when TIDTAM_SCHEDULER_ENABLED=0)."""
    if not settings.scheduler_enabled:
        yield None
        return
    service = SchedulerService(engine, settings, clock, deliverer)
    service.start()
    try:
        yield service
    finally:
        await service.stop()
