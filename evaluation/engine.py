"""The questionnaire conversation, run by the one form engine (`bot/forms/engine.py`), pure.

A questionnaire is compiled to a form declaration (`evaluation/compile.py`) and every step goes
through `bot.forms.engine.step`. What this module adds is the questionnaire's face: its inputs (`Tap`
with the short operations of `evaluation/codes.py`, `Text`), its replies (`Ask`, `Review`, `PickEdit`,
`Paused`, with a `Correction` code that `messages/evaluation.py` words), the answers as a
questionnaire stores them (ratings as numbers, skipped questions left out), and the one mode the
form engine has no use for: choosing from the review, by number, which question to edit.

The state is plain JSON (it lives in the conversation store): the form engine's own state under
`form`, and beside it what the LINE edge reads: `mode`, `cursor` (the question's key), `answers` (as
stored) and `seq`, the number every question and review carries on its buttons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.forms import engine as forms
from evaluation.codes import Code, Mode, Op
from evaluation.compile import engine_answers, number_text, stored, to_form
from evaluation.questionnaire import Question, QuestionKind, Questionnaire
from messages import evaluation as txt
from messages import forms as form_text
from messages.thai_numbers import normalize_digits

STATE_VERSION = 2  # 2: the form engine's state under "form"
__all__ = ["Code", "Mode", "Op"]  # re-exported: callers speak of engine.Op

_DAY = date(2000, 1, 1)  # questionnaires have no date questions: the engine's "today" is never read


@dataclass(frozen=True)
class Correction:
    code: Code
    detail: str = ""  # e.g. the parser's Thai line, a limit


@dataclass(frozen=True)
class Ask:
    question: Question
    number: int  # 1-based among the questions that apply
    total: int
    seq: int
    current: Any = None  # the answer already given (or proposed), shown with a keep button
    picked: tuple[str, ...] = ()  # a multi question's choices ticked so far
    can_go_back: bool = False
    correction: Correction | None = None


@dataclass(frozen=True)
class Review:
    questionnaire: Questionnaire
    answers: Mapping[str, Any]
    seq: int
    correction: Correction | None = None


@dataclass(frozen=True)
class PickEdit:
    questions: tuple[Question, ...]  # the applicable ones, numbered from 1
    seq: int
    correction: Correction | None = None


@dataclass(frozen=True)
class Paused:
    """Cancelled: nothing is lost; the answers wait for the person to come back."""


@dataclass(frozen=True)
class Submit:
    answers: dict[str, Any]


@dataclass(frozen=True)
class SaveDraft:
    answers: dict[str, Any]


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Tap:
    op: Op
    seq: int | None  # None: a typed command word, meant for whatever is being asked now
    value: str = ""


Input = Text | Tap
Reply = Ask | Review | PickEdit | Paused


@dataclass
class Step:
    state: dict[str, Any] | None  # None: the conversation is over
    replies: list[Reply] = field(default_factory=list)
    effects: list[Submit | SaveDraft] = field(default_factory=list)


# --- starting ---------------------------------------------------------------------------------------


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
    held = engine_answers(form, answers or {}, submitted=submitted)
    result = forms.start(to_form(form), None, _DAY, forms.Start(answers=held))
    state: dict[str, Any] = {**(base or {}), "v": STATE_VERSION}
    return _after(form, state, result)


def resume(form: Questionnaire, state: Mapping[str, Any], correction: Correction | None = None) -> Step:
    """Show again whatever is waiting (after the person did something else in the chat)."""
    current = _upgraded(form, state)
    return Step(current, [_render(form, current, correction)])


# --- one input --------------------------------------------------------------------------------------


def _upgraded(form: Questionnaire, state: Mapping[str, Any]) -> dict[str, Any]:
    """A state saved before the port (version 1, no form engine state): the same answers, started
    again in the form engine (at the first question not answered, or the review)."""
    if "form" in state:
        return dict(state)
    base = {k: v for k, v in state.items() if k in ("flow", "ref")}
    answered = dict(state.get("answers") or {})
    in_review = state.get("mode") != Mode.ASK.value
    started = start(form, answers=answered, submitted=in_review, base=base)
    assert started.state is not None
    # Numbered on from the old state, so that no button shown before can pass for a current one.
    seq = int(state.get("seq") or 0) + 1
    started.state["form"]["seq"] = started.state["seq"] = seq
    return started.state


def step(form: Questionnaire, state: Mapping[str, Any], given: Input) -> Step:
    current = _upgraded(form, state)
    if isinstance(given, Tap) and given.seq is not None and given.seq != current["seq"]:
        return _again(form, current, Correction(Code.STALE))
    if isinstance(given, Tap) and given.op is Op.HELP:
        return _again(form, current, Correction(Code.HELP))
    if isinstance(given, Tap) and given.op is Op.CANCEL:
        return _forward(form, current, forms.CommandInput(forms.Command.CANCEL))
    mode = Mode(current["mode"])
    if mode is Mode.REVIEW:
        return _in_review(form, current, given)
    if mode is Mode.PICK_EDIT:
        return _in_pick(form, current, given)
    return _in_question(form, current, given)


def _in_review(form: Questionnaire, state: dict[str, Any], given: Input) -> Step:
    if isinstance(given, Tap) and given.op is Op.SUBMIT:
        return _forward(form, state, forms.CommandInput(forms.Command.SUBMIT))
    if isinstance(given, Tap) and given.op is Op.EDIT:
        return _show_mode(form, state, Mode.PICK_EDIT)
    if isinstance(given, Tap) and given.op is Op.BACK:
        return _forward(form, state, forms.CommandInput(forms.Command.BACK))
    if isinstance(given, Tap) and given.op is Op.EDIT_KEY:
        return _edit(form, state, given.value)
    return _again(form, state, Correction(Code.REVIEW_HINT))


def _in_pick(form: Questionnaire, state: dict[str, Any], given: Input) -> Step:
    value = given.value if isinstance(given, Tap) and given.op is Op.EDIT_KEY else None
    if isinstance(given, Text):
        value = normalize_digits(given.text).strip()
    if isinstance(given, Tap) and given.op in (Op.BACK, Op.SUBMIT):
        return _show_mode(form, state, Mode.REVIEW)
    if value is None:
        return _again(form, state, Correction(Code.PICK_HINT))
    return _edit(form, state, value)


def _edit(form: Questionnaire, state: dict[str, Any], number: str) -> Step:
    applicable = form.applicable(state["answers"])
    index = int(number) - 1 if number.isascii() and number.isdigit() else -1
    if not 0 <= index < len(applicable):
        state["mode"] = Mode.PICK_EDIT.value
        return _again(form, state, Correction(Code.PICK_HINT))
    name = applicable[index].key
    return _forward(form, state, forms.ButtonInput(forms.Op.EDIT, _seq(state), name))


def _in_question(form: Questionnaire, state: dict[str, Any], given: Input) -> Step:
    question = form.question(state["cursor"])
    if isinstance(given, Text):
        return _forward(form, state, forms.TextInput(given.text), question)
    if given.op is Op.BACK:
        return _forward(form, state, forms.CommandInput(forms.Command.BACK))
    if given.op is Op.SKIP:
        return _forward(form, state, forms.CommandInput(forms.Command.SKIP))
    if given.op is Op.KEEP:
        if _current(question, state) is None:
            return _again(form, state, Correction(Code.NOTHING_TO_KEEP))
        return _forward(form, state, forms.ButtonInput(forms.Op.KEEP, _seq(state)))
    if given.op is Op.TOGGLE and question.kind is QuestionKind.MULTI:
        return _forward(form, state, forms.ButtonInput(forms.Op.TOGGLE, _seq(state), given.value))
    if given.op is Op.DONE and question.kind is QuestionKind.MULTI:
        return _forward(form, state, forms.CommandInput(forms.Command.DONE))
    if given.op is Op.ANSWER:
        return _forward(form, state, forms.TextInput(given.value), question)
    return _again(form, state)


# --- through the form engine ------------------------------------------------------------------------


def _seq(state: Mapping[str, Any]) -> int:
    return int(state["form"]["seq"])


def _forward(
    form: Questionnaire, state: dict[str, Any], given: forms.Input, question: Question | None = None
) -> Step:
    result = forms.step(to_form(form), state["form"], given, None, _DAY)
    return _after(form, state, result, question)


def _after(
    form: Questionnaire,
    state: dict[str, Any],
    result: forms.StepResult,
    question: Question | None = None,
) -> Step:
    """The form engine's result as the questionnaire's step: its state mirrored, its effects stored
    the questionnaire's way, its notices and problems as one correction on the reply."""
    effects: list[Submit | SaveDraft] = []
    for effect in result.effects:
        if isinstance(effect, forms.Submit):
            effects.append(Submit(stored(form, effect.answers)))
        elif isinstance(effect, forms.SaveDraft):
            effects.append(SaveDraft(stored(form, effect.answers)))
    if result.state is None:
        paused = any(isinstance(e, forms.Cancelled) for e in result.effects)
        return Step(None, [Paused()] if paused else [], effects[-1:])
    engine_state = result.state
    cursor = engine_state.get("cursor") or {}
    if cursor.get("search"):  # a part naming several choices narrows nothing here: a number means the list's
        engine_state["cursor"] = {**cursor, "search": None}
    mode = Mode.REVIEW if engine_state.get("mode") == "summary" else Mode.ASK
    state.update(
        {
            "form": engine_state,
            "mode": mode.value,
            "cursor": cursor.get("field") if mode is Mode.ASK else None,
            "answers": stored(form, engine_state.get("answers") or {}),
            "seq": int(engine_state["seq"]),
        }
    )
    correction = _correction(result.replies, question)
    return Step(state, [_render(form, state, correction)], effects[-1:])


def _correction(replies: list[forms.Reply], question: Question | None) -> Correction | None:
    for reply in replies:
        if isinstance(reply, forms.Problem):
            return _problem(reply, question)
        if isinstance(reply, forms.Notice):
            code = _NOTICES.get(reply.code)
            if code is None and reply.code in (forms.NoticeCode.NO_MATCH, forms.NoticeCode.SEVERAL_MATCHES):
                code = Code.RATING if question and question.kind is QuestionKind.RATING else Code.CHOICE
            if code is not None:
                return Correction(code)
    return None


def _problem(problem: forms.Problem, question: Question | None) -> Correction:
    kind = question.kind if question is not None else None
    if kind is QuestionKind.MULTI:
        return Correction(Code.MULTI)
    if kind is QuestionKind.TEXT and problem.message == form_text.empty_answer():
        return Correction(Code.EMPTY)
    if kind is QuestionKind.TEXT and question and problem.message == form_text.too_long(question.max_length):
        return Correction(Code.TOO_LONG, str(question.max_length))
    if question is not None:  # the compiled checks' lines, back to their codes
        limits = [
            (Code.TOO_SMALL, number_text(question.minimum) if question.minimum is not None else None),
            (Code.TOO_BIG, number_text(question.maximum) if question.maximum is not None else None),
            (Code.TOO_LONG, str(question.max_length) if kind is QuestionKind.TEXT else None),
        ]
        for code, detail in limits:
            if detail is not None and problem.message == txt.correction_line(code, detail):
                return Correction(code, detail)
    # A number the parser refused, or a limit: the line as the form engine worded it.
    line = f"{problem.message}\n{problem.example}" if problem.example else problem.message
    return Correction(Code.NUMBER, line)


_NOTICES = {
    forms.NoticeCode.STALE_BUTTON: Code.STALE,
    forms.NoticeCode.NOT_OPTIONAL: Code.REQUIRED,
    forms.NoticeCode.NOTHING_BEFORE: Code.FIRST_QUESTION,
    forms.NoticeCode.MULTI_EMPTY: Code.MULTI_EMPTY,
}


# --- rendering from the state -----------------------------------------------------------------------


def _show_mode(form: Questionnaire, state: dict[str, Any], mode: Mode) -> Step:
    """The review or the pick list shown afresh: a new number, so their older buttons are stale."""
    engine_state = dict(state["form"])
    engine_state["seq"] = int(engine_state["seq"]) + 1
    state.update({"form": engine_state, "mode": mode.value, "seq": engine_state["seq"]})
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
    picked = (state.get("form") or {}).get("picked") or ()
    return Ask(
        question=question,
        number=number,
        total=len(applicable),
        seq=state["seq"],
        current=_current(question, state),
        picked=tuple(picked) if question.kind is QuestionKind.MULTI else (),
        can_go_back=number > 1,
        correction=correction,
    )
