"""The webhook event store: record on acknowledge, process later, exactly once, in order per source."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.messaging import WebhookEvent
from models.types import EventStatus
from models.upsert import insert_ignore


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


def record_events(session: Session, events: list[IncomingEvent], received_at: datetime) -> int:
    """Store events not seen before (a redelivery or replay is skipped); returns how many were new."""
    rows = [
        {
            "webhook_event_id": e.webhook_event_id,
            "source_key": e.source_key,
            "event_type": e.event_type,
            "is_redelivery": e.is_redelivery,
            "payload": e.payload,
            "status": EventStatus.PENDING.value,
            "attempts": 0,
            "received_at": received_at,
        }
        for e in events
        if e.webhook_event_id
    ]
    table = WebhookEvent.__table__  # type: ignore[attr-defined]
    return insert_ignore(session, table, rows, ["webhook_event_id"])


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
        .values(status=EventStatus.FAILED, processed_at=at, error=error[:2000], attempts=WebhookEvent.attempts + 1)
    )
