"""The conversation store: one owner for a chat's conversation state (the `conversation` row).

A flow loads the row, computes its next state, and saves it here: a new row, a revision-checked
update (a writer that read an older revision loses and its event is retried), or the end. Keys that
other flows annotate a conversation with (the approval's pending return reason) survive a save by the
flow that owns the row. The questionnaire flow uses it; the quarterly report's runtime
(`bot/forms/runtime.py`) and the approval's return reason (`bot/approvals.py`) still write the row
themselves and are meant to move onto these functions next.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from bot.context import EventContext
from models.messaging import Conversation

FOREIGN_KEYS = ("pending_return",)  # written by bot/approvals.py into whichever row the chat has


class ConcurrentChange(RuntimeError):
    """The row changed since it was read: the event is retried with the fresh state."""


def load(ctx: EventContext, flow: str) -> Conversation | None:
    """The chat's conversation when `flow` owns it."""
    conversation = ctx.conversation()
    return conversation if conversation is not None and conversation.form == flow else None


def save(
    ctx: EventContext, conversation: Conversation | None, flow: str, state: dict[str, Any] | None
) -> None:
    """Store `state` as the chat's conversation of `flow` (None: the conversation is over)."""
    if state is None:
        if conversation is not None:
            ctx.session.delete(conversation)
            ctx.session.flush()
        return
    step = str(state.get("cursor") or state.get("mode") or "")[:64]
    if conversation is None:
        ctx.start_conversation(flow, step, state)
        return
    kept = {k: conversation.data[k] for k in FOREIGN_KEYS if k in (conversation.data or {})}
    result = ctx.session.execute(
        sa.update(Conversation)
        .where(col(Conversation.id) == conversation.id, col(Conversation.revision) == conversation.revision)
        .values(data={**state, **kept}, step=step, revision=conversation.revision + 1, updated_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentChange("conversation changed concurrently")
    ctx.session.expire(conversation)
