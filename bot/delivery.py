"""Delivering outbox rows through LINE, exactly once.

A row is claimed (status `sending`, with a lease), sent outside any transaction, and its outcome is
written back. Pushes and multicasts carry the row's UUID as `X-Line-Retry-Key`, so a retry after a crash
is answered 409 by LINE instead of being delivered twice. A reply whose token expired (or was refused)
becomes a push with the same retry key.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.line_client import (
    Attempt,
    LineClient,
    Send,
    SendResult,
    SendStatus,
    multicast_call,
    push_call,
    reply_call,
)
from messages.stored import expand
from models.db import session_scope
from models.messaging import OutboxMessage
from models.outbox import QueuedRow, SentOutcome, claim_due_messages, record_failure, record_sent_many
from models.types import OutboxKind, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
Row = OutboxMessage | QueuedRow  # claimed from the outbox, or written claimed by the processor
CLAIM_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0


class Deliverer:
    """Sends claimed outbox rows; shared by the webhook processor and the scheduler's dispatcher.

    With `senders` above one, a batch's rows go out concurrently over up to `senders` of the LINE
    client's keep-alive connections, each recipient's rows one after another in the order given (a
    reply's follow-up pushes after it): their first attempts multiplexed from the calling thread, a
    row that needs retrying on the sending threads (`_send_groups`). The batch's outcomes are then
    written in one transaction."""

    def __init__(
        self,
        engine: Engine,
        client: LineClient,
        now: Callable[[], datetime],
        holder: str,
        *,
        senders: int = 1,
    ) -> None:
        self.engine = engine
        self.client = client
        self.now = now
        self.holder = holder
        self.senders = max(1, senders)
        self._pool: ThreadPoolExecutor | None = None
        self._postgresql = engine.dialect.name == "postgresql"
        self._pool_lock = threading.Lock()

    def deliver_due(self, *, limit: int = 100, event_id: int | None = None) -> DeliveryReport:
        with session_scope(self.engine) as session:
            rows = claim_due_messages(
                session, now=self.now(), holder=self.holder, lease=CLAIM_LEASE, limit=limit, event_id=event_id
            )
        return self.deliver_claimed(rows)

    def deliver_claimed(self, rows: list[Row]) -> DeliveryReport:
        """Send rows this dispatcher has claimed and record each outcome."""
        if not rows:
            return DeliveryReport()
        groups: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            groups.setdefault(tuple(row.recipients), []).append(row)
        if self.senders == 1 or len(groups) == 1:
            results = [(row, self._send(row)) for row in rows]
        else:
            results = self._send_groups(list(groups.values()))
        statuses = self._record(results)
        return DeliveryReport(
            sent=statuses.count(OutboxStatus.SENT),
            failed=sum(s in (OutboxStatus.FAILED, OutboxStatus.DEFERRED) for s in statuses),
            retrying=statuses.count(OutboxStatus.PENDING),
        )

    def soon(self, call: Callable[[], object]) -> Future[object] | None:
        """Run `call` on the sending threads (a handler's loading animation, which must not hold up
        the batch's transaction); None with one sender: the caller runs it itself."""
        if self.senders == 1:
            return None
        return self._executor().submit(call)

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.senders, thread_name_prefix="tidtam-send")
            return self._pool

    def _record(self, results: list[tuple[Row, SendResult]]) -> list[OutboxStatus]:
        """Write the outcomes of sent rows, in one transaction: a plain connection, not an ORM
        session, and one statement for all the rows LINE accepted."""
        now = self.now()
        statuses: list[OutboxStatus] = []
        delivered: list[tuple[Row, SendResult]] = []
        if self._postgresql and all(result.delivered for _row, result in results):
            # The usual case: one statement records every row, a transaction of its own on an
            # autocommit connection (no BEGIN and COMMIT round trips).
            with self.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                record_sent_many(conn, [_sent(row, result) for row, result in results], now=now)
            return [OutboxStatus.SENT] * len(results)
        with self.engine.begin() as conn:
            for row, result in results:
                if result.delivered:
                    delivered.append((row, result))
                    statuses.append(OutboxStatus.SENT)
                    continue
                if result.status is SendStatus.QUOTA_EXHAUSTED:
                    status, retry_at = OutboxStatus.DEFERRED, None
                elif result.status is SendStatus.TRANSIENT and row.attempts < MAX_ATTEMPTS:
                    delay = timedelta(seconds=min(3600, 15 * 2 ** (row.attempts - 1)))
                    status, retry_at = OutboxStatus.PENDING, now + delay
                else:
                    status, retry_at = OutboxStatus.FAILED, None
                record_failure(conn, row, status=status, error=result.error or "", retry_at=retry_at)
                statuses.append(status)
                log.warning("outbox row %s: %s (%s)", row.id, status.value, result.error)
            record_sent_many(conn, [_sent(row, result) for row, result in delivered], now=now)
        return statuses

    def _send_groups(self, groups: list[list[Row]]) -> list[tuple[Row, SendResult]]:
        """Each recipient's rows in order, the recipients at once. In rounds from this thread: the
        next row of every recipient, its first attempt multiplexed over up to `senders` of the LINE
        client's connections (`LineClient.first_attempts`); a row whose first attempt needs the
        retry policy (429, 5xx, a timeout or connection trouble) goes on, with the rest of its
        recipient's rows, on the sending threads, as every row does when the client has no wire of
        its own (`_send_group`)."""
        results: list[tuple[Row, SendResult]] = []
        retried: list[Future[list[tuple[Row, SendResult]]]] = []
        if not self.client.multiplexes:
            # No wire: the other recipients' rows on the sending threads, the first one's on this
            # thread meanwhile (one thread fewer to wake and wait for).
            head, *others = groups
            pool = self._executor()
            retried = [pool.submit(self._send_group, group) for group in others]
            results = self._send_group(head)
            return results + [pair for future in retried for pair in future.result()]
        queues = [deque(group) for group in groups]
        while queues:
            calls = [self._call(queue[0]) for queue in queues]
            firsts = self.client.first_attempts([call for call, _reply in calls], self.senders)
            going: list[deque[Row]] = []
            for queue, (call, reply), first in zip(queues, calls, firsts, strict=True):
                row = queue[0]
                if _retried(call, first[0]):
                    queue.popleft()
                    retried.append(
                        self._executor().submit(self._send_group, list(queue), (row, call, reply, first))
                    )
                    continue
                result = self._settle(row, reply, self.client.send(call, first=first))
                if result is not None:
                    results.append((row, result))
                    queue.popleft()
                if queue:
                    going.append(queue)
            queues = going
        for future in retried:
            results += future.result()
        return results

    def _send_group(
        self, rows: list[Row], started: tuple[Row, Send, bool, Attempt] | None = None
    ) -> list[tuple[Row, SendResult]]:
        """One recipient's rows one after another (on a sending thread); `started`: a row whose
        first attempt was made, to go on with before them."""
        results = []
        if started is not None:
            row, call, reply, first = started
            results.append((row, self._send(row, (call, reply, first))))
        results += [(row, self._send(row)) for row in rows]
        return results

    def _send(self, row: Row, started: tuple[Send, bool, Attempt] | None = None) -> SendResult:
        while True:
            if started is None:
                call, reply = self._call(row)
                result = self.client.send(call)
            else:
                (call, reply, first), started = started, None
                result = self.client.send(call, first=first)
            settled = self._settle(row, reply, result)
            if settled is not None:
                return settled

    def _call(self, row: Row) -> tuple[Send, bool]:
        """What to send for `row`, and whether it is a reply (with its token)."""
        # The day's reminders are stored compact (`messages.stored`): LINE gets them rendered.
        messages = expand(row.messages)
        if row.kind == OutboxKind.REPLY and row.reply_token:
            deadline = row.reply_deadline
            if deadline is not None and self.now() < deadline and row.attempts <= 1:
                # A row just written keeps its messages' JSON (`QueuedRow.messages_json`): the
                # request reuses it unless a stored entry was rendered.
                encoded = getattr(row, "messages_json", None)
                if encoded is not None and any(
                    a is not b for a, b in zip(messages, row.messages, strict=True)
                ):
                    encoded = None
                return reply_call(row.reply_token, messages, messages_json=encoded), True
            # Token expired, used, or this is a retry after a crash: fall back to a push.
            self._convert_to_push(row)
        if row.kind == OutboxKind.MULTICAST:
            return multicast_call(row.recipients, messages, retry_key=row.retry_key), False
        return push_call(row.recipients[0], messages, retry_key=row.retry_key), False

    def _settle(self, row: Row, reply: bool, result: SendResult) -> SendResult | None:
        """A send's outcome for the row; None when its reply token was refused: the row is a push
        now, to send again."""
        if reply:
            if result.status is SendStatus.INVALID_REPLY_TOKEN:
                self._convert_to_push(row)
                return None
            if result.status is SendStatus.TRANSIENT and result.error == "timeout":
                # It may have landed; a push could duplicate it, so report and stop.
                return SendResult(SendStatus.PERMANENT, error="reply timed out", attempts=result.attempts)
        return result

    @staticmethod
    def _convert_to_push(row: Row) -> None:
        # Recorded with the outcome: the row is a push from now on, retried with its own retry key.
        row.kind = OutboxKind.PUSH
        row.reply_token = None


def _retried(call: Send, first: SendResult) -> bool:
    """Whether the retry policy goes on after this first attempt (`LineClient.send`): a transient
    failure, but a reply's timeout (which may have landed)."""
    return first.status is SendStatus.TRANSIENT and not (call.retry_key is None and first.error == "timeout")


def _sent(row: Row, result: SendResult) -> SentOutcome:
    return SentOutcome(
        row=row,
        request_id=result.request_id,
        sent_ids=[(m.id, m.quote_token) for m in result.sent_messages],
        recipient=row.recipients[0] if len(row.recipients) == 1 else "multicast",
    )
