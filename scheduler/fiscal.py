"""The Thai government fiscal year and its quarters.

A fiscal year runs 1 October to 30 September and is named by the Buddhist Era year in which it ends:
fiscal year 2570 = 1 Oct 2026 – 30 Sep 2027. Quarters: Q1 Oct–Dec, Q2 Jan–Mar, Q3 Apr–Jun, Q4 Jul–Sep.
Fiscal years here are always BE integers; dates are ordinary (CE) ``datetime.date`` values.
Thai labels for these ("ไตรมาส 1/2570") live in ``messages.thai_dates``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

__all__ = [
    "BE_OFFSET",
    "FiscalQuarter",
    "be_year",
    "ce_year",
    "fiscal_year_bounds",
    "fiscal_year_of",
    "quarter_containing",
    "quarter_of",
    "quarters_of",
]

BE_OFFSET = 543
FISCAL_YEAR_START_MONTH = 10


def be_year(ce: int) -> int:
    """The Buddhist Era year of a CE year: 2027 → 2570."""
    return ce + BE_OFFSET


def ce_year(be: int) -> int:
    """The CE year of a Buddhist Era year: 2570 → 2027."""
    return be - BE_OFFSET


def fiscal_year_of(d: date) -> int:
    """The fiscal year (BE) containing ``d``: 30 Sep 2026 → 2569, 1 Oct 2026 → 2570."""
    return be_year(d.year + 1 if d.month >= FISCAL_YEAR_START_MONTH else d.year)


def quarter_of(d: date) -> int:
    """The fiscal quarter (1–4) containing ``d``: Oct–Dec → 1, Jan–Mar → 2, Apr–Jun → 3, Jul–Sep → 4."""
    return (d.month + 2) % 12 // 3 + 1


def fiscal_year_bounds(fy: int) -> tuple[date, date]:
    """First and last day (inclusive) of fiscal year ``fy`` (BE)."""
    end_ce = ce_year(fy)
    return date(end_ce - 1, 10, 1), date(end_ce, 9, 30)


@dataclass(frozen=True, order=True)
class FiscalQuarter:
    """One quarter of a fiscal year: ``FiscalQuarter(2570, 1)`` is 1 Oct 2026 – 31 Dec 2026."""

    fiscal_year: int
    quarter: int

    def __post_init__(self) -> None:
        if not 1 <= self.quarter <= 4:
            raise ValueError(f"quarter must be 1..4, not {self.quarter}")

    @property
    def _first_month_ce(self) -> tuple[int, int]:
        """(CE year, month) of the quarter's first month."""
        end_ce = ce_year(self.fiscal_year)
        if self.quarter == 1:
            return end_ce - 1, 10
        return end_ce, 3 * (self.quarter - 2) + 1

    @property
    def start(self) -> date:
        """The quarter's first day."""
        year, month = self._first_month_ce
        return date(year, month, 1)

    @property
    def end(self) -> date:
        """The quarter's last day (inclusive)."""
        year, month = self._first_month_ce
        last_month = month + 2
        return date(year, last_month, calendar.monthrange(year, last_month)[1])

    def contains(self, d: date) -> bool:
        """Whether ``d`` lies within the quarter."""
        return self.start <= d <= self.end

    def next(self) -> FiscalQuarter:
        """The following quarter (Q4 → Q1 of the next fiscal year)."""
        if self.quarter == 4:
            return FiscalQuarter(self.fiscal_year + 1, 1)
        return FiscalQuarter(self.fiscal_year, self.quarter + 1)

    def previous(self) -> FiscalQuarter:
        """The preceding quarter (Q1 → Q4 of the previous fiscal year)."""
        if self.quarter == 1:
            return FiscalQuarter(self.fiscal_year - 1, 4)
        return FiscalQuarter(self.fiscal_year, self.quarter - 1)


def quarter_containing(d: date) -> FiscalQuarter:
    """The fiscal quarter containing ``d``."""
    return FiscalQuarter(fiscal_year_of(d), quarter_of(d))


def quarters_of(fy: int) -> tuple[FiscalQuarter, FiscalQuarter, FiscalQuarter, FiscalQuarter]:
    """The four quarters of fiscal year ``fy``, in order."""
    return (FiscalQuarter(fy, 1), FiscalQuarter(fy, 2), FiscalQuarter(fy, 3), FiscalQuarter(fy, 4))
