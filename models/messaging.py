"""What crosses the LINE edge and must survive a restart: webhook events, the outbox, messages we
sent (for quote-replies), link codes, group bindings and conversation state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import (
    BigIntPK,
    ChatType,
    EventStatus,
    LinkPurpose,
    OutboxKind,
    OutboxStatus,
    UTCDateTime,
)


class WebhookEvent(SQLModel, table=True):
    """A webhook event, stored under its unique `webhookEventId` in the transaction that acknowledges
    it, then processed after the response, in order per `source_key` (a user, group or room id)."""

    __tablename__ = "webhook_event"
    # Partial (migration 0011): both hold pending events only, the few a store has at any time rather
    # than every event ever received; a claim's UPDATE to done takes its row out of both. Their queries
    # (models/events.py) spell their predicates as literals: a bound parameter would not imply them.
    # The pending reads' index also requires `id > 0` (every id is), which only those reads say: so
    # the claim's test for an earlier pending event of a source can use the source's index only. With
    # statistics taken while nothing was pending (the usual case) PostgreSQL would otherwise take the
    # smaller id index for it, and under a backlog walk every earlier pending event of every source.
    __table_args__ = (
        sa.Index(  # the intake's pending reads, in arrival order
            "ix_webhook_event_pending",
            "id",
            sqlite_where=sa.text("status = 'pending' AND id > 0"),
            postgresql_where=sa.text("status = 'pending' AND id > 0"),
        ),
        sa.Index(  # the claim's test for an earlier pending event of the same source
            "ix_webhook_event_pending_source",
            "source_key",
            "id",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    webhook_event_id: str = Field(max_length=64, unique=True)
    source_key: str = Field(max_length=64)
    event_type: str = Field(max_length=32)
    is_redelivery: bool = Field(default=False)
    payload: str = Field(sa_type=sa.Text)  # the event's raw JSON
    status: EventStatus = Field(default=EventStatus.PENDING, sa_type=sa.String(16))
    attempts: int = Field(default=0)
    error: str | None = Field(default=None, sa_type=sa.Text)
    received_at: datetime = Field(sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # After a failed attempt the event waits until then (backoff); it is given up after a few.
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A reply, push or multicast waiting to be sent exactly once.

    Replies are queued in the transaction that marks their webhook event processed, so a crash never
    loses or repeats one; a reply whose token has expired goes out as a push instead.

    `dedupe_key` (recipient, rule, subject, date) stops the planner from queueing the same thing twice;
    `retry_key` is the UUID sent as `X-Line-Retry-Key` on every attempt of this row.

    A `held` row (an approval request, a decision notice) is never sent by itself: it waits for the
    person's next free reply (``bot/riders.py``) or the next daily tick, which folds it into that
    day's one message; past `not_before` (the tick did not run) the dispatcher releases it as is.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        sa.Index("ix_outbox_message_status_next", "status", "next_attempt_at"),
        # Partial (migration 0010): each holds only the rows its queries look for (by riding key, by
        # event id), so the rows of a big tick, which have neither, stay out of them.
        sa.Index(
            "ix_outbox_message_ride_key",
            "ride_key",
            "status",
            sqlite_where=sa.text("ride_key IS NOT NULL"),
            postgresql_where=sa.text("ride_key IS NOT NULL"),
        ),
        sa.Index(
            "ix_outbox_message_event_id",
            "event_id",
            sqlite_where=sa.text("event_id IS NOT NULL"),
            postgresql_where=sa.text("event_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    retry_key: str = Field(max_length=36, unique=True)
    dedupe_key: str = Field(max_length=255, unique=True)
    kind: OutboxKind = Field(sa_type=sa.String(16))
    recipients: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # LINE user or group ids
    person_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    reply_token: str | None = Field(default=None, max_length=255)
    reply_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    event_id: int | None = Field(default=None, sa_type=sa.BigInteger)  # webhook_event.id (indexed above)
    rule: str = Field(max_length=64)
    subject: str = Field(default="", max_length=128)
    messages: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    purpose: str = Field(default="", max_length=32)  # e.g. approval_card, reminder, digest
    ref_type: str | None = Field(default=None, max_length=32)
    ref_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=sa.String(16))
    attempts: int = Field(default=0)
    not_before: datetime = Field(sa_type=UTCDateTime)  # quiet hours push this forward
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    line_request_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Due items that may ride on the person's next free reply instead of being pushed: `ride_key` is
    # their LINE user id, `rider` the short text the reply carries; a row that rode (or was folded
    # into the day's message) is `merged`, with the row that carried it and when.
    ride_key: str | None = Field(default=None, max_length=64)
    rider: str | None = Field(default=None, sa_type=sa.Text)
    merged_into: int | None = Field(default=None, sa_type=sa.BigInteger)
    rode_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SentMessage(SQLModel, table=True):
    """A message LINE accepted from us, by LINE's message id, so a quote-reply can be matched to it."""

    __tablename__ = "sent_message"

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    line_message_id: str = Field(max_length=64, unique=True)
    quote_token: str | None = Field(default=None, max_length=255)
    recipient: str = Field(max_length=64, index=True)
    purpose: str = Field(default="", max_length=32)
    ref_type: str | None = Field(default=None, max_length=32)
    ref_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    outbox_id: int | None = Field(default=None, sa_type=sa.BigInteger, foreign_key="outbox_message.id")
    sent_at: datetime = Field(sa_type=UTCDateTime)


class LinkCode(SQLModel, table=True):
    """A one-time code that links a LINE user to a person, or a LINE group to the planning group.

    Only a hash of the code is stored; the code itself is shown once, to whoever made it.
    """

    __tablename__ = "link_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    purpose: LinkPurpose = Field(sa_type=sa.String(16))
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    office_id: int | None = Field(default=None, foreign_key="office.id")
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LinkThrottle(SQLModel, table=True):
    """Wrong link-code tries per LINE user; five within the window lock linking for a while."""

    __tablename__ = "link_throttle"

    line_user_id: str = Field(max_length=64, primary_key=True)
    failures: int = Field(default=0)
    first_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LinkRateWindow(SQLModel, table=True):
    """Link-code tries counted in fixed one-hour windows: per office (tries on that office's codes,
    right or wrong) and overall (`office_id` 0: wrong tries from every LINE account together)."""

    __tablename__ = "link_rate_window"

    scope: str = Field(max_length=16, primary_key=True)  # "office" or "overall"
    office_id: int = Field(default=0, primary_key=True)  # 0 for the overall scope
    window_start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    tries: int = Field(default=0)


class LinkThrottleTrip(SQLModel, table=True):
    """One time a link-code limit was reached: an account locked out, an office's or the overall
    hourly limit met. Append-only; the LINE user is kept only as a hash."""

    __tablename__ = "link_throttle_trip"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    scope: str = Field(max_length=16)  # "account", "office" or "overall"
    office_id: int | None = Field(default=None, foreign_key="office.id", index=True)
    window_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    until: datetime = Field(sa_type=UTCDateTime)  # when tries are answered again
    tries: int
    max_tries: int
    account_hash: str | None = Field(default=None, max_length=64)  # SHA-256 of the LINE user id


class ChatBinding(SQLModel, table=True):
    """A LINE group or room bound to an office's planning group, so escalations reach the group chat."""

    __tablename__ = "chat_binding"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(max_length=64, unique=True)
    chat_type: ChatType = Field(sa_type=sa.String(16))
    office_id: int = Field(foreign_key="office.id", index=True)
    purpose: str = Field(default="planning", max_length=32)
    active: bool = Field(default=True)
    bound_at: datetime = Field(sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Conversation(SQLModel, table=True):
    """A chat form in progress for one LINE user: which form, which step, the answers so far.

    `revision` is bumped on every write; a writer that read an older revision loses (optimistic lock).
    """

    id: int | None = Field(default=None, primary_key=True)
    chat_key: str = Field(max_length=64, unique=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    form: str = Field(max_length=64)
    step: str = Field(default="", max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    revision: int = Field(default=0)
    started_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
