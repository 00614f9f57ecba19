"""Handling one stored webhook event, exactly once, in its own transaction.

`bot/intake.py` finds pending events and calls `EventProcessor.process_event` for each, one source at
a time and in order. Here the event is claimed (`models.events.claim_event`), read (`read_event`),
routed to its handler (`bot/handlers.py`), marked done and its replies queued in the outbox, all in
one transaction; the replies are delivered right after the commit (`bot/delivery.py`). A crash at any
point leaves the event pending (processed again on restart) or done with its replies in the outbox
(delivered on restart) — never half of each.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from linebot.v3.webhook import UnknownEvent
from linebot.v3.webhooks import Event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import line_ids
from bot.context import EventContext, LineEffects
from bot.delivery import Deliverer
from bot.event_parse import fast_event
from bot.intake import Outcome
from bot.media_links import MediaLinks
from bot.riders import add_riders_many
from messages import chat
from models.events import (
    ClaimedEvent,
    Unclaimed,
    claim_events,
    finish_claimed,
    mark_event_failed,
    retry_event_later,
)
from models.linking import DEFAULT_LIMITS, LinkLimits
from models.outbox import QueuedRow, insert_replies, mark_carried, reply_values
from scheduler.rules import Rules

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_REQUEST = 5
# A failed event is tried again after these pauses, then given up (its sender's later events wait for
# it meanwhile, to keep their order: at most a few seconds).
RETRY_BACKOFF_SECONDS = (1.0, 4.0)
MAX_ATTEMPTS = len(RETRY_BACKOFF_SECONDS) + 1
LOADING_WAIT_SECONDS = 5.0  # at most this long do a batch's answers wait for its loading animations
Handler = Callable[[EventContext], None]


def parse_event(raw: dict[str, object]) -> Event:
    """Parse like the SDK's WebhookParser does, keeping unknown event types instead of failing.

    The usual text messages and postbacks are built without the SDK's validation (bot/event_parse.py:
    the same models for a sixth of the CPU); any other event takes `sdk_parse_event`."""
    event = fast_event(raw)
    return event if event is not None else sdk_parse_event(raw)


def sdk_parse_event(raw: dict[str, object]) -> Event:
    """`parse_event` by the SDK's models alone.

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
    event = fast_event(raw)  # the usual shapes, which nest three deep at most
    if event is None and _too_deep(raw):
        raise MalformedEvent("nested too deeply", raw)
    if not line_ids.is_event_type(raw.get("type")):
        raise MalformedEvent("malformed type", raw)
    problem = line_ids.source_problem(raw.get("source"))
    if problem:
        raise MalformedEvent(problem, raw)
    if "replyToken" in raw and not line_ids.is_reply_token(raw["replyToken"]):
        raise MalformedEvent("malformed replyToken", raw)
    if event is not None:
        return raw, event
    try:
        event = sdk_parse_event(raw)
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
    """Handles batches of stored events (`process_batch`); `bot/intake.py` decides which and when."""

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
        prepare: Callable[[Sequence[EventContext]], None] | None = None,
    ) -> None:
        self.engine = engine
        # Given a batch's contexts before their handlers run (bot/handlers.py `prepare_batch`:
        # their senders read in one round trip).
        self.prepare = prepare
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
        self._holder = deliverer.holder if deliverer is not None else None

    # --- a batch of events -------------------------------------------------------------------------

    def process_event(self, event_id: int, source_key: str) -> Outcome:
        """Handle one stored event (of `source_key`): a batch of one."""
        return self.process_batch([(event_id, source_key)])[0]

    def process_batch(self, batch: Sequence[tuple[int, str]]) -> list[Outcome]:
        """Handle stored events, (id, source key) with at most one event per source, exactly once, in
        one transaction, then deliver what they queued; the outcome of each, in the batch's order.

        The claim (one statement), marking the events done (one; on PostgreSQL the claim's own), their
        replies (one INSERT) and the commit are shared by the batch. An event whose handler fails is recorded on its own: tried
        again after a pause, or after MAX_ATTEMPTS (at once for an event that can never be handled,
        `read_event`) marked failed with one apology to its sender, whose later events go on. Its
        neighbours' work, rolled back with it, is done again without it in a new transaction (what
        their handlers asked of LINE, a loading animation or a download, may be asked twice;
        nothing is stored or sent twice). Should the shared part itself fail, each event is handled
        again on its own.

        No savepoints: with pysqlite one needs a transaction its driver opened, which on SQLite means
        holding the database's one write lock from the claim on, handlers and all, which would keep
        the webhook from storing events for a whole batch even when its handlers only read."""
        now = self.now()
        outcomes: dict[int, Outcome] = {}
        rows: list[QueuedRow] = []
        failure: _HandlerFailed | Exception | None = None
        effects = _BatchEffects(self.line, self.deliverer) if self.line is not None else None
        with Session(self.engine, expire_on_commit=False) as session:
            claimed, unclaimed = claim_events(session, batch, now)
            outcomes.update((event_id, _UNCLAIMED[why]) for event_id, why in unclaimed.items())
            if not claimed:
                session.rollback()
                return [outcomes[event_id] for event_id, _source in batch]
            try:
                contexts = [self._context(session, row, now, effects) for row in claimed]
                if self.prepare is not None and len(contexts) > 1:
                    self.prepare(contexts)  # what every event reads first, for all of them at once
                for ctx in contexts:
                    self._handle(ctx)
                # What waits for these people rides on their free replies: one statement for all.
                riding = add_riders_many([ctx for ctx in contexts if self._answers(ctx)])
                answers = [self._replies(ctx) for ctx in contexts]
                for answer, taken in zip([a for a in answers if a.rows], riding, strict=True):
                    answer.riding = taken
                finish_claimed(session, [row.id or 0 for row in claimed], now)
                rows = insert_replies(session, [values for answer in answers for values in answer.rows])
                _mark_riders_carried(session, answers, rows)
                session.commit()
            except Exception as exc:
                session.rollback()
                failure = exc
        if failure is None:
            outcomes.update((row.id or 0, Outcome.HANDLED) for row in claimed)
        elif isinstance(failure, _HandlerFailed) or len(claimed) == 1:
            failed = failure.row if isinstance(failure, _HandlerFailed) else claimed[0]
            raw = failure.raw if isinstance(failure, _HandlerFailed) else None
            cause = failure.cause if isinstance(failure, _HandlerFailed) else failure
            apology = self._record_failure_alone(failed, raw, cause)
            outcomes[failed.id or 0] = Outcome.HANDLED if apology is not None else Outcome.WAITING
            rows = apology or []
            rest = [(row.id or 0, row.source_key) for row in claimed if row is not failed]
            if rest:
                outcomes.update(
                    zip([event_id for event_id, _ in rest], self.process_batch(rest), strict=True)
                )
        else:
            log.warning(
                "a batch of %d events failed together (%s); handling each on its own",
                len(claimed),
                type(failure).__name__,
            )
            for row in claimed:
                outcomes[row.id or 0] = self.process_batch([(row.id or 0, row.source_key)])[0]
        if self.deliverer is not None and rows:
            if effects is not None:
                effects.wait()  # a loading animation started after its answer would outlast it
            self.deliverer.deliver_claimed(rows)  # born claimed: no second round trip
        return [outcomes[event_id] for event_id, _source in batch]

    def _context(
        self, session: Session, row: ClaimedEvent, now: datetime, effects: LineEffects | None
    ) -> EventContext:
        """One event of a batch read into the context its handler works in (`_HandlerFailed` when
        it cannot be read)."""
        raw: dict[str, Any] | None = None
        try:
            raw, event = read_event(row.payload)
            return EventContext(
                session=session,
                row=row,
                raw=raw,
                event=event,
                now=now,
                tz=self.tz,
                line=effects,
                media_dir=self.media_dir,
                approval_levels=self.approval_levels,
                hold_for_replies=self.hold_for_replies,
                link_limits=self.link_limits,
                media_links=self.media_links,
                rules=self.rules,
                public_url=self.public_url,
            )
        except Exception as exc:
            raise _HandlerFailed(row, raw, exc) from exc

    def _handle(self, ctx: EventContext) -> None:
        """One event of a batch: its handler's work (`_HandlerFailed` when it fails)."""
        try:
            self.handler(ctx)
        except Exception as exc:
            raise _HandlerFailed(ctx.row, ctx.raw, exc) from exc  # type: ignore[arg-type]

    @staticmethod
    def _answers(ctx: EventContext) -> bool:
        """Whether the event has an answer to queue."""
        return bool(ctx.replies) and ctx.reply_to is not None

    def _replies(self, ctx: EventContext) -> _Answer:
        to = ctx.reply_to
        if not ctx.replies or to is None:
            return _Answer()
        person_ids = [ctx.person.id] if ctx.person and ctx.person.id else []
        rows = [
            reply_values(
                event_id=ctx.row.id or 0,
                webhook_event_id=ctx.row.webhook_event_id,
                reply_token=ctx.reply_token if index == 0 else None,  # a token answers one request
                event_time=ctx.event_time,
                to=to,
                messages=ctx.replies[start : start + MAX_MESSAGES_PER_REQUEST],
                now=ctx.now,
                purpose="reply" if index == 0 else f"reply-{index}",
                person_ids=person_ids,
                claim_for=self._holder,
            )
            for index, start in enumerate(range(0, len(ctx.replies), MAX_MESSAGES_PER_REQUEST))
        ]
        return _Answer(rows=rows)

    def _record_failure_alone(
        self, row: ClaimedEvent, raw: dict[str, Any] | None, exc: Exception
    ) -> list[QueuedRow] | None:
        """Count a failed attempt, in a transaction of its own: wait and try again (None), or give up
        (failed, with one apology: the rows to deliver).

        One short log line, naming our own row only: an exception's text may quote the event's data
        (an SDK validation error quotes the input, a database error its parameters), so it is kept
        out of the log; the row's `error` keeps it for whoever inspects the database."""
        now = self.now()
        attempt = row.attempts + 1
        final = isinstance(exc, MalformedEvent) or attempt >= MAX_ATTEMPTS
        reason = exc.reason if isinstance(exc, MalformedEvent) else type(exc).__name__
        error = f"{type(exc).__name__}: {exc}"
        trace: Exception | bool = exc if not isinstance(exc, MalformedEvent) else False
        with Session(self.engine, expire_on_commit=False) as session:
            if not final:
                pause = RETRY_BACKOFF_SECONDS[attempt - 1]
                retry_event_later(session, row.id or 0, attempt, now + timedelta(seconds=pause), error)
                session.commit()
                log.warning(
                    "event %s (%s) failed on attempt %d of %d (%s); trying again in %.0f s",
                    row.id,
                    row.event_type,
                    attempt,
                    MAX_ATTEMPTS,
                    reason,
                    pause,
                    exc_info=trace,
                )
                return None
            mark_event_failed(session, row.id or 0, attempt, now, error)
            target = _apology_target(exc.raw if isinstance(exc, MalformedEvent) else raw)
            apology = []
            if target is not None:
                reply_token, user_id = target
                values = reply_values(
                    event_id=row.id or 0,
                    webhook_event_id=row.webhook_event_id,
                    reply_token=reply_token,
                    event_time=now,
                    to=user_id,
                    messages=[chat.something_went_wrong().to_dict()],
                    now=now,
                    purpose="apology",
                    claim_for=self._holder,
                )
                apology = insert_replies(session, [values])
            session.commit()
        log.warning(
            "event %s (%s) given up after %d attempt(s) (%s)%s",
            row.id,
            row.event_type,
            attempt,
            reason,
            "; its sender was told" if target is not None else "",
            exc_info=trace,
        )
        return apology


class _BatchEffects:
    """The LINE calls a batch's handlers make (`LineEffects`): a loading animation starts on the
    deliverer's sending threads instead of holding up the batch's transaction for a round trip per
    event (`wait` before the batch's answers go out, so none starts after its answer); every other
    attribute is the client's own (the handlers use those calls' results)."""

    def __init__(self, line: LineEffects, deliverer: Deliverer | None) -> None:
        self._line = line
        self._deliverer = deliverer
        self._started: list[Future[object]] = []

    def show_loading(self, chat_id: str, seconds: int = 10) -> bool:
        line = self._line
        started = (
            self._deliverer.soon(lambda: line.show_loading(chat_id, seconds)) if self._deliverer else None
        )
        if started is None:
            return line.show_loading(chat_id, seconds)
        self._started.append(started)
        return True  # best effort, as LINE's own answer is

    def __getattr__(self, name: str) -> Any:  # get_content, link_rich_menu: the client's own
        return getattr(self._line, name)

    def wait(self) -> None:
        for started in self._started:
            with contextlib.suppress(Exception):  # best effort: it never holds up the answers
                started.result(timeout=LOADING_WAIT_SECONDS)


class _HandlerFailed(Exception):
    """An event of a batch failed (`cause`); `raw` is its JSON when it was readable."""

    def __init__(self, row: ClaimedEvent, raw: dict[str, Any] | None, cause: Exception) -> None:
        super().__init__(type(cause).__name__)
        self.row, self.raw, self.cause = row, raw, cause


@dataclass
class _Answer:
    """An event's outbox rows to write, and the rider rows its reply carries."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    riding: list[int] = field(default_factory=list)


_UNCLAIMED = {
    Unclaimed.GONE: Outcome.SKIPPED,
    Unclaimed.WAITING: Outcome.WAITING,
    Unclaimed.BUSY: Outcome.BUSY,
}


def _mark_riders_carried(session: Session, answers: list[_Answer], rows: list[QueuedRow]) -> None:
    """Record which reply carried the rows that rode on it (each answer's first row)."""
    position = 0
    for answer in answers:
        if answer.riding and answer.rows:
            mark_carried(session, answer.riding, rows[position].id or 0)
        position += len(answer.rows)
