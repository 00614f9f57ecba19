"""Declaring a form: an ordered list of fields, each with a kind, a prompt, a validator, a condition.

A `Form` checks its declaration when it is built (duplicate names, conditions or edits that name an
unknown field, a choice without choices, a repeat without items), so a broken form fails at start-up,
not in a teacher's chat. `Form.mermaid()` draws the conversation from the declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from messages import diagrams


class Kind(StrEnum):
    CHOICE = "choice"
    MULTI = "multi"  # any of the choices: stored as a list of their values, in the choices' order
    NUMBER = "number"
    PERCENT = "percent"
    MONEY = "money"
    DATE = "date"
    TEXT = "text"
    LONG_TEXT = "long_text"
    PHOTO = "photo"


@dataclass(frozen=True)
class Choice:
    value: str  # stored answer (a code, an id as text, an enum value)
    label: str  # what the button shows (≤ 20 characters after rendering)
    keywords: tuple[str, ...] = ()  # other words that pick it when typed (code, full name…)
    button: str = ""  # what its button shows, when shorter than the label (a project's short name)


@dataclass(frozen=True)
class Item:
    """One element a repeated field asks about (e.g. one indicator)."""

    key: str
    title: str
    detail: str = ""  # e.g. the target, shown with the question
    unit: str = ""  # a unit word people may type after the number ("120 คน")


Answers = Mapping[str, Any]


# Read-only facts a form needs (projects, indicators, last quarter's answers…), as an object of the
# form's own choosing: production backs it with the database, tests with plain values. The engine
# only passes it to the declaration's callables and never writes through it.
FormData = Any


@dataclass(frozen=True)
class Confirm:
    """A validator's answer meaning: acceptable, but ask the person to confirm first."""

    message: str


Check = Callable[[Any, Answers, FormData, Item | None], "Confirm | None"]  # may raise InputError


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    label: str  # short label for the summary
    prompt: Callable[[Answers, FormData, Item | None], str]
    optional: bool = False
    when: Callable[[Answers, FormData], bool] | None = None
    choices: Callable[[Answers, FormData], Sequence[Choice]] | None = None
    items: Callable[[Answers, FormData], Sequence[Item]] | None = None  # makes the field a repeat
    default: Callable[[Answers, FormData, Item | None], Any] | None = None
    check: Check | None = None
    auto_single: bool = False  # a choice with exactly one option is answered without asking
    searchable: bool = False  # a choice that can be narrowed by typing part of a label or keyword
    max_photos: int = 5
    depends_on: tuple[str, ...] = ()  # answers that, when edited, invalidate this one
    display: Callable[[Any, Answers, FormData, Item | None], str] | None = None  # summary text
    empty_note: str = ""  # said when a choice has nothing to choose (else a generic sentence)
    unit: str = ""  # a unit word people may type after a number (an item's own unit wins)
    max_length: int = 0  # a text's limit in characters; 0: the kind's own (kinds.MAX_SHORT_TEXT…)

    @property
    def is_repeat(self) -> bool:
        return self.items is not None

    def applies(self, answers: Answers, data: FormData) -> bool:
        return self.when is None or self.when(answers, data)


class FormDeclarationError(ValueError):
    pass


@dataclass(frozen=True)
class Form:
    name: str
    title: str
    fields: tuple[Field, ...]
    help_text: str = ""
    # "Back" goes to the previous question in the form's order, and every question gone back over (or
    # chosen from the summary to edit) is asked again, its answer shown to keep, before the summary
    # comes back: the questionnaires' way.
    back_reasks: bool = False
    # "Cancel" pauses at once, keeping the answers as a draft (no "are you sure?"): nothing is lost.
    cancel_pauses: bool = False
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        names = [f.name for f in self.fields]
        if not names:
            problems.append("a form needs at least one field")
        seen: set[str] = set()
        for f in self.fields:
            if f.name in seen:
                problems.append(f"duplicate field {f.name!r}")
            seen.add(f.name)
            if f.kind in (Kind.CHOICE, Kind.MULTI) and f.choices is None:
                problems.append(f"choice field {f.name!r} has no choices")
            if f.kind is not Kind.CHOICE and (f.auto_single or f.searchable):
                problems.append(f"{f.name!r}: auto_single/searchable only apply to choices")
            if f.is_repeat and f.kind in (Kind.CHOICE, Kind.MULTI, Kind.PHOTO):
                problems.append(f"{f.name!r}: only scalar kinds can repeat")
            for dependency in f.depends_on:
                if dependency not in seen or dependency == f.name:
                    problems.append(f"{f.name!r} depends on {dependency!r}, which is not an earlier field")
        if problems:
            raise FormDeclarationError(f"form {self.name!r}: " + "; ".join(problems))
        self._index.update({f.name: i for i, f in enumerate(self.fields)})

    def field(self, name: str) -> Field:
        try:
            return self.fields[self._index[name]]
        except KeyError:
            raise FormDeclarationError(f"form {self.name!r} has no field {name!r}") from None

    def index(self, name: str) -> int:
        return self._index[name]

    def has(self, name: str) -> bool:
        return name in self._index

    def mermaid(self) -> str:
        """A Mermaid flowchart of the conversation, generated from the declaration.

        Field nodes are `f_<name>` (so no field can collide with the fixed nodes); a conditional field
        has a dotted way in and a dotted way around it, so every path through the form is drawn."""
        lines = ["flowchart TD", f'    start(["{_label(self.title)}"])']
        entries: list[tuple[str, str]] = [("start", "")]  # nodes the next question is reached from
        for f in self.fields:
            node = f"f_{f.name}"
            notes = [f.kind.value]
            if f.is_repeat:
                notes.append(diagrams.REPEATS)
            if f.optional:
                notes.append(diagrams.SKIPPABLE)
            if f.auto_single:
                notes.append(diagrams.AUTO_SINGLE)
            lines.append(f'    {node}[/"{_label(f.label)} ({", ".join(notes)})"/]')
            for source, label in entries:
                lines.append(_edge(source, node, label or (diagrams.CONDITION if f.when is not None else "")))
            if f.is_repeat:
                lines.append(_edge(node, node, diagrams.NEXT_ITEM))
            if f.when is not None:
                entries = [(node, "")] + [(source, diagrams.CONDITION_NOT_MET) for source, _ in entries]
            else:
                entries = [(node, "")]
        lines.append(diagrams.FORM_END[0])
        lines += [_edge(source, "summary", label) for source, label in entries]
        lines += diagrams.FORM_END[1:]
        return "\n".join(lines)


def _label(text: str) -> str:
    return text.replace('"', "#quot;")


def _edge(source: str, target: str, label: str) -> str:
    if not label:
        return f"    {source} --> {target}"
    dotted = label in (diagrams.CONDITION, diagrams.CONDITION_NOT_MET)
    return f'    {source} {"-.->" if dotted else "-->"}|"{_label(label)}"| {target}'


def by_name(fields: Sequence[Field]) -> dict[str, Field]:
    return {f.name: f for f in fields}
