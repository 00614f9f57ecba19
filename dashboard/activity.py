"""The Messages page and the planners' actions that send: what the scheduler and the bot sent this
month (counts, never texts), what failed and why, who cannot be reached, the LINE quota (used, left,
and a forecast to the month's end from the rules due), and reminding one school now.

Counting follows the scheduler's own rule (`scheduler.tick.messages_used`): a push or multicast counts
once per recipient against the month's quota, a reply costs nothing, a permanent failure is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from dashboard.scope import Scope
from messages.reminders import Item, ItemKind, Line, daily_message_dict
from models.org import Office, Person
from models.outbox import OutboxMessage, queue_push
from models.plan import Project, ProjectOwner
from models.types import OutboxStatus, Reachability
from scheduler.tick import TickSetup, messages_used, plan_for, release_time

UNREACHABLE_SHOWN = 100
OFFICES_SHOWN = 50  # offices listed by messages received, most first (the rest are counted)


def month_start(day: date, tz: Any) -> datetime:
    return datetime.combine(day.replace(day=1), time(0), tzinfo=tz)


def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


@dataclass(frozen=True)
class SentCount:
    purpose: str
    kind: str
    status: str
    rows: int
    recipients: int


@dataclass(frozen=True)
class Failure:
    reason: str
    rows: int


@dataclass(frozen=True)
class Unreachable:
    code: str
    name: str
    office: str
    reachability: str


@dataclass(frozen=True)
class ToWhom:
    """This month's delivered messages to the people of one office, or of one role: how many people,
    how many paid messages (a push or a multicast, once per person) and how many free replies."""

    key: str  # an office code, or a role
    label: str
    people: int
    paid: int
    replies: int


@dataclass(frozen=True)
class Activity:
    sent: list[SentCount]
    failures: list[Failure]
    reachability: dict[str, int]
    unreachable: list[Unreachable]
    used: int
    quota: int
    by_office: list[ToWhom] = field(default_factory=list)
    by_role: list[ToWhom] = field(default_factory=list)
    offices_reached: int = 0  # offices in `by_office` before it was cut to OFFICES_SHOWN
    unnamed: int = 0  # delivered messages to no registered person (a bound LINE group, an unlinked user)

    @property
    def left(self) -> int:
        return max(0, self.quota - self.used)


def _recipients() -> Any:
    return sa.func.coalesce(sa.func.sum(sa.func.json_array_length(col(OutboxMessage.recipients))), 0)


def activity(session: Session, scope: Scope, today: date, tz: Any, quota: int) -> Activity:
    """This month's messages (the whole area's: the quota is the channel's) and, in scope, who cannot
    be reached."""
    since = month_start(today, tz)
    this_month = col(OutboxMessage.created_at) >= since
    sent = [
        SentCount(str(p or ""), str(k), str(s), int(n), int(r))
        for p, k, s, n, r in session.execute(
            select(
                OutboxMessage.purpose,
                OutboxMessage.kind,
                OutboxMessage.status,
                sa.func.count(),
                _recipients(),
            )
            .where(this_month)
            .group_by(col(OutboxMessage.purpose), col(OutboxMessage.kind), col(OutboxMessage.status))
            .order_by(col(OutboxMessage.purpose), col(OutboxMessage.kind), col(OutboxMessage.status))
        )
    ]
    reason = sa.func.substr(sa.func.coalesce(col(OutboxMessage.last_error), ""), 1, 120)
    failures = [
        Failure(str(r), int(n))
        for r, n in session.execute(
            select(reason, sa.func.count())
            .where(
                this_month,
                col(OutboxMessage.status).in_([OutboxStatus.FAILED.value, OutboxStatus.DEFERRED.value]),
            )
            .group_by(reason)
            .order_by(sa.func.count().desc())
        )
    ]
    people = scope.restrict(
        select(Person.reachability, sa.func.count()).where(col(Person.active).is_(True)),
        col(Person.office_id),
    ).group_by(col(Person.reachability))
    reachability = {str(r): int(n) for r, n in session.execute(people)}
    unreachable_rows = scope.restrict(
        select(Person.code, Person.full_name, Office.name, Person.reachability)
        .join(Office, col(Office.id) == col(Person.office_id))
        .where(col(Person.active).is_(True), col(Person.reachability) != Reachability.FOLLOWING.value),
        col(Person.office_id),
    ).order_by(col(Person.reachability), col(Office.code), col(Person.code))
    unreachable = [
        Unreachable(*map(str, r)) for r in session.execute(unreachable_rows.limit(UNREACHABLE_SHOWN))
    ]
    used = messages_used(session.connection(), today, tz)
    by_office, offices_reached, by_role, unnamed = to_whom(session, scope, since)
    return Activity(
        sent, failures, reachability, unreachable, used, quota, by_office, by_role, offices_reached, unnamed
    )


def _each_person(session: Session) -> tuple[Any, Any]:
    """A table-valued expansion of `outbox_message.person_ids` (one row per person of a message) and
    its person id column, in the database's own JSON function."""
    if session.get_bind().dialect.name == "postgresql":
        each = sa.func.json_array_elements_text(col(OutboxMessage.person_ids)).table_valued("value")
        return each, sa.cast(each.c.value, sa.BigInteger)
    each = sa.func.json_each(col(OutboxMessage.person_ids)).table_valued("value")
    return each, each.c.value


def to_whom(session: Session, scope: Scope, since: datetime) -> tuple[list[ToWhom], int, list[ToWhom], int]:
    """This month's delivered messages by the office and by the role of the people they went to (in
    scope), and how many went to no registered person (a bound LINE group, a user not yet linked). Counts only, never texts: four statements."""
    each, person_id = _each_person(session)
    delivered = sa.and_(
        col(OutboxMessage.created_at) >= since, col(OutboxMessage.status) == OutboxStatus.SENT.value
    )
    per_person = (
        select(
            person_id.label("person_id"),
            sa.func.sum(sa.case((col(OutboxMessage.kind) == "reply", 0), else_=1)).label("paid"),
            sa.func.sum(sa.case((col(OutboxMessage.kind) == "reply", 1), else_=0)).label("replies"),
        )
        .select_from(OutboxMessage)
        .join(each, sa.true())
        .where(delivered)
        .group_by(person_id)
        .subquery("per_person")
    )
    people = sa.func.count().label("people")
    paid = sa.func.sum(per_person.c.paid).label("paid")
    replies = sa.func.sum(per_person.c.replies).label("replies")
    offices = scope.restrict(
        select(Office.code, Office.name, people, paid, replies)
        .select_from(per_person)
        .join(Person, col(Person.id) == per_person.c.person_id)
        .join(Office, col(Office.id) == col(Person.office_id)),
        col(Person.office_id),
    ).group_by(col(Office.id), col(Office.code), col(Office.name))
    office_rows = [
        ToWhom(str(c), str(n), int(k), int(p or 0), int(r or 0))
        for c, n, k, p, r in session.execute(
            offices.order_by(sa.desc(paid), sa.desc(replies), col(Office.code)).limit(OFFICES_SHOWN)
        )
    ]
    offices_reached = int(
        session.execute(select(sa.func.count()).select_from(offices.subquery("reached"))).scalar_one()
    )
    roles: dict[str, list[int]] = {}
    for combination, k, p, r in session.execute(
        scope.restrict(
            select(Person.roles, people, paid, replies)
            .select_from(per_person)
            .join(Person, col(Person.id) == per_person.c.person_id),
            col(Person.office_id),
        ).group_by(col(Person.roles))
    ):
        for role in str(combination or "").split(",") or [""]:
            counts = roles.setdefault(role, [0, 0, 0])
            counts[0] += int(k)
            counts[1] += int(p or 0)
            counts[2] += int(r or 0)
    role_rows = sorted(
        (ToWhom(role, role, *counts) for role, counts in roles.items()), key=lambda t: (-t.paid, t.key)
    )
    unnamed = 0
    if scope.whole_area:  # no office to scope them by: only the area's view counts them
        unnamed = int(
            session.execute(
                select(sa.func.count()).where(
                    delivered, sa.func.json_array_length(col(OutboxMessage.person_ids)) == 0
                )
            ).scalar_one()
        )
    return office_rows, offices_reached, role_rows, unnamed


@dataclass(frozen=True)
class Forecast:
    days: int  # days planned, tomorrow to the month's end
    messages: int  # pushes those days would send, as things stand

    def total(self, used: int) -> int:
        return used + self.messages


def forecast(session: Session, today: date, setup: TickSetup) -> Forecast:
    """What the ticks from tomorrow to the month's end would push if nothing changed meanwhile (an
    upper bound: reports sent in the meantime remove reminders). Plans each day, so it costs a tick's
    planning per day left: the page computes it only when asked."""
    days, messages = 0, 0
    day = today + timedelta(days=1)
    conn = session.connection()
    while day <= month_end(today):
        plan, _digest, _used, _noticed = plan_for(conn, day, setup)
        messages += len(plan.recipients)
        days += 1
        day += timedelta(days=1)
    return Forecast(days, messages)


# --- remind one school now -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """One push the action would send: to a linked person, what they still owe, most urgent first."""

    person_id: int
    to: str
    label: str
    items: tuple[Item, ...]


_OWED = ("late", "not_started", "draft", "returned")


def _working_days(start: date, end: date, calendar: Any) -> int:
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        days += calendar.is_working_day(day)
    return days


def school_reminders(session: Session, office_id: int, today: date, calendar: Any) -> list[Reminder]:
    """What reminding the office now would send: to each responsible person their reports not yet
    submitted (or returned) for every quarter of the year that has started, and to each approver the
    reports waiting for them; only people linked to LINE and following the account (a push to anyone
    else is not delivered). Whatever the day's rules would say: the planning group asked for it now."""
    from dashboard.queries import choose_period, periods_of, projects_with_state

    current = choose_period(session, today)
    if current is None:
        return []
    owed: dict[int, list[Item]] = {}
    approvals: dict[int, list[Line]] = {}
    for period in (p for p in periods_of(session, current.fiscal_year, today) if p.starts_on <= today):
        statement, state = projects_with_state(
            period,
            col(Project.code),
            col(Project.name),
            col(Project.approver_id),
            col(ProjectOwner.person_id),
        )
        statement = statement.outerjoin(ProjectOwner, col(ProjectOwner.project_id) == col(Project.id)).where(
            col(Project.office_id) == office_id, state.in_([*_OWED, "submitted"])
        )
        lines: dict[int, list[Line]] = {}
        for code, name, approver_id, owner_id, project_state in session.execute(
            statement.order_by(col(Project.code))
        ):
            if project_state == "submitted":
                if approver_id is not None:
                    approvals.setdefault(approver_id, []).append(Line(code, name))
            elif owner_id is not None:
                lines.setdefault(owner_id, []).append(Line(code, name))
        late = period.late
        days = (
            _working_days(period.due_on, today, calendar)
            if late
            else _working_days(today, period.due_on, calendar)
        )
        for person_id, found in lines.items():
            kind = ItemKind.REPORT_OVERDUE if late else ItemKind.REPORT_DUE
            item = Item(
                kind,
                f"{period.fiscal_year}Q{period.quarter}",
                (period.fiscal_year, period.quarter),
                period.due_on,
                days,
                len(found),
                tuple(found),
            )
            owed.setdefault(person_id, []).append(item)
    for person_id, found in approvals.items():
        owed.setdefault(person_id, []).append(
            Item(ItemKind.APPROVAL_PENDING, "approvals", None, today, 0, len(found), tuple(found))
        )
    if not owed:
        return []
    people = session.exec(
        select(Person)
        .where(
            col(Person.id).in_(list(owed)),
            col(Person.active).is_(True),
            col(Person.line_user_id).is_not(None),
            col(Person.reachability) == Reachability.FOLLOWING.value,
        )
        .order_by(col(Person.code))
    )
    return [
        Reminder(
            p.id or 0,
            p.line_user_id or "",
            f"{p.code} {p.full_name}",
            tuple(sorted(owed[p.id or 0], key=lambda i: i.kind.rank)),
        )
        for p in people
    ]


def remind_now(
    session: Session, office_id: int, reminders: list[Reminder], today: date, now: datetime, setup: TickSetup
) -> int:
    """Queue one push per person now (held to the end of the quiet hours, as the tick would)."""
    not_before = release_time(now, setup.tz, setup.rules.delivery, setup.calendar)
    queued = 0
    for r in reminders:
        row = queue_push(
            session,
            to=[r.to],
            messages=[daily_message_dict(r.items, today, max_lines=setup.rules.delivery.max_lines)],
            dedupe_key=f"remind-now:{office_id}:{r.person_id}:{now.isoformat()}",
            rule="remind_now",
            subject=f"office:{office_id}",
            now=now,
            not_before=not_before,
            purpose="reminder",
            person_ids=[r.person_id],
        )
        queued += row is not None
    return queued
