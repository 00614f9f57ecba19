"""The one conversation store (`bot/conversations.py`): new rows, revision-checked saves, the end of a
conversation, and the keys another flow annotates a row with (the approval's pending return reason),
which belong to the row: the owner's save keeps them as the row has them, whatever its state carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import conversations
from bot.context import EventContext
from bot.processor import parse_event
from models.messaging import Conversation, WebhookEvent

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
USER = "U" + "d" * 32


def _context(session: Session, minutes: int = 0) -> EventContext:
    raw = {
        "type": "message",
        "webhookEventId": f"ev-store-{minutes}",
        "source": {"type": "user", "userId": USER},
        "deliveryContext": {"isRedelivery": False},
        "timestamp": 1764039600000,
        "mode": "active",
        "replyToken": "r" * 32,
        "message": {"type": "text", "id": "1", "text": "50", "quoteToken": "q" * 16},
    }
    row = WebhookEvent(
        webhook_event_id=raw["webhookEventId"],
        source_key=USER,
        event_type="message",
        payload="{}",
        received_at=NOW,
    )
    return EventContext(
        session=session,
        row=row,
        raw=raw,
        event=parse_event(raw),
        now=NOW + timedelta(minutes=minutes),
        tz=ZoneInfo("Asia/Bangkok"),
        line=None,
    )


def _row(engine: Engine) -> Conversation | None:
    with Session(engine) as s:
        return s.exec(select(Conversation).where(Conversation.chat_key == USER)).first()


def test_a_flow_starts_saves_and_ends_its_conversation_with_revisions(engine: Engine) -> None:
    with Session(engine) as s:
        ctx = _context(s)
        conversations.save(ctx, None, "report", {"form": "report", "cursor": {"field": "progress"}})
        # Saved again within the same event (the row is not written yet): one row, the newer state.
        conversations.save(
            ctx, ctx.conversation(), "report", {"form": "report", "cursor": {"field": "budget"}}
        )
        s.commit()
    row = _row(engine)
    assert row is not None and (row.form, row.step, row.revision) == ("report", "budget", 2)
    with Session(engine) as s:
        ctx = _context(s, 1)
        assert conversations.load(ctx, "evaluation") is None  # another flow's row is not yours
        found = conversations.load(ctx, "report")
        assert found is not None
        conversations.save(ctx, found, "report", {"form": "report", "mode": "summary"})
        s.commit()
    row = _row(engine)
    assert row is not None and (row.step, row.revision, row.data["mode"]) == ("summary", 3, "summary")
    with Session(engine) as s:
        ctx = _context(s, 2)
        conversations.save(ctx, ctx.conversation(), "report", None)
        s.commit()
    assert _row(engine) is None


def test_a_writer_that_read_an_older_revision_loses(engine: Engine) -> None:
    with Session(engine) as s:
        conversations.save(_context(s), None, "report", {"form": "report", "mode": "ask"})
        s.commit()
    with Session(engine) as first, Session(engine) as second:
        a, b = _context(first, 1), _context(second, 1)
        mine, theirs = a.conversation(), b.conversation()
        assert mine is not None and theirs is not None
        conversations.save(a, mine, "report", {"form": "report", "mode": "summary"})
        first.commit()
        with pytest.raises(conversations.ConcurrentChange):
            conversations.annotate(b, theirs, "pending_return", {"report": 1})
        second.rollback()
    row = _row(engine)
    assert row is not None and row.data == {"form": "report", "mode": "summary"} and row.revision == 2


def test_the_pending_return_belongs_to_the_row_not_to_the_owner_state(engine: Engine) -> None:
    waiting = {"form": "return_reason", "report": 7, "version": 1, "asked_at": NOW.isoformat()}
    with Session(engine) as s:
        conversations.save(_context(s), None, "report", {"form": "report", "mode": "ask"})
        s.commit()
    with Session(engine) as s:
        ctx = _context(s, 1)
        row = ctx.conversation()
        assert row is not None
        stale_state = dict(row.data)  # the report flow read its state before the annotation
        conversations.annotate(ctx, row, "pending_return", waiting)
        conversations.save(
            ctx, row, "report", {**stale_state, "mode": "summary"}
        )  # the owner's save keeps it
        s.commit()
    row = _row(engine)
    assert row is not None and row.data["pending_return"] == waiting and row.data["mode"] == "summary"
    with Session(engine) as s:
        ctx = _context(s, 2)
        row = ctx.conversation()
        assert row is not None
        state_with_it = dict(row.data)  # the owner's state may carry the key it read...
        conversations.annotate(ctx, row, "pending_return", None)
        conversations.save(
            ctx, row, "report", {**state_with_it, "mode": "ask"}
        )  # ...but cannot bring it back
        s.commit()
    row = _row(engine)
    assert row is not None and "pending_return" not in row.data and row.data["mode"] == "ask"
    with Session(engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Conversation)).scalar_one() == 1
