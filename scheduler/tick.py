"""One daily tick: plan the day and queue its messages into the outbox, exactly once.

* One replica at a time: a lease row ("tick") is taken before planning; the ``SchedulerRun`` row
  (unique job + date) is inserted in the same transaction as the outbox rows, so even two replicas that
  both got past the lease (a lease that expired mid-tick) cannot queue a day twice: the second insert
  of the run row fails and its whole transaction rolls back.
* One message per recipient: the planner already folds everything due for someone into one list;
  identical lists for several people (planning-group items without a bound group) go as multicasts of
  up to 500 recipients.
* Quiet hours: rows queued in quiet hours get ``not_before`` = the end of the quiet hours.
* Budget: what was queued this month is counted (recipients of pushes and multicasts); from the
  configured share of the monthly quota on, personal reminders become a summary to the planning
  group, which is told once a month.

Every outbox row has a deterministic dedupe key ("daily:<date>:<recipient>") and its own UUID retry key.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from messages.reminders import Item, ItemKind, Line, daily_message_dict, daily_message_json
from messages.riders import daily_rider, one_push
from messages.scheduler_text import budget_figures
from messages.stored import daily_stored_json
from models import Lease, OutboxMessage, SchedulerRun
from models.outbox import (
    BIG_WRITE,
    NEVER,
    RIDE_ONLY_RULE,
    build_workers,
    checkpoint_later,
    expire_rides,
    held_rows,
    insert_built_rows,
    insert_rows,
    json_text,
    keep_waiting,
    mark_merged,
    messaged_between,
    retry_keys,
    sorted_retry_keys,
)
from models.types import OutboxKind, OutboxStatus
from scheduler.budget import Held, Push, Spending, spend
from scheduler.clock import Clock
from scheduler.fiscal import FiscalQuarter, fiscal_year_of, quarter_of
from scheduler.forecast import Forecast, urgent_forecast
from scheduler.planner import Plan, Recipient, item_order, plan_day, unreachable_by_area
from scheduler.process_steps import ProcessStep
from scheduler.quota import QuotaReader, QuotaReading, spendable
from scheduler.rules import Delivery, Rules, parse_clock_time
from scheduler.workdays import WorkCalendar

__all__ = [
    "DAILY_JOB",
    "MULTICAST_LIMIT",
    "TickResult",
    "TickSetup",
    "acquire_lease",
    "messages_used",
    "release_lease",
    "release_time",
    "run_tick",
]

log = logging.getLogger(__name__)

DAILY_JOB = "daily"
MULTICAST_LIMIT = 500
TICK_LEASE = timedelta(minutes=15)
_CHUNK = 2000

_outbox: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_lease: sa.Table = Lease.__table__  # type: ignore[attr-defined]
_run: sa.Table = SchedulerRun.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TickSetup:
    """Everything a tick needs besides the database and the clock."""

    rules: Rules
    calendar: WorkCalendar
    tz: ZoneInfo
    steps: Sequence[ProcessStep] = ()
    monthly_quota: int = 0  # 0: no budget
    holder: str = "tick"
    quota_reader: QuotaReader | None = None  # LINE's count, read once per tick (scheduler/quota.py)
    # Processes forked to plan beside this one (scheduler/planner.py `plan_workers`) and to build
    # the day's rows while this one stores them (models/outbox.py `build_workers`); None: decided by
    # the size of the work and the machine (TIDTAM_TICK_PLAN_WORKERS, TIDTAM_TICK_BUILD_WORKERS).
    plan_workers: int | None = None
    build_workers: int | None = None


@dataclass
class TickResult:
    day: date
    ran: bool
    reason: str = ""
    recipients: int = 0  # messages queued, counting one per recipient (a multicast to 3 counts 3)
    rows: int = 0  # outbox rows (a multicast is one row)
    naive: int = 0  # one message per due item, as a naive scheduler would send
    digest_only: bool = False
    used_before: int = 0
    unreachable: int = 0
    left_out: int = 0  # people whose reminders went into the planning group's message instead
    waiting: int = 0  # held rows left waiting for a reply or the next day
    plan: Plan | None = field(default=None, repr=False)

    @property
    def ratio(self) -> float:
        """Messages per distinct recipient (1.0: nobody gets two)."""
        distinct = len(self.plan.recipients) if self.plan else 0
        return self.recipients / distinct if distinct else 0.0


# --- leases ---------------------------------------------------------------------------------------


def acquire_lease(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take (or renew) the named lease; False while another holder's lease is still valid."""
    with engine.begin() as conn:
        taken = conn.execute(
            sa.update(_lease)
            .where(_lease.c.name == name, sa.or_(_lease.c.expires_at < now, _lease.c.holder == holder))
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount
        if taken == 1:
            return True
        dialect: Any = sa.dialects.postgresql if conn.dialect.name == "postgresql" else sa.dialects.sqlite
        inserted = conn.execute(
            dialect.insert(_lease)
            .values(name=name, holder=holder, expires_at=now + ttl)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(_lease.c.name)  # rowcount is not reliable here with psycopg 3
        ).first()
        return inserted is not None


def release_lease(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(_lease).where(_lease.c.name == name, _lease.c.holder == holder))


# --- time and budget ------------------------------------------------------------------------------


def release_time(
    now: datetime, tz: ZoneInfo, delivery: Delivery, calendar: WorkCalendar | None = None
) -> datetime:
    """``now``, or, when ``now`` falls in the quiet hours, their end (on the next working day when a
    calendar is given: a reminder held overnight on a Friday waits for Monday, not Saturday)."""
    local = now.astimezone(tz)
    if not delivery.is_quiet(local.time()):
        return now
    end_time = parse_clock_time(delivery.quiet_end)
    day = local.date() if local.time() < end_time else local.date() + timedelta(days=1)
    if calendar is not None and not calendar.is_working_day(day):
        day = calendar.next_working_day(day)
    return datetime.combine(day, end_time, tzinfo=tz).astimezone(UTC)


def _month_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day.replace(day=1), time(0), tzinfo=tz).astimezone(UTC)


def messages_used(conn: Connection, day: date, tz: ZoneInfo) -> int:
    """Messages counted against this month's quota: recipients of pushes and multicasts queued since
    the first of the month (local) and sent or on their way (not held, folded, deferred or failed)."""
    total = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.func.json_array_length(_outbox.c.recipients)), 0)).where(
            _outbox.c.kind.in_([OutboxKind.PUSH.value, OutboxKind.MULTICAST.value]),
            # Held and merged rows are counted in the row that carries them; failed ones never went.
            _outbox.c.status.in_(
                [OutboxStatus.PENDING.value, OutboxStatus.SENDING.value, OutboxStatus.SENT.value]
            ),
            _outbox.c.created_at >= _month_start(day, tz),
        )
    ).scalar_one()
    return int(total)


def _notified_this_month(conn: Connection, day: date) -> bool:
    rows = conn.execute(
        sa.select(_run.c.summary).where(
            _run.c.job == DAILY_JOB, _run.c.run_on >= day.replace(day=1), _run.c.run_on < day
        )
    ).all()
    return any((summary or {}).get("budget_notice") for (summary,) in rows)


# --- the tick ---------------------------------------------------------------------------------------


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a big tick allocates millions of small acyclic objects, and
    the collector's repeated full passes over them would otherwise take longer than the work."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def plan_for(
    conn: Connection, day: date, setup: TickSetup, reading: QuotaReading | None = None
) -> tuple[Plan, bool, int, bool]:
    """The plan a tick on ``day`` would queue: (plan, digest only, messages used, budget notice sent).
    ``reading``: LINE's count of the month (the larger of it and ours is used)."""
    with gc_paused():
        return _plan_for(conn, day, setup, reading)


def _plan_for(
    conn: Connection, day: date, setup: TickSetup, reading: QuotaReading | None
) -> tuple[Plan, bool, int, bool]:
    rules = setup.rules
    quota, used = spendable(setup.monthly_quota, messages_used(conn, day, setup.tz), reading)
    quota = quota if rules.budget.enabled else 0
    # From this share of the quota on, the planning group is told (once a month) and personal
    # reminders become its digest; below it, the day's spending is by priority (scheduler/budget.py).
    digest_only = bool(quota) and used >= quota * rules.budget.digest_only_at
    notices: list[Item] = []
    if digest_only and not _notified_this_month(conn, day):
        notices.append(_budget_notice(day, used, quota))
    plan = plan_day(
        conn,
        day,
        rules,
        setup.calendar,
        setup.tz,
        steps=setup.steps,
        digest_only=digest_only,
        notices=notices,
        workers=setup.plan_workers,
    )
    return plan, digest_only, used, bool(notices)


def _budget_notice(day: date, used: int, quota: int) -> Item:
    return Item(
        ItemKind.BUDGET_NOTICE,
        f"{day:%Y-%m}",
        on=day,
        figures=budget_figures(used, quota),
    )


def run_tick(
    engine: Engine, clock: Clock, setup: TickSetup, *, day: date | None = None, job: str = DAILY_JOB
) -> TickResult:
    """Run the tick for ``day`` (default: today, local) once: plan, then queue in one transaction.

    Evaluation campaigns open, remind and close first (issue 19): their invitations and reminders are
    held rows, which the tick folds into each person's one message of the day."""
    if job == DAILY_JOB:
        from scheduler.campaigns import run_campaigns

        run_campaigns(engine, clock.now(), setup)
    with gc_paused():
        return _run_tick(engine, clock, setup, day, job)


def _run_tick(engine: Engine, clock: Clock, setup: TickSetup, day: date | None, job: str) -> TickResult:
    now = clock.now()
    day = day or now.astimezone(setup.tz).date()
    if not acquire_lease(engine, "tick", setup.holder, now, TICK_LEASE):
        return TickResult(day, ran=False, reason="another replica holds the tick lease")
    released = False
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.select(_run.c.id).where(_run.c.job == job, _run.c.run_on == day)).first()
            if exists is not None:
                return TickResult(day, ran=False, reason="already ran")
            reading = setup.quota_reader() if setup.quota_reader is not None else None
            plan, digest_only, used, noticed = plan_for(conn, day, setup, reading)
            pushed = (
                _pushes_this_quarter(conn, day, setup)
                if setup.rules.riding.pushes_per_reporter_per_quarter
                else {}
            )
        not_before = release_time(now, setup.tz, setup.rules.delivery, setup.calendar)
        result = TickResult(day, ran=True, digest_only=digest_only, used_before=used, plan=plan)
        tally = _tally(plan)
        result.naive = tally.naive
        result.unreachable = len(plan.unreachable)
        summary: dict[str, Any] = {
            "recipients": len(plan.recipients),
            "digest_only": digest_only,
            "budget_notice": noticed,
            "unreachable": unreachable_by_area(plan),
            "kinds": tally.kinds,
            "used": used,
        }
        if reading is not None:
            summary["line_quota"] = {"limit": reading.limit, "used": reading.used}
        try:
            with engine.connect() as conn, checkpoint_later(conn) as defer_checkpoint, conn.begin():
                expire_rides(conn)
                held = [Held.of(row) for row in held_rows(conn)]
                room, forecast = _room(conn, day, setup, used, reading, plan)
                if forecast is not None:
                    summary["forecast"] = {"approvals": round(forecast.approvals, 1),
                                           "planning": round(forecast.planning, 1), "room": room}  # fmt: skip
                spending = spend(
                    plan,
                    held,
                    allowance=_allowance(day, setup, used, reading),
                    room=room,
                    group_weight=max(1, setup.rules.budget.planning_group_members),
                    messaged=messaged_between(conn, _day_start(day, setup.tz), _day_end(day, setup.tz)),
                    capped=_capped(plan, pushed, setup.rules.riding.pushes_per_reporter_per_quarter),
                    area_of={p.id: plan.area_of.get(p.office_id) for p in plan.people.values()},
                    due_by=_day_end(day, setup.tz),
                )
                mark_merged(conn, [h.id for push in spending.pushes for h in push.held], now)
                for carrier, told in spending.told.items():
                    mark_merged(conn, told, now, carrier)
                keep_waiting(conn, spending.waiting, _day_end(setup.calendar.next_working_day(day), setup.tz))
                _hold_back(conn, spending.held_back, day, now, setup)
                rides, folded = _planning_rides(plan, spending)
                _ride_only(conn, rides, day, now, setup)
                result.left_out, result.waiting = len(spending.left_out), len(spending.waiting)
                if plan.on_reply:
                    summary["planning"] = _planning_summary(plan, rides, folded)
                summary.update(
                    digested=result.left_out + tally.summarised,
                    capped=spending.capped,
                    waiting=result.waiting,
                    messaged_already=spending.already,
                )
                conn.execute(
                    sa.insert(_run).values(
                        job=job,
                        run_on=day,
                        status="done",
                        started_at=now,
                        finished_at=clock.now(),
                        summary=summary,
                    )
                )
                push_at = _push_at(not_before, setup)
                with gc_paused():
                    jobs = _row_jobs(spending.pushes)
                    if len(jobs) >= BIG_WRITE:
                        defer_checkpoint()
                    result.recipients = sum(map(_recipients_of, jobs))
                    result.rows = insert_built_rows(
                        conn,
                        jobs,
                        _sorted_keys(len(jobs)),
                        _RowBuilder(day, setup.rules),
                        columns=DAILY_COLUMNS,
                        constants=_constants(now, push_at),
                        workers=build_workers(len(jobs), setup.build_workers),
                    )
                # The lease goes with the day's commit: a commit of its own after a big write would
                # run the WAL checkpoint that `checkpoint_later` leaves to its thread.
                conn.execute(
                    sa.delete(_lease).where(_lease.c.name == "tick", _lease.c.holder == setup.holder)
                )
            released = True
        except IntegrityError:
            log.info("tick for %s already queued by another replica", day)
            return TickResult(day, ran=False, reason="already ran")
        log.info(
            "tick %s: %d messages in %d rows (naive %d), digest only: %s, %d left out, %d waiting",
            day,
            result.recipients,
            result.rows,
            result.naive,
            digest_only,
            result.left_out,
            result.waiting,
        )
        return result
    finally:
        if not released:
            release_lease(engine, "tick", setup.holder)


def _hold_back(
    conn: Connection, recipients: Sequence[Recipient], day: date, now: datetime, setup: TickSetup
) -> None:
    """Planning-group lists of who was left out, held until the group's next message (at the latest
    the next weekly digest day)."""
    if not recipients:
        return
    until = _next_digest_day(day, setup)
    rows = []
    keys = retry_keys()
    for r in recipients:
        row = _row(keys, f"left-out:{day}:{r.key}", r, r.items, day, now, until, setup.rules.delivery.max_lines,
                   personal=r.personal)  # fmt: skip
        row.update(status=OutboxStatus.HELD.value, ride_key=r.to, rule="left_out")
        rows.append(row)
    insert_rows(conn, rows)


def _ride_only(
    conn: Connection, recipients: Sequence[Recipient], day: date, now: datetime, setup: TickSetup
) -> None:
    """What rides on the person's free reply today and is never pushed (a rider line; the next tick
    removes what no reply took): the reminders the budget left out, and the planning group's items
    for the planners who are not pushed them (``_planning_rides``). One row per person."""
    if not recipients:
        return
    merged: dict[str, Recipient] = {}
    for r in recipients:
        first = merged.get(r.key)
        merged[r.key] = (
            r if first is None else replace(first, items=tuple(dict.fromkeys((*first.items, *r.items))))
        )
    keys = retry_keys()
    rows = []
    max_lines = setup.rules.delivery.max_lines
    for r in merged.values():
        row = _row(
            keys, f"ride:{day}:{r.key}", r, r.items, day, now, NEVER, max_lines, rider=daily_rider(r.items)
        )
        row.update(status=OutboxStatus.HELD.value, rule=RIDE_ONLY_RULE)
        rows.append(row)
    for batch in range(0, len(rows), _CHUNK):
        insert_rows(conn, rows[batch : batch + _CHUNK])


def _planning_rides(plan: Plan, spending: Spending) -> tuple[list[Recipient], set[int]]:
    """The day's riders: those the budget left out, and, in an area whose planning-group messages go
    to its head(s) of monitoring, every other planner with the same items: the plan's, and the lists
    of who was left out that the budget added to the heads' messages (pushed or held back). A planner
    pushed today anyway (his own reminders) gets them in that push instead: it costs nothing more.
    Returns the riders and the planners whose push carries the items."""
    riders = list(spending.riders)
    folded: set[int] = set()
    if not plan.on_reply:
        return riders, folded
    planned = {r.key: set(r.items) for r in plan.recipients}
    added: dict[int, list[Item]] = defaultdict(list)
    for r in [*(push.recipient for push in spending.pushes), *spending.held_back]:
        area = r.area_id
        if area not in plan.on_reply or len(r.person_ids) != 1 or r.person_ids[0] not in plan.planners[area]:
            continue
        for item in r.items:
            if item not in planned.get(r.key, ()) and item not in added[area]:
                added[area].append(item)
    rides = {r.person_ids[0]: r for r in plan.rides}
    for area, items in added.items():
        for person_id in plan.on_reply[area]:
            person = plan.people.get(person_id)
            if person is None or not person.reachable:
                continue
            r = rides.get(person_id) or Recipient(
                f"p{person_id}",
                person.line_user_id or "",
                f"{person.code} {person.full_name}",
                (),
                (person_id,),
                area,
            )
            rides[person_id] = replace(r, items=(*r.items, *items))
    for index, push in enumerate(spending.pushes):
        ride = rides.get(push.recipient.person_ids[0]) if len(push.recipient.person_ids) == 1 else None
        if ride is not None and push.recipient.items:
            both = tuple(sorted(dict.fromkeys((*push.recipient.items, *ride.items)), key=item_order))
            spending.pushes[index] = push._replace(recipient=replace(push.recipient, items=both))
            folded.add(ride.person_ids[0])
            del rides[ride.person_ids[0]]
    return riders + list(rides.values()), folded


def _planning_summary(
    plan: Plan, rides: Sequence[Recipient], folded: set[int]
) -> dict[str, dict[str, list[int]]]:
    """For the tick's summary, by area id: the planners pushed the planning group's items (the heads,
    and other planners in a push they had anyway), and those told them on their next reply."""
    riding = {p for r in rides for p in r.person_ids}
    return {
        "pushed": {
            str(a): [*plan.planners[a], *(p for p in ids if p in folded)] for a, ids in plan.on_reply.items()
        },
        "on_reply": {str(a): [p for p in ids if p in riding] for a, ids in plan.on_reply.items()},
    }


def _next_digest_day(day: date, setup: TickSetup) -> datetime:
    """The tick time (plus the release grace) of the first working day of next week's digest."""
    weekday = setup.rules.digest.weekday
    start = day + timedelta(days=(weekday - day.weekday()) % 7 or 7)
    if not setup.calendar.is_working_day(start):
        start = setup.calendar.next_working_day(start)
    tick = setup.rules.delivery.tick
    return datetime.combine(start, tick, tzinfo=setup.tz).astimezone(UTC) + timedelta(hours=2)


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _day_end(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def _push_at(not_before: datetime, setup: TickSetup) -> datetime:
    """When the day's pushes go if no free reply took them first (``riding.reminders_wait_hours``)."""
    return not_before + timedelta(hours=setup.rules.riding.reminders_wait_hours)


def _allowance(day: date, setup: TickSetup, used: int, reading: QuotaReading | None) -> int | None:
    """Pushes the day may spend beyond what cannot wait: reminders and notices spend the month's quota
    up to ``1 - reserve_share`` of it; the reserve is for approval requests, escalations and the
    planning group's messages, which always go."""
    quota, _used = spendable(setup.monthly_quota, used, reading)
    if not quota or not setup.rules.budget.enabled:
        return None
    return max(0, round(quota * (1 - setup.rules.budget.reserve_share)) - used)


def _room(
    conn: Connection, day: date, setup: TickSetup, used: int, reading: QuotaReading | None, plan: Plan
) -> tuple[int | None, Forecast | None]:
    """What today may spend in all (urgent first): the month's quota left, less ``forecast_percent``
    % of the forecast of the urgent pushes of the working days still to come this month, so that
    reminders cannot spend what approval requests and escalations will need (scheduler/forecast.py).
    (None, None) without a quota or a forecast."""
    quota, _used = spendable(setup.monthly_quota, used, reading)
    budget = setup.rules.budget
    if not quota or not budget.enabled or budget.forecast_percent <= 0:
        return None, None
    weight = max(1, _planning_weight(plan, budget.planning_group_members))
    forecast = urgent_forecast(conn, day, setup.rules, setup.calendar, planning_weight=weight)
    return max(0, quota - used - math.ceil(budget.forecast_percent * forecast.total / 100)), forecast


def _planning_weight(plan: Plan, members: int) -> int:
    """What a day's planning-group messages cost: for each area, its LINE group chat's members when
    one is bound, else the planners pushed them (its heads of monitoring, or every planner)."""
    areas = set(plan.planning_chats) | set(plan.planners)
    return sum(max(1, members) if a in plan.planning_chats else len(plan.planners.get(a, ())) for a in areas)


def _pushes_this_quarter(conn: Connection, day: date, setup: TickSetup) -> dict[int, int]:
    """Pushes queued for each person since the start of ``day``'s fiscal quarter."""
    quarter = FiscalQuarter(fiscal_year_of(day), quarter_of(day))
    since = datetime.combine(quarter.start, time(0), tzinfo=setup.tz).astimezone(UTC)
    counts: dict[int, int] = defaultdict(int)
    for (person_ids,) in conn.execute(
        sa.select(_outbox.c.person_ids).where(
            _outbox.c.kind.in_([OutboxKind.PUSH.value, OutboxKind.MULTICAST.value]),
            _outbox.c.status.notin_(
                [OutboxStatus.FAILED.value, OutboxStatus.HELD.value, OutboxStatus.MERGED.value]
            ),
            _outbox.c.created_at >= since,
        )
    ):
        for person_id in person_ids or ():
            counts[int(person_id)] += 1
    return counts


def _capped(plan: Plan, pushed: dict[int, int], cap: int) -> set[int]:
    """Reporters (not approvers or planners) who have had ``cap`` pushes this quarter."""
    if not cap:
        return set()
    return {
        person_id
        for person_id, count in pushed.items()
        if count >= cap
        and (person := plan.people.get(person_id)) is not None
        and "reporter" in (roles := person.roles.split(","))
        and "approver" not in roles
        and "planner" not in roles
    }


@dataclass(frozen=True)
class _Tally:
    """What the day's summary counts of the plan's items, in one pass over them."""

    naive: int  # `Plan.naive_messages`: one message per due item
    kinds: dict[str, int]  # items of each kind
    summarised: int  # digest-only mode: personal reminders the planner already summarised


def _tally(plan: Plan) -> _Tally:
    counts: dict[str, int] = defaultdict(int)
    naive = summarised = 0
    summary = ItemKind.REMINDER_SUMMARY
    for r in plan.recipients:
        for item in r.items:
            counts[item.kind._value_] += 1
            total = item.total
            naive += total if total > 1 else 1
            if item.kind is summary:
                summarised += total
    return _Tally(naive, dict(counts), summarised)


# The columns of a day's push that differ from row to row, in the order `_outbox_rows` gives them;
# the rest are the same on every row (`_constants`).
DAILY_COLUMNS = (
    "retry_key",
    "dedupe_key",
    "kind",
    "recipients",
    "person_ids",
    "subject",
    "messages",
    "ride_key",
    "rider",
)


def _constants(now: datetime, not_before: datetime) -> dict[str, Any]:
    """The columns every one of the day's pushes has the same value in (besides `DAILY_COLUMNS`)."""
    return {
        "reply_token": None,
        "reply_deadline": None,
        "event_id": None,
        "rule": DAILY_JOB,
        "purpose": "reminder",
        "ref_type": None,
        "ref_id": None,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "not_before": not_before,
        "next_attempt_at": not_before,
        "claimed_by": None,
        "claimed_until": None,
        "last_error": None,
        "line_request_id": None,
        "created_at": now,
        "sent_at": None,
    }


_PUSH, _MULTICAST = OutboxKind.PUSH.value, OutboxKind.MULTICAST.value


def _outbox_rows(
    pushes: Sequence[Push], day: date, now: datetime, not_before: datetime, rules: Rules
) -> Iterator[tuple[tuple[Any, ...], int]]:
    """Outbox rows for the day's pushes (their `DAILY_COLUMNS`, in order; `_constants` has the rest),
    with their recipient counts: a push per recipient (its held rows folded in), a multicast per
    group of identical messages. Each row is what ``_row`` gives for it, built without the dict.

    The rows' retry keys are random UUIDs as ever, handed out in ascending order: the unique index on
    them then takes the day's keys in one pass from left to right instead of at random places."""
    jobs = _row_jobs(pushes)
    build = _RowBuilder(day, rules)
    for job, key in zip(jobs, _sorted_keys(len(jobs)), strict=True):
        yield build(job, key), _recipients_of(job)


def _sorted_keys(count: int) -> list[str]:
    return sorted_retry_keys(count)


# What one row of the day is built from (`_row_jobs`), in the order the rows are written: a push
# with held rows folded in, a group chat's push, a person's own push, a multicast of identical ones.
_HELD, _CHAT, _ONE, _MANY = range(4)


def _row_jobs(pushes: Sequence[Push]) -> list[tuple[Any, ...]]:
    """One job per row of the day, in order: pushes with held rows and group chats' pushes as they
    come, then each set of identical personal messages (people who own the same projects) as one
    push, or multicasts of up to `MULTICAST_LIMIT` recipients."""
    jobs: list[tuple[Any, ...]] = []
    groups: list[tuple[tuple[Item, ...], list[Recipient]]] = []  # identical messages, first seen first
    # Messages are told apart by their first item's lines first (a tuple of plain tuples, hashed in
    # C): hashing every message's items calls `Item.__hash__` per item, and most messages of a day
    # list lines of their own (a person's projects). Messages whose first lines another message has
    # too are then grouped by their items.
    by_lines: dict[tuple[Line, ...], tuple[tuple[Item, ...], list[Recipient]]] = {}
    by_items: dict[tuple[Item, ...], tuple[tuple[Item, ...], list[Recipient]]] = {}
    for push in pushes:
        r = push.recipient
        if push.held:
            jobs.append((_HELD, push))
        elif r.person_ids:  # personal (the field itself: no property call per push)
            items = r.items
            lines = items[0].lines if items else ()
            group = by_lines.get(lines)
            if group is None:
                group = by_lines[lines] = (items, [])
                groups.append(group)
            elif group[0] != items:
                by_items.setdefault(group[0], group)
                group = by_items.get(items)
                if group is None:
                    group = by_items[items] = (items, [])
                    groups.append(group)
            group[1].append(r)
        else:
            jobs.append((_CHAT, r))
    for items, members in groups:
        if len(members) == 1:
            jobs.append((_ONE, items, members[0]))
            continue
        for start in range(0, len(members), MULTICAST_LIMIT):
            jobs.append((_MANY, items, members[start : start + MULTICAST_LIMIT]))
    return jobs


def _recipients_of(job: tuple[Any, ...]) -> int:
    """Messages a job's row carries (one per recipient)."""
    return len(job[2]) if job[0] == _MANY else 1


class _RowBuilder:
    """A row's `DAILY_COLUMNS` from its job and retry key (plain data in, plain tuple out: it runs in a
    forked worker too, `models.outbox.insert_built_rows`). The day's reminder is stored in its compact
    form (`messages.stored`), rendered to Flex when the row is sent; a push with held rows folded in
    (few) is stored as LINE's messages, as the held rows are."""

    def __init__(self, day: date, rules: Rules) -> None:
        self.day = day
        self.max_lines = rules.delivery.max_lines
        self.ride = rules.riding.reminders_wait_hours > 0
        self.prefix = f"daily:{day}:"

    def __call__(self, job: tuple[Any, ...], key: str) -> tuple[Any, ...]:
        day, max_lines, prefix = self.day, self.max_lines, self.prefix
        what = job[0]
        if what == _ONE:
            items, r = job[1], job[2]
            rider = (daily_rider(items) or None) if self.ride else None
            return (key, prefix + r.key, _PUSH, _json_ids((r.to,)), _json_ints(r.person_ids), _subject(items),
                    f"[{daily_stored_json(items, day, max_lines=max_lines)}]", r.to if rider else None, rider)  # fmt: skip
        if what == _HELD:
            push = job[1]
            r = push.recipient
            first = [daily_message_dict(r.items, day, max_lines=max_lines)] if r.items else []
            messages = one_push(first, [m for h in push.held for m in h.messages])
            rider = "\n".join(
                filter(None, [daily_rider(r.items) if r.items else "", *(h.rider for h in push.held)])
            )
            rider = (rider or None) if self.ride and r.personal else None
            return (key, prefix + r.key, _PUSH, _json_ids((r.to,)), _json_ints(r.person_ids),
                    _subject(r.items, push.rules), json_text(messages), r.to if rider else None, rider)  # fmt: skip
        if what == _CHAT:
            r = job[1]
            message = daily_stored_json(r.items, day, max_lines=max_lines, personal=False)
            return (key, prefix + r.key, _PUSH, _json_ids((r.to,)), _json_ints(r.person_ids), _subject(r.items),
                    f"[{message}]", None, None)  # fmt: skip
        items, chunk = job[1], job[2]
        person_ids = [p for m in chunk for p in m.person_ids]
        digest = hashlib.sha1(",".join(map(str, person_ids)).encode()).hexdigest()[:24]
        to = [m.to for m in chunk]
        return (key, f"{prefix}m{digest}", _PUSH if len(to) == 1 else _MULTICAST, _json_ids(to),
                _json_ints(person_ids), _subject(items), f"[{daily_stored_json(items, day, max_lines=max_lines)}]",
                None, None)  # fmt: skip


def _subject(items: Sequence[Item], held_rules: Sequence[str] = ()) -> str:
    """A row's subject: the kinds of its items (and the rules of the held rows folded in), in order."""
    # A kind's plain string value (it is a StrEnum): no Python-level enum hash, and a plain str out.
    if not held_rules and len(items) == 1:
        return items[0].kind._value_[:128]
    kinds = dict.fromkeys([i.kind._value_ for i in items])
    kinds.update(dict.fromkeys(held_rules))
    return ",".join(kinds)[:128]


def _json_ids(values: Sequence[str]) -> str:
    """``json_text(list(values))`` for LINE ids, without the encoder for the usual plain ASCII ones."""
    plain = "".join(values)
    if values and plain.isascii() and plain.isprintable() and '"' not in plain and "\\" not in plain:
        return '["' + '","'.join(values) + '"]'
    return json_text(list(values))


def _json_ints(values: Sequence[int]) -> str:
    """``json_text(list(values))`` for person ids (plain ints)."""
    return f"[{','.join(map(str, values))}]"


def _row(
    keys: Iterator[str],
    dedupe_key: str,
    r: Recipient,
    items: Sequence[Item],
    day: date,
    now: datetime,
    not_before: datetime,
    max_lines: int,
    message: str | None = None,
    held_rules: Sequence[str] = (),
    rider: str | None = None,
    *,
    personal: bool = True,
    to: list[str] | None = None,
) -> dict[str, Any]:
    to = to or [r.to]
    if message is None:
        message = daily_message_json(items, day, max_lines=max_lines, personal=personal)
    return {
        "retry_key": next(keys),
        "dedupe_key": dedupe_key,
        "kind": (OutboxKind.PUSH if len(to) == 1 else OutboxKind.MULTICAST).value,
        "recipients": json_text(to),
        "person_ids": json_text(list(r.person_ids)),
        "subject": _subject(items, held_rules),
        "messages": f"[{message}]",
        "ride_key": to[0] if rider and len(to) == 1 and r.personal else None,
        "rider": rider if rider and len(to) == 1 and r.personal else None,
        **_constants(now, not_before),
    }
