"""What an import would change: per sheet, the rows to create, the rows to update, and how many are
already as the workbook says. Pure: ``Parsed`` and ``Existing`` in, ``ImportPlan`` out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scheduler.fiscal import quarters_of
from tidtam.workbook.columns import SHEET_ORDER
from tidtam.workbook.existing import Existing
from tidtam.workbook.records import Parsed


@dataclass
class SheetPlan:
    """Rows of one sheet by what will happen to them; updates carry the stored row's id."""

    create: list[Any] = field(default_factory=list)
    update: list[tuple[int, Any]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def created_codes(self) -> list[str]:
        return [_code(r) for r in self.create]

    @property
    def updated_codes(self) -> list[str]:
        return [_code(r) for _, r in self.update]


def _code(record: Any) -> str:
    key = getattr(record, "key", None)
    return f"{key[0]}/{key[1]}" if key else record.code


@dataclass
class ImportPlan:
    sheets: dict[str, SheetPlan]
    fiscal_years: list[int]  # fiscal years to create (with their four reporting periods)
    periods: list[tuple[int, int]]  # (fiscal year, quarter) reporting periods to create

    @property
    def changes_anything(self) -> bool:
        return bool(self.fiscal_years or self.periods) or any(
            s.create or s.update for s in self.sheets.values()
        )

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            name: {"created": len(s.create), "updated": len(s.update), "unchanged": s.unchanged}
            for name, s in self.sheets.items()
        }


def _diff(rows: Mapping[Any, Any], stored: Mapping[Any, tuple[Any, ...]], hashed: bool = False) -> SheetPlan:
    plan = SheetPlan()
    for key, record in rows.items():
        found = stored.get(key)
        if found is None:
            plan.create.append(record)
        elif found[1] != (hash(record.state()) if hashed else record.state()):
            plan.update.append((found[0], record))
        else:
            plan.unchanged += 1
    return plan


def make_plan(parsed: Parsed, existing: Existing) -> ImportPlan:
    sources = {
        "offices": (parsed.offices, existing.offices),
        "people": (parsed.people, existing.people),
        "strategies": (parsed.strategies, existing.strategies),
        "projects": (parsed.projects, existing.projects),
        "indicators": (parsed.indicators, existing.indicators),
    }
    hashed = {"projects", "indicators"}  # see ``existing``: only their states' hashes are loaded
    sheets = {name: _diff(*sources[name], hashed=name in hashed) for name in SHEET_ORDER}
    years = sorted({p.fiscal_year for p in parsed.projects.values()})
    periods = [(q.fiscal_year, q.quarter) for y in years for q in quarters_of(y)]
    return ImportPlan(
        sheets=sheets,
        fiscal_years=[y for y in years if y not in existing.fiscal_years],
        periods=[p for p in periods if p not in existing.periods],
    )
