"""Loading a questionnaire from YAML, from a workbook sheet (`tidtam evaluation template`), or from a
campaign's stored JSON, with every declaration checked and each problem named by its line or row.

Both file formats are first read into the same tree of `Raw` values (text, lists, mappings), each
with where it came from, and one builder checks that tree, so YAML and workbooks are held to the same
rules and report problems in the same words (Thai, from `messages/evaluation.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from evaluation.conditions import KEY_PATTERN, ConditionError, comparisons, parse_condition
from evaluation.questionnaire import (
    DEFAULT_TEXT_LIMIT,
    MAX_CHOICES,
    RATING_VALUES,
    Question,
    QuestionKind,
    Questionnaire,
)
from messages import evaluation as txt
from messages import vocabulary

TOP_FIELDS = ("title", "intro", "anonymous", "questions")
QUESTION_FIELDS = ("key", "kind", "text", "required", "choices", "when", "min", "max", "unit", "max_length")
MAX_TEXT_LIMIT = 5000
MAX_QUESTIONS = 100
MAX_CHOICE_LENGTH = 100


class QuestionnaireError(ValueError):
    """A questionnaire that cannot be used; `problems` are Thai lines, each naming its line or row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Raw:
    value: Any  # str, list[Raw] or dict[str, Raw]
    where: str
    line: int = 0


# --- reading files into Raw trees ------------------------------------------------------------------


def _from_node(node: yaml.Node, problems: list[str]) -> Raw:
    line = node.start_mark.line + 1
    where = txt.where_line(line)
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Raw] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in mapping:
                problems.append(
                    txt.problem(
                        txt.where_line(key_node.start_mark.line + 1),
                        "duplicate_field",
                        name=key,
                        first=mapping[key].where,
                    )
                )
                continue
            mapping[key] = _from_node(value_node, problems)
            mapping[key].where = txt.where_line(key_node.start_mark.line + 1)
            mapping[key].line = key_node.start_mark.line + 1
        return Raw(mapping, where, line)
    if isinstance(node, yaml.SequenceNode):
        return Raw([_from_node(item, problems) for item in node.value], where, line)
    value = "" if node.tag == "tag:yaml.org,2002:null" else str(node.value)
    return Raw(value, where, line)


def read_yaml(text: str) -> Raw:
    """The YAML document as a Raw tree; `QuestionnaireError` naming the line when it is not YAML."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = txt.where_line(mark.line + 1) if mark is not None else txt.where_file()
        raise QuestionnaireError([txt.problem(where, "yaml_syntax")]) from None
    if node is None:
        raise QuestionnaireError([txt.problem(txt.where_file(), "empty_file")])
    problems: list[str] = []
    root = _from_node(node, problems)
    if problems:
        raise QuestionnaireError(problems)
    return root


def read_workbook(path: Path) -> Raw:
    """The sheets of a workbook made with `tidtam evaluation template` as a Raw tree."""
    from evaluation.sheet import read_sheets

    return read_sheets(path)


def load_file(path: Path) -> Questionnaire:
    """A questionnaire from a `.yaml`/`.yml` file or an `.xlsx` workbook."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise QuestionnaireError([txt.problem(txt.where_file(), "not_utf8")]) from None
        return build(read_yaml(text), name=path.stem)
    if suffix == ".xlsx":
        return build(read_workbook(path), name=path.stem)
    raise QuestionnaireError([txt.problem(txt.where_file(), "unknown_file_type", suffix=suffix or "-")])


def parse_yaml(text: str, name: str = "") -> Questionnaire:
    return build(read_yaml(text), name=name)


def from_dict(data: dict[str, Any]) -> Questionnaire:
    """A questionnaire stored as JSON (a campaign's copy, or one built in code), checked like a file."""

    def wrap(value: Any, where: str) -> Raw:
        if isinstance(value, dict):
            return Raw({str(k): wrap(v, where) for k, v in value.items()}, where)
        if isinstance(value, list):
            return Raw([wrap(v, f"{where}.{i + 1}") for i, v in enumerate(value)], where)
        if isinstance(value, bool):
            return Raw("true" if value else "false", where)
        return Raw("" if value is None else str(value), where)

    extra = {k: data[k] for k in ("name",) if k in data}
    questions = data.get("questions", [])
    suggested = {q.get("key"): q.get("suggested") for q in questions if isinstance(q, dict)}
    details = {q.get("key"): q.get("detail", "") for q in questions if isinstance(q, dict)}
    clean = {k: v for k, v in data.items() if k in TOP_FIELDS}
    clean["questions"] = [
        {k: v for k, v in q.items() if k not in ("suggested", "detail")}
        for q in questions
        if isinstance(q, dict)
    ]
    built = build(wrap(clean, txt.where_stored()), name=str(extra.get("name", "")))
    if not any(v is not None for v in suggested.values()) and not any(details.values()):
        return built
    return replace(
        built,
        questions=tuple(
            replace(q, suggested=suggested.get(q.key), detail=details.get(q.key) or "")
            for q in built.questions
        ),
    )


# --- checking a Raw tree ----------------------------------------------------------------------------

_TRUE = vocabulary.SHEET_TRUE
_FALSE = vocabulary.SHEET_FALSE


class _Checker:
    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    @property
    def problems(self) -> list[str]:
        """Every problem, in the order of the lines (rows) they are on."""
        return [text for _line, text in sorted(self.found, key=lambda found: found[0])]

    def add(self, raw: Raw, code: str, **detail: Any) -> None:
        self.found.append((raw.line, txt.problem(raw.where, code, **detail)))

    def text(self, raw: Raw | None, name: str, *, required: bool = False, where: Raw | None = None) -> str:
        if raw is None:
            if required and where is not None:
                self.add(where, "missing_field", name=name)
            return ""
        if not isinstance(raw.value, str):
            self.add(raw, "not_text", name=name)
            return ""
        value = raw.value.strip()
        if required and not value:
            self.add(raw, "missing_field", name=name)
        return value

    def boolean(self, raw: Raw | None, name: str, default: bool) -> bool:
        if raw is None:
            return default
        value = raw.value.strip().lower() if isinstance(raw.value, str) else None
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False if value else default
        self.add(raw, "bad_boolean", name=name, value=str(raw.value)[:30])
        return default

    def number(self, raw: Raw | None, name: str) -> Decimal | None:
        if raw is None or (isinstance(raw.value, str) and not raw.value.strip()):
            return None
        try:
            value = Decimal(str(raw.value).strip().replace(",", ""))
            if not value.is_finite():
                raise InvalidOperation
            return value
        except (InvalidOperation, ValueError):
            self.add(raw, "bad_number", name=name, value=str(raw.value)[:30])
            return None

    def unknown(self, mapping: dict[str, Raw], allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key, raw in mapping.items():
            if key not in allowed:
                self.add(raw, "unknown_field", name=key, allowed=", ".join(allowed))


def _kind(value: str) -> QuestionKind | None:
    cleaned = value.strip().lower()
    try:
        return QuestionKind(cleaned)
    except ValueError:
        pass
    for kind, words in txt.KIND_WORDS.items():
        if cleaned in words:
            return QuestionKind(kind)
    return None


def _choices(check: _Checker, raw: Raw | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw.value, str):  # a workbook cell: "a | b | c"
        items = [Raw(part.strip(), raw.where) for part in raw.value.split("|") if part.strip()]
    elif isinstance(raw.value, list):
        items = raw.value
    else:
        check.add(raw, "choices_not_list")
        return ()
    out: list[str] = []
    for item in items:
        if not isinstance(item.value, str) or not item.value.strip():
            check.add(item, "bad_choice")
            continue
        value = item.value.strip()
        if value in out:
            check.add(item, "duplicate_choice", choice=value)
        elif len(value) > MAX_CHOICE_LENGTH:
            check.add(item, "choice_too_long", limit=MAX_CHOICE_LENGTH)
        else:
            out.append(value)
    return tuple(out)


def _question(check: _Checker, raw: Raw, seen: dict[str, Raw]) -> Question | None:
    if not isinstance(raw.value, dict):
        check.add(raw, "question_not_mapping")
        return None
    fields: dict[str, Raw] = raw.value
    check.unknown(fields, QUESTION_FIELDS)
    key = check.text(fields.get("key"), "key", required=True, where=raw)
    if key and not KEY_PATTERN.fullmatch(key):
        check.add(fields["key"], "bad_key", key=key)
    elif key in seen:
        check.add(fields["key"], "duplicate_key", key=key, first=seen[key].where)
    kind_text = check.text(fields.get("kind"), "kind", required=True, where=raw)
    kind = _kind(kind_text) if kind_text else None
    if kind_text and kind is None:
        check.add(
            fields["kind"], "unknown_kind", kind=kind_text, allowed=", ".join(k.value for k in QuestionKind)
        )
    text = check.text(fields.get("text"), "text", required=True, where=raw)
    required = check.boolean(fields.get("required"), "required", True)
    choices = _choices(check, fields.get("choices"))
    if kind in (QuestionKind.CHOICE, QuestionKind.MULTI):
        if len(choices) < 2:
            check.add(fields.get("choices", raw), "too_few_choices", key=key or "?")
        elif len(choices) > MAX_CHOICES:
            check.add(fields["choices"], "too_many_choices", limit=MAX_CHOICES)
    elif choices and kind is not None:
        check.add(fields["choices"], "choices_not_allowed", kind=kind.value)
    minimum, maximum = check.number(fields.get("min"), "min"), check.number(fields.get("max"), "max")
    if (minimum is not None or maximum is not None) and kind not in (QuestionKind.NUMBER, None):
        check.add(fields.get("min") or fields["max"], "range_not_allowed", kind=kind.value)
    if minimum is not None and maximum is not None and minimum > maximum:
        check.add(fields["min"], "min_over_max")
    unit = check.text(fields.get("unit"), "unit")
    limit_value = check.number(fields.get("max_length"), "max_length")
    max_length = DEFAULT_TEXT_LIMIT
    if limit_value is not None:
        if (
            kind is not QuestionKind.TEXT
            or limit_value != int(limit_value)
            or not 1 <= limit_value <= MAX_TEXT_LIMIT
        ):
            check.add(fields["max_length"], "bad_max_length", limit=MAX_TEXT_LIMIT)
        else:
            max_length = int(limit_value)
    when = check.text(fields.get("when"), "when")
    if key and key not in seen:
        seen[key] = fields.get("key", raw)
    if kind is None or not key:
        return None  # other problems are reported, and still let the conditions be checked
    return Question(
        key=key,
        kind=kind,
        text=text,
        required=required,
        choices=choices,
        when=when,
        minimum=minimum,
        maximum=maximum,
        unit=unit,
        max_length=max_length,
    )


def _condition_problems(
    check: _Checker, raw: Raw, question: Question, earlier: dict[str, Question], later: set[str]
) -> Any:
    try:
        node = parse_condition(question.when)
    except ConditionError as error:
        check.add(raw, "condition_syntax", detail=txt.condition_error(error.code, error.detail))
        return None
    ok = True
    for compare in comparisons(node):
        if compare.key == question.key:
            check.add(raw, "condition_self", key=compare.key)
            ok = False
            continue
        if compare.key in later:
            check.add(raw, "condition_later", key=compare.key)
            ok = False
            continue
        target = earlier.get(compare.key)
        if target is None:
            check.add(raw, "condition_unknown", key=compare.key)
            ok = False
            continue
        if compare.op in ("<", "<=", ">", ">=") and target.kind not in (
            QuestionKind.RATING,
            QuestionKind.NUMBER,
        ):
            check.add(raw, "condition_order", key=compare.key, op=compare.op)
            ok = False
        for value in compare.values:
            if target.kind in (QuestionKind.CHOICE, QuestionKind.MULTI) and str(value) not in target.choices:
                check.add(raw, "condition_choice", key=compare.key, value=str(value))
                ok = False
            elif target.kind in (QuestionKind.RATING, QuestionKind.NUMBER) and not isinstance(value, Decimal):
                check.add(raw, "condition_number", key=compare.key, value=str(value))
                ok = False
            elif (
                target.kind is QuestionKind.RATING
                and compare.op in ("==", "!=", "in")
                and value not in RATING_VALUES
            ):
                check.add(raw, "condition_rating", key=compare.key, value=str(value))
                ok = False
    return node if ok else None


def build(root: Raw, *, name: str = "") -> Questionnaire:
    """Check a Raw tree and build the questionnaire; `QuestionnaireError` lists every problem found."""
    check = _Checker()
    if not isinstance(root.value, dict):
        raise QuestionnaireError([txt.problem(root.where, "not_mapping")])
    top: dict[str, Raw] = root.value
    check.unknown(top, TOP_FIELDS)
    title = check.text(top.get("title"), "title", required=True, where=root)
    intro = check.text(top.get("intro"), "intro")
    anonymous = check.boolean(top.get("anonymous"), "anonymous", False)
    raw_questions = top.get("questions")
    items: list[Raw] = []
    if raw_questions is None or not isinstance(raw_questions.value, list) or not raw_questions.value:
        check.add(raw_questions or root, "no_questions")
    else:
        items = raw_questions.value
        if len(items) > MAX_QUESTIONS:
            check.add(raw_questions, "too_many_questions", limit=MAX_QUESTIONS)
    seen: dict[str, Raw] = {}
    built: list[tuple[Raw, Question | None]] = [(raw, _question(check, raw, seen)) for raw in items]
    all_keys = list(seen)  # every well-formed key, in the order written
    earlier: dict[str, Question] = {}
    questions: list[Question] = []
    for raw, question in built:
        if question is None:
            continue
        later = set(all_keys[all_keys.index(question.key) + 1 :])
        if question.when:
            where = raw.value.get("when", raw) if isinstance(raw.value, dict) else raw
            node = _condition_problems(check, where, question, earlier, later)
            if node is not None:
                question = replace(question, condition=node)
        earlier[question.key] = question
        questions.append(question)
    if check.problems:
        raise QuestionnaireError(check.problems)
    return Questionnaire(title=title, intro=intro, anonymous=anonymous, questions=tuple(questions), name=name)
