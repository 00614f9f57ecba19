"""The validated rows of each sheet, and the problems found on the way.

Rows are named tuples (small, and a 300,000-row sheet must stay cheap); references are kept as codes
until the importer resolves them to ids. A value that could not be read is None in its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from messages import workbook as text


class OfficeRow(NamedTuple):
    row: int
    code: str
    name: str
    kind: str
    parent_code: str | None

    def state(self) -> tuple[object, ...]:
        return (self.name, self.kind, self.parent_code)


class PersonRow(NamedTuple):
    row: int
    code: str
    full_name: str
    position: str
    office_code: str
    roles: str

    def state(self) -> tuple[object, ...]:
        return (self.full_name, self.position, self.office_code, self.roles)


class StrategyRow(NamedTuple):
    row: int
    code: str
    level: str
    title: str
    parent_code: str | None

    def state(self) -> tuple[object, ...]:
        return (self.level, self.title, self.parent_code)


class ProjectRow(NamedTuple):
    row: int
    code: str
    fiscal_year: int
    name: str
    office_code: str
    owner_codes: tuple[str, ...]
    approver_code: str | None
    budget_satang: int
    strategy_codes: tuple[str, ...]
    starts_on: date | None
    ends_on: date | None
    emenscr_id: str | None

    def state(self) -> tuple[object, ...]:
        return (
            self.fiscal_year,
            self.name,
            self.office_code,
            self.approver_code,
            self.budget_satang,
            self.starts_on,
            self.ends_on,
            self.emenscr_id,
            self.owner_codes,
            frozenset(self.strategy_codes),
        )


class IndicatorRow(NamedTuple):
    row: int
    project_code: str
    code: str
    name: str
    unit: str
    target: Decimal | None
    kind: str
    position: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.project_code, self.code)

    def state(self) -> tuple[object, ...]:
        return (self.name, self.unit, self.target, self.kind, self.position)


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth checking) in the workbook, located as the user sees it."""

    sheet: str
    row: int | None
    column: str | None
    value: object
    message: str
    is_error: bool = True

    def __str__(self) -> str:
        return text.format_problem(
            sheet=self.sheet,
            row=self.row,
            column=self.column,
            value=self.value,
            message=self.message,
            is_error=self.is_error,
        )


@dataclass
class Parsed:
    """Everything read from a workbook: rows by sheet (first occurrence of each code) and problems."""

    offices: dict[str, OfficeRow]
    people: dict[str, PersonRow]
    strategies: dict[str, StrategyRow]
    projects: dict[str, ProjectRow]
    indicators: dict[tuple[str, str], IndicatorRow]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]
