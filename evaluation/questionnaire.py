"""A questionnaire as data: its questions, their kinds and conditions, and its Mermaid diagram.

Built only through `evaluation.loader` (from YAML, a workbook sheet or a stored campaign's JSON), which
checks every declaration, so a `Questionnaire` in hand is always well formed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from evaluation.conditions import Node, holds
from messages import diagrams

RATING_VALUES = (5, 4, 3, 2, 1)  # the order the buttons show them; labels in messages/evaluation.py
MAX_CHOICES = 10  # every choice a quick-reply button, with room for skip, back and cancel
DEFAULT_TEXT_LIMIT = 1000


class QuestionKind(StrEnum):
    RATING = "rating"  # 1–5 with Thai labels
    CHOICE = "choice"  # one of the choices
    MULTI = "multi"  # any of the choices
    NUMBER = "number"
    TEXT = "text"


@dataclass(frozen=True)
class Question:
    key: str
    kind: QuestionKind
    text: str
    required: bool = True
    choices: tuple[str, ...] = ()
    when: str = ""  # the condition as written (shown in diagrams, stored with a campaign)
    condition: Node | None = field(default=None, compare=False, repr=False)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    unit: str = ""
    max_length: int = DEFAULT_TEXT_LIMIT
    suggested: Any = None  # an answer proposed to the person (the year-end flow's computed verdicts)
    detail: str = ""  # a second line under the question (a target and a result, say)

    def applies(self, answers: Mapping[str, Any]) -> bool:
        return self.condition is None or holds(self.condition, answers)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "kind": self.kind.value, "text": self.text}
        if not self.required:
            out["required"] = False
        if self.choices:
            out["choices"] = list(self.choices)
        if self.when:
            out["when"] = self.when
        if self.minimum is not None:
            out["min"] = str(self.minimum)
        if self.maximum is not None:
            out["max"] = str(self.maximum)
        if self.unit:
            out["unit"] = self.unit
        if self.max_length != DEFAULT_TEXT_LIMIT:
            out["max_length"] = self.max_length
        if self.suggested is not None:
            out["suggested"] = self.suggested
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class Questionnaire:
    title: str
    questions: tuple[Question, ...]
    intro: str = ""
    anonymous: bool = False
    name: str = ""  # where it came from (a file's stem), for listings

    def question(self, key: str) -> Question:
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(key)

    def applicable(self, answers: Mapping[str, Any]) -> list[Question]:
        """The questions that apply given these answers, in order (a condition only looks back)."""
        return [q for q in self.questions if q.applies(answers)]

    def pruned(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The answers of the questions that still apply (an edit can switch a later one off)."""
        keep: dict[str, Any] = {}
        for q in self.questions:
            if q.key in answers and q.applies(keep):
                keep[q.key] = answers[q.key]
        return keep

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "intro": self.intro,
            "anonymous": self.anonymous,
            "name": self.name,
            "questions": [q.to_dict() for q in self.questions],
        }

    def mermaid(self) -> str:
        """A Mermaid flowchart: each question in order; a conditional one has a dotted way in, labelled
        with its condition, and a dotted way around it; then the review, the submission, revising."""
        lines = ["flowchart TD", f'    start(["{_label(self.title)}"])']
        entries: list[tuple[str, str]] = [("start", "")]
        for q in self.questions:
            node = f"q_{q.key}"
            notes = [q.kind.value] + ([] if q.required else [diagrams.SKIPPABLE])
            lines.append(f'    {node}[/"{_label(q.text)} ({", ".join(notes)})"/]')
            for source, label in entries:
                lines.append(
                    _edge(source, node, label or (diagrams.only_if(q.when) if q.when else ""), bool(q.when))
                )
            if q.when:
                entries = [(node, ""), *((source, diagrams.unless(q.when)) for source, _ in entries)]
            else:
                entries = [(node, "")]
        lines.append(diagrams.QUESTIONNAIRE_END[0])
        lines += [_edge(source, "review", label, bool(label)) for source, label in entries]
        lines += diagrams.QUESTIONNAIRE_END[1:]
        return "\n".join(lines)


def _label(text: str) -> str:
    return text.replace('"', "#quot;")


def _edge(source: str, target: str, label: str, dotted: bool) -> str:
    arrow = "-.->" if dotted else "-->"
    return f'    {source} {arrow}|"{_label(label)}"| {target}' if label else f"    {source} {arrow} {target}"
