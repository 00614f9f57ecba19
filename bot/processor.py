"""Handling one stored webhook event, exactly once, in its own transaction.

`bot/intake.py` finds pending events and calls `EventProcessor.process_event` for each, one source at
a time and in order. Here the event is claimed (`models.events.claim_event`), read (`read_event`),
routed to its handler (`bot/handlers.py`), marked done and its replies queued in the outbox, all in
one transaction; the replies are delivered right after the commit (`bot/delivery.py`). A crash at any
point leaves the event pending (processed again on restart) or done with its replies in the outbox
(delivered on restart) — never half of each.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from linebot.v3.webhook import UnknownEvent
from linebot.v3.webhooks import Event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot import line_ids
from bot.context import EventContext, LineEffects
from bot.delivery import Deliverer
from bot.intake import Outcome
from bot.media_links import MediaLinks
from bot.riders import add_riders
from messages import chat
from models.events import claim_event, mark_event_done, mark_event_failed
from models.linking import DEFAULT_LIMITS, LinkLimits
from models.messaging import OutboxMessage, WebhookEvent
from models.outbox import mark_carried, queue_reply
from models.types import EventStatus
from scheduler.rules import Rules

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_REQUEST = 5
# A failed event is tried again after these pauses, then given up (its sender's later events wait for
# it meanwhile, to keep their order: at most a few seconds).
RETRY_BACKOFF_SECONDS = (1.0, 4.0)
MAX_ATTEMPTS = len(RETRY_BACKOFF_SECONDS) + 1
Handler = Callable[[EventContext], None]


def parse_event(raw: dict[str, object]) -> Event:
    """Parse like the SDK's WebhookParser does, keeping unknown event types instead of failing.

    A timestamp that is not an integer (LINE sends milliseconds) would fail every model: it is read
    as 0, which `EventContext.event_time` takes for "unknown" (the time the event was stored)."""
    timestamp = raw.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raw = {**raw, "timestamp": 0}
    try:
        return Event.from_dict(raw)
    except ValueError:
        return UnknownEvent.new_from_json_dict(raw)  # type: ignore[no-any-return]


class MalformedEvent(ValueError):
    """A stored event that can never be handled: its `reason` is short and carries none of its data;
    `raw` is its JSON when it was readable (to tell its sender)."""

    def __init__(self, reason: str, raw: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


MAX_EVENT_CHARS = 64 * 1024  # LINE's largest events (a 5,000-character text, escaped) are far smaller
MAX_EVENT_DEPTH = 24  # LINE's events nest five or six deep


def _too_deep(value: object) -> bool:
    """Whether `value` nests deeper than MAX_EVENT_DEPTH (without recursion: the bound is checked,
    not trusted)."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if level + 1 > MAX_EVENT_DEPTH:
                    return True
                stack.append((child, level + 1))
    return False


def read_event(payload: str) -> tuple[dict[str, Any], Event]:
    """A stored event's JSON and its SDK model; MalformedEvent when it cannot be handled at all.

    The webhook stores whatever LINE signed, so this is where an event's shape is checked: bounded in
    size and depth, LINE's id formats (bot/line_ids.py), and whatever the SDK's models refuse."""
    if len(payload) > MAX_EVENT_CHARS:
        raise MalformedEvent("event too large")
    try:
        raw = json.loads(payload)
    except (ValueError, RecursionError):
        raise MalformedEvent("not JSON") from None
    if not isinstance(raw, dict):
        raise MalformedEvent("not an object")
    if _too_deep(raw):
        raise MalformedEvent("nested too deeply", raw)
    if not line_ids.is_event_type(raw.get("type")):
        raise MalformedEvent("malformed type", raw)
    problem = line_ids.source_problem(raw.get("source"))
    if problem:
        raise MalformedEvent(problem, raw)
    if "replyToken" in raw and not line_ids.is_reply_token(raw["replyToken"]):
        raise MalformedEvent("malformed replyToken", raw)
    try:
        event = parse_event(raw)
    except Exception as exc:  # the SDK's models raise ValueError, TypeError, KeyError, ... on odd shapes
        raise MalformedEvent(f"the SDK cannot read it ({type(exc).__name__})", raw) from None
    return raw, event


def _apology_target(raw: object) -> tuple[str, str] | None:
    """(reply token, user id) of a one-on-one event whose sender can be told something went wrong."""
    if not isinstance(raw, dict):
        return None
    source, token = raw.get("source"), raw.get("replyToken")
    if not isinstance(source, dict) or source.get("type") != "user":
        return None
    user_id = source.get("userId")
    if line_ids.is_user_id(user_id) and line_ids.is_reply_token(token):
        return str(token), str(user_id)
    return None


class EventProcessor:
    """Handles one stored event at a time (`process_event`); `bot/intake.py` decides which and when."""

    def __init__(
        self,
        engine: Engine,
        handler: Handler,
        *,
        deliverer: Deliverer | None,
        line: LineEffects | None,
        now: Callable[[], datetime],
        tz: ZoneInfo,
        media_dir: Path | None = None,
        approval_levels: int = 1,
        hold_for_replies: bool = False,
        link_limits: LinkLimits = DEFAULT_LIMITS,
        media_links: MediaLinks | None = None,
        rules: Rules | None = None,
        public_url: str = "http://127.0.0.1:8000",
    ) -> None:
        self.engine = engine
        self.media_links = media_links
        self.rules = rules
        self.handler = handler
        self.deliverer = deliverer
        self.line = line
        self.now = now
        self.tz = tz
        self.media_dir = media_dir or Path("var") / "media"
        self.approval_levels = approval_levels
        self.hold_for_replies = hold_for_replies
        self.link_limits = link_limits
        self.public_url = public_url

    # --- one event ---------------------------------------------------------------------------------

    def process_event(self, event_id: int, source_key: str) -> Outcome:
        """Handle one stored event (of `source_key`) exactly once, then deliver what it queued.

        A failure rolls the event's work back and is tried again after a pause; after MAX_ATTEMPTS, or
        at once for an event that can never be handled (`read_event`), the event is marked failed, its
        sender gets one apology, and their later events go on."""
        now = self.now()
        with Session(self.engine, expire_on_commit=False) as session:
            row, claimed = claim_event(session, event_id, source_key)
            if row is None or row.status != EventStatus.PENDING:
                return Outcome.SKIPPED
            if row.retry_at is not None and row.retry_at > now:
                session.rollback()
                return Outcome.WAITING
            if not claimed:
                session.rollback()
                return Outcome.BUSY
            raw: dict[str, Any] | None = None
            try:
                raw, event = read_event(row.payload)
                ctx = EventContext(
                    session=session,
                    row=row,
                    raw=raw,
                    event=event,
                    now=now,
                    tz=self.tz,
                    line=self.line,
                    media_dir=self.media_dir,
                    approval_levels=self.approval_levels,
                    hold_for_replies=self.hold_for_replies,
                    link_limits=self.link_limits,
                    media_links=self.media_links,
                    rules=self.rules,
                    public_url=self.public_url,
                )
                self.handler(ctx)

                replies = self._queue_replies(ctx)
                # A plain UPDATE rather than changing `row` (nothing reads it afterwards): with the
                # replies also written directly, the commit has nothing left to flush usually.
                mark_event_done(session, event_id, now)
                session.commit()
            except Exception as exc:
                session.rollback()
                if not self._record_failure(event_id, row, raw, exc):
                    return Outcome.WAITING  # tried again later; the source's later events wait
                replies = None
        if self.deliverer is not None:
            if replies:
                self.deliverer.deliver_claimed(replies)  # born claimed: no second round-trip
            elif replies is None:
                self.deliverer.deliver_due(event_id=event_id)
        return Outcome.HANDLED

    def _queue_replies(self, ctx: EventContext) -> list[OutboxMessage]:
        to = ctx.reply_to
        if not ctx.replies or to is None:
            return []
        riding = add_riders(ctx)  # what waits for this person rides on the free reply
        holder = self.deliverer.holder if self.deliverer is not None else None
        chunks = [
            ctx.replies[i : i + MAX_MESSAGES_PER_REQUEST]
            for i in range(0, len(ctx.replies), MAX_MESSAGES_PER_REQUEST)
        ]
        rows = []
        for index, chunk in enumerate(chunks):
            row = queue_reply(
                ctx.session,
                event_id=ctx.row.id or 0,
                webhook_event_id=ctx.row.webhook_event_id,
                reply_token=ctx.reply_token if index == 0 else None,  # a token answers one request
                event_time=ctx.event_time,
                to=to,
                messages=chunk,
                now=ctx.now,
                purpose="reply" if index == 0 else f"reply-{index}",
                person_ids=[ctx.person.id] if ctx.person and ctx.person.id else [],
                claim_for=holder,
            )
            rows.append(row)
        mark_carried(ctx.session, riding, rows[0].id or 0)
        return rows

    def _record_failure(
        self, event_id: int, row: WebhookEvent, raw: dict[str, Any] | None, exc: Exception
    ) -> bool:
        """Count a failed attempt: wait and try again (False), or give up (True: failed, with one
        apology).

        One short log line, naming our own row only: an exception's text may quote the event's data
        (an SDK validation error quotes the input, a database error its parameters), so it is kept
        out of the log; the row's `error` keeps it for whoever inspects the database."""
        now = self.now()
        attempt = row.attempts + 1
        final = isinstance(exc, MalformedEvent) or attempt >= MAX_ATTEMPTS
        reason = exc.reason if isinstance(exc, MalformedEvent) else type(exc).__name__
        with Session(self.engine) as session:
            if not final:
                pause = RETRY_BACKOFF_SECONDS[attempt - 1]
                session.execute(
                    sa.update(WebhookEvent)
                    .where(col(WebhookEvent.id) == event_id)
                    .values(
                        attempts=attempt,
                        retry_at=now + timedelta(seconds=pause),
                        error=f"{type(exc).__name__}: {exc}"[:2000],
                    )
                )
                session.commit()
                log.warning(
                    "event %s (%s) failed on attempt %d of %d (%s); trying again in %.0f s",
                    event_id,
                    row.event_type,
                    attempt,
                    MAX_ATTEMPTS,
                    reason,
                    pause,
                    exc_info=not isinstance(exc, MalformedEvent),
                )
                return False
            mark_event_failed(session, event_id, now, f"{type(exc).__name__}: {exc}")
            target = _apology_target(exc.raw if isinstance(exc, MalformedEvent) else raw)
            if target is not None:
                reply_token, user_id = target
                queue_reply(
                    session,
                    event_id=event_id,
                    webhook_event_id=row.webhook_event_id,
                    reply_token=reply_token,
                    event_time=now,
                    to=user_id,
                    messages=[chat.something_went_wrong().to_dict()],
                    now=now,
                    purpose="apology",
                )
            session.commit()
        log.warning(
            "event %s (%s) given up after %d attempt(s) (%s)%s",
            event_id,
            row.event_type,
            attempt,
            reason,
            "; its sender was told" if target is not None else "",
            exc_info=not isinstance(exc, MalformedEvent),
        )
        return True
