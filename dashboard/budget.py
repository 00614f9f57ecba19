"""Budget and results: disbursement against the cabinet's quarterly targets, and indicator achievement,
for the whole scope and per area strategy or per office — each figure one aggregate SQL statement.

Disbursement of a quarter is what its reports say (`budget_disbursed_satang` is cumulative); a
project without a report that quarter counts as nothing disbursed. An indicator's achievement is its
result over its target, capped at 100 %; indicators without a target are left out. A project linked to
several area strategies is counted under the first (lowest id) of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from dashboard.queries import Period
from dashboard.scope import Scope
from models.dashboard import DisbursementTarget
from models.org import Office
from models.plan import Indicator, Project, ProjectStrategy, Strategy
from models.reports import IndicatorResult, ProgressReport, ReportVersion
from models.types import ProjectStatus, StrategyLevel

# Used until the planning group enters the year's own (cumulative % at each quarter's end); the cabinet
# sets them each year: these are the overall targets of recent years.
DEFAULT_TARGETS = {1: Decimal(32), 2: Decimal(54), 3: Decimal(77), 4: Decimal(100)}
TOP_OFFICES = 20
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def targets_of(session: Session, fiscal_year: int) -> dict[int, Decimal]:
    """The year's cumulative disbursement target per quarter (%), defaults where none is set."""
    found = {
        t.quarter: Decimal(str(t.target_pct))
        for t in session.exec(select(DisbursementTarget).where(DisbursementTarget.fiscal_year == fiscal_year))
    }
    return {q: found.get(q, DEFAULT_TARGETS[q]) for q in (1, 2, 3, 4)}


def targets_are_set(session: Session, fiscal_year: int) -> bool:
    statement = select(DisbursementTarget).where(DisbursementTarget.fiscal_year == fiscal_year)
    return session.exec(statement).first() is not None


def set_targets(session: Session, fiscal_year: int, targets: dict[int, Decimal], now: datetime) -> None:
    for quarter, pct in targets.items():
        row = session.get(DisbursementTarget, (fiscal_year, quarter))
        if row is None:
            row = DisbursementTarget(fiscal_year=fiscal_year, quarter=quarter, target_pct=pct, updated_at=now)
        row.target_pct, row.updated_at = pct, now
        session.add(row)


def pct(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Figures:
    label: str
    projects: int
    budget_satang: int
    disbursed_satang: int
    indicators: int  # with a target
    indicators_met: int
    achievement_sum: Decimal  # of each indicator's capped ratio

    @property
    def disbursed_pct(self) -> Decimal | None:
        return pct(self.disbursed_satang, self.budget_satang)

    @property
    def achievement_pct(self) -> Decimal | None:
        return pct(self.achievement_sum, self.indicators)


def first_area_strategy() -> Any:
    return (
        select(
            col(ProjectStrategy.project_id).label("project_id"),
            sa.func.min(ProjectStrategy.strategy_id).label("strategy_id"),
        )
        .join(Strategy, col(Strategy.id) == col(ProjectStrategy.strategy_id))
        .where(col(Strategy.level) == StrategyLevel.AREA.value)
        .group_by(col(ProjectStrategy.project_id))
        .subquery("area_link")
    )


def _base(period: Period, scope: Scope, *group: Any) -> Any:
    """Projects of the year in scope, with the period's current version; grouped by `group`."""
    statement = (
        select(*group)
        .select_from(Project)
        .outerjoin(
            ProgressReport,
            sa.and_(
                col(ProgressReport.project_id) == col(Project.id), col(ProgressReport.period_id) == period.id
            ),
        )
        .outerjoin(
            ReportVersion,
            sa.and_(
                col(ReportVersion.report_id) == col(ProgressReport.id),
                col(ReportVersion.version) == col(ProgressReport.current_version),
            ),
        )
        .where(
            col(Project.fiscal_year) == period.fiscal_year, col(Project.status) == ProjectStatus.ACTIVE.value
        )
    )
    return scope.restrict(statement, col(Project.office_id))


def _money(
    session: Session, period: Period, scope: Scope, key: Any, joins: Any
) -> dict[Any, tuple[int, int, int]]:
    statement = joins(
        _base(
            period,
            scope,
            key.label("key"),
            sa.func.count(col(Project.id)),
            sa.func.coalesce(sa.func.sum(col(Project.budget_satang)), 0),
            sa.func.coalesce(sa.func.sum(col(ReportVersion.budget_disbursed_satang)), 0),
        )
    ).group_by(key)
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in session.execute(statement)}


def _indicators(
    session: Session, period: Period, scope: Scope, key: Any, joins: Any
) -> dict[Any, tuple[int, int, Decimal]]:
    value, target = col(IndicatorResult.value), col(Indicator.target)
    ratio = sa.case(
        (value >= target, sa.literal(1.0)), else_=sa.cast(value, sa.Float) / sa.cast(target, sa.Float)
    )
    statement = joins(
        _base(
            period,
            scope,
            key.label("key"),
            sa.func.count(col(Indicator.id)),
            sa.func.coalesce(sa.func.sum(sa.case((value >= target, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((value.is_(None), 0.0), else_=ratio)), 0),
        )
        .join(Indicator, col(Indicator.project_id) == col(Project.id))
        .outerjoin(
            IndicatorResult,
            sa.and_(
                col(IndicatorResult.indicator_id) == col(Indicator.id),
                col(IndicatorResult.version_id) == col(ReportVersion.id),
            ),
        )
        .where(target > 0)
    ).group_by(key)
    return {
        r[0]: (int(r[1]), int(r[2]), Decimal(str(r[3])).quantize(Decimal("0.0001")))
        for r in session.execute(statement)
    }


def _figures(
    session: Session, period: Period, scope: Scope, key: Any, joins: Any, labels: dict[Any, str]
) -> list[Figures]:
    money = _money(session, period, scope, key, joins)
    indicators = _indicators(session, period, scope, key, joins)
    result = []
    for k, (projects, budget, disbursed) in money.items():
        count, met, achieved = indicators.get(k, (0, 0, Decimal(0)))
        result.append(Figures(labels.get(k, ""), projects, budget, disbursed, count, met, achieved))
    return result


def overall(session: Session, period: Period, scope: Scope) -> Figures:
    found = _figures(session, period, scope, sa.literal(1), lambda s: s, {1: ""})
    return found[0] if found else Figures("", 0, 0, 0, 0, 0, Decimal(0))


def by_strategy(session: Session, period: Period, scope: Scope, *, unlinked: str) -> list[Figures]:
    link = first_area_strategy()
    labels: dict[Any, str] = {
        s.id: f"{s.code} {s.title}"
        for s in session.exec(select(Strategy).where(Strategy.level == StrategyLevel.AREA))
    }
    labels[None] = unlinked
    rows = _figures(
        session,
        period,
        scope,
        link.c.strategy_id,
        lambda s: s.outerjoin(link, link.c.project_id == col(Project.id)),
        labels,
    )
    return sorted(rows, key=lambda f: (f.label == unlinked, f.label))


def by_office(session: Session, period: Period, scope: Scope) -> list[Figures]:
    """The offices with the largest budgets (at most TOP_OFFICES), largest first."""
    key = col(Project.office_id)
    money = _money(session, period, scope, key, lambda s: s)
    top = sorted(money, key=lambda k: -money[k][1])[:TOP_OFFICES]
    names = {i: n for i, n in session.execute(select(Office.id, Office.name).where(col(Office.id).in_(top)))}
    rows = _figures(session, period, scope, key, lambda s: s.where(key.in_(top)), names)
    return sorted(rows, key=lambda f: -f.budget_satang)


@dataclass(frozen=True)
class QuarterPoint:
    quarter: int
    target_pct: Decimal
    disbursed_pct: Decimal | None  # None: the quarter has not started
    disbursed_satang: int


def quarter_series(session: Session, periods: list[Period], scope: Scope, today: Any) -> list[QuarterPoint]:
    """Disbursement at each quarter of the year against its target."""
    if not periods:
        return []
    targets = targets_of(session, periods[0].fiscal_year)
    points = []
    for period in periods:
        if period.starts_on > today:
            points.append(QuarterPoint(period.quarter, targets[period.quarter], None, 0))
            continue
        figures = overall(session, period, scope)
        points.append(
            QuarterPoint(
                period.quarter, targets[period.quarter], figures.disbursed_pct, figures.disbursed_satang
            )
        )
    return points
