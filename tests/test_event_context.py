"""The event context reads the user's conversation row once per event, and again only when the event
itself deleted it; a row the event starts is remembered without a query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.context import EventContext
from bot.processor import parse_event
from models.messaging import Conversation, WebhookEvent

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
USER = "U" + "c" * 32


def _context(session: Session) -> EventContext:
    raw = {
        "type": "message",
        "webhookEventId": "ev-context",
        "source": {"type": "user", "userId": USER},
        "deliveryContext": {"isRedelivery": False},
        "timestamp": 1764039600000,
        "mode": "active",
        "replyToken": "r" * 32,
        "message": {"type": "text", "id": "1", "text": "50", "quoteToken": "q" * 16},
    }
    row = WebhookEvent(
        webhook_event_id="ev-context", source_key=USER, event_type="message", payload="{}", received_at=NOW
    )
    return EventContext(
        session=session,
        row=row,
        raw=raw,
        event=parse_event(raw),
        now=NOW,
        tz=ZoneInfo("Asia/Bangkok"),
        line=None,
    )


def _conversation() -> Conversation:
    return Conversation(
        chat_key=USER, form="report", step="progress", data={}, started_at=NOW, updated_at=NOW
    )


def test_the_conversation_is_read_once_per_event_and_again_after_the_event_deleted_it(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(_conversation())
        session.commit()
    reads: list[str] = []

    def count(conn, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "FROM CONVERSATION" in statement.upper():
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with Session(engine) as session:
            ctx = _context(session)
            first = ctx.conversation()
            assert first is not None and first.form == "report"
            assert ctx.conversation() is first and ctx.conversation() is first
            assert len(reads) == 1  # three asks, one query
            session.delete(first)
            assert ctx.conversation() is None  # deleted by this event: read again, and gone
            assert len(reads) == 2
            assert ctx.conversation() is None
            created = ctx.start_conversation("report", "progress", {})
            assert ctx.conversation() is created and created.revision == 1
            assert len(reads) == 2  # "none" is remembered too, and the new row needed no query
            session.commit()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    with Session(engine) as session:
        assert _context(session).conversation() is not None  # a new event reads what was committed


def _context_at(timestamp: object) -> EventContext:
    raw = {
        "type": "postback",
        "webhookEventId": "ev-time",
        "source": {"type": "user", "userId": USER},
        "deliveryContext": {"isRedelivery": False},
        "timestamp": timestamp,
        "mode": "active",
        "replyToken": "r" * 32,
        "postback": {"data": "v1|cmd|name=help"},
    }
    row = WebhookEvent(
        webhook_event_id="ev-time", source_key=USER, event_type="postback", payload="{}", received_at=NOW
    )
    return EventContext(
        session=None,  # type: ignore[arg-type]  # event_time needs no database
        row=row,
        raw=raw,
        event=parse_event(raw),
        now=NOW + timedelta(seconds=30),
        tz=ZoneInfo("Asia/Bangkok"),
        line=None,
    )


def test_event_time_is_lines_timestamp_when_it_can_be_right() -> None:
    sent = NOW - timedelta(hours=3)  # a backlog after a restart: the reply token is long gone
    assert _context_at(int(sent.timestamp() * 1000)).event_time == sent
    assert _context_at(int((NOW + timedelta(seconds=50)).timestamp() * 1000)).event_time > NOW  # LINE's clock


@pytest.mark.parametrize(
    "timestamp",
    [10**20, 2**63 - 1, 253_402_300_800_000, -1, 0, 1_000_000_000_000, "1764039600000", 1.5e12, None, True],
)
def test_an_impossible_timestamp_counts_as_the_time_the_event_was_stored(timestamp: object) -> None:
    assert _context_at(timestamp).event_time == NOW
