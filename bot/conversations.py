"""The conversation store: one owner for a chat's conversation state (the `conversation` row).

A flow loads the row, computes its next state, and saves it here: a new row, a revision-checked
update (a writer that read an older revision loses and its event is retried), or the end. Every
conversational flow goes through these functions: the quarterly report (`bot/forms/runtime.py`), the
questionnaires (`bot/evaluation.py`) and the approval's return reason (`bot/approvals.py`).

A flow may also annotate the row another flow owns (`annotate`): the approval's return reason waits
beside a report in progress under `pending_return`. Such keys belong to the row, not to the owner's
state: a save by the owner keeps them as the row has them, whatever its state dict carries.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from bot.context import EventContext
from models.messaging import Conversation
from models.prepared import Prepared

FOREIGN_KEYS = ("pending_return",)
_TABLE = Conversation.__table__  # type: ignore[attr-defined]
_DELETE = sa.delete(_TABLE).where(
    _TABLE.c.id == sa.bindparam("row_id")
)  # written by bot/approvals.py into whichever row the chat has
_PREPARED_DELETE = Prepared(_DELETE)  # a form's end (cancelled or submitted): run on the driver's cursor


class ConcurrentChange(RuntimeError):
    """The row changed since it was read: the event is retried with the fresh state."""


def load(ctx: EventContext, flow: str) -> Conversation | None:
    """The chat's conversation when `flow` owns it."""
    conversation = ctx.conversation()
    return conversation if conversation is not None and conversation.form == flow else None


def step_of(state: dict[str, Any]) -> str:
    """The short step name stored beside the state (for a reader of the table, not for the flows)."""
    cursor = state.get("cursor")
    if isinstance(cursor, dict):  # the report form's cursor: {"field": …, "index": …}
        cursor = cursor.get("field")
    return str(cursor or state.get("mode") or "")[:64]


def save(
    ctx: EventContext, conversation: Conversation | None, flow: str, state: dict[str, Any] | None
) -> None:
    """Store `state` as the chat's conversation of `flow` (None: the conversation is over)."""
    if state is None:
        if conversation is not None:
            if conversation.id is None:
                ctx.session.flush()  # a row added to the session and not written yet
            _PREPARED_DELETE.rowcount(ctx.session, {"row_id": conversation.id})
            ctx.forget_conversation(conversation)
        return
    own = {k: v for k, v in state.items() if k not in FOREIGN_KEYS}
    if conversation is None:
        ctx.start_conversation(flow, step_of(own), own)
        return
    kept = {k: conversation.data[k] for k in FOREIGN_KEYS if k in (conversation.data or {})}
    _update(ctx, conversation, form=flow, data={**own, **kept}, step=step_of(own))


def annotate(ctx: EventContext, conversation: Conversation, key: str, value: Any | None) -> None:
    """Set (or, with None, remove) one of the FOREIGN_KEYS on a row another flow owns, revision-checked."""
    assert key in FOREIGN_KEYS, key
    data = {k: v for k, v in (conversation.data or {}).items() if k != key}
    if value is not None:
        data[key] = value
    _update(ctx, conversation, form=conversation.form, data=data, step=conversation.step)


def _update(
    ctx: EventContext, conversation: Conversation, *, form: str, data: dict[str, Any], step: str
) -> None:
    if conversation.id is None:
        ctx.session.flush()  # started by this event and not written yet
    # Optimistic lock: the row must still be at the revision we read, or another writer won.
    result = ctx.session.execute(
        sa.update(Conversation)
        .where(col(Conversation.id) == conversation.id, col(Conversation.revision) == conversation.revision)
        .values(form=form, data=data, step=step, revision=conversation.revision + 1, updated_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentChange("conversation changed concurrently")
    ctx.session.expire(conversation)
