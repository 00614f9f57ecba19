"""Evaluation results in the workspace (process B): the campaigns with their status and response rate,
one campaign's per-question results, the strategies' success rates and the year-end figures of a
fiscal year. The figures come from the evaluation core (`models.campaigns.campaign_results`,
`models.yearend.strategy_success`); this module only gathers them for a page or the annual report,
a fixed number of statements whatever the number of campaigns or projects.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from evaluation.results import percent
from models.evaluation import Campaign, CampaignRecipient, IndicatorJudgement, ProjectEvaluation
from models.plan import Project
from scheduler.campaigns import evaluated_fiscal_year

TEXTS_SHOWN = 200  # a question's text answers listed on its page (the workbook has them all)


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    recipients: int
    answered: int
    fiscal_year: int  # the year it evaluates

    @property
    def rate(self) -> Decimal | None:
        return percent(self.answered, self.recipients)


def campaign_rows(session: Session, fiscal_year: int | None = None) -> list[CampaignRow]:
    """Every campaign (newest first), or those evaluating `fiscal_year`, with its response counts."""
    counts = {
        int(i): (int(n), int(a))
        for i, n, a in session.execute(
            select(
                CampaignRecipient.campaign_id,
                sa.func.count(),
                sa.func.count(col(CampaignRecipient.answered_at)),
            ).group_by(col(CampaignRecipient.campaign_id))
        )
    }
    rows = [
        CampaignRow(c, *counts.get(c.id or 0, (0, 0)), evaluated_fiscal_year(c.opens_on))
        for c in session.exec(
            select(Campaign).order_by(col(Campaign.opens_on).desc(), col(Campaign.id).desc())
        )
    ]
    return [r for r in rows if fiscal_year is None or r.fiscal_year == fiscal_year]


@dataclass(frozen=True)
class YearEnd:
    """A fiscal year's year-end project evaluations (the Q4 questionnaire's answers)."""

    projects: int  # active projects of the year
    evaluated: int
    all_achieved: int
    indicators: int  # indicator verdicts given
    indicators_achieved: int
    corrected: int  # verdicts the reporter changed from the computed one

    @property
    def evaluated_pct(self) -> Decimal | None:
        return percent(self.evaluated, self.projects)

    @property
    def achieved_pct(self) -> Decimal | None:
        return percent(self.all_achieved, self.evaluated)

    @property
    def indicators_pct(self) -> Decimal | None:
        return percent(self.indicators_achieved, self.indicators)


def yearend(session: Session, fiscal_year: int) -> YearEnd:
    from models.types import ProjectStatus

    of_year = sa.and_(col(Project.fiscal_year) == fiscal_year)
    projects = session.execute(
        select(sa.func.count()).where(of_year, col(Project.status) == ProjectStatus.ACTIVE.value)
    ).scalar_one()
    evaluated, achieved = session.execute(
        select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((col(ProjectEvaluation.all_achieved), 1), else_=0)), 0),
        )
        .join(Project, col(Project.id) == col(ProjectEvaluation.project_id))
        .where(of_year)
    ).one()
    judged, judged_achieved, corrected = session.execute(
        select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((col(IndicatorJudgement.achieved), 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((col(IndicatorJudgement.corrected), 1), else_=0)), 0),
        )
        .join(ProjectEvaluation, col(ProjectEvaluation.id) == col(IndicatorJudgement.evaluation_id))
        .join(Project, col(Project.id) == col(ProjectEvaluation.project_id))
        .where(of_year)
    ).one()
    return YearEnd(
        int(projects), int(evaluated), int(achieved), int(judged), int(judged_achieved), int(corrected)
    )


@dataclass(frozen=True)
class StrategyRate:
    code: str
    title: str
    level: str
    projects: int
    evaluated: int
    achieved: int
    rate: Decimal | None


def strategy_rates(session: Session, fiscal_year: int) -> list[StrategyRate]:
    from models.yearend import strategy_success

    return sorted(
        (
            StrategyRate(s.code, s.title, str(s.level), r.projects, r.evaluated, r.achieved, r.rate)
            for s, r in strategy_success(session, fiscal_year)
        ),
        key=lambda r: r.code,
    )


@dataclass(frozen=True)
class Evaluation:
    """What the annual report prints of a fiscal year's evaluation."""

    campaigns: list[tuple[CampaignRow, Any]]  # each campaign evaluating the year, with its results
    strategies: list[StrategyRate]
    yearend: YearEnd


def of_year(session: Session, fiscal_year: int) -> Evaluation:
    from models.campaigns import campaign_results

    rows = campaign_rows(session, fiscal_year)
    return Evaluation(
        [(r, campaign_results(session, r.campaign.id or 0)) for r in rows],
        strategy_rates(session, fiscal_year),
        yearend(session, fiscal_year),
    )
