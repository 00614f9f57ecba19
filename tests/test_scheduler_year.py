"""A whole fiscal year, replayed by the clock: 40 schools, scripted reports, the fake LINE platform.

Every day from 1 Oct 2569 to 20 Oct 2570 (BE) the tick runs at 08:30 and the dispatcher at 08:31 and
21:00; scripted submissions, drafts, returns and approvals happen at 10:00 and later. What the
planner decides is checked against a brute-force oracle written independently here, and what the fake
platform received is checked against the outbox: each row exactly once, at most one message per person
per day, nothing on days off or in quiet hours.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from scheduler_office import generate_office, line_user_id
from sqlalchemy.engine import Engine

from bot.delivery import Deliverer
from bot.line_client import LineClient, RetryPolicy
from messages.reminders import ItemKind
from models import OutboxMessage, ProgressReport, Project, ReportVersion
from scheduler.clock import FixedClock
from scheduler.dispatch import Dispatcher
from scheduler.fiscal import quarters_of
from scheduler.process_steps import load_process_steps, step_windows
from scheduler.rules import load_rules
from scheduler.tick import TickSetup, run_tick
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")
FY = 2570
START, END = date(2026, 10, 1), date(2027, 10, 20)
CAL = WorkCalendar()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).astimezone(UTC)


def due_of(quarter_end: date) -> date:
    due = quarter_end + timedelta(days=10)
    return due if CAL.is_working_day(due) else CAL.next_working_day(due)


@dataclass(frozen=True)
class Event:
    at: datetime
    project_id: int
    quarter: int
    status: str  # draft | submitted | returned | approved


def script(projects: list[int]) -> list[Event]:
    """Six behaviours, by project index: early, just-in-time (approval slow), never, draft then on the
    due day, a day late, submitted then returned then resubmitted late."""
    events: list[Event] = []
    for q in quarters_of(FY):
        due = due_of(q.end)
        d7, d3 = CAL.add_working_days(due, -7), CAL.add_working_days(due, -3)
        for index, pid in enumerate(projects):
            r = index % 6
            if r == 0:
                events += [Event(at(due - timedelta(days=14), 10), pid, q.quarter, "submitted"),
                           Event(at(CAL.next_working_day(due - timedelta(days=14)), 11), pid, q.quarter, "approved")]  # fmt: skip
            elif r == 1:
                events += [Event(at(d3, 10), pid, q.quarter, "submitted"),
                           Event(at(CAL.add_working_days(d3, 6), 10), pid, q.quarter, "approved")]  # fmt: skip
            elif r == 3:
                events += [Event(at(d7, 10), pid, q.quarter, "draft"), Event(at(due, 10), pid, q.quarter, "submitted"),
                           Event(at(CAL.add_working_days(due, 1), 12), pid, q.quarter, "approved")]  # fmt: skip
            elif r == 4:
                events += [Event(at(CAL.add_working_days(due, 1), 10), pid, q.quarter, "submitted"),
                           Event(at(CAL.add_working_days(due, 2), 10), pid, q.quarter, "approved")]  # fmt: skip
            elif r == 5:
                events += [Event(at(d3, 10), pid, q.quarter, "submitted"),
                           Event(at(CAL.add_working_days(d3, 1), 10), pid, q.quarter, "returned"),
                           Event(at(CAL.add_working_days(due, 4), 10), pid, q.quarter, "submitted"),
                           Event(at(CAL.add_working_days(due, 4), 15), pid, q.quarter, "approved")]  # fmt: skip
    return sorted(events, key=lambda e: e.at)


def apply(engine: Engine, event: Event, period_ids: dict[int, int]) -> None:
    reports, versions = ProgressReport.__table__, ReportVersion.__table__  # type: ignore[attr-defined]
    period = period_ids[event.quarter]
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(reports.c.id, reports.c.current_version).where(
                reports.c.project_id == event.project_id, reports.c.period_id == period
            )
        ).first()
        if row is None:
            report_id = conn.execute(
                reports.insert().values(
                    project_id=event.project_id, period_id=period, status=event.status, current_version=0,
                    created_at=event.at, updated_at=event.at,
                )
            ).inserted_primary_key[0]  # fmt: skip
            version = 0
        else:
            report_id, version = row
        if event.status == "submitted":
            version += 1
            conn.execute(
                versions.insert().values(
                    report_id=report_id, version=version, status="submitted", implementation_status="in_progress",
                    progress_pct=50, submitted_at=event.at, created_at=event.at,
                )
            )  # fmt: skip
        conn.execute(
            reports.update()
            .where(reports.c.id == report_id)
            .values(status=event.status, current_version=version, updated_at=event.at)
        )


class Oracle:
    """The state of every project at any moment, and what each rule should say about it."""

    def __init__(self, events: list[Event]) -> None:
        self.history: dict[tuple[int, int], list[Event]] = defaultdict(list)
        for e in events:
            self.history[(e.project_id, e.quarter)].append(e)

    def state(
        self, pid: int, quarter: int, moment: datetime
    ) -> tuple[str | None, Event | None, Event | None]:
        """(status, last event, last submission) before ``moment``."""
        status = last = submitted = None
        for e in self.history.get((pid, quarter), []):
            if e.at >= moment:
                break
            status, last = e.status, e
            if e.status == "submitted":
                submitted = e
        return status, last, submitted


def test_a_fiscal_year_of_reminders(engine: Engine, fake_line) -> None:  # type: ignore[no-untyped-def]
    unlinked_person = None

    def linked(pid: int) -> bool:
        return pid != unlinked_person

    # The last teacher of the last school never links LINE (ids are given in order; see the generator).
    schools, teachers = 40, 2
    unlinked_person = 2 + schools * (1 + teachers)
    g = generate_office(
        engine,
        schools=schools,
        projects_per_school=3,
        teachers_per_school=teachers,
        linked=linked,
        keep_owners=True,
    )
    with engine.connect() as conn:
        projects = {
            r.id: r
            for r in conn.execute(
                sa.select(Project.__table__.c.id, Project.__table__.c.code, Project.__table__.c.office_id)
            )
        }  # type: ignore[attr-defined]
    project_ids = sorted(projects)
    events = script(project_ids)
    oracle = Oracle(events)
    steps = tuple(load_process_steps())
    # The oracle below is written for the fuller schedule of reminders (7, 3 and 1 working days before,
    # the reporter told again when late, no per-quarter cap), which exercises more of the planner
    # than the thinner defaults do.
    rules = load_rules().patched(
        {
            "reminders": {"working_days_before": [7, 3, 1]},
            "overdue": {"notify_reporter": True},
            "riding": {"pushes_per_reporter_per_quarter": 0},
        },
        "test",
    )
    setup = TickSetup(rules, CAL, TZ, steps, monthly_quota=0, holder="sim")
    clock = FixedClock(at(START, 8, 30))
    client = LineClient(
        access_token=fake_line.access_token, api_base_url=fake_line.base_url, data_api_base_url=fake_line.base_url,
        timeout=5, retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
    )  # fmt: skip
    dispatcher = Dispatcher(
        engine, Deliverer(engine, client, clock.now, "sim-dispatch"), clock, TZ, setup.rules.delivery
    )
    code_of = {pid: projects[pid].code for pid in project_ids}
    quarter_info = {q.quarter: (g.period_ids[q.quarter], q.end, due_of(q.end)) for q in quarters_of(FY)}
    reminder_days_of = {
        q: {CAL.add_working_days(due, -k): k for k in (7, 3, 1)} | {due: 0}
        for q, (_p, _e, due) in quarter_info.items()
    }
    notify_day = {q: CAL.add_working_days(due, 1) for q, (_p, _e, due) in quarter_info.items()}
    escalate_day = {q: CAL.add_working_days(due, 3) for q, (_p, _e, due) in quarter_info.items()}

    seen: dict[tuple[date, int], set[ItemKind]] = {}  # (day, person) → kinds
    deliveries_by_day: dict[date, int] = {}
    pending = list(events)
    day = START
    checked = defaultdict(int)
    while day <= END:
        tick_at = at(day, 8, 30)
        while pending and pending[0].at < tick_at:
            apply(engine, pending.pop(0), g.period_ids)
        clock.set(tick_at)
        before = len(fake_line.deliveries)
        result = run_tick(engine, clock, setup)
        assert result.ran, result.reason
        plan = result.plan
        assert plan is not None
        if not CAL.is_working_day(day):
            assert plan.recipients == [] and plan.unreachable == {}, f"{day} is a day off"
        clock.set(at(day, 8, 31))
        dispatcher.drain()
        clock.set(at(day, 21, 0))
        assert dispatcher.drain().sent == 0  # quiet hours: nothing leaves
        deliveries_by_day[day] = len(fake_line.deliveries) - before
        # -- what the planner decided, against the oracle ------------------------------------------
        kinds_of: dict[int, dict[ItemKind, list]] = defaultdict(dict)
        for r in plan.recipients:
            assert len(r.person_ids) == 1
            for item in r.items:
                assert item.kind not in kinds_of[r.person_ids[0]], "one item per kind per message"
                kinds_of[r.person_ids[0]][item.kind] = item
        for person, items in plan.unreachable.items():
            assert person == unlinked_person
            for item in items:
                kinds_of[person][item.kind] = item
        for person, items in kinds_of.items():
            seen[(day, person)] = set(items)
        working_day = CAL.is_working_day(day)
        draft_window = (CAL.previous_working_day(day) - timedelta(days=3), day - timedelta(days=3))
        for q in quarter_info:
            reminder_days = reminder_days_of[q]
            for pid in project_ids:
                status, last, submitted = oracle.state(pid, q, tick_at)
                open_report = status not in ("submitted", "approved")
                for owner in g.owners_of[pid]:
                    due_item = kinds_of.get(owner, {}).get(ItemKind.REPORT_DUE)
                    listed = (
                        due_item is not None
                        and due_item.quarter == (FY, q)
                        and code_of[pid] in {line.code for line in due_item.lines}
                    )
                    assert listed == (open_report and day in reminder_days), (day, pid, q, status)
                    if listed:
                        assert due_item.days == reminder_days[day]
                        checked["report_due"] += 1
                    overdue = kinds_of.get(owner, {}).get(ItemKind.REPORT_OVERDUE)
                    listed = (
                        overdue is not None
                        and overdue.quarter == (FY, q)
                        and code_of[pid] in {line.code for line in overdue.lines}
                    )
                    assert listed == (open_report and day == notify_day[q]), (day, pid, q)
                    checked["report_overdue"] += listed
                    draft = kinds_of.get(owner, {}).get(ItemKind.DRAFT_IDLE)
                    idle = (
                        status in ("draft", "returned")
                        and last is not None
                        and draft_window[0] < last.at.astimezone(TZ).date() <= draft_window[1]
                    )
                    listed = draft is not None and (code_of[pid], f"ไตรมาส {q}/{FY}") in {
                        (line.code, line.detail) for line in draft.lines
                    }
                    assert listed == (idle and working_day), (day, pid, q, status)
                    checked["draft_idle"] += listed
                director = g.director_of[projects[pid].office_id]
                approver_overdue = kinds_of.get(director, {}).get(ItemKind.APPROVER_OVERDUE)
                listed = (
                    approver_overdue is not None
                    and approver_overdue.quarter == (FY, q)
                    and code_of[pid] in {line.code for line in approver_overdue.lines}
                )
                assert listed == (open_report and day == notify_day[q]), (day, pid, q)
                checked["approver_overdue"] += listed
                waiting = status == "submitted" and submitted is not None and working_day
                assert submitted is not None or not waiting
                waited = CAL.working_days_between(submitted.at.astimezone(TZ).date(), day) if waiting else -1
                pending_item = kinds_of.get(director, {}).get(ItemKind.APPROVAL_PENDING)
                listed = pending_item is not None and (code_of[pid], f"{FY}Q{q}") in {
                    (line.code, line.detail) for line in pending_item.lines
                }
                assert listed == (waited == 2), (day, pid, q, waited)
                checked["approval_pending"] += listed
            late_total = sum(
                1 for pid in project_ids if oracle.state(pid, q, tick_at)[0] not in ("submitted", "approved")
            )
            for planner in g.planner_ids:
                escalation = kinds_of.get(planner, {}).get(ItemKind.LATE_ESCALATION)
                if day == escalate_day[q]:
                    assert (
                        escalation is not None
                        and escalation.quarter == (FY, q)
                        and escalation.total == late_total
                    )
                    checked["late_escalation"] += 1
                else:
                    assert escalation is None or escalation.quarter != (FY, q)
        waited5 = {
            pid for pid in project_ids for q in quarter_info
            if working_day and (s := oracle.state(pid, q, tick_at))[0] == "submitted"
            and CAL.working_days_between(s[2].at.astimezone(TZ).date(), day) == 5  # type: ignore[union-attr]
        }  # fmt: skip
        for planner in g.planner_ids:
            esc = kinds_of.get(planner, {}).get(ItemKind.APPROVAL_ESCALATION)
            assert (esc.total if esc else 0) == len(waited5), day
            checked["approval_escalation"] += bool(esc)
        day += timedelta(days=1)

    # -- calendar rules: process steps and the weekly digest, on the right working days ---------------
    def first_working_on_or_after(d: date) -> date:
        return d if CAL.is_working_day(d) else CAL.next_working_day(d)

    planner = g.planner_ids[0]
    windows = [w for fy in (FY - 1, FY, FY + 1) for w in step_windows(fy, steps)]
    want_open = {
        first_working_on_or_after(w.start)
        for w in windows
        if START <= first_working_on_or_after(w.start) <= END
    }
    got_open = {d for (d, p), kinds in seen.items() if p == planner and ItemKind.STEP_OPEN in kinds}
    assert got_open == want_open
    want_close = {
        CAL.add_working_days(w.end, -5) for w in windows
        if START <= CAL.add_working_days(w.end, -5) <= END and w.start < CAL.add_working_days(w.end, -5)
    }  # fmt: skip
    got_close = {d for (d, p), kinds in seen.items() if p == planner and ItemKind.STEP_CLOSING in kinds}
    assert got_close == want_close and got_close
    got_digest = sorted(d for (d, p), kinds in seen.items() if p == planner and ItemKind.DIGEST in kinds)
    working = [
        d for d in (START + timedelta(days=n) for n in range((END - START).days + 1)) if CAL.is_working_day(d)
    ]
    want_digest = [d for d in working if CAL.previous_working_day(d) < d - timedelta(days=d.weekday())]
    assert got_digest == want_digest
    assert any(ItemKind.UNDELIVERED in kinds for (d, p), kinds in seen.items() if p == planner), (
        "the unlinked teacher is reported"
    )
    for rule in ("report_due", "report_overdue", "draft_idle", "approver_overdue", "approval_pending",
                 "late_escalation", "approval_escalation"):  # fmt: skip
        assert checked[rule] > 0, f"{rule} never fired in the simulated year"

    # -- what LINE received: each outbox row once, ≤ 1 message per person per day, no day off -------
    outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                outbox.c.retry_key, outbox.c.recipients, outbox.c.status, outbox.c.kind, outbox.c.sent_at
            )
        ).all()
    assert rows and all(r.status == "sent" for r in rows)
    per_key: dict[str, list[str]] = defaultdict(list)
    for d in fake_line.deliveries:
        per_key[d.retry_key].append(d.to)
    assert {r.retry_key for r in rows} == set(per_key)
    for r in rows:
        assert sorted(per_key[r.retry_key]) == sorted(r.recipients), (
            "each row delivered exactly once to each recipient"
        )
        local = r.sent_at.astimezone(TZ)
        assert CAL.is_working_day(local.date()) and time(7) <= local.time() < time(20)
    assert any(r.kind == "multicast" for r in rows), "identical planning-group messages went as multicasts"
    per_person_day: dict[tuple[str, date], int] = defaultdict(int)
    for r in rows:
        for to in r.recipients:
            per_person_day[(to, r.sent_at.astimezone(TZ).date())] += 1
    assert max(per_person_day.values()) == 1
    assert line_user_id(unlinked_person) not in {d.to for d in fake_line.deliveries}
    assert sum(deliveries_by_day.values()) == len(fake_line.deliveries)
    assert all(n == 0 for d, n in deliveries_by_day.items() if not CAL.is_working_day(d))
    client.close()
