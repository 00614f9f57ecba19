"""The outbox: every message we send is written here first, then delivered by a dispatcher.

Functions are named for what they mean to the product (`queue_reply`, `claim_due_messages`); the
sending itself is in `bot/delivery.py`, the only place that calls LINE.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.messaging import OutboxMessage, SentMessage
from models.types import OutboxKind, OutboxStatus

# A reply token lives about a minute; we stop trusting it a little earlier.
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)


# Queueing a reply and recording a delivery's outcome run once per answered event; they need nothing
# from the unit of work (no object is read back), so they use plain Core statements on the tables,
# built once. An UPDATE's SET clause comes from the keys of the parameters it is given.
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_INSERT_OUTBOX_ROW = sa.insert(_OUTBOX)
_UPDATE_OUTBOX_ROW = sa.update(_OUTBOX).where(_OUTBOX.c.id == sa.bindparam("row_id"))
_INSERT_SENT_MESSAGES = sa.insert(SentMessage.__table__)  # type: ignore[attr-defined]


def new_retry_key() -> str:
    return str(uuid.uuid4())


def queue_reply(
    session: Session,
    *,
    event_id: int,
    webhook_event_id: str,
    reply_token: str | None,
    event_time: datetime,
    to: str,
    messages: Sequence[dict[str, Any]],
    now: datetime,
    purpose: str = "reply",
    ref_type: str | None = None,
    ref_id: int | None = None,
    person_ids: Sequence[int] = (),
    claim_for: str | None = None,
    lease: timedelta = timedelta(minutes=2),
) -> OutboxMessage:
    """Queue the answer to an event: a reply while the token is fresh, else a push to `to`.

    With `claim_for`, the row is born claimed by that dispatcher (it will send it right after the
    commit); if the dispatcher dies first, the claim lapses and any dispatcher picks the row up.

    The row is written at once with a plain INSERT, not through the unit of work: this runs for nearly
    every event, and together with the processor's UPDATE of the event it leaves the commit nothing
    to flush. Whatever the session holds is flushed first, so ids keep the order rows were queued in.
    The returned object carries the row's values and id but is not tracked by the session: change the
    row through this module's functions, not through its attributes.
    """
    values: dict[str, Any] = {
        "retry_key": new_retry_key(),
        "dedupe_key": f"event:{webhook_event_id}:{purpose}:{ref_type or ''}:{ref_id or ''}",
        "kind": OutboxKind.REPLY if reply_token else OutboxKind.PUSH,
        "recipients": [to],
        "person_ids": list(person_ids),
        "reply_token": reply_token,
        "reply_deadline": (event_time + REPLY_TOKEN_LIFETIME) if reply_token else None,
        "event_id": event_id,
        "rule": "reply",
        "subject": webhook_event_id,
        "messages": list(messages),
        "purpose": purpose,
        "ref_type": ref_type,
        "ref_id": ref_id,
        "status": OutboxStatus.SENDING if claim_for else OutboxStatus.PENDING,
        "claimed_by": claim_for,
        "claimed_until": (now + lease) if claim_for else None,
        "attempts": 1 if claim_for else 0,
        "not_before": now,
        "next_attempt_at": now,
        "created_at": now,
    }
    session.flush()
    result = session.execute(_INSERT_OUTBOX_ROW, values)
    return OutboxMessage(id=result.inserted_primary_key[0], **values)  # type: ignore[attr-defined]


def queue_push(
    session: Session,
    *,
    to: Sequence[str],
    messages: Sequence[dict[str, Any]],
    dedupe_key: str,
    rule: str,
    subject: str,
    now: datetime,
    not_before: datetime | None = None,
    purpose: str = "",
    ref_type: str | None = None,
    ref_id: int | None = None,
    person_ids: Sequence[int] = (),
) -> OutboxMessage | None:
    """Queue a push (one recipient) or multicast (several); None when `dedupe_key` was queued before."""
    existing = session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return None
    row = OutboxMessage(
        retry_key=new_retry_key(),
        dedupe_key=dedupe_key,
        kind=OutboxKind.PUSH if len(to) == 1 else OutboxKind.MULTICAST,
        recipients=list(to),
        person_ids=list(person_ids),
        rule=rule,
        subject=subject,
        messages=list(messages),
        purpose=purpose,
        ref_type=ref_type,
        ref_id=ref_id,
        status=OutboxStatus.PENDING,
        not_before=not_before or now,
        next_attempt_at=not_before or now,
        created_at=now,
    )
    session.add(row)
    return row


def claim_due_messages(
    session: Session,
    *,
    now: datetime,
    holder: str,
    lease: timedelta,
    limit: int = 100,
    event_id: int | None = None,
) -> list[OutboxMessage]:
    """Claim pending rows that are due (and rows whose claim lapsed, e.g. after a crash).

    Each claim is a compare-and-set UPDATE that only succeeds while the row is still claimable, so two
    dispatchers (threads or replicas, SQLite or PostgreSQL) never both own a row. On PostgreSQL the
    candidates are also read with FOR UPDATE SKIP LOCKED so replicas do not queue behind each other.
    """
    claimable = sa.and_(
        col(OutboxMessage.not_before) <= now,
        sa.or_(
            sa.and_(
                col(OutboxMessage.status) == OutboxStatus.PENDING, col(OutboxMessage.next_attempt_at) <= now
            ),
            sa.and_(
                col(OutboxMessage.status) == OutboxStatus.SENDING, col(OutboxMessage.claimed_until) < now
            ),
        ),
    )
    statement = select(OutboxMessage.id).where(claimable)
    if event_id is not None:
        statement = statement.where(col(OutboxMessage.event_id) == event_id)
    statement = statement.order_by(col(OutboxMessage.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    candidates = list(session.exec(statement))
    claimed: list[int] = []
    for row_id in candidates:
        result = session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == row_id, claimable)
            .values(
                status=OutboxStatus.SENDING,
                claimed_by=holder,
                claimed_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(int(row_id))  # type: ignore[arg-type]
    session.flush()
    if not claimed:
        return []
    rows = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.id).in_(claimed)).order_by(col(OutboxMessage.id))
    )
    return list(rows)


def record_sent(
    session: Session,
    row: OutboxMessage,
    *,
    now: datetime,
    request_id: str | None,
    sent_ids: Sequence[tuple[str, str | None]],
    recipient: str,
) -> None:
    """Mark `row` sent and keep LINE's id (and quote token) of each message it carried."""
    session.execute(
        _UPDATE_OUTBOX_ROW,
        {
            "row_id": row.id,
            "status": OutboxStatus.SENT,
            "sent_at": now,
            "line_request_id": request_id,
            "claimed_until": None,
            "last_error": None,
            "kind": row.kind,
            "reply_token": row.reply_token,
        },
    )
    if sent_ids:
        session.execute(
            _INSERT_SENT_MESSAGES,
            [
                {
                    "line_message_id": message_id,
                    "quote_token": quote_token,
                    "recipient": recipient,
                    "purpose": row.purpose,
                    "ref_type": row.ref_type,
                    "ref_id": row.ref_id,
                    "outbox_id": row.id,
                    "sent_at": now,
                }
                for message_id, quote_token in sent_ids
            ],
        )


def record_failure(
    session: Session, row: OutboxMessage, *, status: OutboxStatus, error: str, retry_at: datetime | None
) -> None:
    values: dict[str, Any] = {
        "row_id": row.id,
        "status": status,
        "last_error": error[:2000],
        "claimed_until": None,
        "kind": row.kind,
        "reply_token": row.reply_token,
    }
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    session.execute(_UPDATE_OUTBOX_ROW, values)
