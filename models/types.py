"""Column types and value vocabularies shared by the tables.

Stored datetimes are always timezone-aware UTC. SQLite has no timezone support, so `UTCDateTime`
stores naive UTC there and hands back aware values; on PostgreSQL it is `timestamptz`.
Enumerations are stored as short strings (no native database enums: adding a value must not need a
type migration on PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# BIGINT primary keys do not autoincrement on SQLite; INTEGER there is a 64-bit rowid anyway.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive values are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC values only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class OfficeKind(StrEnum):
    AREA_OFFICE = "area_office"
    GROUP = "group"
    SCHOOL = "school"


class Role(StrEnum):
    REPORTER = "reporter"
    APPROVER = "approver"
    PLANNER = "planner"
    MONITORING_HEAD = "monitoring_head"  # head of monitoring (หัวหน้ากลุ่มงานติดตามฯ), a planner too
    ADMIN = "admin"
    OBSERVER = "observer"


class Reachability(StrEnum):
    UNLINKED = "unlinked"
    FOLLOWING = "following"
    BLOCKED = "blocked"


class StrategyLevel(StrEnum):
    NATIONAL = "national"
    MASTER_PLAN = "master_plan"
    OBEC = "obec"
    AREA = "area"


class IndicatorKind(StrEnum):
    OUTPUT = "output"
    OUTCOME = "outcome"


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class ReportStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class ImplementationStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # cancelled or postponed, with a reason


class DecisionOutcome(StrEnum):
    APPROVED = "approved"
    RETURNED = "returned"


class DecisionChannel(StrEnum):
    BUTTON = "button"
    QUOTE_REPLY = "quote_reply"
    TEXT = "text"
    BULK = "bulk"
    CLI = "cli"


class OutboxKind(StrEnum):
    REPLY = "reply"  # free; falls back to a push when the reply token has expired
    PUSH = "push"
    MULTICAST = "multicast"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # permanent: not retried (blocked, not a friend, bad request)
    DEFERRED = "deferred"  # quota exhausted: waits for the month to turn
    HELD = "held"  # waits for a free reply or the daily tick (not sent by itself before `not_before`)
    MERGED = "merged"  # rode on a reply, or was folded into a daily message (`merged_into`)


class EventStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class LinkPurpose(StrEnum):
    PERSON = "person"
    PLANNING_GROUP = "planning_group"


class ChatType(StrEnum):
    GROUP = "group"
    ROOM = "room"


class HolidayKind(StrEnum):
    HOLIDAY = "holiday"  # an extra day off for the office
    WORKING_DAY = "working_day"  # a public holiday the office works anyway
