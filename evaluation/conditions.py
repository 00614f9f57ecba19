"""The `when:` language of a questionnaire: a small, safe condition on earlier answers (never `eval`).

    clarity <= 2
    channel == LINE or channel == เว็บไซต์
    channel in [LINE, เว็บไซต์] and not comment
    topics in [ข้อมูล]          (a multi answer: true when any chosen item is in the list)
    comment                    (true when the question was answered)

Grammar: `expr := and ('or' and)*`, `and := not ('and' not)*`, `not := 'not' not | atom`,
`atom := '(' expr ')' | KEY [op value]`, `op := == != < <= > >= in`, `value := number | 'text' |
"text" | word | '[' value (',' value)* ']'`. The left side is always a question key; the right side
is always a literal, so nothing typed into a form can reach code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "in")
_TOKEN = re.compile(
    r"""\s*(?:(?P<op>==|!=|<=|>=|<|>)|(?P<punct>[()\[\],])|(?P<str>'[^']*'|"[^"]*")|(?P<word>[^\s()\[\],'"<>=!]+))"""
)


class ConditionError(ValueError):
    """A condition that does not parse; `code` names the problem for `messages/evaluation.py`."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Compare:
    key: str
    op: str | None  # None: "the question was answered"
    values: tuple[str | Decimal, ...] = ()

    def keys(self) -> set[str]:
        return {self.key}


@dataclass(frozen=True)
class Not:
    inner: Node

    def keys(self) -> set[str]:
        return self.inner.keys()


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Node, ...]

    def keys(self) -> set[str]:
        return set().union(*(p.keys() for p in self.parts))


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Node, ...]

    def keys(self) -> set[str]:
        return set().union(*(p.keys() for p in self.parts))


Node = Compare | Not | AllOf | AnyOf


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ConditionError("bad_character", text[position:].strip()[:20])
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _literal(kind: str, value: str) -> str | Decimal:
    if kind == "str":
        return value[1:-1]
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ConditionError("incomplete")
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] == word:
            self.at += 1
            return True
        return False

    def expect(self, punct: str) -> None:
        kind, value = self.take()
        if kind != "punct" or value != punct:
            raise ConditionError("expected", punct)

    def expr(self) -> Node:
        parts = [self.conjunction()]
        while self.keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.negation()]
        while self.keyword("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def negation(self) -> Node:
        if self.keyword("not"):
            return Not(self.negation())
        return self.atom()

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "punct" and value == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if kind != "word" or not KEY_PATTERN.fullmatch(value) or value in ("and", "or", "not", "in"):
            raise ConditionError("expected_key", value)
        token = self.peek()
        if token is None or token[0] not in ("op", "word") or (token[0] == "word" and token[1] != "in"):
            return Compare(value, None)
        op = self.take()[1]
        if op == "in":
            return Compare(value, op, self.value_list())
        return Compare(value, op, (self.value(),))

    def value(self) -> str | Decimal:
        kind, value = self.take()
        if kind not in ("str", "word"):
            raise ConditionError("expected_value", value)
        return _literal(kind, value)

    def value_list(self) -> tuple[str | Decimal, ...]:
        self.expect("[")
        values = [self.value()]
        while True:
            kind, value = self.take()
            if kind == "punct" and value == "]":
                return tuple(values)
            if kind != "punct" or value != ",":
                raise ConditionError("expected", "]")
            values.append(self.value())


def parse_condition(text: str) -> Node:
    """The condition `text` means; `ConditionError` when it is not one."""
    if not text.strip():
        raise ConditionError("empty")
    parser = _Parser(text)
    node = parser.expr()
    if parser.peek() is not None:
        raise ConditionError("trailing", parser.peek()[1])  # type: ignore[index]
    return node


def _as_number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _same(answer: Any, literal: str | Decimal) -> bool:
    if isinstance(literal, Decimal):
        number = _as_number(answer)
        return number is not None and number == literal
    return str(answer) == literal


def _compare(node: Compare, answers: Mapping[str, Any]) -> bool:
    answer = answers.get(node.key)
    if node.op is None:
        return answer not in (None, "", [])
    if answer is None:
        return False
    if node.op == "in":
        chosen = answer if isinstance(answer, list) else [answer]
        return any(_same(a, v) for a in chosen for v in node.values)
    literal = node.values[0]
    if node.op in ("==", "!="):
        chosen = answer if isinstance(answer, list) else [answer]
        equal = any(_same(a, literal) for a in chosen)
        return equal if node.op == "==" else not equal
    left, right = _as_number(answer), _as_number(literal)
    if left is None or right is None:
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[node.op]


def holds(node: Node, answers: Mapping[str, Any]) -> bool:
    """Whether the condition holds for these answers (an unanswered question compares false)."""
    if isinstance(node, Compare):
        return _compare(node, answers)
    if isinstance(node, Not):
        return not holds(node.inner, answers)
    if isinstance(node, AllOf):
        return all(holds(p, answers) for p in node.parts)
    return any(holds(p, answers) for p in node.parts)


def comparisons(node: Node) -> list[Compare]:
    """Every comparison in the condition (for the loader's checks against the questions it names)."""
    if isinstance(node, Compare):
        return [node]
    if isinstance(node, Not):
        return comparisons(node.inner)
    return [c for p in node.parts for c in comparisons(p)]
