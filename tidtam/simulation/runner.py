"""The year's replay: every day of the fiscal year through the real tick, outbox, dispatcher and event
handling, against the LINE emulator (or LINE_API_BASE_URL), with the seeded people of ``people.py``.

The service is driven in-process: each working day the tick runs at its tick
time (``scheduler.tick.run_tick``, what ``move_clock`` and the service's scheduler call) and the
dispatcher (``scheduler.dispatch.Dispatcher``) drains the outbox hour by hour; a person's message is
built by the emulator (so its reply token is the emulator's), stored as a webhook event and handled by
the real ``EventProcessor`` with the real handlers, and its replies are delivered through the real
``Deliverer`` and ``LineClient``, whose HTTP requests the emulator answers in-process
(``transport.py``: the same requests, checked against LINE's spec, without a socket; with
LINE_API_BASE_URL set they go over HTTP to it instead). Only the webhook's HTTP hop and signature
check are left out (they are the same for every event and tested on their own). A report's submission is the
two calls the chat form makes when a reporter confirms (``submit_report``, then the approval request),
followed by the person's own message, which gets the free reply the form's last answer would.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import approvals
from bot.delivery import Deliverer
from bot.handlers import handle_event, prepare_batch
from bot.line_client import LineClient
from bot.processor import EventProcessor
from messages.riders import is_rider
from messages.stored import expand
from models import OutboxMessage, Project, ProjectOwner, ReportingPeriod, WebhookEvent
from models.db import make_engine
from models.events import incoming_from_raw
from models.reporting import submit_report
from models.types import OutboxKind, OutboxStatus
from scheduler.clock import FixedClock
from scheduler.dispatch import Dispatcher
from scheduler.fiscal import fiscal_year_bounds
from scheduler.quota import line_quota_reader
from scheduler.service import tick_setup
from scheduler.tick import TickResult, run_tick
from tidtam.settings import REAL_LINE_API, Settings
from tidtam.simulation.figures import Figures, Sent
from tidtam.simulation.people import CHASED_AFTER_WORKING_DAYS, Case, chat_probability, draw_behaviour
from tidtam.simulation.transport import EMULATOR_URL, InProcessTransport
from tidtam.simulation.world import PLANNING_GROUP_MEMBERS, World, copy_office, generate_office, link_everyone

__all__ = ["SimulationConfig", "SimulationError", "run_simulation"]

log = logging.getLogger(__name__)
CODE = re.compile(r"\d{4}-[A-Z0-9]+(?:-[A-Z]+)?-\d{2}")
HOURS = (9, 11, 13, 15)  # when the simulated people act
DRAIN_HOURS = (11,)  # besides after the tick and at 17:00: the dispatcher's passes that matter (the
# service's dispatcher runs every few seconds, but between the people's actions nothing else comes due)
OPEN_BEFORE_DUE = timedelta(days=30)  # a quarter's report is talked about from about its quarter's end
RETURN_REASON = "กรุณาแนบรูปหลักฐานกิจกรรมเพิ่มเติม"


class SimulationError(Exception):
    """A simulation that cannot run (for an operator: English)."""


@dataclass(frozen=True)
class SimulationConfig:
    fiscal_year: int = 2570
    schools: int | None = 60  # None: copy the office of ``source_url``
    quota: int | None = 300  # None: no quota
    seed: int = 1
    source_url: str | None = None
    line_base_url: str | None = None  # None: the built-in emulator
    rules_file: Path | None = None
    database_url: str | None = None  # the scratch database (default: a temporary SQLite file)
    planning_chat: bool = False  # bind a LINE group to the planning group (else its head is pushed)


@dataclass
class _Agenda:
    """What each simulated person will do, by day."""

    by_day: dict[date, list[tuple[str, Case]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, day: date, what: str, case: Case) -> None:
        self.by_day[day].append((what, case))


def run_simulation(config: SimulationConfig) -> Figures:
    shm = Path("/dev/shm")
    where = (
        str(shm) if shm.is_dir() else None
    )  # a scratch database in memory-backed storage when there is one
    with tempfile.TemporaryDirectory(prefix="tidtam-simulate-", dir=where) as scratch:
        return _Simulation(config, Path(scratch)).run()


class _Simulation:
    def __init__(self, config: SimulationConfig, scratch: Path) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.start, self.end = fiscal_year_bounds(config.fiscal_year)
        self.clock = FixedClock(datetime.combine(self.start, time(0), tzinfo=UTC))
        self.db_url = config.database_url or f"sqlite:///{scratch / 'simulation.sqlite3'}"
        self.scratch = scratch
        self.emulator: Any = None
        self.cases: list[Case] = []
        self.agenda = _Agenda()
        self.seen: set[int] = set()
        self.sent: list[Sent] = []
        self.ticks: list[TickResult] = []
        self.line_usage: dict[str, int] = defaultdict(int)  # month → LINE's count (emulator or API)
        self.approval_delays: list[int] = []  # working days from submission to the director being told
        self.late_approvals: list[tuple[date, int]] = []  # (day told, working days) when over one
        self.waiting: dict[tuple[int, int], tuple[Case, date]] = {}  # (case id, version) → (case, submitted)

    # --- set-up -----------------------------------------------------------------------------------

    def _settings(self, base_url: str, secret: str, token: str) -> Settings:
        values: dict[str, Any] = {
            "TIDTAM_DATABASE_URL": self.db_url,
            "LINE_CHANNEL_SECRET": secret,
            "LINE_CHANNEL_ACCESS_TOKEN": token,
            "LINE_API_BASE_URL": base_url,
            "LINE_DATA_API_BASE_URL": base_url,
            "TIDTAM_MONTHLY_MESSAGE_QUOTA": self.config.quota or 0,
            "TIDTAM_SCHEDULER_ENABLED": False,
            "TIDTAM_MEDIA_DIR": str(self.scratch / "media"),
        }
        if self.config.rules_file is not None:
            values["TIDTAM_RULES_FILE"] = str(self.config.rules_file)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    def _open(self) -> tuple[Engine, Settings]:
        from tidtam import migrate
        from tidtam.emulator import LineEmulator

        if self.config.line_base_url:
            if self.config.line_base_url.rstrip("/") == REAL_LINE_API:
                raise SimulationError(
                    "a simulation never talks to LINE itself: LINE_API_BASE_URL is LINE's own"
                )
            settings = self._settings(self.config.line_base_url, "simulation-secret", "simulation-token")
        else:
            self.emulator = LineEmulator(clock=self.clock.now, quota_limit=self.config.quota)
            settings = self._settings(EMULATOR_URL, self.emulator.channel_secret, self.emulator.access_token)
        migrate.upgrade(self.db_url)
        engine = make_engine(self.db_url)
        if self.config.schools is not None:
            generate_office(engine, self.config.schools, self.config.fiscal_year, self.config.seed)
        else:
            if not self.config.source_url:
                raise SimulationError("no office to simulate: give --schools N or a database with an office")
            source = make_engine(self.config.source_url)
            try:
                copy_office(source, engine)
            except sa.exc.SQLAlchemyError as error:
                raise SimulationError(
                    f"the database's office could not be read ({type(error).__name__})"
                ) from error
            finally:
                source.dispose()
            with engine.connect() as conn:
                if not conn.execute(sa.text("SELECT count(*) FROM project")).scalar():
                    raise SimulationError(
                        "the database holds no office with projects: give --schools N, or import one first"
                    )
        link_everyone(engine, self.rng, self.start, self.emulator, planning_chat=self.config.planning_chat)
        return engine, settings

    def _cases(self, engine: Engine) -> None:
        projects: sa.Table = Project.__table__  # type: ignore[attr-defined]
        owners: sa.Table = ProjectOwner.__table__  # type: ignore[attr-defined]
        periods: sa.Table = ReportingPeriod.__table__  # type: ignore[attr-defined]
        with engine.connect() as conn:
            owner_of = dict(
                conn.execute(
                    sa.select(owners.c.project_id, sa.func.min(owners.c.person_id)).group_by(
                        owners.c.project_id
                    )
                ).all()
            )
            quarters = conn.execute(
                sa.select(periods.c.id, periods.c.quarter, periods.c.ends_on)
                .where(periods.c.fiscal_year == self.config.fiscal_year)
                .order_by(periods.c.quarter)
            ).all()
            rows = conn.execute(
                sa.select(projects.c.id, projects.c.code)
                .where(projects.c.fiscal_year == self.config.fiscal_year, projects.c.status == "active")
                .order_by(projects.c.id)
            ).all()
        for period_id, quarter, ends_on in quarters:
            due = self._due(ends_on)
            for project_id, code in rows:
                owner = self.world.members.get(owner_of.get(project_id, -1))
                if owner is None or not owner.line_user_id:
                    continue  # nobody can report it through LINE: it stays late, and is escalated
                case = Case(project_id, code, owner.id, period_id, quarter, due, draw_behaviour(self.rng))
                self.cases.append(case)
                b = case.behaviour
                if b.kind == "early":
                    self._plan_submit(case, self.cal.add_working_days(due, -b.early_days))
                elif b.kind == "late":
                    self._plan_submit(case, self.cal.add_working_days(due, b.late_days))
                elif b.kind == "reminded":
                    chase = self.cal.add_working_days(due, CHASED_AFTER_WORKING_DAYS + b.chased_after)
                    self._plan_submit(case, chase)  # moved earlier when a message names the project
        self.by_code: dict[str, list[Case]] = defaultdict(list)
        for case in self.cases:
            self.by_code[case.code].append(case)

    def _due(self, quarter_end: date) -> date:
        rules = self.setup.rules.report_due
        due = quarter_end + timedelta(days=rules.days_after_quarter_end)
        if rules.roll_to_working_day and not self.cal.is_working_day(due):
            due = self.cal.next_working_day(due)
        return due

    def _plan_submit(self, case: Case, day: date) -> None:
        case.submit_on = day
        self.agenda.add(day, "submit", case)

    # --- the year ---------------------------------------------------------------------------------

    def run(self) -> Figures:
        engine, settings = self._open()
        self.engine, self.settings = engine, settings
        self.setup = tick_setup(settings, holder="simulation")
        self.cal = self.setup.calendar
        self.tz = self.setup.tz
        self.world = World.read(engine)
        client = LineClient(
            access_token=settings.line_channel_access_token.get_secret_value(),
            api_base_url=settings.line_api_base_url,
            data_api_base_url=settings.line_data_api_base_url,
            timeout=settings.line_timeout_seconds,
            transport=InProcessTransport(self.emulator) if self.emulator is not None else None,
        )
        self.setup = dataclasses.replace(self.setup, quota_reader=line_quota_reader(client))
        self.deliverer = Deliverer(engine, client, self.clock.now, "simulation")
        self.dispatcher = Dispatcher(engine, self.deliverer, self.clock, self.tz, self.setup.rules.delivery)
        self.processor = EventProcessor(
            engine, handle_event, deliverer=self.deliverer, line=client, now=self.clock.now, tz=self.tz,
            approval_levels=settings.approval_levels, media_dir=settings.media_dir,
            hold_for_replies=settings.hold_for_replies, rules=self.setup.rules, prepare=prepare_batch,
        )  # fmt: skip
        try:
            self._cases(engine)
            for day in _days(self.start, self.end):
                self._day(day)
            return self._figures()
        finally:
            client.close()
            engine.dispose()

    def _at(self, day: date, hour: int, minute: int = 0) -> None:
        self.clock.set(datetime.combine(day, time(hour, minute), tzinfo=self.tz))

    def _day(self, day: date) -> None:
        if not self.cal.is_working_day(day):
            return
        tick_time = self.setup.rules.delivery.tick
        self._at(day, tick_time.hour, tick_time.minute)
        result = run_tick(self.engine, self.clock, self.setup, day=day)
        if result.ran:
            result.plan = None  # the figures need the counts only
            self.ticks.append(result)
        self._drain(day)
        chatters = [
            m
            for m in self.world.members.values()
            if m.line_user_id and self.rng.random() < chat_probability(m.roles)
        ]
        chat_hours = {m.id: self.rng.choice(HOURS) for m in chatters}
        for hour in HOURS:
            self._at(day, hour)
            for what, case in list(self.agenda.by_day.get(day, ())):
                if hour >= case.behaviour.hour or hour == HOURS[-1]:
                    self.agenda.by_day[day].remove((what, case))
                    self._act(what, case, day)
            for member in chatters:
                if chat_hours[member.id] == hour:
                    self._says(member.line_user_id or "", "สถานะ")
            if hour in DRAIN_HOURS:
                self._drain(day)  # what a dispatcher pass would send by now (held rows past their time)
            else:
                self._observe(day)  # the replies went out as each message was handled
        self._at(day, 17, 0)
        self._drain(day)
        self._read_line_usage()

    def _drain(self, day: date) -> None:
        self.dispatcher.drain()
        self._observe(day)

    # --- what the people do -----------------------------------------------------------------------

    def _act(self, what: str, case: Case, day: date) -> None:
        if what == "submit":
            if case.approved or case.submit_on != day or (case.submitted and not case.returned):
                return
            if day > self.end + timedelta(days=0) or not self._submit(case):
                return
            case.submitted.append(day)
            case.returned = False
            case.decide_on = None
            case.director_told_on = None
            self.waiting[(id(case), case.versions)] = (case, day)
        elif what == "decide":
            if case.approved or case.returned or case.decide_on != day:
                return
            director = self._director_of(case)
            if director is None:
                return
            if case.behaviour.returns and case.versions == 1:
                self._says(director, f"ส่งกลับ {case.code} {RETURN_REASON}")
                case.returned = True
            else:
                self._says(director, f"อนุมัติ {case.code}")
                case.approved = True

    def _director_of(self, case: Case) -> str | None:
        projects: sa.Table = Project.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            approver = conn.execute(
                sa.select(projects.c.approver_id).where(projects.c.id == case.project_id)
            ).scalar()
        member = self.world.members.get(approver) if approver is not None else None
        return member.line_user_id if member else None

    def _submit(self, case: Case) -> bool:
        now = self.clock.now()
        answers = {
            "project": case.project_id, "period": case.period_id, "status": "in_progress",
            "progress": 25 * case.quarter, "budget": 0, "indicators": {},
            "activities": "ดำเนินกิจกรรมตามแผน", "problems": "", "suggestions": "",
        }  # fmt: skip
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                report, version = submit_report(session, case.owner_id, answers, now)
            except Exception:  # already approved by someone else, or not the owner any more
                session.rollback()
                return False
            approvals.request_decision(
                session,
                report,
                version,
                1,
                now,
                now.astimezone(self.tz).date(),
                self.tz,
                hold=self.settings.hold_for_replies,
                delivery=self.setup.rules.delivery,
            )
            session.commit()
        member = self.world.members[case.owner_id]
        self._says(member.line_user_id or "", "สถานะ")
        return True

    def _says(self, user_id: str, text: str) -> None:
        """A text from ``user_id``, stored as LINE's webhook would store it, then handled."""
        if self.emulator is not None:
            raw = self.emulator.text_event(user_id, text)
        else:
            raw = _text_event(user_id, text, self.clock.now())
        incoming = incoming_from_raw(raw)
        with Session(self.engine) as session:
            row = WebhookEvent(
                webhook_event_id=incoming.webhook_event_id, source_key=incoming.source_key,
                event_type=incoming.event_type, payload=incoming.payload, received_at=self.clock.now(),
            )  # fmt: skip
            session.add(row)
            session.commit()
            event_id = row.id or 0
        self.processor.process_event(event_id, incoming.source_key)

    # --- what the people read ---------------------------------------------------------------------

    def _observe(self, day: date) -> None:
        outbox: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    outbox.c.id,
                    outbox.c.kind,
                    outbox.c.recipients,
                    outbox.c.person_ids,
                    outbox.c.messages,
                    outbox.c.rule,
                    outbox.c.subject,
                    outbox.c.purpose,
                    outbox.c.created_at,
                    outbox.c.sent_at,
                ).where(outbox.c.status == OutboxStatus.SENT.value, outbox.c.sent_at >= self._day_start(day))
            ).all()
        for row in rows:
            if row.id in self.seen:
                continue
            self.seen.add(row.id)
            text = _news(row.kind, expand(row.messages))
            self.sent.append(Sent.of(row, self._weight(row.recipients), self.world, self.tz))
            for uid in row.recipients:
                member = self.world.by_line_id.get(uid)
                if member is not None:
                    self._read(member.id, set(CODE.findall(text)), day)

    def _day_start(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    def _weight(self, recipients: list[str]) -> int:
        return sum(PLANNING_GROUP_MEMBERS if uid.startswith(("C", "R")) else 1 for uid in recipients)

    def _read(self, person_id: int, codes: set[str], day: date) -> None:
        for code in codes:
            for case in self.by_code.get(code, ()):
                if day < case.due - OPEN_BEFORE_DUE:
                    continue  # a later quarter's report: not what the message is about
                if case.owner_id == person_id and not case.approved:
                    if not case.submitted or case.returned:
                        self._owner_told(case, day)
                elif self._waits_on(person_id, case):
                    self._director_told(case, day)

    def _waits_on(self, person_id: int, case: Case) -> bool:
        """Whether ``case``'s submitted version waits on ``person_id`` (its director), not yet read."""
        if not case.submitted or case.returned or case.approved or case.decide_on is not None:
            return False
        member = self.world.members.get(person_id)
        return (
            member is not None
            and "approver" in member.roles
            and member.line_user_id == self._director_of(case)
        )

    def _owner_told(self, case: Case, day: date) -> None:
        if case.told_on is not None and not case.returned:
            return
        if case.returned:
            if case.submit_on is not None and case.submit_on > day and case.submitted[-1] < case.submit_on:
                return
            self._plan_submit(case, self.cal.add_working_days(day, case.behaviour.resubmit_after))
            return
        case.told_on = day
        if case.behaviour.kind == "reminded":
            target = (
                self.cal.add_working_days(day, case.behaviour.after_told)
                if case.behaviour.after_told
                else day
            )
            if case.submit_on is None or target < case.submit_on:
                self._plan_submit(case, target)

    def _director_told(self, case: Case, day: date) -> None:
        case.director_told_on = day
        submitted = case.submitted[-1]
        delay = self.cal.working_days_between(submitted, day)
        self.approval_delays.append(delay)
        if delay > 1:
            self.late_approvals.append((day, delay))
        self.waiting.pop((id(case), case.versions), None)
        case.decide_on = self.cal.add_working_days(day, case.behaviour.decide_after)
        self.agenda.add(case.decide_on, "decide", case)

    def _read_line_usage(self) -> None:
        if self.emulator is not None:
            quota = self.emulator.quota()
            if quota.month:
                self.line_usage[quota.month] = quota.used

    # --- the figures ------------------------------------------------------------------------------

    def _figures(self) -> Figures:
        never_told = [
            self.cal.working_days_between(submitted, self.end) for (case, submitted) in self.waiting.values()
        ]
        return Figures.build(
            config=self.config,
            world=self.world,
            sent=self.sent,
            ticks=self.ticks,
            line_usage=dict(self.line_usage),
            approval_delays=self.approval_delays + never_told,
            never_told=len(never_told),
            late_approvals=self.late_approvals,
            cases=self.cases,
            calendar=self.cal,
            start=self.start,
            emulator=self.emulator,
            engine=self.engine,
            tz=self.tz,
        )


def _news(kind: str, messages: list[dict[str, Any]]) -> str:
    """What in a delivered row tells its reader something they did not ask for: a push whole; of a
    reply (the answer to the person's own message), only the due items riding on it."""
    if kind != OutboxKind.REPLY.value:
        return json.dumps(messages, ensure_ascii=False)
    return json.dumps([m for m in messages if is_rider(m)], ensure_ascii=False)


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _text_event(user_id: str, text: str, now: datetime) -> dict[str, Any]:
    """A text event for an external LINE stand-in (it issued no reply token: the reply becomes a push)."""
    import uuid

    return {
        "type": "message", "mode": "active", "timestamp": int(now.timestamp() * 1000),
        "source": {"type": "user", "userId": user_id}, "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "message": {"id": str(uuid.uuid4().int)[:18], "type": "text", "text": text, "quoteToken": "q"},
    }  # fmt: skip
