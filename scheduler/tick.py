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
import json
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from messages.reminders import Item, ItemKind, daily_message_json
from models import Lease, OutboxMessage, SchedulerRun
from models.types import OutboxKind, OutboxStatus
from scheduler.clock import Clock
from scheduler.planner import PERSONAL_KINDS, Plan, Recipient, plan_day, unreachable_by_area
from scheduler.process_steps import ProcessStep
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
    the first of the month (local), except those that failed permanently."""
    total = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.func.json_array_length(_outbox.c.recipients)), 0)).where(
            _outbox.c.kind.in_([OutboxKind.PUSH.value, OutboxKind.MULTICAST.value]),
            _outbox.c.status != OutboxStatus.FAILED.value,
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


def _personal_messages(plan: Plan) -> int:
    return sum(1 for r in plan.recipients if r.personal and any(i.kind in PERSONAL_KINDS for i in r.items))


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


def plan_for(conn: Connection, day: date, setup: TickSetup) -> tuple[Plan, bool, int, bool]:
    """The plan a tick on ``day`` would queue: (plan, digest only, messages used, budget notice sent)."""
    with gc_paused():
        return _plan_for(conn, day, setup)


def _plan_for(conn: Connection, day: date, setup: TickSetup) -> tuple[Plan, bool, int, bool]:
    rules = setup.rules
    used = messages_used(conn, day, setup.tz)
    quota = setup.monthly_quota if rules.budget.enabled else 0
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
    )
    if quota and not digest_only and used + len(plan.recipients) > quota and _personal_messages(plan):
        # Sending everything would overrun the quota: switch now rather than fail halfway.
        digest_only = True
        notices = [] if _notified_this_month(conn, day) else [_budget_notice(day, used, quota)]
        plan = plan_day(
            conn, day, rules, setup.calendar, setup.tz, steps=setup.steps, digest_only=True, notices=notices
        )
    return plan, digest_only, used, bool(notices)


def _budget_notice(day: date, used: int, quota: int) -> Item:
    return Item(
        ItemKind.BUDGET_NOTICE,
        f"{day:%Y-%m}",
        on=day,
        figures=(("ใช้ไปแล้ว", used), ("โควตาต่อเดือน", quota), ("ร้อยละ", round(100 * used / quota))),
    )


def run_tick(
    engine: Engine, clock: Clock, setup: TickSetup, *, day: date | None = None, job: str = DAILY_JOB
) -> TickResult:
    """Run the tick for ``day`` (default: today, local) once: plan, then queue in one transaction."""
    with gc_paused():
        result = _run_tick(engine, clock, setup, day, job)
    if result.ran and job == DAILY_JOB:  # issue 19: evaluation campaigns open, remind and close
        from scheduler.campaigns import run_campaigns

        run_campaigns(engine, clock.now(), setup)
    return result


def _run_tick(engine: Engine, clock: Clock, setup: TickSetup, day: date | None, job: str) -> TickResult:
    now = clock.now()
    day = day or now.astimezone(setup.tz).date()
    if not acquire_lease(engine, "tick", setup.holder, now, TICK_LEASE):
        return TickResult(day, ran=False, reason="another replica holds the tick lease")
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.select(_run.c.id).where(_run.c.job == job, _run.c.run_on == day)).first()
            if exists is not None:
                return TickResult(day, ran=False, reason="already ran")
            plan, digest_only, used, noticed = plan_for(conn, day, setup)
        not_before = release_time(now, setup.tz, setup.rules.delivery, setup.calendar)
        result = TickResult(day, ran=True, digest_only=digest_only, used_before=used, plan=plan)
        result.naive = plan.naive_messages
        result.unreachable = len(plan.unreachable)
        summary: dict[str, Any] = {
            "recipients": len(plan.recipients),
            "digest_only": digest_only,
            "budget_notice": noticed,
            "unreachable": unreachable_by_area(plan),
            "kinds": _kind_counts(plan),
        }
        try:
            with engine.begin() as conn:
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
                for batch in _chunks(
                    _outbox_rows(plan, day, now, not_before, setup.rules.delivery.max_lines), _CHUNK
                ):
                    _insert_rows(conn, [row for row, _n in batch])
                    result.rows += len(batch)
                    result.recipients += sum(n for _row, n in batch)
        except IntegrityError:
            log.info("tick for %s already queued by another replica", day)
            return TickResult(day, ran=False, reason="already ran")
        log.info(
            "tick %s: %d messages in %d rows (naive %d), digest only: %s",
            day,
            result.recipients,
            result.rows,
            result.naive,
            digest_only,
        )
        return result
    finally:
        release_lease(engine, "tick", setup.holder)


_JSON_COLUMNS = frozenset(c.name for c in _outbox.columns if isinstance(c.type, sa.JSON))


def _uuid4s() -> Iterator[str]:
    """Random (version 4) UUIDs, the random bytes drawn 16 KiB at a time rather than 16 per call."""
    while True:
        block = os.urandom(16 * 1024)
        for start in range(0, len(block), 16):
            yield str(uuid.UUID(bytes=block[start : start + 16], version=4))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows (JSON columns already serialised) below SQLAlchemy's per-row machinery:
    SQLite through the driver's executemany (its loop is in C), PostgreSQL through COPY (executemany
    there sends one statement per row, about ten times slower). A duplicate dedupe key still fails
    the whole transaction, as it must."""
    columns = list(rows[0])
    dialect = conn.dialect
    # Columns whose type converts values on the way in (the UTC datetimes): the same few values on
    # every row of a tick, so each is converted once.
    converters = [
        (position, process)
        for position, name in enumerate(columns)
        if name not in _JSON_COLUMNS
        and (process := _outbox.c[name].type._cached_bind_processor(dialect)) is not None
    ]
    converted: dict[Any, Any] = {}

    def values(row: dict[str, Any]) -> list[Any]:
        out = [row[c] for c in columns]
        for position, process in converters:
            raw = out[position]
            if raw is not None and not isinstance(raw, str | int):
                if raw not in converted:
                    converted[raw] = process(raw)
                out[position] = converted[raw]
        return out

    names = ", ".join(f'"{name}"' for name in columns)
    if dialect.name != "postgresql":
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(
            f'INSERT INTO "{_outbox.name}" ({names}) VALUES ({marks})',
            [tuple(values(row)) for row in rows],
        )
        return
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{_outbox.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _kind_counts(plan: Plan) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in plan.recipients:
        for item in r.items:
            counts[item.kind.value] += 1
    return dict(counts)


def _chunks(
    rows: Iterator[tuple[dict[str, Any], int]], size: int
) -> Iterator[list[tuple[dict[str, Any], int]]]:
    batch: list[tuple[dict[str, Any], int]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _outbox_rows(
    plan: Plan, day: date, now: datetime, not_before: datetime, max_lines: int
) -> Iterator[tuple[dict[str, Any], int]]:
    """Outbox rows for a plan, with their recipient counts: a push per recipient, a multicast per group
    of identical messages."""
    keys = _uuid4s()
    groups: dict[tuple[Item, ...], list[Recipient]] = defaultdict(list)
    for r in plan.recipients:
        if r.personal:
            groups[r.items].append(r)
        else:
            yield (
                _row(
                    keys,
                    f"daily:{day}:{r.key}",
                    [r.to],
                    [],
                    r.items,
                    day,
                    now,
                    not_before,
                    max_lines,
                    personal=False,
                ),
                1,
            )
    for items, members in groups.items():
        if len(members) == 1:
            r = members[0]
            yield (
                _row(
                    keys,
                    f"daily:{day}:{r.key}",
                    [r.to],
                    list(r.person_ids),
                    items,
                    day,
                    now,
                    not_before,
                    max_lines,
                ),
                1,
            )
            continue
        message: str | None = None
        for start in range(0, len(members), MULTICAST_LIMIT):
            chunk = members[start : start + MULTICAST_LIMIT]
            person_ids = [p for m in chunk for p in m.person_ids]
            digest = hashlib.sha1(",".join(map(str, person_ids)).encode()).hexdigest()[:24]
            row = _row(
                keys,
                f"daily:{day}:m{digest}",
                [m.to for m in chunk],
                person_ids,
                items,
                day,
                now,
                not_before,
                max_lines,
                message,
            )
            message = row["messages"][1:-1]
            yield row, len(chunk)


def _row(
    keys: Iterator[str],
    dedupe_key: str,
    to: list[str],
    person_ids: list[int],
    items: Sequence[Item],
    day: date,
    now: datetime,
    not_before: datetime,
    max_lines: int,
    message: str | None = None,
    *,
    personal: bool = True,
) -> dict[str, Any]:
    if message is None:
        message = daily_message_json(items, day, max_lines=max_lines, personal=personal)
    kinds = ",".join(dict.fromkeys(i.kind.value for i in items))
    return {
        "retry_key": next(keys),
        "dedupe_key": dedupe_key,
        "kind": (OutboxKind.PUSH if len(to) == 1 else OutboxKind.MULTICAST).value,
        "recipients": _json(to),
        "person_ids": _json(person_ids),
        "reply_token": None,
        "reply_deadline": None,
        "event_id": None,
        "rule": DAILY_JOB,
        "subject": kinds[:128],
        "messages": f"[{message}]",
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
