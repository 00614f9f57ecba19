"""Evaluation's tables: campaigns (a questionnaire sent to a set of people between two dates), who
they went to, the answers (one per person per campaign, revisable until it closes), and the year-end
judgement of each project against its indicators.

An anonymous campaign's answers carry no person: each is keyed by an HMAC of the person's id under the
campaign's own random salt, so the person can find and revise their answer while it is open; the salt
is erased when the campaign closes, and with it the only way back from an answer to a person.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class CampaignStatus(StrEnum):
    SCHEDULED = "scheduled"  # opens on a later day
    OPEN = "open"
    CLOSED = "closed"


class Campaign(SQLModel, table=True):
    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=500)
    form_name: str = Field(default="", max_length=128)  # the file it came from (its stem)
    form: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # the questionnaire, as sent
    anonymous: bool = Field(default=False)
    target: str = Field(max_length=128)  # as given: a role, an office code, strategy:CODE
    scope_office_id: int | None = Field(default=None, foreign_key="office.id")
    opens_on: date
    closes_on: date  # answers are taken through this day (local)
    remind_on: date | None = None  # the reminder to those who have not answered goes from this day on
    status: CampaignStatus = Field(default=CampaignStatus.SCHEDULED, sa_type=sa.String(16), index=True)
    salt: str | None = Field(default=None, max_length=64)  # anonymous campaigns, until closed
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CampaignRecipient(SQLModel, table=True):
    """A person a campaign goes to; whether they were invited, reminded, and have answered."""

    __tablename__ = "campaign_recipient"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    office_id: int = Field(foreign_key="office.id")
    invited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Answers of an unfinished questionnaire the person paused (cleared on submit and on close).
    draft: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class CampaignAnswer(SQLModel, table=True):
    """One person's answers to one campaign (no person when the campaign is anonymous)."""

    __tablename__ = "campaign_answer"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "respondent_key"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    respondent_key: str = Field(max_length=64)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    revision: int = Field(default=1)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProjectEvaluation(SQLModel, table=True):
    """A project's year-end evaluation, made with its Q4 report: outcome, lessons, indicator verdicts."""

    __tablename__ = "project_evaluation"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", unique=True)
    report_id: int | None = Field(default=None, foreign_key="progress_report.id")
    all_achieved: bool = Field(default=False)
    outcome: str = Field(default="", sa_type=sa.Text)
    lessons: str = Field(default="", sa_type=sa.Text)
    evaluated_by_id: int | None = Field(default=None, foreign_key="person.id")
    evaluated_at: datetime = Field(sa_type=UTCDateTime)


class IndicatorJudgement(SQLModel, table=True):
    """One indicator's verdict at year end: what was computed from target and result, what the
    reporter confirmed (or corrected it to)."""

    __tablename__ = "indicator_judgement"
    __table_args__ = (sa.UniqueConstraint("evaluation_id", "indicator_id"),)

    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int = Field(foreign_key="project_evaluation.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id")
    target: Decimal | None = Field(default=None, max_digits=20, decimal_places=4)
    result: Decimal | None = Field(default=None, max_digits=20, decimal_places=4)
    computed: bool | None = None  # None: nothing to compute from (no target or no result)
    achieved: bool
    corrected: bool = Field(default=False)  # the reporter changed the computed verdict
