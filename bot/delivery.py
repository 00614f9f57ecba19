"""Delivering outbox rows through LINE, exactly once.

A row is claimed (status `sending`, with a lease), sent outside any transaction, and its outcome is
written back. Pushes and multicasts carry the row's UUID as `X-Line-Retry-Key`, so a retry after a crash
is answered 409 by LINE instead of being delivered twice. A reply whose token expired (or was refused)
becomes a push with the same retry key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.line_client import LineClient, SendResult, SendStatus
from models.db import session_scope
from models.messaging import OutboxMessage
from models.outbox import claim_due_messages, record_failure, record_sent
from models.types import OutboxKind, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CLAIM_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0


class Deliverer:
    """Sends claimed outbox rows; shared by the webhook processor and the scheduler's dispatcher."""

    def __init__(self, engine: Engine, client: LineClient, now: Callable[[], datetime], holder: str) -> None:
        self.engine = engine
        self.client = client
        self.now = now
        self.holder = holder

    def deliver_due(self, *, limit: int = 100, event_id: int | None = None) -> DeliveryReport:
        with session_scope(self.engine) as session:
            rows = claim_due_messages(
                session, now=self.now(), holder=self.holder, lease=CLAIM_LEASE, limit=limit, event_id=event_id
            )
        return self.deliver_claimed(rows)

    def deliver_claimed(self, rows: list[OutboxMessage]) -> DeliveryReport:
        """Send rows this dispatcher has claimed and record each outcome."""
        sent = failed = retrying = 0
        for row in rows:
            outcome = self._deliver(row)
            if outcome is OutboxStatus.SENT:
                sent += 1
            elif outcome is OutboxStatus.PENDING:
                retrying += 1
            else:
                failed += 1
        return DeliveryReport(sent, failed, retrying)

    def _deliver(self, row: OutboxMessage) -> OutboxStatus:
        return self._record(row, self._send(row))

    def _record(self, row: OutboxMessage, result: SendResult) -> OutboxStatus:
        now = self.now()
        # A plain connection, not an ORM session: the outcome is two prebuilt statements and a commit,
        # written after every reply.
        with self.engine.begin() as conn:
            if result.delivered:
                recipient = row.recipients[0] if len(row.recipients) == 1 else "multicast"
                record_sent(
                    conn,
                    row,
                    now=now,
                    request_id=result.request_id,
                    sent_ids=[(m.id, m.quote_token) for m in result.sent_messages],
                    recipient=recipient,
                )
                status = OutboxStatus.SENT
            elif result.status is SendStatus.QUOTA_EXHAUSTED:
                record_failure(
                    conn, row, status=OutboxStatus.DEFERRED, error=result.error or "", retry_at=None
                )
                status = OutboxStatus.DEFERRED
            elif result.status is SendStatus.TRANSIENT and row.attempts < MAX_ATTEMPTS:
                delay = timedelta(seconds=min(3600, 15 * 2 ** (row.attempts - 1)))
                record_failure(
                    conn, row, status=OutboxStatus.PENDING, error=result.error or "", retry_at=now + delay
                )
                status = OutboxStatus.PENDING
            else:
                record_failure(conn, row, status=OutboxStatus.FAILED, error=result.error or "", retry_at=None)
                status = OutboxStatus.FAILED
        if status is not OutboxStatus.SENT:
            log.warning("outbox row %s: %s (%s)", row.id, status.value, result.error)
        return status

    def _send(self, row: OutboxMessage) -> SendResult:
        if row.kind == OutboxKind.REPLY and row.reply_token:
            deadline = row.reply_deadline
            if deadline is not None and self.now() < deadline and row.attempts <= 1:
                result = self.client.reply(row.reply_token, row.messages)
                if result.status is not SendStatus.INVALID_REPLY_TOKEN:
                    if result.status is SendStatus.TRANSIENT and result.error == "timeout":
                        # It may have landed; a push could duplicate it, so report and stop.
                        return SendResult(
                            SendStatus.PERMANENT, error="reply timed out", attempts=result.attempts
                        )
                    return result
            # Token expired, used, or this is a retry after a crash: fall back to a push.
            self._convert_to_push(row)
        if row.kind == OutboxKind.MULTICAST:
            return self.client.multicast(row.recipients, row.messages, retry_key=row.retry_key)
        return self.client.push(row.recipients[0], row.messages, retry_key=row.retry_key)

    @staticmethod
    def _convert_to_push(row: OutboxMessage) -> None:
        # Recorded with the outcome: the row is a push from now on, retried with its own retry key.
        row.kind = OutboxKind.PUSH
        row.reply_token = None
