"""The form engine's pure core, with plain values: a tiny form of every field kind, and the quarterly
report over a plain-values `ReportFacts`. No database, no LINE; rendering goes through messages/forms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.forms import engine
from bot.forms.engine import (
    SKIPPED,
    ButtonInput,
    Cancelled,
    Command,
    CommandInput,
    ConfirmCancel,
    ConfirmValue,
    Notice,
    NoticeCode,
    Op,
    PhotoInput,
    Problem,
    Question,
    SaveDraft,
    Start,
    Submit,
    Summary,
    TextInput,
)
from bot.forms.report import QUARTERLY_REPORT
from bot.forms.spec import Choice, Confirm, Field, Form, FormDeclarationError, Item, Kind
from messages import forms as render_forms
from models.reporting import IndicatorFact, PeriodChoice, ProjectFacts, ProjectRef

TODAY = date(2025, 11, 20)


def ask(answers: Any, data: Any, item: Item | None) -> str:
    return "คำถาม" + (f" {item.title}" if item else "")


def big_count(value: Any, answers: Any, data: Any, item: Item | None) -> Confirm | None:
    return Confirm("มากจัง ยืนยันไหม") if Decimal(value) > 100 else None


TINY = Form(
    name="tiny",
    title="แบบทดสอบ",
    help_text="ช่วยเหลือ",
    fields=(
        Field("color", Kind.CHOICE, "สี", ask, choices=lambda a, d: d["colors"], searchable=True),
        Field("count", Kind.NUMBER, "จำนวน", ask, check=big_count, depends_on=("color",)),
        Field("cost", Kind.MONEY, "ราคา", ask, when=lambda a, d: a.get("color") == "red"),
        Field("day", Kind.DATE, "วันที่", ask),
        Field("name", Kind.TEXT, "ชื่อ", ask, optional=True),
        Field("share", Kind.PERCENT, "สัดส่วน", ask, default=lambda a, d, i: "50"),
        Field(
            "scores",
            Kind.NUMBER,
            "คะแนน",
            ask,
            items=lambda a, d: [Item("a", "ข้อ ก"), Item("b", "ข้อ ข", unit="คน")],
        ),
        Field("note", Kind.LONG_TEXT, "หมายเหตุ", ask, optional=True),
        Field("pics", Kind.PHOTO, "รูป", ask, optional=True, max_photos=2),
    ),
)
COLORS = {"colors": [Choice("red", "แดง", ("r", "สีแดง")), Choice("blue", "น้ำเงิน", ("b",))]}


def questions(result: engine.StepResult) -> list[Question]:
    return [r for r in result.replies if isinstance(r, Question)]


def last_question(result: engine.StepResult) -> Question:
    found = questions(result)
    assert found, result.replies
    return found[-1]


def notices(result: engine.StepResult) -> set[NoticeCode]:
    return {r.code for r in result.replies if isinstance(r, Notice)}


class Driver:
    """Feeds inputs to a form one at a time, keeping the state as the runtime would (JSON round trip)."""

    def __init__(self, form: Form, data: Any, answers: dict[str, Any] | None = None) -> None:
        self.form, self.data = form, data
        self.result = engine.start(form, data, TODAY, Start(answers=answers or {}))
        self.state = self._roundtrip(self.result.state)

    @staticmethod
    def _roundtrip(state: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if state is None else json.loads(json.dumps(state))

    def send(self, inp: engine.Input) -> engine.StepResult:
        assert self.state is not None
        self.result = engine.step(self.form, self.state, inp, self.data, TODAY)
        self.state = self._roundtrip(self.result.state)
        return self.result

    def text(self, text: str) -> engine.StepResult:
        return self.send(TextInput(text))

    def button(self, op: Op, value: str = "", item: str = "", seq: int | None = None) -> engine.StepResult:
        assert self.state is not None
        return self.send(ButtonInput(op, self.state["seq"] if seq is None else seq, value, item))

    def command(self, command: Command) -> engine.StepResult:
        return self.send(CommandInput(command))

    @property
    def answers(self) -> dict[str, Any]:
        assert self.state is not None
        return self.state["answers"]

    @property
    def at(self) -> str | None:
        assert self.state is not None
        return (self.state.get("cursor") or {}).get("field")


def fill_tiny(d: Driver) -> None:
    d.button(Op.ANSWER, "blue")
    d.text("๑๒")
    d.text("๑๕/๑/๖๙")
    d.text("สมชาย")
    d.text("๗๕%")
    d.text("1")
    d.text("2 คน")
    d.text("ข้าม")
    d.button(Op.DONE)


# --- declarations are checked when built --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ((Field("a", Kind.TEXT, "ก", ask), Field("a", Kind.NUMBER, "ข", ask)), "duplicate field 'a'"),
        ((Field("c", Kind.CHOICE, "ค", ask),), "choice field 'c' has no choices"),
        (
            (Field("a", Kind.TEXT, "ก", ask, depends_on=("b",)), Field("b", Kind.TEXT, "ข", ask)),
            "not an earlier field",
        ),
        ((Field("a", Kind.TEXT, "ก", ask, depends_on=("zzz",)),), "depends on 'zzz'"),
        ((Field("a", Kind.TEXT, "ก", ask, depends_on=("a",)),), "depends on 'a'"),
        ((Field("n", Kind.NUMBER, "น", ask, searchable=True),), "only apply to choices"),
        ((Field("p", Kind.PHOTO, "ร", ask, items=lambda a, d: []),), "only scalar kinds can repeat"),
        ((), "at least one field"),
    ],
)
def test_broken_declarations_fail_when_built(fields, message) -> None:
    with pytest.raises(FormDeclarationError, match=message):
        Form(name="broken", title="เสีย", fields=fields)


@pytest.mark.parametrize("form", [TINY, QUARTERLY_REPORT], ids=lambda f: f.name)
def test_mermaid_draws_every_field_with_a_way_in(form: Form) -> None:
    diagram = form.mermaid()
    assert diagram.startswith("flowchart TD")
    for f in form.fields:
        assert f'f_{f.name}[/"{f.label} (' in diagram
        assert any(line.rstrip().endswith(f" f_{f.name}") for line in diagram.splitlines() if "->" in line), (
            f.name
        )
    assert "summary" in diagram and "ยืนยันส่ง" in diagram and "ยกเลิก" in diagram
    # a conditional field has a way around it as well as into it
    assert '-.->|"ไม่เข้าเงื่อนไข"| f_day' in TINY.mermaid()


# --- choices: pages, search, rendering within LINE's limits -------------------------------------------

FORTY = {
    "colors": [Choice(f"c{i}", f"P-{i:03d} โครงการพัฒนาผู้เรียน {i}", (f"P-{i:03d}",)) for i in range(1, 41)]
}


def _quick_items(result: engine.StepResult) -> list[Any]:
    messages = render_forms.render(result.replies)
    assert len(messages) <= 5
    items = [i for m in messages if getattr(m, "quick_reply", None) for i in m.quick_reply.items]
    for item in items:
        assert len(item.action.label) <= 20
        assert len(getattr(item.action, "data", "") or "") <= 300
    return items


def test_forty_choices_are_paged_within_thirteen_quick_replies() -> None:
    d = Driver(TINY, FORTY)
    q = last_question(d.result)
    assert q.pages == 5
    seen: list[str] = []
    for page in range(q.pages):
        if page:
            d.button(Op.PAGE, str(page))
        q = last_question(d.result)
        assert q.page == page
        items = _quick_items(d.result)
        assert len(items) <= 13
        seen += [c.value for c in q.options]
        text = render_forms.render(d.result.replies)[-1].text
        assert f"(หน้า {page + 1}/5)" in text
    assert seen == [c.value for c in FORTY["colors"]]
    assert d.answers == {}


def test_search_by_part_of_the_name_narrows_and_a_code_picks() -> None:
    d = Driver(TINY, FORTY)
    r = d.text("ผู้เรียน 3")
    assert NoticeCode.SEVERAL_MATCHES in notices(r)
    q = last_question(r)
    assert q.searching and {c.value for c in q.options} <= {"c3", *(f"c{i}" for i in range(30, 40))}
    assert len(_quick_items(r)) <= 13
    d.text("p-037")  # a code, in lower case
    assert d.answers["color"] == "c37" and d.at == "count"


def test_typed_choice_without_a_match_asks_again() -> None:
    d = Driver(TINY, COLORS)
    r = d.text("เขียว")
    assert NoticeCode.NO_MATCH in notices(r) and d.at == "color" and d.answers == {}
    d.text("๒")  # its number in the list, in Thai digits
    assert d.answers["color"] == "blue"


# --- stale buttons -------------------------------------------------------------------------------------


def test_a_stale_button_is_answered_politely_and_changes_nothing() -> None:
    d = Driver(TINY, COLORS)
    first_seq = d.state["seq"]
    d.button(Op.ANSWER, "blue")
    before = json.loads(json.dumps(d.answers))
    r = d.button(Op.ANSWER, "red", seq=first_seq)
    assert NoticeCode.STALE_BUTTON in notices(r)
    assert d.answers == before and d.at == "count"
    assert last_question(r).field == "count"
    r = d.button(Op.CANCEL, seq=first_seq)  # even a cancel from an old question is not applied
    assert NoticeCode.STALE_BUTTON in notices(r) and d.state["mode"] == "ask"


def test_an_answer_button_for_a_choice_that_no_longer_exists_is_stale() -> None:
    d = Driver(TINY, COLORS)
    r = d.button(Op.ANSWER, "purple")
    assert NoticeCode.STALE_BUTTON in notices(r) and d.answers == {}


# --- validation of each kind: a problem, the same question again, nothing lost ------------------------


@pytest.mark.parametrize(
    ("field_name", "wrong", "right", "stored"),
    [
        ("count", "หลาย", "๙๙", "99"),
        ("count", "1,00", "12.5", "12.5"),
        ("count", "1" * 17, "3", "3"),
        ("cost", "-5 บาท", "๑๒๐,๐๐๐ บาท", 12_000_000),
        ("cost", "1.234 บาท", "฿1.5 ล้าน", 150_000_000),
        ("day", "32/1/69", "๑๕ ม.ค. ๒๕๖๙", "2026-01-15"),
        ("day", "วันไหนก็ได้", "15/1/2569", "2026-01-15"),
        ("name", "ก" * 301, "สมชาย", "สมชาย"),
        ("share", "101", "ร้อยละ ๗๕", "75"),
        ("share", "33.333", "33.33%", "33.33"),
        ("note", "ข" * 3001, "เรียบร้อย", "เรียบร้อย"),
    ],
)
def test_each_kinds_validation_error_then_a_correct_answer(field_name, wrong, right, stored) -> None:
    d = Driver(TINY, COLORS)
    d.button(Op.ANSWER, "red")
    answers_so_far = {"color": "red"}
    script = {
        "count": "5",
        "cost": "10 บาท",
        "day": "1/1/69",
        "name": "ก",
        "share": "10",
        "scores": None,
        "note": "x",
    }
    for name in [f.name for f in TINY.fields[1:]]:
        if name == field_name:
            break
        if name == "scores":
            d.text("1")
            d.text("1")
            continue
        d.text(script[name])
    assert d.at == field_name
    answers_so_far = json.loads(json.dumps(d.answers))
    r = d.text(wrong)
    assert any(isinstance(x, Problem) for x in r.replies), r.replies
    assert d.at == field_name and d.answers == answers_so_far  # asked again, nothing lost
    assert not r.effects
    d.text(right)
    assert d.answers[field_name] == stored


def test_text_where_a_photo_is_expected_and_a_photo_out_of_turn() -> None:
    # Issue 16: a photo sent before its question is kept for it (not an answer to the current one), and
    # editing the photos keeps those sent, with a way to remove one.
    d = Driver(TINY, COLORS)
    r = d.send(PhotoInput("9"))
    assert NoticeCode.PHOTO_KEPT in notices(r) and d.answers == {} and d.at == "color"
    assert not r.effects  # nothing saved as an answer to the colour question
    d.button(Op.ANSWER, "blue")
    for typed in ("๑๒", "๑๕/๑/๖๙", "สมชาย", "๗๕%", "1", "2 คน", "ข้าม"):
        d.text(typed)
    assert d.at == "pics" and d.answers["pics"] == ["9"]  # the early photo is there when asked
    r = d.text("นี่รูป")
    assert NoticeCode.PHOTO_NOT_NOW in notices(r) and d.at == "pics"
    r = d.send(PhotoInput("1"))
    assert NoticeCode.PHOTOS_FULL in notices(r) and d.answers["pics"] == ["9", "1"]
    assert isinstance(r.replies[-1], Summary)
    d.button(Op.EDIT, "pics")
    assert d.at == "pics" and d.answers["pics"] == ["9", "1"]  # editing keeps them
    r = d.button(Op.REMOVE, "1")
    assert NoticeCode.PHOTO_REMOVED in notices(r) and d.answers["pics"] == ["1"]
    r = d.send(PhotoInput("2"))
    assert NoticeCode.PHOTOS_FULL in notices(r) and d.answers["pics"] == ["1", "2"]


# --- navigation: back, skip, edit, cancel, confirm ----------------------------------------------------


def test_back_goes_to_the_previous_question_and_shows_the_answer() -> None:
    d = Driver(TINY, COLORS)
    r = d.button(Op.BACK)
    assert NoticeCode.NOTHING_BEFORE in notices(r)
    d.button(Op.ANSWER, "red")
    d.text("3")
    assert d.at == "cost"
    r = d.command(Command.BACK)
    q = last_question(r)
    assert q.field == "count" and q.default == "3" and d.answers["count"] == "3"
    d.button(Op.KEEP)
    assert d.at == "cost" and d.answers["count"] == "3"


def test_skip_only_optional_fields() -> None:
    d = Driver(TINY, COLORS)
    d.button(Op.ANSWER, "blue")
    r = d.command(Command.SKIP)
    assert NoticeCode.NOT_OPTIONAL in notices(r) and d.at == "count"
    d.text("1")
    d.text("1/1/69")
    d.button(Op.SKIP)
    assert d.answers["name"] == SKIPPED and d.at == "share"


def test_edit_from_the_summary_and_dependent_answers() -> None:
    d = Driver(TINY, COLORS)
    fill_tiny(d)
    summary = d.result.replies[-1]
    assert isinstance(summary, Summary) and summary.complete
    assert "cost" not in d.answers  # blue: no cost question
    d.button(Op.EDIT, "name")
    r = d.text("สมหญิง")
    assert isinstance(r.replies[-1], Summary) and d.answers["name"] == "สมหญิง" and d.answers["count"] == "12"
    d.button(Op.EDIT, "scores", item="b")
    assert last_question(d.result).item.key == "b"
    d.text("9")
    assert d.answers["scores"] == {"a": "1", "b": "9"}
    d.button(Op.EDIT, "color")
    r = d.button(Op.ANSWER, "red")  # count depends on color, and red brings in the cost question
    assert "count" not in d.answers and d.at == "count"
    d.text("5")
    assert d.at == "cost"
    d.text("100 บาท")
    assert isinstance(d.result.replies[-1], Summary)
    assert d.answers["name"] == "สมหญิง"  # unrelated answers survive


def test_cancel_asks_first_and_keeps_a_draft() -> None:
    d = Driver(TINY, COLORS)
    d.button(Op.ANSWER, "blue")
    r = d.command(Command.CANCEL)
    assert isinstance(r.replies[-1], ConfirmCancel)
    r = d.text("ต่อเลย")  # anything but a confirmation carries on
    assert last_question(r).field == "count"
    d.button(Op.CANCEL)
    r = d.button(Op.CONFIRM)
    assert r.state is None and any(isinstance(e, Cancelled) for e in r.effects)
    assert next(e for e in r.effects if isinstance(e, SaveDraft)).answers == {"color": "blue"}


def test_a_value_that_needs_confirming() -> None:
    d = Driver(TINY, COLORS)
    d.button(Op.ANSWER, "blue")
    r = d.text("500")
    assert isinstance(r.replies[-1], ConfirmValue) and "count" not in d.answers
    r = d.button(Op.REJECT)
    assert last_question(r).field == "count" and "count" not in d.answers
    d.text("500")
    d.command(Command.YES)
    assert d.answers["count"] == "500" and d.at == "day"
    d.command(Command.BACK)
    d.text("600")
    r = d.text("7")  # a new answer instead of confirming is the answer
    assert d.answers["count"] == "7" and d.at == "day"


def test_submit_only_from_a_complete_summary() -> None:
    d = Driver(TINY, COLORS)
    d.button(Op.ANSWER, "blue")
    r = d.command(Command.SUBMIT)
    assert isinstance(r.replies[-1], Summary) and not r.replies[-1].complete
    r = d.button(Op.SUBMIT)
    assert NoticeCode.INCOMPLETE in notices(r) and d.at == "count"
    fill_tiny(d)
    r = d.button(Op.SUBMIT)
    assert r.state is None
    [submit] = [e for e in r.effects if isinstance(e, Submit)]
    assert submit.answers["color"] == "blue" and submit.answers["scores"] == {"a": "1", "b": "2"}


def test_prefill_merges_saved_answers_and_carries_on() -> None:
    d = Driver(TINY, COLORS)
    d.button(Op.ANSWER, "blue")
    r = engine.prefill(
        TINY, d.state, {"color": "red", "count": "4", "day": "2026-01-15"}, COLORS, TODAY, note="กลับมาแก้"
    )
    assert r.state["answers"]["color"] == "blue"  # what was answered in this run wins
    assert r.state["answers"]["count"] == "4"
    assert last_question(r).field == "name"  # blue: no cost; the first unanswered question
    assert any(isinstance(x, Notice) and x.params.get("text") == "กลับมาแก้" for x in r.replies)


def test_resume_asks_the_current_question_again() -> None:
    d = Driver(TINY, COLORS)
    d.button(Op.ANSWER, "red")
    r = engine.resume(TINY, d.state, COLORS, TODAY)
    assert last_question(r).field == "count" and r.state["answers"] == {"color": "red"}
    assert r.state["seq"] == d.state["seq"] + 1


# --- the quarterly report over plain facts ------------------------------------------------------------


@dataclass
class PlainFacts:
    today: date
    refs: list[ProjectRef]
    facts: dict[int, ProjectFacts]
    period_choices: dict[int, list[PeriodChoice]]
    previous_answers: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)

    def projects(self) -> list[ProjectRef]:
        return self.refs

    def project(self, project_id: int) -> ProjectFacts | None:
        return self.facts.get(project_id)

    def periods(self, project_id: int) -> list[PeriodChoice]:
        return self.period_choices.get(project_id, [])

    def previous(self, project_id: int, period_id: int) -> dict[str, Any] | None:
        return self.previous_answers.get((project_id, period_id))


def plain_facts(projects: int = 1, *, periods: int = 1, previous: dict[str, Any] | None = None) -> PlainFacts:
    refs = [ProjectRef(i, f"P-{i:03d}", f"โครงการที่ {i}") for i in range(1, projects + 1)]
    facts = {
        r.id: ProjectFacts(
            r.id,
            r.code,
            r.name,
            2569,
            10_000_000,
            None,
            (
                IndicatorFact(10 * r.id, "K1", "ผู้เข้าร่วม", "คน", Decimal(100)),
                IndicatorFact(10 * r.id + 1, "K2", "ความพึงพอใจ", "%", None),
            ),
        )
        for r in refs
    }
    choices = [
        PeriodChoice(q, 2569, q, date(2026, 1, 10) if q == 1 else date(2026, 4, 10), None, False)
        for q in range(1, periods + 1)
    ]
    facts_ = PlainFacts(
        date(2026, 1, 20) if periods > 1 else TODAY, refs, facts, {r.id: choices for r in refs}
    )
    if previous is not None:
        facts_.previous_answers = {(r.id, periods): previous for r in refs}
    return facts_


def test_report_with_one_project_and_one_period_goes_straight_to_the_status() -> None:
    d = Driver(QUARTERLY_REPORT, plain_facts())
    assert d.at == "status" and d.answers == {"project": "1", "period": "1"}


def test_report_period_defaults_to_the_open_one_and_indicators_show_targets() -> None:
    d = Driver(QUARTERLY_REPORT, plain_facts(2, periods=2))
    d.button(Op.ANSWER, "2")
    q = last_question(d.result)
    assert q.field == "period" and q.default == "2" and [c.value for c in q.options] == ["1", "2"]
    d.button(Op.KEEP)
    d.button(Op.ANSWER, "in_progress")
    d.text("10")
    d.text("1,000 บาท")
    q = last_question(d.result)
    assert q.field == "indicators" and q.item.detail == "ค่าเป้าหมาย 100 คน" and q.position == (1, 2)
    assert "ค่าเป้าหมาย 100 คน" in render_forms.render(d.result.replies)[-1].text


def test_report_previous_quarter_defaults_and_confirmations() -> None:
    previous = {
        "status": "in_progress",
        "progress": "40",
        "budget": 5_000_000,
        "indicators": {"10": "30"},
        "problems": SKIPPED,
    }
    d = Driver(QUARTERLY_REPORT, plain_facts(1, periods=2, previous=previous))
    d.button(Op.KEEP)  # the open period
    assert last_question(d.result).default == "in_progress"
    d.button(Op.KEEP)
    r = d.text("30")
    assert isinstance(r.replies[-1], ConfirmValue) and "ร้อยละ 40" in r.replies[-1].message
    d.button(Op.CONFIRM)
    assert d.answers["progress"] == "30"
    r = d.text("200,000 บาท")  # above the 100,000 baht allocation
    assert isinstance(r.replies[-1], ConfirmValue) and "เกินงบ" in r.replies[-1].message
    d.command(Command.NO)
    assert "budget" not in d.answers
    r = d.text("60,000 บาท")
    assert last_question(r).default == "30"  # last quarter's indicator result offered
    d.button(Op.KEEP)
    assert last_question(d.result).default is None  # K2 had no result last quarter
    r = d.text("-1")
    assert any(isinstance(x, Problem) for x in r.replies) and d.at == "indicators"


def test_report_cancelled_status_asks_a_reason_and_dropping_it_when_changed() -> None:
    d = Driver(QUARTERLY_REPORT, plain_facts())
    d.button(Op.ANSWER, "cancelled")
    assert d.at == "status_reason"
    d.text("งบไม่มา")
    d.command(Command.BACK)
    d.command(Command.BACK)
    assert d.at == "status"
    d.button(Op.ANSWER, "not_started")
    assert "status_reason" not in d.answers and d.at == "budget"  # not started: no progress question


def test_report_a_project_with_nothing_to_report() -> None:
    facts = plain_facts(2)
    facts.period_choices[1] = []
    d = Driver(QUARTERLY_REPORT, facts)
    r = d.button(Op.ANSWER, "1")
    assert NoticeCode.NO_CHOICES in notices(r) and d.at == "project" and "project" not in d.answers
    assert "ไม่มีไตรมาส" in render_forms.render(r.replies)[0].text
    d.button(Op.ANSWER, "2")
    assert d.at == "status"
    only = plain_facts(1)
    only.period_choices[1] = []
    r = engine.start(QUARTERLY_REPORT, only, TODAY, Start())
    assert r.state is None and NoticeCode.NO_CHOICES in {x.code for x in r.replies if isinstance(x, Notice)}


# --- property: random conversations ------------------------------------------------------------------

TEXTS = [
    "แดง",
    "น้ำเงิน",
    "เขียว",
    "1",
    "๒",
    "3",
    "r",
    "0",
    "-1",
    "๑๒๐,๐๐๐ บาท",
    "1,00",
    "500",
    "12.5",
    "101",
    "75%",
    "๑๕/๑/๖๙",
    "32/13/69",
    "พรุ่งนี้",
    "สมชาย",
    "",
    "   ",
    "ก" * 301,
    "ข" * 3001,
    "ข้าม",
    "-",
    "P-002",
    "โครงการที่",
    "ไตรมาส 2",
    "ยกเลิก/เลื่อน",
    "อยู่ระหว่างดำเนินการ",
    "๕๐",
    "30",
    "๒๐๐,๐๐๐ บาท",
]
OPS = list(Op)
VALUES = [
    "",
    "red",
    "blue",
    "purple",
    "0",
    "1",
    "2",
    "5",
    "color",
    "count",
    "scores",
    "pics",
    "nope",
    "project",
    "period",
    "status",
    "progress",
    "budget",
    "indicators",
    "photos",
    "in_progress",
    "cancelled",
    "not_started",
]
ITEMS = ["", "a", "b", "z", "10", "11", "20"]


@st.composite
def an_input(draw: st.DrawFn) -> tuple[str, Any, int]:
    """(kind, payload, how many questions old a button is: 0 = current)."""
    kind = draw(st.sampled_from(["text", "command", "button", "photo"]))
    if kind == "text":
        return kind, draw(st.sampled_from(TEXTS)), 0
    if kind == "command":
        return kind, draw(st.sampled_from(list(Command))), 0
    if kind == "photo":
        return kind, str(draw(st.integers(1, 9))), 0
    payload = (draw(st.sampled_from(OPS)), draw(st.sampled_from(VALUES)), draw(st.sampled_from(ITEMS)))
    return kind, payload, draw(st.sampled_from([0, 0, 1, 3]))


def build(drawn: tuple[str, Any, int], seq: int) -> engine.Input:
    kind, payload, age = drawn
    if kind == "text":
        return TextInput(payload)
    if kind == "command":
        return CommandInput(payload)
    if kind == "photo":
        return PhotoInput(payload)
    op, value, item = payload
    return ButtonInput(op, seq - age, value, item)


def _depends_changed(form: Form, name: str, before: dict[str, Any], after: dict[str, Any]) -> bool:
    return any(before.get(dep) != after.get(dep) for dep in form.field(name).depends_on)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(an_input(), min_size=1, max_size=40), st.sampled_from([COLORS, FORTY]))
def test_random_conversations_never_crash_or_lose_answers(inputs, data) -> None:
    _random_conversation(TINY, data, inputs)


REPORT_FACTS = plain_facts(
    3, periods=2, previous={"status": "in_progress", "progress": "40", "budget": 5_000_000}
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(an_input(), min_size=1, max_size=40))
def test_random_report_conversations_never_crash_or_lose_answers(inputs) -> None:
    _random_conversation(QUARTERLY_REPORT, REPORT_FACTS, inputs)


def _random_conversation(form: Form, data: Any, inputs: list[tuple[str, Any, int]]) -> None:
    state = engine.start(form, data, TODAY, Start()).state
    for drawn in inputs:
        if state is None:
            state = engine.start(form, data, TODAY, Start()).state
        assert state is not None
        before = json.loads(json.dumps(state))
        inp = build(drawn, int(state["seq"]))
        result = engine.step(form, state, inp, data, TODAY)
        for reply in result.replies:
            assert isinstance(reply, Question | Problem | Notice | ConfirmValue | ConfirmCancel | Summary)
        messages = render_forms.render(result.replies)
        assert len(messages) <= 5 and (messages or result.state is None)  # always an answer while asking
        for m in messages:
            qr = getattr(m, "quick_reply", None)
            assert qr is None or len(qr.items) <= 13
        if result.state is None:
            assert any(isinstance(e, Submit | Cancelled) for e in result.effects)
            state = None
            continue
        after = json.loads(json.dumps(result.state))
        assert after == result.state  # JSON-serialisable, unchanged by the round trip
        assert before == json.loads(json.dumps(state))  # the input state was not mutated
        cursor = (before.get("cursor") or {}).get("field")
        is_edit = isinstance(inp, ButtonInput) and inp.op is Op.EDIT and inp.seq == before["seq"]
        b, a = before["answers"], after["answers"]
        for name, value in b.items():
            if a.get(name) == value:
                continue
            f = form.field(name)
            explained = (
                name == cursor  # re-answered (or the photo set grew)
                or (is_edit and inp.value == name)  # editing a field
                # a photo sent at the summary joins the photo set (issue 16), growing it by that photo
                or (
                    isinstance(inp, PhotoInput)
                    and f.kind is Kind.PHOTO
                    and before.get("mode") == "summary"
                    and a.get(name) == [*(value or []), inp.ref]
                )
                or _depends_changed(form, name, b, a)
                or not f.applies(a, data)  # no longer asked
            )
            assert explained, (name, value, a.get(name), inp)
        state = after


# --- `tidtam forms` -------------------------------------------------------------------------------------


def test_forms_command_lists_and_draws_the_declared_forms() -> None:
    from typer.testing import CliRunner

    from tidtam.cli import app

    runner = CliRunner()
    listing = runner.invoke(app, ["forms"])
    assert listing.exit_code == 0 and listing.output.startswith("quarterly_report\t")
    drawn = runner.invoke(app, ["forms", "--diagram", "quarterly_report"])
    assert drawn.exit_code == 0 and drawn.output.strip().endswith(
        QUARTERLY_REPORT.mermaid().splitlines()[-1].strip()
    )
    assert "flowchart TD" in drawn.output and "f_photos" in drawn.output
    unknown = runner.invoke(app, ["forms", "--diagram", "nope"])
    assert unknown.exit_code == 2
