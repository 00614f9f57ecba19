"""A questionnaire compiled to a declaration of the one form engine (`bot/forms`), pure.

Each question becomes a `Field`: a rating a CHOICE of 5…1 with its Thai label, a choice a CHOICE of its
texts, a multi a MULTI, a number a NUMBER whose check applies the minimum and maximum, a text a
LONG_TEXT whose check applies its length limit; a `when:` condition becomes `Field.when` through
`evaluation/conditions.py`, evaluated on the answers as the questionnaire stores them. A suggested
answer (the year-end verdicts) becomes the field's default, kept with one tap. `stored()` turns the
engine's answers back into the questionnaire's (ratings as numbers, skipped questions left out), so
results, campaigns and the year-end records read exactly what they read before.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bot.forms.engine import SKIPPED
from bot.forms.spec import Choice, Confirm, Field, Form, FormData, Item, Kind
from evaluation.codes import Code
from evaluation.questionnaire import RATING_VALUES, Question, QuestionKind, Questionnaire
from messages import evaluation as txt
from messages.errors import InputError

_KINDS = {
    QuestionKind.RATING: Kind.CHOICE,
    QuestionKind.CHOICE: Kind.CHOICE,
    QuestionKind.MULTI: Kind.MULTI,
    QuestionKind.NUMBER: Kind.NUMBER,
    QuestionKind.TEXT: Kind.LONG_TEXT,
}


def form_name(questionnaire: Questionnaire) -> str:
    return f"questionnaire:{questionnaire.name}" if questionnaire.name else "questionnaire"


def to_form(questionnaire: Questionnaire) -> Form:
    """The questionnaire as a form the engine runs; its build-time checks apply as to any form."""
    return Form(
        name=form_name(questionnaire),
        title=questionnaire.title,
        fields=tuple(_field(questionnaire, q) for q in questionnaire.questions),
        help_text=questionnaire.intro,
        back_reasks=True,
        cancel_pauses=True,
    )


def stored(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's answers as the questionnaire stores them: a rating as its number, a skipped or
    inapplicable question left out, in the questionnaire's order."""
    plain: dict[str, Any] = {}
    for q in questionnaire.questions:
        if q.key not in answers or answers[q.key] == SKIPPED:
            continue
        plain[q.key] = _stored_value(q, answers[q.key])
    return questionnaire.pruned(plain)


def _stored_value(q: Question, value: Any) -> Any:
    if q.kind is QuestionKind.RATING:
        return int(value)
    if q.kind is QuestionKind.NUMBER:
        return number_text(Decimal(str(value)))
    if q.kind is QuestionKind.TEXT and isinstance(value, str):
        return " ".join(value.split()) if "\n" not in value else value.strip()  # as the engine kept it
    return value


def engine_answers(
    questionnaire: Questionnaire, answers: Mapping[str, Any], *, submitted: bool = False
) -> dict[str, Any]:
    """The questionnaire's stored answers (a draft, or a submitted answer: an optional question left
    empty was skipped, not forgotten) as the engine holds them."""
    kept = questionnaire.pruned(answers)
    held: dict[str, Any] = {}
    for q in questionnaire.questions:
        if q.key in kept:
            held[q.key] = _engine_value(q, kept[q.key])
        elif submitted and not q.required and q.applies(kept):
            held[q.key] = dict(SKIPPED)
    return held


def _field(questionnaire: Questionnaire, q: Question) -> Field:
    def applies(answers: Mapping[str, Any], _data: FormData) -> bool:
        return q.applies(stored(questionnaire, answers))

    def prompt(_answers: Mapping[str, Any], _data: FormData, _item: Item | None) -> str:
        return f"{q.text}\n{q.detail}" if q.detail else q.text

    def default(_answers: Mapping[str, Any], _data: FormData, _item: Item | None) -> Any:
        return _engine_value(q, q.suggested)

    return Field(
        name=q.key,
        kind=_KINDS[q.kind],
        label=q.text,
        prompt=prompt,
        optional=not q.required,
        when=applies if q.condition is not None else None,
        choices=_choices(q)
        if q.kind in (QuestionKind.RATING, QuestionKind.CHOICE, QuestionKind.MULTI)
        else None,
        default=default if q.suggested is not None else None,
        check=_check(q),
        unit=q.unit,
        max_length=q.max_length if q.kind is QuestionKind.TEXT else 0,
        depends_on=(),
    )


def _engine_value(q: Question, value: Any) -> Any:
    return str(value) if q.kind is QuestionKind.RATING and value is not None else value


def _choices(q: Question) -> Any:
    if q.kind is QuestionKind.RATING:
        options = tuple(
            Choice(str(v), f"{v} {txt.RATING_LABELS[v]}", keywords=(txt.RATING_LABELS[v],))
            for v in sorted(RATING_VALUES)  # ascending, so that typing 4 (its number in the list) means 4
        )
    else:
        options = tuple(Choice(c, c) for c in q.choices)
    return lambda _answers, _data: options


def _check(q: Question) -> Any:
    if q.kind is QuestionKind.NUMBER and (q.minimum is not None or q.maximum is not None):

        def within(value: Any, _answers: Any, _data: Any, _item: Any) -> Confirm | None:
            number = Decimal(str(value))  # the engine stores parsed numbers only
            if q.minimum is not None and number < q.minimum:
                raise InputError(txt.correction_line(Code.TOO_SMALL, number_text(q.minimum)), "")
            if q.maximum is not None and number > q.maximum:
                raise InputError(txt.correction_line(Code.TOO_BIG, number_text(q.maximum)), "")
            return None

        return within
    if q.kind is QuestionKind.TEXT:

        def short_enough(value: Any, _answers: Any, _data: Any, _item: Any) -> Confirm | None:
            if len(str(value)) > q.max_length:
                raise InputError(txt.correction_line(Code.TOO_LONG, str(q.max_length)), "")
            return None

        return short_enough
    return None


def number_text(number: Decimal) -> str:
    normalized = number.normalize()
    return format(normalized, "f") if normalized == normalized.to_integral() else str(normalized)
