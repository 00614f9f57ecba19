"""The year-end evaluation of a project, pure: each indicator judged against its target, the short
questionnaire that shows the verdicts for the reporter to confirm or correct (then the outcome in a
sentence and the lessons learned), and a strategy's success rate.

An indicator is achieved when its result reaches its target (results and targets are in the
indicator's unit, higher is better, as the import's indicators are). Without a target or a result
nothing is computed and the reporter says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from evaluation.loader import from_dict
from evaluation.questionnaire import Questionnaire
from messages import evaluation as txt

OUTCOME = "outcome"
LESSONS = "lessons"


def indicator_key(indicator_id: int) -> str:
    return f"k{indicator_id}"


def judge(target: Decimal | None, result: Decimal | None) -> bool | None:
    """Achieved (the result reaches the target), not achieved, or None when either is missing."""
    if target is None or result is None:
        return None
    return result >= target


@dataclass(frozen=True)
class IndicatorFacts:
    indicator_id: int
    name: str
    unit: str
    target: Decimal | None
    result: Decimal | None

    @property
    def computed(self) -> bool | None:
        return judge(self.target, self.result)


def questionnaire_for(project_label: str, indicators: Sequence[IndicatorFacts]) -> Questionnaire:
    """The year-end questions of one project: a verdict per indicator (the computed one proposed),
    the outcome, the lessons learned."""
    questions: list[dict[str, Any]] = [
        {
            "key": indicator_key(facts.indicator_id),
            "kind": "choice",
            "text": txt.yearend_indicator_question(facts.name),
            "choices": list(txt.VERDICTS),
            "detail": txt.yearend_indicator_detail(facts.target, facts.result, facts.unit, facts.computed),
            "suggested": txt.verdict_label(facts.computed) if facts.computed is not None else None,
        }
        for facts in indicators
    ]
    questions += [
        {"key": OUTCOME, "kind": "text", "text": txt.YEAREND_OUTCOME_QUESTION, "max_length": 1000},
        {"key": LESSONS, "kind": "text", "text": txt.YEAREND_LESSONS_QUESTION, "max_length": 2000},
    ]
    return from_dict({"title": txt.yearend_title(project_label), "questions": questions})


@dataclass(frozen=True)
class Verdict:
    indicator_id: int
    computed: bool | None
    achieved: bool

    @property
    def corrected(self) -> bool:
        return self.computed is not None and self.computed != self.achieved


def verdicts(indicators: Sequence[IndicatorFacts], answers: Mapping[str, Any]) -> list[Verdict]:
    return [
        Verdict(f.indicator_id, f.computed, txt.verdict_value(answers.get(indicator_key(f.indicator_id))))
        for f in indicators
    ]


@dataclass(frozen=True)
class SuccessRate:
    """A strategy's projects, how many were evaluated, how many had every indicator achieved."""

    projects: int
    evaluated: int
    achieved: int

    @property
    def rate(self) -> Decimal | None:
        """Achieved over all the strategy's projects (an unevaluated project has not shown success)."""
        if not self.projects:
            return None
        return (Decimal(self.achieved) * 100 / self.projects).quantize(Decimal("0.01"))


def success_rates(
    projects_of: Mapping[Any, Iterable[int]], all_achieved: Mapping[int, bool]
) -> dict[Any, SuccessRate]:
    """Each strategy's success rate from its projects and each evaluated project's all-achieved flag."""
    rates: dict[Any, SuccessRate] = {}
    for strategy, project_ids in projects_of.items():
        ids = set(project_ids)
        evaluated = [p for p in ids if p in all_achieved]
        rates[strategy] = SuccessRate(len(ids), len(evaluated), sum(1 for p in evaluated if all_achieved[p]))
    return rates
