"""Account linking by one-time code: a LINE user to a person, or a LINE group to a planning group.

Codes are 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as `ABCD-2345`.
Only their SHA-256 is stored. They are single-use and expire after 14 days; linking a person revokes
their other outstanding codes, so moving a linked person to another LINE account needs a new code from
an admin. A code is taken with a conditional UPDATE (`... WHERE used_at IS NULL`), so of two accounts
sending the same code at once exactly one is linked.

A code that is wrong, expired, revoked or already used by someone else gets one and the same answer:
a guesser learns nothing from it. Guessing is limited three ways (`LinkLimits`): five wrong tries from
one LINE account within 15 minutes lock that account out for 15 minutes; tries on one office's codes
(right or wrong) are limited per hour; wrong tries from all accounts together are limited per hour.
Each time a limit is reached a `LinkThrottleTrip` row records it (the LINE user only as a hash);
`link_throttle_overview` and `throttle_trips` are what a dashboard reads.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from models.messaging import (
    ChatBinding,
    Conversation,
    LinkCode,
    LinkRateWindow,
    LinkThrottle,
    LinkThrottleTrip,
)
from models.ops import AuditLog
from models.org import OFFICE, PARENT_OFFICE, ActingApprover, Office, Person, deadline_columns
from models.plan import Project, ProjectOwner
from models.prepared import Prepared
from models.projects import (
    _OPEN_PERIOD,
    OpenPeriod,
    ProjectState,
    project_state_columns,
    project_states,
    with_report_state,
)
from models.reporting import (
    ProjectRef,
    projects_and_drafts_of,
    projects_and_drafts_of_rows,
    unapproved_reports_of_year,
)
from models.reports import ProgressReport
from models.rich_menus import RichMenu, RichMenuLink
from models.types import ChatType, LinkPurpose, Reachability, Role

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = timedelta(days=14)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
RATE_WINDOW = timedelta(hours=1)
WINDOW_RETENTION = timedelta(days=7)  # hourly counts older than this are dropped
# Defaults of TIDTAM_LINK_TRIES_PER_OFFICE_PER_HOUR and TIDTAM_LINK_TRIES_PER_HOUR (tidtam/settings.py).
TRIES_PER_OFFICE_PER_HOUR = 100
WRONG_TRIES_PER_HOUR = 3000
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


def normalize_code(text: str) -> str | None:
    """The canonical form of something a user typed as a code, or None if it cannot be one."""
    cleaned = "".join(ch for ch in text.translate(_THAI_DIGITS).upper() if ch not in " -_.\u200b\t\n")
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def looks_like_code(text: str) -> bool:
    return normalize_code(text) is not None


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def account_hash(line_user_id: str) -> str:
    """How an audit row names a LINE account: never the id itself."""
    return hashlib.sha256(line_user_id.encode()).hexdigest()


log = logging.getLogger(__name__)


class ThrottleScope(StrEnum):
    ACCOUNT = "account"  # one LINE account's wrong tries
    OFFICE = "office"  # tries on one office's codes, right or wrong
    OVERALL = "overall"  # wrong tries from every LINE account together


@dataclass(frozen=True)
class LinkLimits:
    """How much link-code guessing is allowed; a limit of 0 switches that limit off."""

    wrong_tries_per_account: int = MAX_FAILURES
    account_lockout: timedelta = LOCKOUT
    tries_per_office_per_hour: int = TRIES_PER_OFFICE_PER_HOUR
    wrong_tries_per_hour: int = WRONG_TRIES_PER_HOUR


DEFAULT_LIMITS = LinkLimits()


def create_link_code(
    session: Session,
    *,
    now: datetime,
    created_by: str,
    person: Person | None = None,
    office: Office | None = None,
) -> str:
    """Make a fresh code for `person` (or for binding `office`'s planning group); returns it formatted."""
    if (person is None) == (office is None):
        raise ValueError("a link code is for exactly one person or one office")
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    row = LinkCode(
        code_hash=_hash(code),
        purpose=LinkPurpose.PERSON if person else LinkPurpose.PLANNING_GROUP,
        person_id=person.id if person else None,
        office_id=office.id if office else None,
        created_by=created_by,
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    session.add(row)
    session.add(
        AuditLog(
            at=now,
            actor=created_by,
            action="link_code_created",
            entity_type="person" if person else "office",
            entity_id=str(person.id if person else office.id),  # type: ignore[union-attr]
            details={"expires_at": row.expires_at.isoformat()},
        )
    )
    return format_code(code)


class LinkResult(StrEnum):
    LINKED = "linked"
    GROUP_BOUND = "group_bound"
    GROUP_ALREADY_BOUND = "group_already_bound"
    WRONG = "wrong"  # also expired, revoked, or already used by another account: one answer for all
    LOCKED = "locked"  # this account made too many wrong tries
    THROTTLED = "throttled"  # an hourly limit (the code's office, or everybody's) is reached
    ACCOUNT_ALREADY_LINKED = "account_already_linked"
    GROUP_CODE_IN_PRIVATE_CHAT = "group_code_in_private_chat"
    PERSON_CODE_IN_GROUP = "person_code_in_group"


@dataclass(frozen=True)
class LinkOutcome:
    result: LinkResult
    person: Person | None = None
    office: Office | None = None
    tries_left: int = 0
    locked_minutes: int = 0  # LOCKED and THROTTLED: how long until tries are answered again


# Built once: every event from a one-on-one chat looks its sender up first.
_PERSON_BY_LINE_USER = select(Person).where(Person.line_user_id == sa.bindparam("line_user_id"))


def linked_person(session: Session, line_user_id: str) -> Person | None:
    return session.exec(_PERSON_BY_LINE_USER, params={"line_user_id": line_user_id}).first()


@dataclass(frozen=True, slots=True)
class LinkedPerson:
    """The sender of an event as the handlers read them: plain values from one lookup (`sender_of`),
    no ORM object (nothing to flush, nothing stale when a session outlives the event). A handler that
    changes the person does it with a statement (`set_reachability`).

    Besides the person's own columns it carries what nearly every answer needs, read in the same round
    trip for the day `on`: the facts that make their menu's roles (bot/menus.py) and the rich menu last
    linked to them."""

    id: int
    code: str
    full_name: str
    position: str
    office_id: int
    roles: str
    line_user_id: str | None
    reachability: str
    active: bool
    on: date  # the day the facts below are for
    acting: bool  # acts for an approver on `on`
    approves: bool  # the named approver of a project
    owns: bool  # owns a project of the fiscal year of `on`
    menu_linked: str | None  # the name of the rich menu last linked to them
    menus_set_up: bool  # whether `tidtam line setup` has recorded any rich menu
    office_name: str | None = None  # their office's name and kind (None: not read with them)
    office_kind: str | None = None
    period_read: bool = False  # whether `period` was read with them (the open period on `on`)
    period: OpenPeriod | None = None
    # What their office's report deadline is made of (models.org.deadline_columns), for
    # scheduler.deadlines.deadline_inputs; None: not read with them.
    deadline: tuple[Any, ...] | None = None
    # Their projects of the fiscal year of `on` with their state for `period` (models.projects
    # projects_of_person), when asked for with them (`sender_of(..., with_projects=True)`); else None.
    projects: tuple[ProjectState, ...] | None = None
    # Their projects of the fiscal year of `on` and which of them have a draft waiting (models.reporting
    # person_projects_and_drafts: what the report form starts from), when asked for with them
    # (`sender_of(..., with_drafts=True)`); else None.
    report_projects: tuple[tuple[ProjectRef, ...], frozenset[int]] | None = None

    @property
    def role_set(self) -> frozenset[Role]:
        return _role_set(self.roles)

    def has_role(self, role: Role) -> bool:
        return role in _role_set(self.roles)


@functools.lru_cache(maxsize=256)
def _role_set(roles: str) -> frozenset[Role]:
    """The roles of a stored `Person.roles` text (a few distinct texts: parsed once each)."""
    return frozenset(Role(r) for r in roles.split(",") if r)


_P = Person.__table__  # type: ignore[attr-defined]
_ACTING = ActingApprover.__table__  # type: ignore[attr-defined]
_PROJECT = Project.__table__  # type: ignore[attr-defined]
_OWNER = ProjectOwner.__table__  # type: ignore[attr-defined]
_MENU = RichMenu.__table__  # type: ignore[attr-defined]
_MENU_LINK = RichMenuLink.__table__  # type: ignore[attr-defined]
_OFFICE = OFFICE
_CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]
_CONVERSATION_COLUMNS = tuple(c.name for c in _CONVERSATION.c)
_CONVERSATION_MANAGER = sa.orm.attributes.manager_of_class(Conversation)
_CONFIGURED: list[bool] = []
_ON = sa.bindparam("on", type_=sa.Date())
_OPEN = _OPEN_PERIOD.subquery("open_period")  # bound by "today": the same day as "on"
# Built once (SQLAlchemy caches its compiled form): every event from a one-on-one chat starts here.
# The sender, their chat's conversation row, the facts of their roles and their rich menu, in one
# round trip, as plain rows (Core: no ORM loading on the hot path).
_SENDER_COLUMNS = (
    *(_CONVERSATION.c[name] for name in _CONVERSATION_COLUMNS),
    _P.c.id.label("person_id_"),
    _P.c.code,
    _P.c.full_name,
    _P.c.position,
    _P.c.office_id,
    _P.c.roles,
    _P.c.line_user_id,
    _P.c.reachability,
    _P.c.active,
    sa.exists()
    .where(_ACTING.c.acting_id == _P.c.id, _ACTING.c.starts_on <= _ON, _ACTING.c.ends_on >= _ON)
    .label("acting"),
    sa.exists().where(_PROJECT.c.approver_id == _P.c.id).label("approves"),
    sa.exists()
    .select_from(_OWNER.join(_PROJECT, _PROJECT.c.id == _OWNER.c.project_id))
    .where(_OWNER.c.person_id == _P.c.id, _PROJECT.c.fiscal_year == sa.bindparam("fy"))
    .label("owns"),
    _MENU_LINK.c.name.label("menu_linked"),
    sa.exists().select_from(_MENU).label("menus_set_up"),
    _OFFICE.c.name.label("office_name"),
    _OFFICE.c.kind.label("office_kind"),
    *_OPEN.c,
    *deadline_columns(),
)
_SENDER_FROM = (
    _P.join(_OFFICE, _OFFICE.c.id == _P.c.office_id)
    .outerjoin(PARENT_OFFICE, PARENT_OFFICE.c.id == _OFFICE.c.parent_id)
    .outerjoin(_OPEN, sa.true())  # at most one row: the open period on the day (models/projects.py)
    .outerjoin(_CONVERSATION, _CONVERSATION.c.chat_key == _P.c.line_user_id)
    .outerjoin(_MENU_LINK, _MENU_LINK.c.person_id == _P.c.id)
)
_SENDER_WHERE = _P.c.line_user_id == sa.bindparam("line_user_id")
_SENDER = sa.select(*_SENDER_COLUMNS).select_from(_SENDER_FROM).where(_SENDER_WHERE)
# The same and the sender's projects of the fiscal year with their state for the open period, for a
# `สถานะ` or `โครงการของฉัน`: one row per project they own of any year, the columns of one of
# another year NULL (sender_of skips it), the sender's columns repeated; one row when they own none.
# A chain of outer joins, not a nested join: SQLite would materialise every owner of the year's
# projects for that. Aliases: the facts above look at every project, not only the joined ones.
_OWN_PROJECT, _OWN = _PROJECT.alias("own_project"), _OWNER.alias("own")
_SENDER_AND_PROJECTS = sa.select(*_SENDER_COLUMNS, *project_state_columns(_OWN_PROJECT)).select_from(
    with_report_state(
        _SENDER_FROM.outerjoin(_OWN, _OWN.c.person_id == _P.c.id).outerjoin(
            _OWN_PROJECT,
            sa.and_(_OWN_PROJECT.c.id == _OWN.c.project_id, _OWN_PROJECT.c.fiscal_year == sa.bindparam("fy")),
        ),
        _OWN_PROJECT,
        _OPEN.c.id,
    )
)
_SENDER_WITH_PROJECTS = _SENDER_AND_PROJECTS.where(_SENDER_WHERE).order_by(_OWN_PROJECT.c.code)
_DRAFT_REPORT = ProgressReport.__table__.alias("draft_report")  # type: ignore[attr-defined]
# The same for a report form's start: the sender's projects of the fiscal year, each with its reports of the year
# not yet approved (their drafts), as `person_projects_and_drafts` reads them: one row per project
# and report, the project's columns NULL for a project of another year (sender_of skips it).
_SENDER_AND_DRAFTS = sa.select(
    *_SENDER_COLUMNS, *projects_and_drafts_of(_OWN_PROJECT, _DRAFT_REPORT)
).select_from(
    unapproved_reports_of_year(
        _SENDER_FROM.outerjoin(_OWN, _OWN.c.person_id == _P.c.id).outerjoin(
            _OWN_PROJECT,
            sa.and_(_OWN_PROJECT.c.id == _OWN.c.project_id, _OWN_PROJECT.c.fiscal_year == sa.bindparam("fy")),
        ),
        _OWN_PROJECT,
        _DRAFT_REPORT,
    )
)
_SENDER_WITH_DRAFTS = _SENDER_AND_DRAFTS.where(_SENDER_WHERE).order_by(_OWN_PROJECT.c.code)


# Every one-on-one event runs one of these: compiled once, run on the driver's cursor (models/prepared.py).
_PREPARED_SENDER = Prepared(_SENDER)
_PREPARED_SENDER_WITH_PROJECTS = Prepared(_SENDER_WITH_PROJECTS)
_PREPARED_SENDER_WITH_DRAFTS = Prepared(_SENDER_WITH_DRAFTS)

# The same for several senders at once (`prefetch_senders`): their LINE ids as one parameter, an
# array on PostgreSQL, a JSON list on SQLite (json_each), so the text is one for any number of them.
_MANY = {
    "postgresql": _P.c.line_user_id
    == sa.any_(sa.bindparam("line_user_ids", type_=postgresql.ARRAY(sa.String()))),
    "sqlite": _P.c.line_user_id.in_(
        sa.select(sa.column("value", sa.String())).select_from(
            sa.func.json_each(sa.bindparam("line_user_ids"))
        )
    ),
}
_SENDERS = {
    dialect: Prepared(sa.select(*_SENDER_COLUMNS).select_from(_SENDER_FROM).where(where))
    for dialect, where in _MANY.items()
}
_SENDERS_WITH_PROJECTS = {  # each sender's rows in the order `_SENDER_WITH_PROJECTS` gives them
    dialect: Prepared(_SENDER_AND_PROJECTS.where(where).order_by(_P.c.line_user_id, _OWN_PROJECT.c.code))
    for dialect, where in _MANY.items()
}
_SENDERS_WITH_DRAFTS = {
    dialect: Prepared(_SENDER_AND_DRAFTS.where(where).order_by(_P.c.line_user_id, _OWN_PROJECT.c.code))
    for dialect, where in _MANY.items()
}
_DRAFTS = "drafts"  # the last element of a prefetched sender's key when read with their drafts
_PREFETCHED = "tidtam.senders"  # session.info key: (line user id, on, fiscal year, with projects) -> rows

_DEADLINE_WIDTH = len(deadline_columns())
_STATE_WIDTH = len(project_state_columns())
_DRAFT_WIDTH = 4  # projects_and_drafts_of: id, code, name, draft


def prefetch_senders(
    session: Session,
    line_user_ids: Collection[str],
    on: date,
    fiscal_year: int,
    *,
    with_projects: bool,
    with_drafts: bool = False,
) -> None:
    """Read several senders' rows (`sender_of`'s) in one round trip, for the events of a batch (one
    per sender, bot/processor.py): each sender's next `sender_of` with the same day, year,
    `with_projects` and `with_drafts` in this session takes its rows from here, once; a later one
    reads again.

    A batch's senders are different people, and what one person's event writes is their own (their
    conversation, their rich menu, their reports' state): another sender's rows read before it are
    what that sender's event would have read had it come first."""
    dialect = session.get_bind().dialect.name
    statements = (
        _SENDERS_WITH_DRAFTS if with_drafts else _SENDERS_WITH_PROJECTS if with_projects else _SENDERS
    )
    if len(line_user_ids) < 2 or dialect not in statements:
        return
    ids = sorted(set(line_user_ids))
    params = {
        "line_user_ids": ids if dialect == "postgresql" else json.dumps(ids),
        "on": on,
        "today": on,
        "fy": fiscal_year,
    }
    grouped: dict[str, list[tuple[Any, ...]]] = {user: [] for user in ids}
    user_at = len(_CONVERSATION_COLUMNS) + 6  # person.line_user_id
    for row in statements[dialect].rows(session, params):
        grouped[row[user_at]].append(row)
    memo = session.info.setdefault(_PREFETCHED, {})
    kind = _DRAFTS if with_drafts else with_projects
    for user, rows in grouped.items():
        memo[(user, on, fiscal_year, kind)] = rows


def sender_of(
    session: Session,
    line_user_id: str,
    on: date,
    fiscal_year: int,
    *,
    with_projects: bool = False,
    with_drafts: bool = False,
) -> tuple[LinkedPerson | None, Conversation | None]:
    """The person linked to `line_user_id` (with their facts for `on`, in `fiscal_year`, with
    `with_projects` their projects of it and their states, with `with_drafts` their projects of it and
    which have a draft waiting; not both) and their chat's conversation row; (None, None) when the
    account is not linked."""
    assert not (with_projects and with_drafts)
    memo = session.info.get(_PREFETCHED)
    key = (line_user_id, on, fiscal_year, _DRAFTS if with_drafts else with_projects)
    rows = memo.pop(key, None) if memo else None
    if rows is None:
        params = {"line_user_id": line_user_id, "on": on, "today": on, "fy": fiscal_year}
        statement = (
            _PREPARED_SENDER_WITH_DRAFTS
            if with_drafts
            else _PREPARED_SENDER_WITH_PROJECTS
            if with_projects
            else _PREPARED_SENDER
        )
        rows = statement.rows(session, params)
    found = rows[0] if rows else None
    if found is None:
        return None, None
    width = len(_CONVERSATION_COLUMNS)
    values = found[:width]
    pid, code, name, position, office_id, roles, user, reach, active = found[width : width + 9]
    acting, approves, owns, menu_linked, menus_set_up, office_name, office_kind = found[
        width + 9 : width + 16
    ]
    period, deadline = found[width + 16 : width + 22], tuple(found[width + 22 : width + 22 + _DEADLINE_WIDTH])
    projects = None
    if with_projects:
        own = [row[-_STATE_WIDTH:] for row in rows if row[-_STATE_WIDTH] is not None]
        projects = tuple(project_states(own))
    report_projects = None
    if with_drafts:
        refs, drafts = projects_and_drafts_of_rows(row[-_DRAFT_WIDTH:] for row in rows)
        report_projects = (tuple(refs), frozenset(drafts))
    person = LinkedPerson(
        id=pid,
        code=code,
        full_name=name,
        position=position,
        office_id=office_id,
        roles=roles,
        line_user_id=user,
        reachability=str(reach),
        active=bool(active),
        on=on,
        acting=bool(acting),
        approves=bool(approves),
        owns=bool(owns),
        menu_linked=menu_linked,
        menus_set_up=bool(menus_set_up),
        office_name=office_name,
        office_kind=str(office_kind),
        period_read=True,
        period=OpenPeriod(*period) if period[0] is not None else None,
        deadline=deadline,
        projects=projects,
        report_projects=report_projects,
    )
    conversation = None
    if values[0] is not None:
        conversation = persistent_conversation(session, dict(zip(_CONVERSATION_COLUMNS, values, strict=True)))
    return person, conversation


def persistent_conversation(session: Session, values: dict[str, Any]) -> Conversation:
    """The conversation row just read (or written), as the session's ORM object (the flows save it
    through bot/conversations.py, revision-checked), without a second query. One already in the session (a
    session may serve several events) takes the values just read, as a fresh load would."""
    existing = session.identity_map.get((Conversation, (values["id"],), None))  # session.identity_key's
    if isinstance(existing, Conversation):
        for key, value in values.items():
            set_committed_value(existing, key, value)
        return existing
    # Made as the ORM's loading makes an object (the class's __new__, the values into its __dict__),
    # not through the model's validating __init__: they are the stored values.
    if not _CONFIGURED:
        sa.orm.configure_mappers()  # the instrumentation make_transient_to_detached reads
        _CONFIGURED.append(True)
    row = _CONVERSATION_MANAGER.new_instance()
    row.__dict__.update(values)
    make_transient_to_detached(row)  # as if loaded: its values are the stored ones
    session.add(row)
    return row


def set_reachability(session: Session, person_id: int, reachability: Reachability, now: datetime) -> None:
    """Whether the person can be messaged (they followed, or blocked the bot)."""
    session.execute(
        sa.update(Person)
        .where(col(Person.id) == person_id)
        .values(reachability=reachability, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )


def redeem_link_code(
    session: Session,
    *,
    text: str,
    line_user_id: str,
    now: datetime,
    chat_id: str | None = None,
    chat_type: ChatType | None = None,
    limits: LinkLimits = DEFAULT_LIMITS,
) -> LinkOutcome:
    """Try `text` as a link code from `line_user_id` (in a group chat when `chat_id` is given).

    Rows are locked in one order whatever the path (person, code, group binding, the office's hourly
    count, the overall hourly count, the account's throttle), so concurrent redeemers never deadlock.
    """
    throttle = session.get(LinkThrottle, line_user_id)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        return LinkOutcome(LinkResult.LOCKED, locked_minutes=_minutes_left(throttle.locked_until, now))
    window = window_start(now)
    if _at_limit(session, ThrottleScope.OVERALL, 0, window, limits.wrong_tries_per_hour):
        # Not even looked up: looking is what a guesser wants.
        return LinkOutcome(LinkResult.THROTTLED, locked_minutes=_minutes_left(window + RATE_WINDOW, now))

    code = normalize_code(text)
    row = session.exec(select(LinkCode).where(LinkCode.code_hash == _hash(code))).first() if code else None
    if row is not None and row.used_at is not None and row.used_by == line_user_id:
        # Their own code sent again (a habit, or a double tap): not a guess, so not a wrong try.
        person = session.get(Person, row.person_id) if row.person_id else None
        if person is not None and person.line_user_id == line_user_id:
            return LinkOutcome(LinkResult.ACCOUNT_ALREADY_LINKED, person=person)
    usable = row is not None and row.used_at is None and row.revoked_at is None and row.expires_at > now
    office_id = _office_of(session, row) if row is not None else None
    if (
        usable
        and office_id is not None
        and _at_limit(session, ThrottleScope.OFFICE, office_id, window, limits.tries_per_office_per_hour)
    ):
        return LinkOutcome(LinkResult.THROTTLED, locked_minutes=_minutes_left(window + RATE_WINDOW, now))

    if not usable or row is None:
        outcome = LinkOutcome(LinkResult.WRONG)
    elif row.purpose == LinkPurpose.PLANNING_GROUP and chat_id is None:
        outcome = LinkOutcome(LinkResult.GROUP_CODE_IN_PRIVATE_CHAT)
    elif row.purpose == LinkPurpose.PLANNING_GROUP:
        outcome = _bind_group(session, row, chat_id or "", chat_type or ChatType.GROUP, line_user_id, now)
    elif chat_id is not None:
        outcome = LinkOutcome(LinkResult.PERSON_CODE_IN_GROUP)
    else:
        outcome = _link_person(session, row, line_user_id, now)

    if office_id is not None:
        _count(session, ThrottleScope.OFFICE, office_id, window, now, limits.tries_per_office_per_hour)
    if outcome.result is LinkResult.WRONG:
        _count(session, ThrottleScope.OVERALL, 0, window, now, limits.wrong_tries_per_hour)
        return _count_failure(session, line_user_id, throttle, now, limits, office_id)
    _clear_failures(session, throttle)
    return outcome


def _office_of(session: Session, row: LinkCode) -> int | None:
    """The office whose code this is: the person's own office, or the planning group's."""
    if row.person_id is not None:
        person = session.get(Person, row.person_id)
        return person.office_id if person is not None else None
    return row.office_id


def _claim_code(session: Session, row: LinkCode, line_user_id: str, now: datetime) -> bool:
    """Take the code for `line_user_id` if it is still usable; of concurrent redeemers exactly one wins.

    A person's code first locks the person's row (PostgreSQL `FOR UPDATE`; SQLite has one writer at a
    time anyway), so two codes of one person redeemed at once are taken one after the other and the
    second finds itself revoked by the first.
    """
    if row.person_id is not None:
        session.exec(
            select(Person)
            .where(col(Person.id) == row.person_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
    result = session.execute(
        sa.update(LinkCode)
        .where(
            col(LinkCode.id) == row.id,
            col(LinkCode.used_at).is_(None),
            col(LinkCode.revoked_at).is_(None),
            col(LinkCode.expires_at) > now,
        )
        .values(used_at=now, used_by=line_user_id)
        .execution_options(synchronize_session=False)
    )
    session.expire(row, ["used_at", "used_by"])
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _link_person(session: Session, row: LinkCode, line_user_id: str, now: datetime) -> LinkOutcome:
    person = session.get(Person, row.person_id)
    if person is None:
        return LinkOutcome(LinkResult.WRONG)
    current = linked_person(session, line_user_id)
    if current is not None and current.id != person.id:
        return LinkOutcome(LinkResult.ACCOUNT_ALREADY_LINKED, person=current)
    if not _claim_code(session, row, line_user_id, now):
        return LinkOutcome(LinkResult.WRONG)  # someone else took it a moment ago: a used code
    previous = person.line_user_id
    person.line_user_id = line_user_id
    person.reachability = Reachability.FOLLOWING
    person.linked_at = now
    person.updated_at = now
    session.add(person)
    session.execute(
        sa.update(LinkCode)
        .where(
            col(LinkCode.person_id) == person.id, col(LinkCode.used_at).is_(None), col(LinkCode.id) != row.id
        )
        .values(revoked_at=now)
    )
    session.add(
        AuditLog(
            at=now,
            actor_person_id=person.id,
            actor="line",
            action="relinked" if previous and previous != line_user_id else "linked",
            entity_type="person",
            entity_id=str(person.id),
            details={"link_code_id": row.id},
        )
    )
    office = session.get(Office, person.office_id)
    return LinkOutcome(LinkResult.LINKED, person=person, office=office)


def _bind_group(
    session: Session, row: LinkCode, chat_id: str, chat_type: ChatType, line_user_id: str, now: datetime
) -> LinkOutcome:
    office = session.get(Office, row.office_id)
    if office is None:
        return LinkOutcome(LinkResult.WRONG)
    binding = session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()
    if binding is not None and binding.active and binding.office_id == office.id:
        return LinkOutcome(LinkResult.GROUP_ALREADY_BOUND, office=office)
    if not _claim_code(session, row, line_user_id, now):
        return LinkOutcome(LinkResult.WRONG)  # bound to another group a moment ago: a used code
    if binding is None:
        binding = ChatBinding(chat_id=chat_id, chat_type=chat_type, office_id=office.id or 0, bound_at=now)
    binding.office_id = office.id or 0
    binding.active = True
    binding.bound_at = now
    binding.left_at = None
    session.add(binding)
    session.add(
        AuditLog(
            at=now,
            actor="line",
            action="group_bound",
            entity_type="office",
            entity_id=str(office.id),
            details={"chat_type": chat_type.value, "link_code_id": row.id},
        )
    )
    return LinkOutcome(LinkResult.GROUP_BOUND, office=office)


def _count_failure(
    session: Session,
    line_user_id: str,
    throttle: LinkThrottle | None,
    now: datetime,
    limits: LinkLimits,
    office_id: int | None,
) -> LinkOutcome:
    if throttle is None:
        throttle = LinkThrottle(line_user_id=line_user_id)
    if throttle.first_failure_at is None or now - throttle.first_failure_at > limits.account_lockout:
        throttle.failures = 0
        throttle.first_failure_at = now
    throttle.failures += 1
    allowed = limits.wrong_tries_per_account
    if allowed and throttle.failures >= allowed:
        throttle.locked_until = now + limits.account_lockout
        _trip(
            session,
            ThrottleScope.ACCOUNT,
            now=now,
            until=throttle.locked_until,
            tries=throttle.failures,
            max_tries=allowed,
            office_id=office_id,
            window=throttle.first_failure_at,
            account=line_user_id,
        )
        throttle.failures = 0
        throttle.first_failure_at = None
        session.add(throttle)
        return LinkOutcome(LinkResult.LOCKED, locked_minutes=_minutes_left(throttle.locked_until, now))
    session.add(throttle)
    return LinkOutcome(LinkResult.WRONG, tries_left=max(0, allowed - throttle.failures) if allowed else 0)


def _clear_failures(session: Session, throttle: LinkThrottle | None) -> None:
    if throttle is not None and (throttle.failures or throttle.locked_until):
        throttle.failures = 0
        throttle.first_failure_at = None
        throttle.locked_until = None
        session.add(throttle)


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 59) // 60)


# --- hourly limits and their audit ------------------------------------------------------------------

_WINDOWS = LinkRateWindow.__table__  # type: ignore[attr-defined]


def window_start(now: datetime) -> datetime:
    """The start of the one-hour window `now` falls in (whole UTC hours)."""
    return now.replace(minute=0, second=0, microsecond=0)


def _tries(session: Session, scope: ThrottleScope, office_id: int, window: datetime) -> int:
    found = session.execute(
        sa.select(_WINDOWS.c.tries).where(
            _WINDOWS.c.scope == scope.value,
            _WINDOWS.c.office_id == office_id,
            _WINDOWS.c.window_start == window,
        )
    ).scalar()
    return int(found or 0)


def _at_limit(
    session: Session, scope: ThrottleScope, office_id: int, window: datetime, max_tries: int
) -> bool:
    return bool(max_tries) and _tries(session, scope, office_id, window) >= max_tries


def _count(
    session: Session, scope: ThrottleScope, office_id: int, window: datetime, now: datetime, max_tries: int
) -> int:
    """Add one try to the window's count in one atomic statement; record a trip when it meets the limit.

    Concurrent tries may carry the count a little past the limit (each checked it before counting),
    but exactly one of them meets it, so each window trips once.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = (
        insert(_WINDOWS)
        .values(scope=scope.value, office_id=office_id, window_start=window, tries=1)
        .on_conflict_do_update(
            index_elements=[_WINDOWS.c.scope, _WINDOWS.c.office_id, _WINDOWS.c.window_start],
            set_={"tries": _WINDOWS.c.tries + 1},
        )
        .returning(_WINDOWS.c.tries)
    )
    tries = int(session.execute(upsert).scalar_one())
    if max_tries and tries == max_tries:
        _trip(
            session,
            scope,
            now=now,
            until=window + RATE_WINDOW,
            tries=tries,
            max_tries=max_tries,
            office_id=office_id or None,
            window=window,
        )
    if scope is ThrottleScope.OVERALL and tries == 1:
        # The first wrong try of an hour: a good moment to drop counts nobody looks at any more.
        session.execute(sa.delete(_WINDOWS).where(_WINDOWS.c.window_start < window - WINDOW_RETENTION))
    return tries


def _trip(
    session: Session,
    scope: ThrottleScope,
    *,
    now: datetime,
    until: datetime,
    tries: int,
    max_tries: int,
    office_id: int | None,
    window: datetime | None,
    account: str | None = None,
) -> None:
    session.add(
        LinkThrottleTrip(
            at=now,
            scope=scope.value,
            office_id=office_id,
            window_start=window,
            until=until,
            tries=tries,
            max_tries=max_tries,
            account_hash=account_hash(account) if account else None,
        )
    )
    log.warning(
        "link-code limit reached: scope %s, office %s, %d tries (limit %d), answered again at %s",
        scope.value,
        office_id if office_id is not None else "-",
        tries,
        max_tries,
        until.isoformat(),
    )


# --- what a dashboard reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class RateState:
    """One scope's count in the current window against its limit (0: no limit)."""

    scope: ThrottleScope
    office_id: int | None
    tries: int
    max_tries: int
    window_start: datetime

    @property
    def window_end(self) -> datetime:
        return self.window_start + RATE_WINDOW

    @property
    def throttled(self) -> bool:
        return bool(self.max_tries) and self.tries >= self.max_tries


@dataclass(frozen=True)
class LinkThrottleOverview:
    at: datetime
    overall: RateState
    offices: tuple[RateState, ...]  # offices with tries in this window, busiest first
    locked_accounts: int  # LINE accounts locked out right now
    trips: tuple[LinkThrottleTrip, ...] = field(default=())  # the latest first


def link_throttle_overview(
    session: Session,
    *,
    now: datetime,
    limits: LinkLimits = DEFAULT_LIMITS,
    office_ids: Collection[int] | None = None,
    trips_since: datetime | None = None,
    max_rows: int = 50,
) -> LinkThrottleOverview:
    """The state of every link-code limit at `now`, for the dashboard: this hour's overall count, the
    busiest offices' counts (only `office_ids` when given), how many accounts are locked out, and the
    latest trips (since `trips_since`, default the last 7 days)."""
    window = window_start(now)
    statement = (
        sa.select(_WINDOWS.c.office_id, _WINDOWS.c.tries)
        .where(_WINDOWS.c.scope == ThrottleScope.OFFICE.value, _WINDOWS.c.window_start == window)
        .order_by(_WINDOWS.c.tries.desc(), _WINDOWS.c.office_id)
        .limit(max_rows)
    )
    if office_ids is not None:
        statement = statement.where(_WINDOWS.c.office_id.in_(list(office_ids)))
    offices = tuple(
        RateState(ThrottleScope.OFFICE, int(office_id), int(tries), limits.tries_per_office_per_hour, window)
        for office_id, tries in session.execute(statement)
    )
    locked = session.execute(
        sa.select(sa.func.count()).select_from(LinkThrottle).where(col(LinkThrottle.locked_until) > now)
    ).scalar_one()
    overall = RateState(
        ThrottleScope.OVERALL,
        None,
        _tries(session, ThrottleScope.OVERALL, 0, window),
        limits.wrong_tries_per_hour,
        window,
    )
    trips = throttle_trips(
        session, since=trips_since or now - WINDOW_RETENTION, office_ids=office_ids, limit=max_rows
    )
    return LinkThrottleOverview(now, overall, offices, int(locked), tuple(trips))


def throttle_trips(
    session: Session,
    *,
    since: datetime | None = None,
    office_ids: Collection[int] | None = None,
    limit: int = 100,
) -> list[LinkThrottleTrip]:
    """Recorded trips, the latest first; with `office_ids`, only those naming one of these offices."""
    statement = select(LinkThrottleTrip)
    if since is not None:
        statement = statement.where(col(LinkThrottleTrip.at) >= since)
    if office_ids is not None:
        statement = statement.where(col(LinkThrottleTrip.office_id).in_(list(office_ids)))
    statement = statement.order_by(col(LinkThrottleTrip.at).desc(), col(LinkThrottleTrip.id).desc()).limit(
        limit
    )
    return list(session.exec(statement))
