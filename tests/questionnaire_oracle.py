"""The questionnaire engine as it was before the port to the one form engine, kept as the reference model
that `tests/test_evaluation_compile.py` checks the compiled forms against. Not product code.

The questionnaire conversation as a pure function: (questionnaire, saved state, input) → (new
state, replies, effects). No database, no LINE, no clock: `bot/evaluation.py` wraps it.

The state is plain JSON (it lives in the conversation store): the answers so far, which questions are
done (answered or skipped), the question being asked, and a sequence number that every question and
review carries on its buttons, so a tap on an old message is recognised and the current question is
asked again. A condition only looks back, so "the next question" is always the first applicable one
that is not done; editing an answer from the review simply un-does that question, and any question a
new answer switches on is asked before the review comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from evaluation.codes import Code, Mode, Op

# The replies, inputs and effects are the product's own types: the oracle differs only in how it steps.
from evaluation.engine import (
    Ask,
    Correction,
    Input,
    Paused,
    PickEdit,
    Reply,
    Review,
    SaveDraft,
    Step,
    Submit,
    Tap,
    Text,
)
from evaluation.questionnaire import RATING_VALUES, Question, QuestionKind, Questionnaire
from messages.errors import InputError
from messages.evaluation import rating_from_word
from messages.thai_numbers import normalize_digits, parse_number

STATE_VERSION = 1
__all__ = ["Code", "Mode", "Op"]  # re-exported: callers speak of engine.Op


def start(
    form: Questionnaire,
    *,
    answers: Mapping[str, Any] | None = None,
    submitted: bool = False,
    base: Mapping[str, Any] | None = None,
) -> Step:
    """Begin, or resume with earlier answers: a draft goes on at its first unanswered question; a
    submitted answer (`submitted`: an optional question left empty was skipped, not forgotten) opens
    on the review, for the person to pick what to change."""
    kept = form.pruned(answers or {})
    done = [q.key for q in form.applicable(kept)] if submitted else list(kept)
    state: dict[str, Any] = {
        **(base or {}),
        "v": STATE_VERSION,
        "mode": Mode.ASK.value,
        "cursor": None,
        "answers": kept,
        "done": done,
        "picked": [],
        "seq": 0,
    }
    return _advance(form, state)


def resume(form: Questionnaire, state: Mapping[str, Any], correction: Correction | None = None) -> Step:
    """Show again whatever is waiting (after the person did something else in the chat)."""
    current = dict(state)
    return Step(current, [_render(form, current, correction)])


# --- one input --------------------------------------------------------------------------------------


def step(form: Questionnaire, state: Mapping[str, Any], given: Input) -> Step:
    current = _copy(state)
    if isinstance(given, Tap) and given.seq is not None and given.seq != current["seq"]:
        return Step(current, [_render(form, current, Correction(Code.STALE))])
    if isinstance(given, Tap) and given.op is Op.CANCEL:
        answers = form.pruned(current["answers"])
        return Step(None, [Paused()], [SaveDraft(answers)])
    if isinstance(given, Tap) and given.op is Op.HELP:
        return Step(current, [_render(form, current, Correction(Code.HELP))])
    mode = Mode(current["mode"])
    if mode is Mode.REVIEW:
        return _in_review(form, current, given)
    if mode is Mode.PICK_EDIT:
        return _in_pick(form, current, given)
    return _in_question(form, current, given)


def _copy(state: Mapping[str, Any]) -> dict[str, Any]:
    copied = dict(state)
    copied["answers"] = dict(state.get("answers") or {})
    copied["done"] = list(state.get("done") or [])
    copied["picked"] = list(state.get("picked") or [])
    return copied


def _in_review(form: Questionnaire, state: dict[str, Any], given: Input) -> Step:
    if isinstance(given, Tap) and given.op is Op.SUBMIT:
        return Step(None, [], [Submit(form.pruned(state["answers"]))])
    if isinstance(given, Tap) and given.op is Op.EDIT:
        state["mode"] = Mode.PICK_EDIT.value
        return _show(form, state)
    if isinstance(given, Tap) and given.op is Op.BACK:
        return _back(form, state)
    if isinstance(given, Tap) and given.op is Op.EDIT_KEY:
        return _edit(form, state, given.value)
    return Step(state, [_render(form, state, Correction(Code.REVIEW_HINT))])


def _in_pick(form: Questionnaire, state: dict[str, Any], given: Input) -> Step:
    value = given.value if isinstance(given, Tap) and given.op is Op.EDIT_KEY else None
    if isinstance(given, Text):
        value = normalize_digits(given.text).strip()
    if isinstance(given, Tap) and given.op in (Op.BACK, Op.SUBMIT):
        state["mode"] = Mode.REVIEW.value
        return _show(form, state)
    if value is None:
        return Step(state, [_render(form, state, Correction(Code.PICK_HINT))])
    return _edit(form, state, value)


def _edit(form: Questionnaire, state: dict[str, Any], number: str) -> Step:
    applicable = form.applicable(state["answers"])
    index = int(number) - 1 if number.isascii() and number.isdigit() else -1
    if not 0 <= index < len(applicable):
        state["mode"] = Mode.PICK_EDIT.value
        return Step(state, [_render(form, state, Correction(Code.PICK_HINT))])
    key = applicable[index].key
    state["done"] = [k for k in state["done"] if k != key]
    state["mode"] = Mode.ASK.value
    state["cursor"] = key
    state["picked"] = []
    return _show(form, state)


def _in_question(form: Questionnaire, state: dict[str, Any], given: Input) -> Step:
    question = form.question(state["cursor"])
    if isinstance(given, Tap):
        if given.op is Op.BACK:
            return _back(form, state)
        if given.op is Op.SKIP:
            if question.required:
                return _again(form, state, Correction(Code.REQUIRED))
            state["answers"].pop(question.key, None)
            return _accept(form, state, question, None)
        if given.op is Op.KEEP:
            current = _current(question, state)
            if current is None:
                return _again(form, state, Correction(Code.NOTHING_TO_KEEP))
            return _accept(form, state, question, current)
        if given.op is Op.TOGGLE and question.kind is QuestionKind.MULTI:
            return _toggle(form, state, question, given.value)
        if given.op is Op.DONE and question.kind is QuestionKind.MULTI:
            if not state["picked"] and question.required:
                return _again(form, state, Correction(Code.MULTI_EMPTY))
            picked = [c for c in question.choices if c in state["picked"]]
            return _accept(form, state, question, picked or None)
        if given.op is Op.ANSWER:
            text = given.value
        else:
            return _again(form, state)
    else:
        text = given.text
    try:
        value = parse_answer(question, text)
    except AnswerError as error:
        return _again(form, state, error.correction)
    return _accept(form, state, question, value)


def _toggle(form: Questionnaire, state: dict[str, Any], question: Question, number: str) -> Step:
    index = int(number) - 1 if number.isascii() and number.isdigit() else -1
    if not 0 <= index < len(question.choices):
        return _again(form, state, Correction(Code.MULTI))
    choice = question.choices[index]
    picked = state["picked"]
    state["picked"] = [c for c in picked if c != choice] if choice in picked else [*picked, choice]
    state["seq"] += 1
    return Step(state, [_render(form, state)])


def _accept(form: Questionnaire, state: dict[str, Any], question: Question, value: Any) -> Step:
    if value is None:
        state["answers"].pop(question.key, None)
    else:
        state["answers"][question.key] = value
    if question.key not in state["done"]:
        state["done"].append(question.key)
    state["picked"] = []
    state["answers"] = form.pruned(state["answers"])
    applicable = {q.key for q in form.applicable(state["answers"])}
    state["done"] = [k for k in state["done"] if k in applicable]
    step = _advance(form, state)
    step.effects.append(SaveDraft(dict(state["answers"])))
    return step


def _back(form: Questionnaire, state: dict[str, Any]) -> Step:
    applicable = form.applicable(state["answers"])
    keys = [q.key for q in applicable]
    if Mode(state["mode"]) is Mode.ASK and state["cursor"] in keys:
        position = keys.index(state["cursor"])
    else:
        position = len(keys)
    if position == 0:
        return _again(form, state, Correction(Code.FIRST_QUESTION))
    previous = keys[position - 1]
    state["done"] = [k for k in state["done"] if k != previous]
    state["mode"], state["cursor"], state["picked"] = Mode.ASK.value, previous, []
    return _show(form, state)


def _advance(form: Questionnaire, state: dict[str, Any]) -> Step:
    for question in form.applicable(state["answers"]):
        if question.key not in state["done"]:
            state["mode"], state["cursor"] = Mode.ASK.value, question.key
            if question.kind is QuestionKind.MULTI and isinstance(state["answers"].get(question.key), list):
                state["picked"] = list(state["answers"][question.key])
            return _show(form, state)
    state["mode"], state["cursor"] = Mode.REVIEW.value, None
    return _show(form, state)


def _show(form: Questionnaire, state: dict[str, Any]) -> Step:
    state["seq"] += 1
    return Step(state, [_render(form, state)])


def _again(form: Questionnaire, state: dict[str, Any], correction: Correction | None = None) -> Step:
    return Step(state, [_render(form, state, correction)])


def _current(question: Question, state: Mapping[str, Any]) -> Any:
    answers = state.get("answers") or {}
    return answers.get(question.key, question.suggested)


def _render(form: Questionnaire, state: Mapping[str, Any], correction: Correction | None = None) -> Reply:
    mode = Mode(state["mode"])
    answers = state.get("answers") or {}
    if mode is Mode.REVIEW:
        return Review(form, form.pruned(answers), state["seq"], correction)
    applicable = form.applicable(answers)
    if mode is Mode.PICK_EDIT:
        return PickEdit(tuple(applicable), state["seq"], correction)
    question = form.question(state["cursor"])
    keys = [q.key for q in applicable]
    number = keys.index(question.key) + 1 if question.key in keys else len(keys)
    return Ask(
        question=question,
        number=number,
        total=len(applicable),
        seq=state["seq"],
        current=_current(question, state),
        picked=tuple(state.get("picked") or ()),
        can_go_back=number > 1,
        correction=correction,
    )


# --- reading a typed answer ---------------------------------------------------------------------------


class AnswerError(ValueError):
    def __init__(self, correction: Correction) -> None:
        super().__init__(correction.code.value)
        self.correction = correction


def _plain(text: str) -> str:
    return " ".join(normalize_digits(text).split()).strip().casefold()


def _choice_index(question: Question, typed: str) -> int | None:
    """A choice by its number, its exact text, or a part of it that names only one choice."""
    if typed.isascii() and typed.isdigit():
        index = int(typed) - 1
        return index if 0 <= index < len(question.choices) else None
    folded = [c.casefold() for c in question.choices]
    if typed in folded:
        return folded.index(typed)
    partial = [i for i, c in enumerate(folded) if typed and typed in c]
    return partial[0] if len(partial) == 1 else None


def parse_answer(question: Question, text: str) -> Any:
    """The typed (or tapped) answer as stored: an int rating, a choice's text, a list of choices, a
    number as a string (exact), or text. `AnswerError` with a correction when it cannot be taken."""
    typed = _plain(text)
    kind = question.kind
    if kind is QuestionKind.RATING:
        rating = rating_from_word(typed)
        if rating is None and typed.isascii() and typed.isdigit() and int(typed) in RATING_VALUES:
            rating = int(typed)
        if rating is None:
            raise AnswerError(Correction(Code.RATING))
        return rating
    if kind is QuestionKind.CHOICE:
        index = _choice_index(question, typed)
        if index is None:
            raise AnswerError(Correction(Code.CHOICE))
        return question.choices[index]
    if kind is QuestionKind.MULTI:
        parts = [p for p in typed.replace("และ", ",").replace(" ", ",").split(",") if p]
        indexes = [_choice_index(question, p) for p in parts]
        if len(parts) > 1 and any(i is None for i in indexes):
            whole = _choice_index(question, typed)  # a choice whose text has spaces
            indexes = [whole] if whole is not None else indexes
        if not indexes or any(i is None for i in indexes):
            raise AnswerError(Correction(Code.MULTI))
        chosen = {question.choices[i] for i in indexes if i is not None}
        return [c for c in question.choices if c in chosen]
    if kind is QuestionKind.NUMBER:
        try:
            number = parse_number(text, (question.unit,) if question.unit else ())
        except InputError as error:
            raise AnswerError(Correction(Code.NUMBER, error.reply_text)) from None
        if question.minimum is not None and number < question.minimum:
            raise AnswerError(Correction(Code.TOO_SMALL, _number_text(question.minimum)))
        if question.maximum is not None and number > question.maximum:
            raise AnswerError(Correction(Code.TOO_BIG, _number_text(question.maximum)))
        return _number_text(number)
    answer = " ".join(text.split()) if "\n" not in text else text.strip()
    if not answer:
        raise AnswerError(Correction(Code.EMPTY))
    if len(answer) > question.max_length:
        raise AnswerError(Correction(Code.TOO_LONG, str(question.max_length)))
    return answer


def _number_text(number: Decimal) -> str:
    normalized = number.normalize()
    return format(normalized, "f") if normalized == normalized.to_integral() else str(normalized)
