"""The plan: fiscal years, the strategy tree, projects with owners and indicators, reporting periods."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.types import IndicatorKind, ProjectStatus, StrategyLevel, UTCDateTime


class FiscalYear(SQLModel, table=True):
    """A Thai fiscal year, named by the Buddhist Era year in which it ends (2570 = Oct 2026–Sep 2027)."""

    __tablename__ = "fiscal_year"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    starts_on: date
    ends_on: date


class Strategy(SQLModel, table=True):
    """A node of the plan hierarchy: national strategy → master plan → OBEC policy → area strategy."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    level: StrategyLevel = Field(sa_type=sa.String(16))
    title: str = Field(max_length=500)
    parent_id: int | None = Field(default=None, foreign_key="strategy.id", index=True)


class Project(SQLModel, table=True):
    """A project of one fiscal year. Budget is integer satang: exact, never a float."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    fiscal_year: int = Field(foreign_key="fiscal_year.year", index=True)
    name: str = Field(max_length=500)
    office_id: int = Field(foreign_key="office.id", index=True)
    approver_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    budget_satang: int = Field(default=0, sa_type=sa.BigInteger)
    starts_on: date | None = None
    ends_on: date | None = None
    emenscr_id: str | None = Field(default=None, max_length=64)
    status: ProjectStatus = Field(default=ProjectStatus.ACTIVE, sa_type=sa.String(16))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProjectOwner(SQLModel, table=True):
    """A person responsible for a project (ผู้รับผิดชอบโครงการ); `position` keeps the listed order."""

    __tablename__ = "project_owner"

    project_id: int = Field(foreign_key="project.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    position: int = Field(default=0)


class ProjectStrategy(SQLModel, table=True):
    """Linkage of a project to a node of the strategy tree (the manual's value-chain step)."""

    __tablename__ = "project_strategy"

    project_id: int = Field(foreign_key="project.id", primary_key=True)
    strategy_id: int = Field(foreign_key="strategy.id", primary_key=True, index=True)


class Indicator(SQLModel, table=True):
    """A project's indicator (ตัวชี้วัด) with its target (ค่าเป้าหมาย) in its unit."""

    __table_args__ = (sa.UniqueConstraint("project_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    code: str = Field(max_length=40)
    name: str = Field(max_length=500)
    unit: str = Field(default="", max_length=64)
    target: Decimal | None = Field(default=None, max_digits=20, decimal_places=4)
    kind: IndicatorKind = Field(default=IndicatorKind.OUTPUT, sa_type=sa.String(16))
    position: int = Field(default=0)


class ReportingPeriod(SQLModel, table=True):
    """A quarter of a fiscal year that is reported on, with its due date."""

    __tablename__ = "reporting_period"
    __table_args__ = (sa.UniqueConstraint("fiscal_year", "quarter"),)

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(foreign_key="fiscal_year.year")
    quarter: int
    starts_on: date
    ends_on: date
    due_on: date
