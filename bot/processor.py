"""Processing stored webhook events after they were acknowledged.

One thread drains the store: it takes pending events in arrival order, groups them by source (a user,
group or room) and hands each source's batch to a worker pool, never two batches of the same source at
once, so one person's events are handled one at a time and in order. Each event is handled in its own
transaction that also marks it done and queues its replies in the outbox; the replies are delivered
right after the commit. A crash at any point leaves the event pending (processed again on restart) or
done with its replies in the outbox (delivered on restart) — never half of each.
On PostgreSQL, a transaction-level advisory lock per source, taken in the event's own transaction,
plus a check that no earlier event of the source is pending, keep replicas from handling one user's
events concurrently or out of order.
"""

from __future__ import annotations

import enum
import heapq
import json
import logging
import threading
import time
import zlib
from bisect import insort
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from linebot.v3.webhook import UnknownEvent
from linebot.v3.webhooks import Event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import line_ids
from bot.context import EventContext, LineEffects
from bot.crew import Crew
from bot.delivery import Deliverer
from bot.media_links import MediaLinks
from bot.riders import add_riders
from messages import chat
from models.events import mark_event_done, mark_event_failed
from models.linking import DEFAULT_LIMITS, LinkLimits
from models.messaging import OutboxMessage, WebhookEvent
from models.outbox import mark_carried, queue_reply
from models.types import EventStatus
from scheduler.rules import Rules

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_REQUEST = 5


class _Outcome(enum.Enum):
    HANDLED = "handled"
    SKIPPED = "skipped"  # already handled (by another worker or replica)
    BUSY = "busy"  # another replica holds the source right now
    WAITING = "waiting"  # a failed attempt's backoff has not passed yet


SWEEP_SECONDS = 1.0
# A failed event is tried again after these pauses, then given up (its sender's later events wait for
# it meanwhile, to keep their order: at most a few seconds).
RETRY_BACKOFF_SECONDS = (1.0, 4.0)
MAX_ATTEMPTS = len(RETRY_BACKOFF_SECONDS) + 1
COALESCE_SECONDS = 0.003
READ_LIMIT = 2000  # pending ids read per pass
MAX_QUEUED = 20_000  # ids held in memory before quick passes pause
FLOOD_MAX_WAIT = 20.0  # seconds an event may wait in hand before a flood stops holding handling back
FLOOD_WAKE_PAUSE = 0.05  # under a flood, look for new events this often, wake-ups or not
BUSY_READ_PAUSE = 0.02  # with every worker busy, look for new events at most this often
FLOOD_WINDOW = 0.25  # seconds of arrivals the arrival rate is measured over
FLOOD_MIN_SPAN = 0.02  # a shorter stretch tells no rate yet
Handler = Callable[[EventContext], None]


_EVENTS = WebhookEvent.__table__  # type: ignore[attr-defined]
# PostgreSQL: one round trip reads and locks the event's row (skipping it when another replica holds it),
# takes its source's transaction-level advisory lock, and tells whether an earlier event of the source is
# still pending. Built once: it runs for every event.
_FETCH_AND_CLAIM = (
    sa.select(
        WebhookEvent,
        sa.func.pg_try_advisory_xact_lock(sa.bindparam("lock_key", type_=sa.BigInteger)),
        ~sa.exists().where(
            _EVENTS.c.source_key == sa.bindparam("source_key"),
            _EVENTS.c.status == EventStatus.PENDING,
            _EVENTS.c.id < sa.bindparam("event_id"),
        ),
    )
    .where(col(WebhookEvent.id) == sa.bindparam("event_id"))
    .with_for_update(skip_locked=True)
)


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
    def __init__(
        self,
        engine: Engine,
        handler: Handler,
        *,
        deliverer: Deliverer | None,
        line: LineEffects | None,
        now: Callable[[], datetime],
        tz: ZoneInfo,
        workers: int = 8,
        flood_rate: int = 0,
        media_dir: Path | None = None,
        approval_levels: int = 1,
        hold_for_replies: bool = False,
        poll_seconds: float | None = None,
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
        self.workers = max(1, workers)
        self.media_dir = media_dir or Path("var") / "media"
        self.approval_levels = approval_levels
        self.hold_for_replies = hold_for_replies
        self.link_limits = link_limits
        self.public_url = public_url
        # In a worker process nobody calls notify(): look for new events this often instead.
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()  # sources a worker is on
        self._queued: dict[str, list[int]] = {}  # pending ids read, by source, not yet handed out
        self._known: set[int] = set()  # ids queued or handed out, not yet handled
        self._unstarted = 0  # sources handed to the pool that no worker has started on yet
        self._deferred = False  # a quick pass was skipped because the workers had enough in hand
        # Events arriving per second that make a flood, during which handling is held (0: never).
        self.flood_rate = max(0, flood_rate)
        self._read_at: list[tuple[float, int]] = []  # (when read, id): a heap, for the oldest wait
        self._arrived = 0  # new events read since the first pass
        self._arrivals: deque[tuple[float, int]] = deque()  # (pass time, `_arrived` after it)
        self._last_pass = 0.0  # when the store was last read
        self._crew: Crew[tuple[str, list[int]]] | None = None
        self._thread: threading.Thread | None = None
        self._is_pg = engine.dialect.name == "postgresql"
        self._seen = 0  # the highest pending id read so far (quick passes read above it)

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._crew = Crew(self.workers, self._process_source)
        self._crew.start()
        self._thread = threading.Thread(target=self._run, name="tidtam-events", daemon=True)
        self._thread.start()
        self.notify()  # whatever a previous process left pending

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._crew is not None:
            self._crew.stop(timeout)

    def notify(self) -> None:
        self._wake.set()

    def alive(self) -> bool:
        """Whether the thread that drains the store is running."""
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    @property
    def flooding(self) -> bool:
        """Whether handling is held back for a flood of webhooks right now."""
        return self._crew is not None and self._crew.held

    # --- draining ----------------------------------------------------------------------------------

    def _run(self) -> None:
        last_sweep = last_full = 0.0
        while not self._stopping.is_set():
            # Under a flood, also when no wake-up comes: the end of a flood is an absence of them.
            woke = self._wake.wait(
                timeout=FLOOD_WAKE_PAUSE if self.flooding else self.poll_seconds or SWEEP_SECONDS
            )
            if woke:  # let a burst of wake-ups become one pass
                time.sleep(FLOOD_WAKE_PAUSE if self.flooding else COALESCE_SECONDS)
            self._wake.clear()
            try:
                full = time.monotonic() - last_full >= SWEEP_SECONDS
                if full:
                    last_full = time.monotonic()
                self._judge_flood()
                self._drain_once(full=full)
                self._judge_flood()  # at once when this pass read a flood's first wave
                if self.deliverer is not None and time.monotonic() - last_sweep >= SWEEP_SECONDS:
                    last_sweep = time.monotonic()
                    self.deliverer.deliver_due(limit=50)  # outbox rows left over (retries, crashes, pushes)
            except Exception:
                log.exception("event processor sweep failed")

    def _drain_once(self, *, full: bool = False) -> None:
        """Find pending events and hand each source's to a worker.

        A quick pass reads only ids above the high-water mark, so each event is read from the store
        once however long the backlog; an event whose source is busy waits in that source's queue
        here, not in the store. A full pass (the periodic sweep) reads every pending id, for events
        this process gave up on (another replica held the source) or whose commit landed late.
        """
        with self._lock:
            busy = self._unstarted >= self.workers and time.monotonic() - self._last_pass < BUSY_READ_PAUSE
            if not full and (len(self._known) >= MAX_QUEUED or busy):
                # Enough in hand: every worker has a source waiting for it. Reading more at every
                # wake-up would only lengthen the queue (and cost a query per commit of the web
                # process under a flood); the pass runs when a worker frees up, or at the next
                # wake-up after a pause (which also tells how fast events arrive).
                self._deferred = True
                return
        statement = select(col(WebhookEvent.id), col(WebhookEvent.source_key)).where(
            col(WebhookEvent.status) == EventStatus.PENDING
        )
        if not full:
            statement = statement.where(col(WebhookEvent.id) > self._seen)
        statement = statement.order_by(col(WebhookEvent.id)).limit(READ_LIMIT)
        with Session(self.engine) as session:
            pending = [(int(event_id), str(source_key)) for event_id, source_key in session.exec(statement)]
        ready: list[tuple[str, list[int]]] = []
        with self._lock:
            now = self._last_pass = time.monotonic()
            fresh = 0
            for event_id, source_key in pending:
                self._seen = max(self._seen, event_id)
                if event_id in self._known:
                    continue
                self._known.add(event_id)
                fresh += 1
                if self.flood_rate:
                    heapq.heappush(self._read_at, (now, event_id))
                insort(self._queued.setdefault(source_key, []), event_id)
            if self.flood_rate:
                # The first pass finds what an earlier process left: a starting point, not arrivals.
                self._arrived += fresh if self._arrivals else 0
                self._arrivals.append((now, self._arrived))
            for source_key in list(self._queued):
                if source_key not in self._in_flight:
                    self._in_flight.add(source_key)
                    ready.append((source_key, self._queued.pop(source_key)))
            self._unstarted += len(ready)
        assert self._crew is not None
        for item in ready:
            self._crew.submit(item)

    def _judge_flood(self) -> None:
        """Hold the crew while events arrive at `flood_rate` a second or faster, until they arrive at
        less than half that, or the oldest event in hand has waited FLOOD_MAX_WAIT. Past that wait,
        events are handled whatever arrives, so replies keep up with their reply tokens (about a
        minute) even under a flood that does not end; a flood is not held again until the oldest
        event in hand has waited less than half as long."""
        if not self.flood_rate or self._crew is None:
            return
        with self._lock:
            now = time.monotonic()
            while len(self._arrivals) > 1 and self._arrivals[0][0] < now - FLOOD_WINDOW:
                self._arrivals.popleft()
            since, counted = self._arrivals[0] if self._arrivals else (now, self._arrived)
            span = now - since
            rate = (self._arrived - counted) / span if span >= FLOOD_MIN_SPAN else 0.0
            while self._read_at and self._read_at[0][1] not in self._known:
                heapq.heappop(self._read_at)
            waited = now - self._read_at[0][0] if self._read_at else 0.0
            backlog = len(self._known)
        if self._crew.held:
            flood = rate >= self.flood_rate / 2 and waited < FLOOD_MAX_WAIT
        else:
            flood = rate >= self.flood_rate and waited < FLOOD_MAX_WAIT / 2
        if flood != self._crew.held:
            log.info(
                "webhook flood %s (%.0f events/s arriving, %d in hand)",
                "began: handling held" if flood else "over",
                rate,
                backlog,
            )
            self._crew.hold(flood)

    def _process_source(self, item: tuple[str, list[int]]) -> None:
        """Handle a source's events in order, then any of its events queued meanwhile."""
        source_key, ids = item
        handled_any = released = False
        assert self._crew is not None
        with self._lock:
            self._unstarted -= 1
        try:
            while not self._stopping.is_set():
                if not ids:
                    with self._lock:
                        ids = self._queued.pop(source_key, [])
                        if not ids:
                            self._in_flight.discard(source_key)
                            released = True
                            break
                if not self._crew.wait_while_held():
                    break  # stopping
                outcome = self.process_event(ids[0], source_key)
                if outcome in (_Outcome.BUSY, _Outcome.WAITING):
                    break  # another replica is on this source, or the first event waits for its retry:
                    # the periodic sweep finds these again
                handled_any = True
                with self._lock:
                    self._known.discard(ids.pop(0))
        except Exception:
            log.exception("processing a batch failed")
        finally:
            if not released:
                with self._lock:
                    # Stopping, busy or an error: what is left stays pending in the store and is
                    # found again by the next full pass.
                    for event_id in ids + self._queued.pop(source_key, []):
                        self._known.discard(event_id)
                    self._in_flight.discard(source_key)
            with self._lock:
                resume = handled_any and self._deferred and self._unstarted < self.workers
                if resume:
                    self._deferred = False
            if resume:
                self._wake.set()  # the quick pass that was put off

    def _fetch_and_claim(
        self, session: Session, event_id: int, source_key: str
    ) -> tuple[WebhookEvent | None, bool]:
        """The event's row, and whether this process may handle it now.

        PostgreSQL, several replicas: the row is locked (a row another replica holds is skipped, not
        waited for) and the source is held for the transaction, but only when no earlier event of it is
        still pending, so one user's events are handled one at a time and in order. One statement does
        all three. Its snapshot may predate the lock, so an earlier event that another replica finished
        meanwhile can still look pending: that only makes this event wait for the next pass, never lets
        it overtake one. SQLite has one writer at a time and one worker process.
        """
        if not self._is_pg:
            return session.get(WebhookEvent, event_id), True
        found = session.execute(
            _FETCH_AND_CLAIM,
            {"event_id": event_id, "lock_key": zlib.crc32(source_key.encode()), "source_key": source_key},
        ).first()
        if found is None:
            return None, False
        row, held, clear = found
        return row, bool(held and clear)

    # --- one event ---------------------------------------------------------------------------------

    def process_event(self, event_id: int, source_key: str) -> _Outcome:
        """Handle one stored event (of `source_key`) exactly once, then deliver what it queued.

        A failure rolls the event's work back and is tried again after a pause; after MAX_ATTEMPTS, or
        at once for an event that can never be handled (`read_event`), the event is marked failed, its
        sender gets one apology, and their later events go on."""
        now = self.now()
        with Session(self.engine, expire_on_commit=False) as session:
            row, claimed = self._fetch_and_claim(session, event_id, source_key)
            if row is None or row.status != EventStatus.PENDING:
                return _Outcome.SKIPPED
            if row.retry_at is not None and row.retry_at > now:
                session.rollback()
                return _Outcome.WAITING
            if not claimed:
                session.rollback()
                return _Outcome.BUSY
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
                    return _Outcome.WAITING  # tried again later; the source's later events wait
                replies = None
        if self.deliverer is not None:
            if replies:
                self.deliverer.deliver_claimed(replies)  # born claimed: no second round-trip
            elif replies is None:
                self.deliverer.deliver_due(event_id=event_id)
        return _Outcome.HANDLED

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
