"""What an event handler works with: the open transaction, the event, the clock, and a reply list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from linebot.v3.webhooks import Event, GroupSource, RoomSource, UserSource
from pydantic.v1 import BaseModel
from sqlmodel import Session, select

from bot.media_links import MediaLinks
from messages.wire import as_dict
from models.linking import DEFAULT_LIMITS, LinkedPerson, LinkLimits, persistent_conversation
from models.messaging import Conversation, WebhookEvent
from models.org import Person
from models.prepared import Prepared
from models.projects import OpenPeriod, ProjectState, open_period, projects_of_person
from scheduler.fiscal import fiscal_year_of
from scheduler.rules import Rules
from scheduler.workdays import WorkCalendar


class ToDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class LineEffects(Protocol):
    """The few LINE calls a handler may make while handling (sending goes through the outbox)."""

    def show_loading(self, chat_id: str, seconds: int = 10) -> bool: ...

    def get_content(self, message_id: str, *, max_bytes: int) -> tuple[bytes, str]: ...

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> bool: ...


_UNREAD = object()
_CONVERSATIONS = Conversation.__table__  # type: ignore[attr-defined]
_CONVERSATION_VALUES = (
    "chat_key",
    "person_id",
    "form",
    "step",
    "data",
    "revision",
    "started_at",
    "updated_at",
)
# Starting the report form starts its conversation: compiled once, run on the driver's cursor.
_INSERT_CONVERSATION = Prepared(
    sa.insert(_CONVERSATIONS).returning(_CONVERSATIONS.c.id), columns=_CONVERSATION_VALUES
)
_LINE_EPOCH_MS = 1_293_840_000_000  # 2011-01-01 UTC: no LINE event is older
_CLOCK_SKEW = timedelta(minutes=1)  # LINE's clock may run a little ahead of ours


_DUE_ON_MEMO = "tidtam.report_due_on"  # session.info key: (quarter end, office, rules) -> deadline


def warm_calendars(today: date) -> None:
    """Build the plain calendar's years around `today` before the first event needs them (the
    `holidays` package computes a year in a second or more on a busy machine: the first status request
    after a start would wait for it). The years are kept for the process (scheduler/workdays.py)."""
    calendar = WorkCalendar()
    for year in (today.year - 1, today.year, today.year + 1):
        calendar.is_working_day(date(year, 1, 1))


def _deleted(session: Session, row: Conversation) -> bool:
    state = sa.inspect(row)
    return bool(state.deleted or state.was_deleted or row in session.deleted)


@dataclass
class EventContext:
    session: Session
    row: WebhookEvent
    raw: dict[str, Any]
    event: Event
    now: datetime
    tz: ZoneInfo
    line: LineEffects | None
    person: Person | LinkedPerson | None = None  # LinkedPerson: as handle_event reads the sender
    media_dir: Path = Path("var") / "media"
    approval_levels: int = 1  # 2 adds planning-group verification after the director
    hold_for_replies: bool = False  # approval requests and notices wait for a reply or the next tick
    link_limits: LinkLimits = DEFAULT_LIMITS
    media_links: MediaLinks | None = None  # signed links to evidence photos (approval cards)
    rules: Rules | None = None  # the reminder rules: the report deadline people are told comes from them
    public_url: str = "http://127.0.0.1:8000"  # where links to the service point (the dashboard's)
    replies: list[dict[str, Any]] = field(default_factory=list)
    _conversation: Any = field(default=_UNREAD, repr=False)

    def conversation(self) -> Conversation | None:
        """The user's conversation row (a form in progress, a return waiting for its reason), read
        once per event although a handler asks at several steps. Read again once this event has
        deleted it; one this event starts (`start_conversation`) is remembered."""
        if self.user_id is None:
            return None
        cached = self._conversation
        if cached is not _UNREAD and (cached is None or not _deleted(self.session, cached)):
            return cached  # type: ignore[no-any-return]
        found = self.session.exec(select(Conversation).where(Conversation.chat_key == self.user_id)).first()
        self._conversation = found
        return found

    def remember_conversation(self, found: Conversation | None) -> None:
        """The user's conversation row as read together with their person (`handle_event`)."""
        if self.user_id is not None:
            self._conversation = found

    def report_due_on(self, period_end: date, office_id: int, stored: date) -> date:
        """A quarter's deadline for a project of `office_id`: the one reminders use (stored one without rules).

        Computed as `scheduler.deadlines.report_due_on` does, once per office and quarter in a
        transaction (a batch's events share one, `bot/processor.py`; no handler writes an office's
        rules or holidays); what it is made of is read in one statement and the rules and calendar
        made of that are the process's (`scheduler.deadlines.deadline_inputs`)."""
        if self.rules is None:
            return stored
        memo = self.session.info.setdefault(_DUE_ON_MEMO, {})
        key = (period_end, office_id, id(self.rules))
        due = memo.get(key)
        if due is None:
            from scheduler.deadlines import deadline_inputs, due_date

            person = self.person
            read = None
            if isinstance(person, LinkedPerson) and person.office_id == office_id:
                read = person.deadline  # read with the sender, in this transaction: no round trip
            inputs = deadline_inputs(self.session, self.rules, office_id, read)
            due = memo[key] = due_date(period_end, *inputs)
        return due  # type: ignore[no-any-return]

    def open_period(self) -> OpenPeriod | None:
        """The period people report on today (`models.projects.open_period`), as read with the
        sender when it was (`sender_of`): no second round trip."""
        today = self.today
        person = self.person
        if isinstance(person, LinkedPerson) and person.period_read and person.on == today:
            return person.period
        return open_period(self.session, today)

    def projects_of_person(self, fiscal_year: int, period_id: int | None) -> list[ProjectState]:
        """The person's projects of `fiscal_year` with their state for `period_id`
        (`models.projects.projects_of_person`), as read with the sender when they were (`sender_of`
        reads them for the fiscal year of the day and its open period): no second round trip."""
        person = self.person
        assert person is not None and person.id is not None
        if isinstance(person, LinkedPerson) and person.projects is not None and person.on == self.today:
            read_period = person.period.id if person.period is not None else None
            if fiscal_year == fiscal_year_of(person.on) and period_id == read_period:
                return list(person.projects)
        return projects_of_person(self.session, person.id, fiscal_year, period_id)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def start_conversation(self, form: str, step: str, data: dict[str, Any]) -> Conversation:
        """Add the user's conversation row (the caller has made sure there is none) and remember it."""
        assert self.user_id is not None
        values = {
            "chat_key": self.user_id,
            "person_id": self.person.id if self.person else None,
            "form": form,
            "step": step,
            "data": data,
            "revision": 1,
            "started_at": self.now,
            "updated_at": self.now,
        }
        # Written at once with a plain INSERT (no unit of work to flush), then the session's object.
        ((row_id,),) = _INSERT_CONVERSATION.rows(self.session, values)
        conversation = persistent_conversation(self.session, {"id": row_id, **values})
        self._conversation = conversation
        return conversation

    def forget_conversation(self, conversation: Conversation) -> None:
        """The user's conversation row was deleted (by a statement): it is gone for this event."""
        if conversation in self.session:
            self.session.expunge(conversation)
        self._conversation = None

    @cached_property
    def user_id(self) -> str | None:
        """The sender's LINE id (asked a dozen times an event: read once; an event never changes)."""
        source = self.event.source
        return getattr(source, "user_id", None) if source is not None else None

    @property
    def chat_id(self) -> str | None:
        """The group or room id when the event came from a group chat; None in a one-on-one chat."""
        source = self.event.source
        if isinstance(source, GroupSource):
            return source.group_id
        if isinstance(source, RoomSource):
            return source.room_id
        return None

    @cached_property
    def is_private(self) -> bool:
        return isinstance(self.event.source, UserSource)

    @property
    def reply_to(self) -> str | None:
        """Where a push fallback goes: the group/room, or the user."""
        return self.chat_id or self.user_id

    @property
    def reply_token(self) -> str | None:
        return getattr(self.event, "reply_token", None)

    @property
    def event_time(self) -> datetime:
        """When LINE says the event happened (it starts the reply token's minute). A timestamp that
        cannot be right (not a number, before LINE existed, after the event reached us) counts as
        the moment the event was stored, rather than raising or pushing a reply's deadline into the
        far future."""
        received = self.row.received_at or self.now
        timestamp = getattr(self.event, "timestamp", None)
        if isinstance(timestamp, int) and not isinstance(timestamp, bool):
            earliest, latest = _LINE_EPOCH_MS, (received + _CLOCK_SKEW).timestamp() * 1000
            if earliest <= timestamp <= latest:
                return datetime.fromtimestamp(timestamp / 1000, tz=UTC)
        return received

    def reply(self, *messages: ToDict | dict[str, Any]) -> None:
        for message in messages:
            if isinstance(message, dict):
                self.replies.append(message)
            elif isinstance(message, BaseModel):  # an SDK message: its `to_dict()`, made faster
                self.replies.append(as_dict(message))
            else:
                self.replies.append(message.to_dict())

    def show_loading(self, seconds: int = 10) -> None:
        if self.line is not None and self.is_private and self.user_id:
            self.line.show_loading(self.user_id, seconds)
