"""The dispatcher: drains the outbox through ``bot.delivery.Deliverer``, batch after batch.

Claims are compare-and-set (and FOR UPDATE SKIP LOCKED on PostgreSQL), so any number of dispatchers
in any number of replicas share the work without sending a row twice. Each row is sent with its own
UUID as ``X-Line-Retry-Key``: a row whose send was cut short by a crash is sent again after its claim
lapses (or at once, when the same dispatcher restarts and releases its own claims), and LINE answers
the repeat with 409, which counts as sent.

Nothing is sent in quiet hours. Rows deferred because the monthly quota was spent are put back in
the queue when the month turns. Held rows (approval requests, decision notices waiting for a free
reply or the daily tick) that neither took by their time are released and sent as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery import Deliverer, DeliveryReport
from models import OutboxMessage
from models.outbox import release_held
from models.types import OutboxStatus
from scheduler.clock import Clock
from scheduler.rules import Delivery

__all__ = ["DispatchTotals", "Dispatcher"]

log = logging.getLogger(__name__)
_outbox: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass
class DispatchTotals:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    batches: int = 0

    def add(self, report: DeliveryReport) -> None:
        self.sent += report.sent
        self.failed += report.failed
        self.retrying += report.retrying
        self.batches += 1


class Dispatcher:
    """Sends what is due in the outbox; ``drain`` for one pass, ``run`` as a loop."""

    def __init__(
        self,
        engine: Engine,
        deliverer: Deliverer,
        clock: Clock,
        tz: ZoneInfo,
        delivery: Delivery | None = None,
        *,
        batch: int = 100,
    ) -> None:
        self.engine = engine
        self.deliverer = deliverer
        self.clock = clock
        self.tz = tz
        self.delivery = delivery or Delivery()
        self.batch = batch

    @property
    def holder(self) -> str:
        return self.deliverer.holder

    def release_own_claims(self) -> int:
        """Put rows claimed under this dispatcher's name back in the queue. Call only at start-up, when
        no other process uses the same name: the previous process with this name has died."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(_outbox)
                .where(_outbox.c.status == OutboxStatus.SENDING.value, _outbox.c.claimed_by == self.holder)
                .values(status=OutboxStatus.PENDING.value, claimed_until=None)
            )
        count = int(result.rowcount or 0)
        if count:
            log.info("released %d outbox rows claimed by %s before a restart", count, self.holder)
        return count

    def revive_deferred(self) -> int:
        """Rows deferred for the monthly quota go back in the queue once the (local) month has turned."""
        local = self.clock.now().astimezone(self.tz)
        month_start = datetime.combine(local.date().replace(day=1), time(0), tzinfo=self.tz).astimezone(UTC)
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(_outbox)
                .where(
                    _outbox.c.status == OutboxStatus.DEFERRED.value, _outbox.c.next_attempt_at < month_start
                )
                .values(status=OutboxStatus.PENDING.value, next_attempt_at=month_start)
            )
        return int(result.rowcount or 0)

    def quiet_now(self) -> bool:
        return self.delivery.is_quiet(self.clock.now().astimezone(self.tz).time())

    def drain(self, *, max_batches: int | None = None) -> DispatchTotals:
        """Send due rows batch by batch until none is due (or ``max_batches``); nothing in quiet hours."""
        totals = DispatchTotals()
        if self.quiet_now():
            return totals
        self.revive_deferred()
        with self.engine.begin() as conn:
            release_held(conn, self.clock.now())
        while max_batches is None or totals.batches < max_batches:
            report = self.deliverer.deliver_due(limit=self.batch)
            if report.sent + report.failed + report.retrying == 0:
                break
            totals.add(report)
        return totals

    async def run(self, stop: asyncio.Event, *, interval: float = 5.0) -> None:
        """Drain every ``interval`` seconds until ``stop`` is set; database and HTTP work in a thread."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.drain)
            except Exception:  # a failing pass is logged; the next one retries
                log.exception("dispatcher pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
