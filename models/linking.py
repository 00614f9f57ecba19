"""Account linking by one-time code: a LINE user to a person, or a LINE group to a planning group.

Codes are 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as `ABCD-2345`.
Only their SHA-256 is stored. They are single-use and expire after 14 days; linking a person revokes
their other outstanding codes, so moving a linked person to another LINE account needs a new code from
an admin. Five wrong tries from one LINE user within the window lock that user out for 15 minutes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.messaging import ChatBinding, LinkCode, LinkThrottle
from models.ops import AuditLog
from models.org import Office, Person
from models.types import ChatType, LinkPurpose, Reachability

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = timedelta(days=14)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
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
    WRONG = "wrong"
    LOCKED = "locked"
    PERSON_ALREADY_LINKED = "person_already_linked"
    ACCOUNT_ALREADY_LINKED = "account_already_linked"
    GROUP_CODE_IN_PRIVATE_CHAT = "group_code_in_private_chat"
    PERSON_CODE_IN_GROUP = "person_code_in_group"


@dataclass(frozen=True)
class LinkOutcome:
    result: LinkResult
    person: Person | None = None
    office: Office | None = None
    tries_left: int = 0
    locked_minutes: int = 0


# Built once: every event from a one-on-one chat looks its sender up first.
_PERSON_BY_LINE_USER = select(Person).where(Person.line_user_id == sa.bindparam("line_user_id"))


def linked_person(session: Session, line_user_id: str) -> Person | None:
    return session.exec(_PERSON_BY_LINE_USER, params={"line_user_id": line_user_id}).first()


def redeem_link_code(
    session: Session,
    *,
    text: str,
    line_user_id: str,
    now: datetime,
    chat_id: str | None = None,
    chat_type: ChatType | None = None,
) -> LinkOutcome:
    """Try `text` as a link code from `line_user_id` (in a group chat when `chat_id` is given)."""
    throttle = session.get(LinkThrottle, line_user_id)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        return LinkOutcome(LinkResult.LOCKED, locked_minutes=_minutes_left(throttle.locked_until, now))

    code = normalize_code(text)
    row = session.exec(select(LinkCode).where(LinkCode.code_hash == _hash(code))).first() if code else None
    usable = row is not None and row.used_at is None and row.revoked_at is None and row.expires_at > now
    if row is not None and row.revoked_at is not None and row.person_id is not None:
        person = session.get(Person, row.person_id)
        if person is not None and person.line_user_id:
            return LinkOutcome(LinkResult.PERSON_ALREADY_LINKED, person=person)
    if row is not None and row.used_at is not None and row.used_by == line_user_id:
        # Their own code sent again (a habit, or a double tap): not a guess, so not a wrong try.
        person = session.get(Person, row.person_id) if row.person_id else None
        if person is not None and person.line_user_id == line_user_id:
            return LinkOutcome(LinkResult.ACCOUNT_ALREADY_LINKED, person=person)
    if not usable or row is None:
        return _count_failure(session, line_user_id, throttle, now)
    _clear_failures(session, throttle)

    if row.purpose == LinkPurpose.PLANNING_GROUP:
        if chat_id is None:
            return LinkOutcome(LinkResult.GROUP_CODE_IN_PRIVATE_CHAT)
        return _bind_group(session, row, chat_id, chat_type or ChatType.GROUP, line_user_id, now)
    if chat_id is not None:
        return LinkOutcome(LinkResult.PERSON_CODE_IN_GROUP)
    return _link_person(session, row, line_user_id, now)


def _link_person(session: Session, row: LinkCode, line_user_id: str, now: datetime) -> LinkOutcome:
    person = session.get(Person, row.person_id)
    if person is None:
        return LinkOutcome(LinkResult.WRONG, tries_left=MAX_FAILURES)
    current = linked_person(session, line_user_id)
    if current is not None and current.id != person.id:
        return LinkOutcome(LinkResult.ACCOUNT_ALREADY_LINKED, person=current)
    previous = person.line_user_id
    person.line_user_id = line_user_id
    person.reachability = Reachability.FOLLOWING
    person.linked_at = now
    person.updated_at = now
    session.add(person)
    row.used_at = now
    row.used_by = line_user_id
    session.add(row)
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
        return LinkOutcome(LinkResult.WRONG, tries_left=MAX_FAILURES)
    binding = session.exec(select(ChatBinding).where(ChatBinding.chat_id == chat_id)).first()
    if binding is not None and binding.active and binding.office_id == office.id:
        return LinkOutcome(LinkResult.GROUP_ALREADY_BOUND, office=office)
    if binding is None:
        binding = ChatBinding(chat_id=chat_id, chat_type=chat_type, office_id=office.id or 0, bound_at=now)
    binding.office_id = office.id or 0
    binding.active = True
    binding.bound_at = now
    binding.left_at = None
    session.add(binding)
    row.used_at = now
    row.used_by = line_user_id
    session.add(row)
    session.add(
        AuditLog(
            at=now,
            actor="line",
            action="group_bound",
            entity_type="office",
            entity_id=str(office.id),
            details={"chat_type": chat_type.value},
        )
    )
    return LinkOutcome(LinkResult.GROUP_BOUND, office=office)


def _count_failure(
    session: Session, line_user_id: str, throttle: LinkThrottle | None, now: datetime
) -> LinkOutcome:
    if throttle is None:
        throttle = LinkThrottle(line_user_id=line_user_id)
    if throttle.first_failure_at is None or now - throttle.first_failure_at > LOCKOUT:
        throttle.failures = 0
        throttle.first_failure_at = now
    throttle.failures += 1
    if throttle.failures >= MAX_FAILURES:
        throttle.locked_until = now + LOCKOUT
        throttle.failures = 0
        throttle.first_failure_at = None
        session.add(throttle)
        return LinkOutcome(LinkResult.LOCKED, locked_minutes=_minutes_left(throttle.locked_until, now))
    session.add(throttle)
    return LinkOutcome(LinkResult.WRONG, tries_left=MAX_FAILURES - throttle.failures)


def _clear_failures(session: Session, throttle: LinkThrottle | None) -> None:
    if throttle is not None and (throttle.failures or throttle.locked_until):
        throttle.failures = 0
        throttle.first_failure_at = None
        throttle.locked_until = None
        session.add(throttle)


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 59) // 60)
