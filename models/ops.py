"""Operational records: the audit log, office holiday overrides, scheduler runs and leases, worker
heartbeats, and the service clock's offset when it has been moved."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import BigIntPK, HolidayKind, UTCDateTime


class AuditLog(SQLModel, table=True):
    """Who did what to which record, when, and through which channel. Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    actor: str = Field(max_length=64)  # "line", "cli", "scheduler", "import"
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class OfficeHoliday(SQLModel, table=True):
    """An office's own calendar change: an extra day off, or a public holiday it works anyway.

    `office_id` empty means every office of this installation.
    """

    __tablename__ = "office_holiday"
    __table_args__ = (sa.UniqueConstraint("office_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int | None = Field(default=None, foreign_key="office.id")
    day: date
    kind: HolidayKind = Field(default=HolidayKind.HOLIDAY, sa_type=sa.String(16))
    name: str = Field(default="", max_length=255)


class SchedulerRun(SQLModel, table=True):
    """One run of a scheduled job for one local date; the unique key makes a tick run once."""

    __tablename__ = "scheduler_run"
    __table_args__ = (sa.UniqueConstraint("job", "run_on"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    run_on: date
    status: str = Field(default="running", max_length=16)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class WorkerHeartbeat(SQLModel, table=True):
    """A worker process's last sign of life (`/readyz` tells whether one is alive)."""

    __tablename__ = "worker_heartbeat"

    holder: str = Field(max_length=64, primary_key=True)  # host:pid
    started_at: datetime = Field(sa_type=UTCDateTime)
    beat_at: datetime = Field(sa_type=UTCDateTime, index=True)


class Lease(SQLModel, table=True):
    """A named lease held by one replica until it expires (ticks, dispatch); portable to SQLite."""

    name: str = Field(max_length=64, primary_key=True)
    holder: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class ServiceClock(SQLModel, table=True):
    """Where the service's clock was moved to (a demo, a simulation): at most one row, shared by every
    process on the database. Its time is the system time plus ``offset_us``; without a row the clock
    runs on the system time, or from TIDTAM_NOW (scheduler/clock.py)."""

    __tablename__ = "service_clock"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: int = Field(default=1, primary_key=True)
    offset_us: int = Field(sa_type=sa.BigInteger)  # microseconds added to the system time
    moved_to: datetime = Field(sa_type=UTCDateTime)  # the service's time right after the move
    moved_at: datetime = Field(sa_type=UTCDateTime)  # the system time of the move
