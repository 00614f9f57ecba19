"""The webhook event store: record on acknowledge, process later, exactly once, in order per source."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.db import sqlite_write_lock
from models.messaging import WebhookEvent
from models.types import EventStatus


@dataclass(frozen=True)
class IncomingEvent:
    webhook_event_id: str
    source_key: str
    event_type: str
    is_redelivery: bool
    payload: str


def incoming_from_raw(raw: dict[str, Any]) -> IncomingEvent:
    """Pick out the keys we index an event by; the raw JSON is kept whole."""
    source = raw.get("source") or {}
    source_key = source.get("groupId") or source.get("roomId") or source.get("userId") or "-"
    delivery = raw.get("deliveryContext") or {}
    return IncomingEvent(
        webhook_event_id=str(raw.get("webhookEventId") or ""),
        source_key=str(source_key),
        event_type=str(raw.get("type") or "unknown"),
        is_redelivery=bool(delivery.get("isRedelivery", False)),
        payload=json.dumps(raw, ensure_ascii=False, separators=(",", ":")),
    )


class EventStore:
    """Appends acknowledged webhook events: the webhook's hot path, kept lean on purpose.

    One prepared INSERT … ON CONFLICT DO NOTHING, executed for a whole batch on one long-lived DB-API
    connection and committed once; the unique webhookEventId makes a replay or redelivery a no-op. It
    bypasses the ORM (several times its cost per row here) but not the model: columns, types and
    their bind conversions come from the `WebhookEvent` table. Not thread-safe: one writer thread
    owns it.
    """

    COLUMNS = (
        "webhook_event_id",
        "source_key",
        "event_type",
        "is_redelivery",
        "payload",
        "status",
        "attempts",
    )
    LOCKED_RETRY_SECONDS = 10.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect
        table = WebhookEvent.__table__  # type: ignore[attr-defined]
        names = (*self.COLUMNS, "received_at")
        placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([placeholder] * len(names))}) "
            "ON CONFLICT (webhook_event_id) DO NOTHING"
        )
        self._bind = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
        self._is_sqlite = dialect.name == "sqlite"
        self._lock = sqlite_write_lock(engine)
        self._connection: Any = None

    def append(self, events: list[IncomingEvent], received_at: datetime) -> int:
        """Store events not seen before, in one transaction; returns how many were new."""
        values = [
            (
                e.webhook_event_id,
                e.source_key,
                e.event_type,
                e.is_redelivery,
                e.payload,
                EventStatus.PENDING.value,
                0,
            )
            for e in events
            if e.webhook_event_id
        ]
        if not values:
            return 0
        stamp = received_at
        rows = [
            tuple(
                bind(value) if bind else value for bind, value in zip(self._bind, (*row, stamp), strict=True)
            )
            for row in values
        ]
        deadline = time.monotonic() + self.LOCKED_RETRY_SECONDS
        reconnected = False
        while True:
            try:
                return self._write(rows)
            except self.engine.dialect.loaded_dbapi.Error as error:
                if self._is_sqlite and "locked" in str(error) and time.monotonic() < deadline:
                    # Another process holds SQLite's write lock: retry in 1 ms steps rather than
                    # SQLite's own sleeps of up to 100 ms, which would be the acknowledgement's tail.
                    time.sleep(0.001)
                    continue
                self._discard()
                if not self._is_sqlite and not reconnected:
                    reconnected = True  # a connection the server dropped while idle: once more, afresh
                    continue
                raise

    def _write(self, rows: list[tuple[Any, ...]]) -> int:
        if self._connection is None:
            self._connection = self.engine.raw_connection()
        connection = self._connection
        lock = self._lock
        if lock is not None and not lock.acquire(timeout=30):
            raise TimeoutError("the SQLite write lock stayed taken")
        try:
            cursor = connection.cursor()
            try:
                cursor.executemany(self.sql, rows)
                added = cursor.rowcount
            finally:
                cursor.close()
            connection.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                connection.rollback()
            raise
        finally:
            if lock is not None:
                lock.release()
        return max(0, added) if added is not None else 0

    def _discard(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()
            self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


def pending_events(session: Session, *, limit: int = 500) -> list[WebhookEvent]:
    statement = (
        select(WebhookEvent)
        .where(WebhookEvent.status == EventStatus.PENDING)
        .order_by(col(WebhookEvent.id))
        .limit(limit)
    )
    return list(session.exec(statement))


def mark_event_done(session: Session, event_id: int, at: datetime) -> None:
    session.execute(
        sa.update(WebhookEvent)
        .where(col(WebhookEvent.id) == event_id)
        .values(status=EventStatus.DONE, processed_at=at, attempts=WebhookEvent.attempts + 1)
    )


def mark_event_failed(session: Session, event_id: int, at: datetime, error: str) -> None:
    session.execute(
        sa.update(WebhookEvent)
        .where(col(WebhookEvent.id) == event_id)
        .values(
            status=EventStatus.FAILED, processed_at=at, error=error[:2000], attempts=WebhookEvent.attempts + 1
        )
    )
