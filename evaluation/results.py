"""A campaign's results, pure: response rate (overall and by office), each question's distribution,
mean and median of ratings and numbers, and the text answers. The dashboard and the annual report
call `models.campaigns.campaign_results`, which feeds this module from the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from statistics import median
from typing import Any

from evaluation.questionnaire import RATING_VALUES, Question, QuestionKind, Questionnaire

_TWO_PLACES = Decimal("0.01")


def percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class OfficeRate:
    code: str
    name: str
    recipients: int
    answered: int

    @property
    def rate(self) -> Decimal | None:
        return percent(self.answered, self.recipients)


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    answered: int  # people who answered it (a skipped or not-applicable question is not counted)
    distribution: tuple[tuple[str, int], ...] = ()  # rating values, choices: label and count
    mean: Decimal | None = None
    median: Decimal | None = None
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Results:
    title: str
    recipients: int
    answered: int
    by_office: tuple[OfficeRate, ...]
    questions: tuple[QuestionResult, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> Decimal | None:
        return percent(self.answered, self.recipients)


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _average(values: Sequence[Decimal]) -> tuple[Decimal | None, Decimal | None]:
    if not values:
        return None, None
    mean = (sum(values, Decimal(0)) / len(values)).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)
    return mean, _decimal(median(values)).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)


def question_result(question: Question, answers: Sequence[Mapping[str, Any]]) -> QuestionResult:
    given = [a[question.key] for a in answers if a.get(question.key) not in (None, "", [])]
    kind = question.kind
    if kind is QuestionKind.RATING:
        values = [int(v) for v in given]
        mean, middle = _average([Decimal(v) for v in values])
        counts = tuple((str(r), values.count(r)) for r in sorted(RATING_VALUES))
        return QuestionResult(question, len(given), counts, mean, middle)
    if kind is QuestionKind.CHOICE:
        return QuestionResult(question, len(given), tuple((c, given.count(c)) for c in question.choices))
    if kind is QuestionKind.MULTI:
        counts = tuple((c, sum(1 for v in given if c in v)) for c in question.choices)
        return QuestionResult(question, len(given), counts)
    if kind is QuestionKind.NUMBER:
        mean, middle = _average([_decimal(v) for v in given])
        return QuestionResult(question, len(given), (), mean, middle)
    return QuestionResult(question, len(given), texts=tuple(str(v) for v in given))


def summarize(
    questionnaire: Questionnaire,
    answers: Sequence[Mapping[str, Any]],
    by_office: Sequence[OfficeRate],
) -> Results:
    return Results(
        title=questionnaire.title,
        recipients=sum(o.recipients for o in by_office),
        answered=sum(o.answered for o in by_office),
        by_office=tuple(by_office),
        questions=tuple(question_result(q, answers) for q in questionnaire.questions),
    )
