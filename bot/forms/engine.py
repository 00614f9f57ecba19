"""The engine's pure core: (form, saved state, input, data) → (new state, replies, effects).

No database, no LINE, no clock: `today` is passed in, facts come through `FormData`, and the results are
plain values. Replies are abstract (`Question`, `Problem`, `Summary`…) and rendered into LINE messages by
`messages/forms.py`; effects (`SaveDraft`, `Submit`, `Cancelled`) are applied by `bot/forms/runtime.py`.

State is a JSON-ready dict, stored per LINE user, so a restart, a second replica or a user who returns
next week resumes exactly here. Every question carries a sequence number `seq`; a button whose `seq` is
not the current one belongs to an old question and is answered politely instead of being applied.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from bot.forms.kinds import match_choice, parse_answer, parse_multi
from bot.forms.spec import Choice, Confirm, Field, Form, FormData, Item, Kind
from bot.postback import parse_int
from messages.errors import InputError

# --- inputs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    answers: dict[str, Any] = field(default_factory=dict)  # a saved draft or a returned report's answers
    note: str = ""  # shown before the first question (e.g. the director's reason for returning)


@dataclass(frozen=True)
class TextInput:
    text: str


class Op(StrEnum):
    ANSWER = "ans"  # a choice button: value
    PAGE = "pg"  # next/previous page of choices: value = page number
    KEEP = "keep"  # use the default shown with the question
    SKIP = "skip"
    BACK = "back"
    EDIT = "edit"  # from the summary: value = field name, item = repeat item key
    SUBMIT = "submit"
    SHOW_SUMMARY = "sum"
    CONFIRM = "ok"  # confirm a value (or the cancel)
    REJECT = "no"  # don't confirm
    CANCEL = "cancel"
    DONE = "done"  # finished sending photos
    REMOVE = "rm"  # remove a photo already sent: value = its number (1-based)
    TOGGLE = "tg"  # a multi field's choice ticked or unticked: value = its number (1-based)


@dataclass(frozen=True)
class ButtonInput:
    op: Op
    seq: int
    value: str = ""
    item: str = ""


@dataclass(frozen=True)
class PhotoInput:
    ref: str  # a stored photo's id


class Command(StrEnum):
    CANCEL = "cancel"
    BACK = "back"
    SKIP = "skip"
    EDIT = "edit"
    HELP = "help"
    SUBMIT = "submit"
    DONE = "done"
    YES = "yes"
    NO = "no"
    WORD = "word"  # a word of the bot's vocabulary that means nothing at this point: never an answer


@dataclass(frozen=True)
class CommandInput:
    """A navigation word the runtime recognised in typed text (ยกเลิก, ย้อนกลับ, ข้าม…)."""

    command: Command


Input = Start | TextInput | ButtonInput | PhotoInput | CommandInput

# --- replies -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    form: str
    field: str
    kind: Kind
    text: str
    seq: int
    item: Item | None = None
    position: tuple[int, int] | None = None  # (n, of) within a repeat
    options: tuple[Choice, ...] = ()
    page: int = 0
    pages: int = 1
    default: Any = None
    default_label: str | None = None
    optional: bool = False
    can_go_back: bool = False
    photos: int = 0
    max_photos: int = 0
    searching: bool = False
    picked: tuple[str, ...] = ()  # a multi field's values ticked so far


@dataclass(frozen=True)
class Problem:
    message: str
    example: str = ""


class NoticeCode(StrEnum):
    STALE_BUTTON = "stale_button"
    NOT_OPTIONAL = "not_optional"
    NOTHING_BEFORE = "nothing_before"
    PHOTO_RECEIVED = "photo_received"
    PHOTO_NOT_NOW = "photo_not_now"
    PHOTO_KEPT = "photo_kept"  # a photo sent before the photo question: kept for it
    PHOTO_REMOVED = "photo_removed"
    PHOTOS_FULL = "photos_full"
    NO_MATCH = "no_match"
    SEVERAL_MATCHES = "several_matches"
    INCOMPLETE = "incomplete"
    RESUMED = "resumed"
    NOTE = "note"
    HELP = "help"
    NO_CHOICES = "no_choices"
    COMMAND_WORD = "command_word"
    MULTI_EMPTY = "multi_empty"  # "done" with nothing ticked on a multi field that must be answered


@dataclass(frozen=True)
class Notice:
    code: NoticeCode
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfirmValue:
    message: str
    seq: int


@dataclass(frozen=True)
class ConfirmCancel:
    seq: int


@dataclass(frozen=True)
class SummaryRow:
    field: str
    label: str
    kind: Kind
    value: Any
    choice_label: str | None = None
    item: Item | None = None
    answered: bool = True
    skipped: bool = False


@dataclass(frozen=True)
class Summary:
    form: str
    title: str
    rows: tuple[SummaryRow, ...]
    seq: int
    complete: bool


Reply = Question | Problem | Notice | ConfirmValue | ConfirmCancel | Summary

# --- effects -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveDraft:
    answers: dict[str, Any]


@dataclass(frozen=True)
class Submit:
    answers: dict[str, Any]


@dataclass(frozen=True)
class Cancelled:
    kept_draft: bool = True  # False: nothing had been entered, so there is no draft to keep


Effect = SaveDraft | Submit | Cancelled


@dataclass
class StepResult:
    state: dict[str, Any] | None  # None: the conversation is over
    replies: list[Reply]
    effects: list[Effect]


SKIPPED = {"skipped": True}  # the stored answer of an optional field the person skipped

# --- the core ----------------------------------------------------------------------------------------


class _Run:
    """One step's working copy of the state, with the helpers the step needs."""

    def __init__(self, form: Form, state: dict[str, Any], data: FormData, today: date) -> None:
        self.form = form
        self.state = state
        self.data = data
        self.today = today
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []

    # state accessors
    @property
    def answers(self) -> dict[str, Any]:
        return self.state["answers"]  # type: ignore[no-any-return]

    @property
    def cursor(self) -> dict[str, Any] | None:
        return self.state.get("cursor")

    def field_at_cursor(self) -> Field | None:
        cursor = self.cursor
        return self.form.field(cursor["field"]) if cursor else None

    def item_at_cursor(self) -> Item | None:
        cursor, f = self.cursor, self.field_at_cursor()
        if cursor is None or f is None or not f.is_repeat:
            return None
        for it in self.items_of(f):
            if it.key == cursor.get("item"):
                return it
        return None

    def items_of(self, f: Field) -> Sequence[Item]:
        assert f.items is not None
        return f.items(self.answers, self.data)

    def choices_of(self, f: Field) -> Sequence[Choice]:
        assert f.choices is not None
        return f.choices(self.answers, self.data)

    # answers
    def is_answered(self, f: Field, item: Item | None) -> bool:
        if f.is_repeat:
            return item is not None and item.key in (self.answers.get(f.name) or {})
        return f.name in self.answers

    def get_answer(self, f: Field, item: Item | None) -> Any:
        if f.is_repeat:
            return (self.answers.get(f.name) or {}).get(item.key if item else "")
        return self.answers.get(f.name)

    def set_answer(self, f: Field, item: Item | None, value: Any) -> None:
        previous = self.get_answer(f, item) if self.is_answered(f, item) else None
        if f.is_repeat:
            assert item is not None
            bucket = dict(self.answers.get(f.name) or {})
            bucket[item.key] = value
            self.answers[f.name] = bucket
        else:
            self.answers[f.name] = value
        if previous != value:
            self.clear_dependents(f.name)
        if f.name in (self.state.get("reask") or ()):
            self.state["reask"] = [n for n in self.state["reask"] if n != f.name]

    def clear_dependents(self, name: str) -> None:
        # Declarations only depend on earlier fields, so this recursion ends.
        for other in self.form.fields:
            if name in other.depends_on:
                self.answers.pop(other.name, None)
                self.clear_dependents(other.name)

    # navigation
    def positions(self) -> list[tuple[Field, Item | None]]:
        """Every question that currently applies, in order."""
        result: list[tuple[Field, Item | None]] = []
        for f in self.form.fields:
            if not f.applies(self.answers, self.data):
                continue
            if f.is_repeat:
                result.extend((f, it) for it in self.items_of(f))
            else:
                result.append((f, None))
        return result

    def next_unanswered(self) -> tuple[Field, Item | None] | None:
        reask = set(self.state.get("reask") or ())
        for f, item in self.positions():
            if self.is_answered(f, item) and (f.is_repeat or f.name not in reask):
                continue
            if f.kind is Kind.CHOICE and f.auto_single:
                choices = self.choices_of(f)
                if len(choices) == 1:
                    self.set_answer(f, None, choices[0].value)
                    return self.next_unanswered()
            return f, item
        return None

    def drop_inapplicable(self) -> None:
        applicable = {f.name for f, _ in self.positions()}
        for f in self.form.fields:
            if f.name not in applicable and f.name in self.answers:
                del self.answers[f.name]
        if self.state.get("reask"):
            self.state["reask"] = [n for n in self.state["reask"] if n in applicable]

    def bump(self) -> int:
        self.state["seq"] = int(self.state.get("seq", 0)) + 1
        return int(self.state["seq"])

    def go_on(self) -> None:
        """Ask the next unanswered question, or show the summary when everything is answered."""
        self.drop_inapplicable()
        nxt = self.next_unanswered()
        if nxt is None:
            self.show_summary()
            return
        f, item = nxt
        if f.kind is Kind.CHOICE and not self.choices_of(f):
            self.nothing_to_choose(f)
            return
        self.ask(f, item, restore_picked=True)

    def nothing_to_choose(self, f: Field) -> None:
        """A choice left without options (e.g. a project with no quarter open): say so and ask again the
        answer it depends on; end the form when there is no other answer to give."""
        self.replies.append(Notice(NoticeCode.NO_CHOICES, {"field": f.name, "text": f.empty_note}))
        for name in reversed(f.depends_on):
            dependency = self.form.field(name)
            if dependency.is_repeat or (
                dependency.kind is Kind.CHOICE
                and dependency.auto_single
                and len(self.choices_of(dependency)) <= 1
            ):
                continue  # answered for the person: asking it again would land here again
            self.answers.pop(name, None)
            self.clear_dependents(name)
            self.state["cursor"] = None
            self.ask(dependency, None)
            return
        self.state["ended"] = True

    def ask(
        self,
        f: Field,
        item: Item | None,
        *,
        page: int = 0,
        search: list[str] | None = None,
        restore_picked: bool = False,
    ) -> None:
        cursor = self.cursor
        here = {"field": f.name, "item": item.key if item else None}
        if (
            cursor is not None
            and cursor.get("field")
            and {k: cursor.get(k) for k in ("field", "item")} != here
        ):
            history = self.state.setdefault("history", [])
            previous = {"field": cursor["field"], "item": cursor.get("item")}
            if not history or history[-1] != previous:
                history.append(previous)
        self.state["cursor"] = {**here, "page": page, "search": search}
        self.state["mode"] = "ask"
        if f.kind is Kind.MULTI:
            # Ticked again only when the form comes to it by itself; "back" and "edit" start unticked,
            # the answer shown with the keep button.
            current = self.answers.get(f.name) if restore_picked else None
            self.state["picked"] = list(current) if isinstance(current, list) else []
        if f.kind is Kind.PHOTO and self.state.get("early_photos"):
            kept = [p for p in (self.answers.get(f.name) or []) if isinstance(p, str)]
            kept += [p for p in self.state.pop("early_photos") if p not in kept]
            self.answers[f.name] = kept[: f.max_photos]
        self.replies.append(self.question(f, item, page=page, search=search))

    def question(
        self, f: Field, item: Item | None, *, page: int = 0, search: list[str] | None = None
    ) -> Question:
        seq = self.bump()
        options: tuple[Choice, ...] = ()
        pages = 1
        if f.kind is Kind.CHOICE:
            choices = list(self.choices_of(f))
            if search:
                choices = [c for c in choices if c.value in set(search)]
            per_page = len(choices) if len(choices) <= PAGE_SIZE_SINGLE else PAGE_SIZE
            pages = max(1, -(-len(choices) // per_page)) if choices else 1
            page = min(max(page, 0), pages - 1)
            options = tuple(choices[page * per_page : (page + 1) * per_page])
        elif f.kind is Kind.MULTI:
            options = tuple(self.choices_of(f))
        default = None
        default_label = None
        current = self.get_answer(f, item) if self.is_answered(f, item) else None
        if current is not None and current != SKIPPED:
            default = current
        elif f.default is not None:
            default = f.default(self.answers, self.data, item)
        if default is not None and f.kind is Kind.CHOICE:
            default_label = next((c.label for c in self.choices_of(f) if c.value == default), None)
            if default_label is None:
                default = None
        if f.kind is Kind.PHOTO:
            default = None
        position = None
        if f.is_repeat and item is not None:
            keys = [it.key for it in self.items_of(f)]
            position = (keys.index(item.key) + 1, len(keys))
        photos = len(self.get_answer(f, None) or []) if f.kind is Kind.PHOTO else 0
        return Question(
            form=self.form.name,
            field=f.name,
            kind=f.kind,
            text=f.prompt(self.answers, self.data, item),
            seq=seq,
            item=item,
            position=position,
            options=options,
            page=page,
            pages=pages,
            default=default,
            default_label=default_label,
            optional=f.optional,
            can_go_back=bool(self.state.get("history")),
            photos=photos,
            max_photos=f.max_photos if f.kind is Kind.PHOTO else 0,
            searching=bool(search),
            picked=tuple(self.state.get("picked") or ()) if f.kind is Kind.MULTI else (),
        )

    def ask_again(self) -> None:
        if self.state.get("mode") == "summary" or self.cursor is None:
            self.show_summary()
            return
        f = self.field_at_cursor()
        assert f is not None
        cursor = self.cursor or {}
        self.state["mode"] = "ask"
        self.replies.append(
            self.question(f, self.item_at_cursor(), page=cursor.get("page") or 0, search=cursor.get("search"))
        )

    def show_summary(self) -> None:
        rows: list[SummaryRow] = []
        complete = True
        for f, item in self.positions():
            answered = self.is_answered(f, item)
            value = self.get_answer(f, item) if answered else None
            skipped = value == SKIPPED
            if not answered and not f.optional and f.kind is not Kind.PHOTO:
                complete = False
            choice_label = None
            if f.kind is Kind.CHOICE and answered:
                choice_label = next((c.label for c in self.choices_of(f) if c.value == value), None)
            elif f.kind is Kind.MULTI and answered and isinstance(value, list):
                choice_label = ", ".join(c.label for c in self.choices_of(f) if c.value in value)
            rows.append(
                SummaryRow(
                    field=f.name,
                    label=f.label,
                    kind=f.kind,
                    value=None if skipped else value,
                    choice_label=choice_label,
                    item=item,
                    answered=answered,
                    skipped=skipped,
                )
            )
        if self.cursor:
            history = self.state.setdefault("history", [])
            history.append({"field": self.cursor["field"], "item": self.cursor.get("item")})
        self.state["cursor"] = None
        self.state["mode"] = "summary"
        self.replies.append(Summary(self.form.name, self.form.title, tuple(rows), self.bump(), complete))

    # answering
    def accept(self, f: Field, item: Item | None, value: Any, *, confirmed: bool = False) -> None:
        if not confirmed and f.check is not None:
            try:
                verdict = f.check(value, self.answers, self.data, item)
            except InputError as error:
                self.replies.append(Problem(error.message, error.example))
                self.ask_again()
                return
            if isinstance(verdict, Confirm):
                self.state["mode"] = "confirm_value"
                self.state["pending"] = {"value": value}
                self.replies.append(ConfirmValue(verdict.message, self.bump()))
                return
        self.state.pop("pending", None)
        self.set_answer(f, item, value)
        self.state["entered"] = True
        self.effects.append(SaveDraft(copy.deepcopy(self.answers)))
        self.go_on()


MAX_PAGE = 9999  # far more pages than any list has; a larger "page" is a tampered button
PAGE_SIZE_SINGLE = 10  # up to this many choices fit one page next to the navigation buttons
PAGE_SIZE = 9  # otherwise: 9 choices + previous/next + back/cancel = 13, LINE's quick-reply limit


def start(form: Form, data: FormData, today: date, inp: Start) -> StepResult:
    state: dict[str, Any] = {
        "form": form.name,
        "seq": 0,
        "answers": dict(inp.answers),
        "history": [],
        "cursor": None,
        "entered": bool(inp.answers),  # a draft or a returned report: there is something to keep
    }
    run = _Run(form, state, data, today)
    if inp.note:
        run.replies.append(Notice(NoticeCode.NOTE, {"text": inp.note}))
    if inp.answers:
        run.replies.append(Notice(NoticeCode.RESUMED))
    run.go_on()
    return _done(run)


def resume(form: Form, state: dict[str, Any], data: FormData, today: date) -> StepResult:
    """Ask the current question again (after help, or when someone returns to a form)."""
    run = _Run(form, copy.deepcopy(state), data, today)
    run.ask_again()
    return _done(run)


def step(form: Form, state: dict[str, Any], inp: Input, data: FormData, today: date) -> StepResult:
    """Advance a form by one input."""
    if isinstance(inp, Start):
        return start(form, data, today, inp)
    run = _Run(form, copy.deepcopy(state), data, today)
    mode = run.state.get("mode", "ask")

    if (
        isinstance(inp, ButtonInput)
        and inp.seq != run.state.get("seq")
        and not _harmless_when_stale(run, inp)
    ):
        # A button from an earlier question or summary: say so, and ask the current question again.
        run.replies.append(Notice(NoticeCode.STALE_BUTTON))
        run.ask_again()
        return _done(run)

    if isinstance(inp, CommandInput) or (isinstance(inp, ButtonInput) and inp.op in _BUTTON_COMMANDS):
        command = inp.command if isinstance(inp, CommandInput) else _BUTTON_COMMANDS[inp.op]
        return _command(run, command, inp if isinstance(inp, ButtonInput) else None)

    if mode == "confirm_cancel":
        # Anything but a confirmation means: carry on with the form.
        run.ask_again()
        return _done(run)

    if mode == "confirm_value":
        run.state["mode"] = "ask"
        run.state.pop("pending", None)
        # A new answer instead of confirming: treat it as the answer to the same question.

    if mode == "summary":
        if isinstance(inp, ButtonInput) and inp.op is Op.EDIT:
            return _edit(run, inp.value, inp.item)
        if isinstance(inp, PhotoInput) and inp.ref:
            return _photo_at_summary(run, inp)
        run.show_summary()
        return _done(run)

    f = run.field_at_cursor()
    if f is None:
        run.go_on()
        return _done(run)
    item = run.item_at_cursor()

    if isinstance(inp, PhotoInput):
        if f.kind is not Kind.PHOTO:
            return _early_photo(run, inp)
        photos = [p for p in (run.answers.get(f.name) or []) if isinstance(p, str)]
        if len(photos) >= f.max_photos:
            run.replies.append(Notice(NoticeCode.PHOTOS_FULL, {"max": f.max_photos}))
            run.go_on()
            return _done(run)
        photos.append(inp.ref)
        run.answers[f.name] = photos
        run.effects.append(SaveDraft(copy.deepcopy(run.answers)))
        if len(photos) >= f.max_photos:
            run.replies.append(Notice(NoticeCode.PHOTOS_FULL, {"max": f.max_photos}))
            run.go_on()
        else:
            run.replies.append(Notice(NoticeCode.PHOTO_RECEIVED, {"count": len(photos), "max": f.max_photos}))
            run.replies.append(run.question(f, item))
        return _done(run)

    if isinstance(inp, ButtonInput):
        if inp.op is Op.PAGE and f.kind is Kind.CHOICE:
            cursor = run.cursor or {}
            page = parse_int(inp.value, max_value=MAX_PAGE) or 0  # a tampered payload must not crash
            run.ask(f, item, page=page, search=cursor.get("search"))
            return _done(run)
        if inp.op is Op.ANSWER and f.kind is Kind.CHOICE:
            if inp.value in {c.value for c in run.choices_of(f)}:
                run.accept(f, item, inp.value)
            else:
                run.replies.append(Notice(NoticeCode.STALE_BUTTON))
                run.ask_again()
            return _done(run)
        if inp.op is Op.REMOVE and f.kind is Kind.PHOTO:
            return _remove_photo(run, f, inp.value)
        if inp.op is Op.TOGGLE and f.kind is Kind.MULTI:
            return _toggle(run, f, inp.value)
        if inp.op is Op.KEEP:
            default = run.question(f, item).default
            run.state["seq"] = int(run.state["seq"]) - 1  # building the question must not move seq
            if default is None:
                run.ask_again()
            else:
                run.accept(f, item, default)
            return _done(run)
        run.replies.append(Notice(NoticeCode.STALE_BUTTON))
        run.ask_again()
        return _done(run)

    assert isinstance(inp, TextInput)
    if f.kind is Kind.PHOTO:
        run.replies.append(Notice(NoticeCode.PHOTO_NOT_NOW, {"expecting_photo": True}))
        run.ask_again()
        return _done(run)
    if f.kind is Kind.CHOICE:
        return _typed_choice(run, f, item, inp.text)
    try:
        if f.kind is Kind.MULTI:
            value: Any = parse_multi(run.choices_of(f), inp.text)
        else:
            value = parse_answer(f, inp.text, today=today, unit=(item.unit if item else "") or f.unit)
    except InputError as error:
        run.replies.append(Problem(error.message, error.example))
        run.ask_again()
        return _done(run)
    run.accept(f, item, value)
    return _done(run)


def _photo_field(form: Form) -> Field | None:
    return next((f for f in form.fields if f.kind is Kind.PHOTO), None)


def _early_photo(run: _Run, inp: PhotoInput) -> StepResult:
    """A photo sent before its question: kept (up to the limit) and shown when the question comes."""
    target = _photo_field(run.form)
    early = list(run.state.get("early_photos") or [])
    if not inp.ref or target is None or len(early) >= target.max_photos:
        run.replies.append(Notice(NoticeCode.PHOTO_NOT_NOW))
    else:
        early.append(inp.ref)
        run.state["early_photos"] = early
        run.replies.append(Notice(NoticeCode.PHOTO_KEPT, {"count": len(early)}))
    run.ask_again()
    return _done(run)


def _photo_at_summary(run: _Run, inp: PhotoInput) -> StepResult:
    """A photo sent while the summary is shown (often: "send one more photo"): added, summary again."""
    target = _photo_field(run.form)
    photos = [p for p in (run.answers.get(target.name) or []) if isinstance(p, str)] if target else []
    if target is None or not target.applies(run.answers, run.data) or len(photos) >= target.max_photos:
        run.replies.append(Notice(NoticeCode.PHOTOS_FULL, {"max": target.max_photos if target else 0}))
    else:
        run.answers[target.name] = [*photos, inp.ref]
        run.effects.append(SaveDraft(copy.deepcopy(run.answers)))
        count = len(photos) + 1
        run.replies.append(Notice(NoticeCode.PHOTO_RECEIVED, {"count": count, "max": target.max_photos}))
    run.show_summary()
    return _done(run)


def _remove_photo(run: _Run, f: Field, value: str) -> StepResult:
    photos = [p for p in (run.answers.get(f.name) or []) if isinstance(p, str)]
    number = parse_int(value, max_value=max(1, len(photos)))
    if number is None or not 1 <= number <= len(photos):
        run.replies.append(Notice(NoticeCode.STALE_BUTTON))
    else:
        del photos[number - 1]
        run.answers[f.name] = photos
        run.effects.append(SaveDraft(copy.deepcopy(run.answers)))
        run.replies.append(Notice(NoticeCode.PHOTO_REMOVED, {"number": number, "count": len(photos)}))
    run.ask_again()
    return _done(run)


def _toggle(run: _Run, f: Field, value: str) -> StepResult:
    choices = list(run.choices_of(f))
    number = parse_int(value, max_value=max(1, len(choices)))
    if number is None or not 1 <= number <= len(choices):
        run.replies.append(Notice(NoticeCode.STALE_BUTTON))
        run.ask_again()
        return _done(run)
    choice = choices[number - 1].value
    picked = list(run.state.get("picked") or [])
    run.state["picked"] = [v for v in picked if v != choice] if choice in picked else [*picked, choice]
    run.replies.append(run.question(f, run.item_at_cursor()))
    return _done(run)


def _multi_done(run: _Run, f: Field) -> StepResult:
    picked = set(run.state.get("picked") or ())
    values = [c.value for c in run.choices_of(f) if c.value in picked]
    if values:
        run.accept(f, run.item_at_cursor(), values)
    elif f.optional:
        run.set_answer(f, run.item_at_cursor(), SKIPPED)
        run.effects.append(SaveDraft(copy.deepcopy(run.answers)))
        run.go_on()
    else:
        run.replies.append(Notice(NoticeCode.MULTI_EMPTY))
        run.ask_again()
    return _done(run)


def _typed_choice(run: _Run, f: Field, item: Item | None, typed: str) -> StepResult:
    choices = list(run.choices_of(f))
    cursor = run.cursor or {}
    if cursor.get("search"):
        narrowed = [c for c in choices if c.value in set(cursor["search"])]
        matches = match_choice(narrowed, typed) or match_choice(choices, typed)
    else:
        matches = match_choice(choices, typed)
    if len(matches) == 1:
        run.accept(f, item, matches[0].value)
    elif not matches:
        run.replies.append(Notice(NoticeCode.NO_MATCH, {"typed": typed[:40], "searchable": f.searchable}))
        run.ask(f, item)
    else:
        run.replies.append(Notice(NoticeCode.SEVERAL_MATCHES, {"count": len(matches)}))
        run.ask(f, item, search=[c.value for c in matches])
    return _done(run)


_BUTTON_COMMANDS = {
    Op.SKIP: Command.SKIP,
    Op.BACK: Command.BACK,
    Op.CANCEL: Command.CANCEL,
    Op.SUBMIT: Command.SUBMIT,
    Op.SHOW_SUMMARY: Command.EDIT,
    Op.DONE: Command.DONE,
    Op.CONFIRM: Command.YES,
    Op.REJECT: Command.NO,
}


def _harmless_when_stale(run: _Run, button: ButtonInput) -> bool:
    """Photos arrive in bursts, each re-asking the question: an older "done" button still means done."""
    f = run.field_at_cursor()
    return (
        f is not None
        and f.kind is Kind.PHOTO
        and button.op in (Op.DONE, Op.SKIP)
        and run.state.get("mode") == "ask"
    )


def _command(run: _Run, command: Command, button: ButtonInput | None) -> StepResult:
    mode = run.state.get("mode", "ask")
    if mode == "confirm_cancel":
        if command in (Command.YES, Command.CANCEL) and (button is not None or command is Command.YES):
            run.effects.append(SaveDraft(copy.deepcopy(run.answers)))
            run.effects.append(Cancelled())
            return StepResult(None, run.replies, run.effects)
        run.ask_again()
        return _done(run)
    if mode == "confirm_value" and command in (Command.YES, Command.NO):
        if command is Command.YES:
            f = run.field_at_cursor()
            assert f is not None
            run.accept(f, run.item_at_cursor(), (run.state.get("pending") or {}).get("value"), confirmed=True)
        else:
            run.state["mode"] = "ask"
            run.state.pop("pending", None)
            run.ask_again()
        return _done(run)
    if command is Command.CANCEL and run.form.cancel_pauses:
        return StepResult(None, run.replies, [SaveDraft(copy.deepcopy(run.answers)), Cancelled()])
    if command is Command.CANCEL and not _entered(run):
        # Nothing typed yet: nothing to lose, so no "are you sure?".
        return StepResult(None, run.replies, [Cancelled(kept_draft=False)])
    if command is Command.CANCEL:
        run.state["mode"] = "confirm_cancel"
        run.replies.append(ConfirmCancel(run.bump()))
        return _done(run)
    if command is Command.HELP:
        run.replies.append(Notice(NoticeCode.HELP, {"text": run.form.help_text}))
        run.ask_again()
        return _done(run)
    if command is Command.EDIT:
        run.show_summary()
        return _done(run)
    if command is Command.SUBMIT:
        if mode != "summary":
            run.show_summary()
            return _done(run)
        if run.next_unanswered() is not None:
            run.replies.append(Notice(NoticeCode.INCOMPLETE))
            run.go_on()
            return _done(run)
        return StepResult(None, run.replies, [Submit(copy.deepcopy(run.answers))])
    if command is Command.BACK:
        return _back(run)
    f = run.field_at_cursor()
    if mode == "summary" or f is None:
        run.show_summary()
        return _done(run)
    if command is Command.DONE and f.kind is Kind.MULTI:
        return _multi_done(run, f)
    if command in (Command.SKIP, Command.DONE):
        if f.kind is Kind.PHOTO:
            if f.name not in run.answers:
                run.answers[f.name] = []
            run.go_on()
            return _done(run)
        if command is Command.DONE or not f.optional:
            run.replies.append(Notice(NoticeCode.NOT_OPTIONAL))
            run.ask_again()
            return _done(run)
        run.set_answer(f, run.item_at_cursor(), SKIPPED)
        run.effects.append(SaveDraft(copy.deepcopy(run.answers)))
        run.go_on()
        return _done(run)
    if command is Command.YES and mode == "ask" and f.kind is Kind.PHOTO:
        run.answers.setdefault(f.name, [])  # "ok" after the photos: that is all of them
        run.go_on()
        return _done(run)
    if command is Command.YES and mode == "ask":
        # "ใช่ค่ะ" / "ok" to a question showing last quarter's answer: keep it.
        default = run.question(f, run.item_at_cursor()).default
        run.state["seq"] = int(run.state["seq"]) - 1  # building the question must not move seq
        if default is not None:
            run.accept(f, run.item_at_cursor(), default)
            return _done(run)
    if command is Command.NO and mode == "ask" and f.optional:
        # "ไม่ค่ะ" to "any problems?": nothing to say, as "ข้าม" would.
        run.set_answer(f, run.item_at_cursor(), SKIPPED)
        run.effects.append(SaveDraft(copy.deepcopy(run.answers)))
        run.go_on()
        return _done(run)
    # Any other word of the vocabulary: not an answer; say so and ask again.
    run.replies.append(Notice(NoticeCode.COMMAND_WORD, {"kind": f.kind.value}))
    run.ask_again()
    return _done(run)


def _entered(run: _Run) -> bool:
    """Whether the person has given any answer (or resumed saved ones); older states count as yes."""
    return bool(run.state.get("entered", True))


def _back(run: _Run) -> StepResult:
    if run.form.back_reasks:
        return _back_in_order(run)
    history: list[dict[str, Any]] = run.state.get("history") or []
    while history:
        previous = history.pop()
        if not run.form.has(previous["field"]):
            continue
        f = run.form.field(previous["field"])
        if not f.applies(run.answers, run.data):
            continue
        item = None
        if f.is_repeat:
            item = next((it for it in run.items_of(f) if it.key == previous.get("item")), None)
            if item is None:
                continue
        if f.kind is Kind.CHOICE and f.auto_single and len(run.choices_of(f)) == 1:
            continue  # answered for the person; going back to it would be a dead end
        run.state["cursor"] = None  # do not push the current position back onto the history
        run.state["history"] = history
        run.ask(f, item)
        return _done(run)
    run.replies.append(Notice(NoticeCode.NOTHING_BEFORE))
    run.ask_again()
    return _done(run)


def _back_in_order(run: _Run) -> StepResult:
    """The previous applicable question in the form's order (the last one from the summary), to be
    asked again, as is every question gone back over (see `Form.back_reasks`); repeats are not used."""
    names = [f.name for f, _ in run.positions()]
    here = run.cursor["field"] if run.cursor and run.state.get("mode") != "summary" else None
    position = names.index(here) if here in names else len(names)
    if position == 0:
        run.replies.append(Notice(NoticeCode.NOTHING_BEFORE))
        run.ask_again()
        return _done(run)
    target = run.form.field(names[position - 1])
    reask = list(run.state.get("reask") or [])
    if target.name not in reask:
        reask.append(target.name)
    run.state["reask"] = reask
    run.state["cursor"] = None
    run.ask(target, None)
    return _done(run)


def _edit(run: _Run, name: str, item_key: str) -> StepResult:
    if not run.form.has(name):
        run.replies.append(Notice(NoticeCode.STALE_BUTTON))
        run.show_summary()
        return _done(run)
    f = run.form.field(name)
    item = None
    if f.is_repeat:
        item = next((it for it in run.items_of(f) if it.key == item_key), None)
        if item is None:
            run.replies.append(Notice(NoticeCode.STALE_BUTTON))
            run.show_summary()
            return _done(run)
    # Editing photos keeps those sent: the question offers to add more or remove one.
    if run.form.back_reasks and not f.is_repeat:
        run.state["reask"] = [*(n for n in run.state.get("reask") or [] if n != f.name), f.name]
    run.state["cursor"] = None
    run.ask(f, item)
    # After this answer the engine continues with whatever is unanswered, then shows the summary.
    return _done(run)


def _done(run: _Run) -> StepResult:
    if run.state.get("ended"):  # nothing left to ask (a choice without options and no way around it)
        return StepResult(None, run.replies, run.effects)
    return StepResult(run.state, run.replies, run.effects)


def prefill(
    form: Form, state: dict[str, Any], extra: dict[str, Any], data: FormData, today: date, note: str = ""
) -> StepResult:
    """Merge saved answers (a draft, or a returned version) into a running form and carry on from the
    first question they leave unanswered — the summary when they answer everything."""
    run = _Run(form, copy.deepcopy(state), data, today)
    for name, value in extra.items():
        if form.has(name) and name not in run.answers:
            run.answers[name] = copy.deepcopy(value)
    if note:
        run.replies.append(Notice(NoticeCode.NOTE, {"text": note}))
    run.state["cursor"] = None
    run.go_on()
    return _done(run)
