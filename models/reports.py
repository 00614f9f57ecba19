"""Quarterly progress reports (every version kept), indicator results, evidence photos, decisions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import (
    BigIntPK,
    DecisionChannel,
    DecisionOutcome,
    ImplementationStatus,
    ReportStatus,
    UTCDateTime,
)


class ProgressReport(SQLModel, table=True):
    """One project's report for one reporting period; its content lives in `ReportVersion` rows."""

    __tablename__ = "progress_report"
    __table_args__ = (sa.UniqueConstraint("project_id", "period_id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    period_id: int = Field(foreign_key="reporting_period.id", index=True)
    status: ReportStatus = Field(default=ReportStatus.DRAFT, sa_type=sa.String(16), index=True)
    current_version: int = Field(default=0)
    # Answers of a report being written and not yet submitted (kept when the form is cancelled).
    draft: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    draft_by_id: int | None = Field(default=None, foreign_key="person.id")
    draft_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ReportVersion(SQLModel, table=True):
    """An immutable snapshot of a report as submitted (or a draft, while it is being written)."""

    __tablename__ = "report_version"
    __table_args__ = (sa.UniqueConstraint("report_id", "version"),)

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    report_id: int = Field(foreign_key="progress_report.id", index=True)
    version: int
    status: ReportStatus = Field(sa_type=sa.String(16))
    implementation_status: ImplementationStatus = Field(sa_type=sa.String(16))
    status_reason: str = Field(default="", sa_type=sa.Text)  # why cancelled or postponed
    progress_pct: Decimal = Field(default=Decimal(0), max_digits=5, decimal_places=2)
    budget_disbursed_satang: int = Field(default=0, sa_type=sa.BigInteger)
    activities: str = Field(default="", sa_type=sa.Text)
    problems: str = Field(default="", sa_type=sa.Text)
    suggestions: str = Field(default="", sa_type=sa.Text)
    submitted_by_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class IndicatorResult(SQLModel, table=True):
    """An indicator's result in one report version, in the indicator's unit."""

    __tablename__ = "indicator_result"
    __table_args__ = (sa.UniqueConstraint("version_id", "indicator_id"),)

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    version_id: int = Field(sa_type=sa.BigInteger, foreign_key="report_version.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    value: Decimal | None = Field(default=None, max_digits=20, decimal_places=4)
    note: str = Field(default="", sa_type=sa.Text)


class EvidencePhoto(SQLModel, table=True):
    """A photo received from LINE and stored under the media directory (path relative to it)."""

    __tablename__ = "evidence_photo"

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    report_id: int = Field(foreign_key="progress_report.id", index=True)
    version_id: int | None = Field(
        default=None, sa_type=sa.BigInteger, foreign_key="report_version.id", index=True
    )
    uploaded_by_id: int | None = Field(default=None, foreign_key="person.id")
    line_message_id: str | None = Field(default=None, max_length=64)
    path: str = Field(max_length=500)
    content_type: str = Field(max_length=64)
    size_bytes: int
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ApprovalDecision(SQLModel, table=True):
    """A final decision on one report version at one level (1: director; 2: planning verification).

    The unique key makes a second decision on the same version impossible at the database level.
    """

    __tablename__ = "approval_decision"
    __table_args__ = (sa.UniqueConstraint("version_id", "level"),)

    id: int | None = Field(default=None, sa_type=BigIntPK, primary_key=True)
    report_id: int = Field(foreign_key="progress_report.id", index=True)
    version_id: int = Field(sa_type=sa.BigInteger, foreign_key="report_version.id")
    level: int = Field(default=1)
    outcome: DecisionOutcome = Field(sa_type=sa.String(16))
    decided_by_id: int = Field(foreign_key="person.id", index=True)
    on_behalf_of_id: int | None = Field(default=None, foreign_key="person.id")
    channel: DecisionChannel = Field(sa_type=sa.String(16))
    reason: str = Field(default="", sa_type=sa.Text)
    decided_at: datetime = Field(sa_type=UTCDateTime)
