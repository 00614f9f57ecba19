"""The year-end evaluation in the database: the facts a Q4 report gives (each indicator's target and
reported result), storing the confirmed verdicts with the outcome and lessons, and each strategy's
success rate for a fiscal year."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from evaluation.yearend import (
    LESSONS,
    OUTCOME,
    IndicatorFacts,
    SuccessRate,
    Verdict,
    indicator_key,
    success_rates,
)
from messages.evaluation import verdict_label
from models.evaluation import IndicatorJudgement, ProjectEvaluation
from models.plan import Indicator, Project, ProjectStrategy, ReportingPeriod, Strategy
from models.reporting import latest_version
from models.reports import IndicatorResult, ProgressReport


@dataclass(frozen=True)
class YearEndFacts:
    report: ProgressReport
    project: Project
    indicators: list[IndicatorFacts]


def yearend_facts(session: Session, report_id: int) -> YearEndFacts | None:
    """What a Q4 report says of its project's indicators; None unless it is a submitted Q4 report."""
    report = session.get(ProgressReport, report_id)
    if report is None:
        return None
    period = session.get(ReportingPeriod, report.period_id)
    version = latest_version(session, report)
    project = session.get(Project, report.project_id)
    if period is None or period.quarter != 4 or version is None or project is None:
        return None
    results = {
        r.indicator_id: r.value
        for r in session.exec(select(IndicatorResult).where(IndicatorResult.version_id == version.id))
    }
    indicators = session.exec(
        select(Indicator)
        .where(Indicator.project_id == project.id)
        .order_by(col(Indicator.position), col(Indicator.id))
    )
    facts = [IndicatorFacts(i.id or 0, i.name, i.unit, i.target, results.get(i.id or 0)) for i in indicators]
    return YearEndFacts(report, project, facts)


def record_yearend(
    session: Session,
    facts: YearEndFacts,
    verdicts: list[Verdict],
    *,
    outcome: str,
    lessons: str,
    person_id: int,
    now: datetime,
) -> ProjectEvaluation:
    """Store (or replace) the project's year-end evaluation."""
    evaluation = session.exec(
        select(ProjectEvaluation).where(ProjectEvaluation.project_id == facts.project.id)
    ).first()
    if evaluation is None:
        evaluation = ProjectEvaluation(project_id=facts.project.id or 0, evaluated_at=now)
    evaluation.report_id = facts.report.id
    evaluation.all_achieved = bool(verdicts) and all(v.achieved for v in verdicts)
    evaluation.outcome, evaluation.lessons = outcome, lessons
    evaluation.evaluated_by_id, evaluation.evaluated_at = person_id, now
    session.add(evaluation)
    session.flush()
    for old in session.exec(
        select(IndicatorJudgement).where(IndicatorJudgement.evaluation_id == evaluation.id)
    ):
        session.delete(old)
    session.flush()
    by_id = {f.indicator_id: f for f in facts.indicators}
    for verdict in verdicts:
        indicator = by_id[verdict.indicator_id]
        session.add(
            IndicatorJudgement(
                evaluation_id=evaluation.id or 0,
                indicator_id=verdict.indicator_id,
                target=indicator.target,
                result=indicator.result,
                computed=verdict.computed,
                achieved=verdict.achieved,
                corrected=verdict.corrected,
            )
        )
    return evaluation


def strategy_success(session: Session, fiscal_year: int) -> list[tuple[Strategy, SuccessRate]]:
    """Each strategy with projects in the fiscal year: the share whose indicators were all achieved."""
    projects_of: dict[int, list[int]] = defaultdict(list)
    for strategy_id, project_id in session.exec(
        select(ProjectStrategy.strategy_id, ProjectStrategy.project_id)
        .join(Project, col(Project.id) == col(ProjectStrategy.project_id))
        .where(Project.fiscal_year == fiscal_year)
    ):
        projects_of[strategy_id].append(project_id)
    achieved = {
        e.project_id: e.all_achieved
        for e in session.exec(
            select(ProjectEvaluation)
            .join(Project, col(Project.id) == col(ProjectEvaluation.project_id))
            .where(Project.fiscal_year == fiscal_year)
        )
    }
    rates = success_rates(projects_of, achieved)
    strategies = {s.id: s for s in session.exec(select(Strategy).where(col(Strategy.id).in_(list(rates))))}
    return [(strategies[k], v) for k, v in sorted(rates.items()) if k in strategies]


def previous_answers(session: Session, facts: YearEndFacts) -> dict[str, object] | None:
    """The project's stored year-end evaluation as questionnaire answers (to revise it), if any."""
    evaluation = session.exec(
        select(ProjectEvaluation).where(ProjectEvaluation.project_id == facts.project.id)
    ).first()
    if evaluation is None:
        return None
    answers: dict[str, object] = {
        indicator_key(j.indicator_id): verdict_label(j.achieved)
        for j in session.exec(
            select(IndicatorJudgement).where(IndicatorJudgement.evaluation_id == evaluation.id)
        )
    }
    answers[OUTCOME], answers[LESSONS] = evaluation.outcome, evaluation.lessons
    return answers
