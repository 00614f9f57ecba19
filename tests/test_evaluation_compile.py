"""A questionnaire compiled to a `bot/forms` declaration (evaluation/compile.py) asks the same
questions in the same order and stores the same answers as the questionnaire engine, whatever is
typed: a hypothesis property drives both engines side by side with plain values (no database)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import questionnaire_oracle as qe
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.forms import engine as fe
from bot.forms.spec import Form, FormDeclarationError, Kind
from evaluation.compile import engine_answers, stored, to_form
from evaluation.loader import parse_yaml
from evaluation.questionnaire import Questionnaire
from evaluation.yearend import IndicatorFacts, questionnaire_for

TODAY = date(2027, 9, 15)

FORM = """\
title: แบบประเมินความพึงพอใจ
intro: ขอความร่วมมือตอบแบบประเมินค่ะ
questions:
  - key: clarity
    kind: rating
    text: ความชัดเจนของแผน
  - key: channel
    kind: choice
    text: ช่องทางที่ได้รับข้อมูลมากที่สุด
    choices: [หนังสือราชการ, LINE, เว็บไซต์, การประชุม]
  - key: topics
    kind: multi
    text: เรื่องที่อยากให้ชี้แจงเพิ่ม
    choices: [งบประมาณ, ตัวชี้วัด, ปฏิทินงาน]
    required: false
  - key: hours
    kind: number
    text: ชั่วโมงที่ใช้กับงานแผนต่อเดือน
    min: 0
    max: 100
    unit: ชั่วโมง
  - key: comment
    kind: text
    text: ข้อเสนอแนะเพิ่มเติม
    required: false
    when: clarity <= 2
    max_length: 20
  - key: why_line
    kind: text
    text: ทำไมจึงเลือก LINE
    when: channel == "LINE" and hours > 10
"""

# What people type, per question kind: right answers, wrong ones, and ones the two engines read alike.
TYPED = {
    "clarity": ["1", "2", "4", "5", "๓", "มาก", "น้อยที่สุด", "6", "0", "ดี", ""],
    "channel": ["1", "4", "LINE", "line", "เว็บ", "การประชุม", "5", "ไปรษณีย์"],
    "topics": ["1", "1,3", "1 3", "๒ ๓", "3, 1", "2 และ 3", "งบประมาณ", "ตัวชี้วัด, ปฏิทินงาน", "4", "1,9", "อื่น ๆ"],
    "hours": ["0", "10", "11", "12.5", "๒๐", "100", "101", "-1", "120 ชั่วโมง", "20 ชั่วโมง", "สิบ", ""],
    "comment": ["ดีมาก", "  ควร   ชี้แจง  ", "ข้อความยาวเกินยี่สิบตัวอักษรแน่นอน", ""],
    "why_line": ["สะดวก", "เร็วดี ค่ะ", ""],
}
ACTIONS = ("type", "type", "type", "skip", "back", "toggle", "done", "cancel")


def questionnaire() -> Questionnaire:
    return parse_yaml(FORM, name="satisfaction")


def _q_position(step: qe.Step) -> str:
    assert step.state is not None
    return "review" if step.state["mode"] == qe.Mode.REVIEW.value else str(step.state["cursor"])


def _f_position(result: fe.StepResult) -> str:
    assert result.state is not None
    if result.state.get("mode") == "summary":
        return "review"
    return str(result.state["cursor"]["field"])


class Pair:
    """Both engines, fed the same inputs; after every input they must be at the same question."""

    def __init__(
        self, q: Questionnaire, answers: dict[str, Any] | None = None, submitted: bool = False
    ) -> None:
        self.q = q
        self.form: Form = to_form(q)
        self.q_step = qe.start(q, answers=answers, submitted=submitted)
        held = engine_answers(q, answers or {}, submitted=submitted)
        self.f_result = fe.start(self.form, None, TODAY, fe.Start(answers=held))
        self.check_same_place()

    def check_same_place(self) -> None:
        assert _q_position(self.q_step) == _f_position(self.f_result)

    @property
    def position(self) -> str:
        return _q_position(self.q_step)

    def feed(self, q_input: qe.Input, f_input: fe.Input) -> None:
        assert self.q_step.state is not None and self.f_result.state is not None
        self.q_step = qe.step(self.q, self.q_step.state, q_input)
        self.f_result = fe.step(self.form, self.f_result.state, f_input, None, TODAY)
        q_drafts = [e.answers for e in self.q_step.effects if isinstance(e, qe.SaveDraft)]
        f_drafts = [stored(self.q, e.answers) for e in self.f_result.effects if isinstance(e, fe.SaveDraft)]
        assert q_drafts[-1:] == f_drafts[-1:]
        self.check_same_place()

    def type(self, text: str) -> None:
        self.feed(qe.Text(text), fe.TextInput(text))

    def skip(self) -> None:
        self.feed(qe.Tap(qe.Op.SKIP, None), fe.CommandInput(fe.Command.SKIP))

    def back(self) -> None:
        self.feed(qe.Tap(qe.Op.BACK, None), fe.CommandInput(fe.Command.BACK))

    def seqs(self) -> tuple[int, int]:
        assert self.q_step.state is not None and self.f_result.state is not None
        return int(self.q_step.state["seq"]), int(self.f_result.state["seq"])

    def toggle(self, number: int) -> None:
        q_seq, f_seq = self.seqs()
        self.feed(qe.Tap(qe.Op.TOGGLE, q_seq, str(number)), fe.ButtonInput(fe.Op.TOGGLE, f_seq, str(number)))
        assert self.q_step.state is not None and self.f_result.state is not None
        assert self.q_step.state["picked"] == self.f_result.state["picked"]

    def done(self) -> None:
        self.feed(qe.Tap(qe.Op.DONE, None), fe.CommandInput(fe.Command.DONE))

    def edit(self, number: int) -> None:
        """From the review: the question by its number among those that apply."""
        assert self.q_step.state is not None
        key = self.q.applicable(self.q_step.state["answers"])[number - 1].key
        q_seq, f_seq = self.seqs()
        self.feed(qe.Tap(qe.Op.EDIT_KEY, q_seq, str(number)), fe.ButtonInput(fe.Op.EDIT, f_seq, key))

    def cancel(self) -> Pair:
        """Both pause with the same draft; then both start again from it."""
        assert self.q_step.state is not None and self.f_result.state is not None
        q_paused = qe.step(self.q, self.q_step.state, qe.Tap(qe.Op.CANCEL, None))
        f_paused = fe.step(self.form, self.f_result.state, fe.CommandInput(fe.Command.CANCEL), None, TODAY)
        assert q_paused.state is None and f_paused.state is None
        (q_draft,) = [e.answers for e in q_paused.effects if isinstance(e, qe.SaveDraft)]
        (f_draft,) = [e.answers for e in f_paused.effects if isinstance(e, fe.SaveDraft)]
        assert stored(self.q, f_draft) == q_draft
        return Pair(self.q, answers=q_draft)

    def submit(self) -> tuple[dict[str, Any], dict[str, Any]]:
        assert self.q_step.state is not None and self.f_result.state is not None
        q_done = qe.step(self.q, self.q_step.state, qe.Tap(qe.Op.SUBMIT, None))
        f_done = fe.step(self.form, self.f_result.state, fe.CommandInput(fe.Command.SUBMIT), None, TODAY)
        assert q_done.state is None and f_done.state is None
        (q_answers,) = [e.answers for e in q_done.effects if isinstance(e, qe.Submit)]
        (f_answers,) = [e.answers for e in f_done.effects if isinstance(e, fe.Submit)]
        return q_answers, stored(self.q, f_answers)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_compiled_form_asks_and_stores_what_the_questionnaire_engine_does(data: st.DataObject) -> None:
    pair = Pair(questionnaire())
    for _ in range(40):  # bounded: a run that has not submitted by then just stops
        if pair.position == "review":
            if data.draw(st.booleans()):
                q_answers, f_answers = pair.submit()
                assert f_answers == q_answers
                return
            assert pair.q_step.state is not None
            count = len(pair.q.applicable(pair.q_step.state["answers"]))
            pair.edit(data.draw(st.integers(1, count)))
            continue
        action = data.draw(st.sampled_from(ACTIONS))
        multi = pair.position == "topics"
        if action == "skip":
            pair.skip()
        elif action == "back":
            pair.back()
        elif action == "cancel":
            pair = pair.cancel()
        elif action == "toggle" and multi:
            pair.toggle(data.draw(st.integers(1, 3)))
        elif action == "done" and multi:
            pair.done()
        else:
            pair.type(data.draw(st.sampled_from(TYPED[pair.position])))


def test_a_full_run_stores_each_kind_as_the_questionnaire_does() -> None:
    pair = Pair(questionnaire())
    for typed in ("2", "LINE", "3, 1", "20 ชั่วโมง", "  ควร   ชี้แจง  ", "สะดวก"):
        pair.type(typed)
    assert pair.position == "review"
    q_answers, f_answers = pair.submit()
    assert (
        f_answers
        == q_answers
        == {
            "clarity": 2,
            "channel": "LINE",
            "topics": ["งบประมาณ", "ปฏิทินงาน"],
            "hours": "20",
            "comment": "ควร ชี้แจง",
            "why_line": "สะดวก",
        }
    )


def test_limits_and_conditions_refuse_and_skip_alike() -> None:
    pair = Pair(questionnaire())
    pair.type("4")  # clarity 4: the comment does not apply
    pair.type("1")  # หนังสือราชการ: why_line does not apply
    pair.skip()  # topics is optional
    pair.type("101")  # over the maximum: asked again
    assert pair.position == "hours"
    problems = [r for r in pair.f_result.replies if isinstance(r, fe.Problem)]
    assert problems and "100" in problems[0].message
    pair.type("5")
    assert pair.position == "review"
    q_answers, f_answers = pair.submit()
    assert f_answers == q_answers == {"clarity": 4, "channel": "หนังสือราชการ", "hours": "5"}


def test_a_submitted_answer_resumes_at_the_review_in_both() -> None:
    earlier = {"clarity": 5, "channel": "LINE", "hours": "3"}
    pair = Pair(questionnaire(), answers=earlier, submitted=True)
    assert pair.position == "review"
    q_answers, f_answers = pair.submit()
    assert f_answers == q_answers == earlier


def test_the_year_end_questionnaire_compiles_with_its_verdicts_as_defaults() -> None:
    from decimal import Decimal

    q = questionnaire_for(
        "P001 โครงการ",
        [
            IndicatorFacts(1, "ร้อยละผู้ผ่าน", "ร้อยละ", Decimal(80), Decimal(85)),
            IndicatorFacts(2, "จำนวน", "คน", None, None),
        ],
    )
    form = to_form(q)
    assert [f.kind for f in form.fields] == [Kind.CHOICE, Kind.CHOICE, Kind.LONG_TEXT, Kind.LONG_TEXT]
    first = fe.start(form, None, TODAY, fe.Start())
    (question,) = [r for r in first.replies if isinstance(r, fe.Question)]
    assert question.default == q.questions[0].suggested and question.default is not None
    assert first.state is not None
    kept = fe.step(form, first.state, fe.ButtonInput(fe.Op.KEEP, question.seq), None, TODAY)
    assert kept.state is not None and kept.state["answers"]["k1"] == q.questions[0].suggested


def test_a_multi_field_needs_its_choices() -> None:
    from bot.forms.spec import Field

    with pytest.raises(FormDeclarationError, match="no choices"):
        Form("broken", "x", (Field("m", Kind.MULTI, "m", prompt=lambda a, d, i: "?"),))


def test_a_conversation_saved_before_the_port_goes_on_where_it_was() -> None:
    from evaluation import engine

    q = questionnaire()
    old = qe.start(q, answers={"clarity": 4}, base={"flow": "campaign", "ref": 7})
    assert old.state is not None and "form" not in old.state
    shown = engine.resume(q, old.state)
    assert shown.state is not None and shown.state["form"]["answers"] == {"clarity": "4"}
    (ask,) = shown.replies
    assert isinstance(ask, engine.Ask) and ask.question.key == "channel"
    assert ask.seq > old.state["seq"]  # a button of the old state is stale
    stale = engine.step(q, old.state, engine.Tap(engine.Op.ANSWER, old.state["seq"], "2"))
    assert isinstance(stale.replies[0], engine.Ask) and stale.replies[0].correction == engine.Correction(
        engine.Code.STALE
    )
    going = engine.step(q, old.state, engine.Text("LINE"))
    assert going.state is not None
    assert (going.state["flow"], going.state["ref"]) == ("campaign", 7)
    assert going.state["answers"] == {"clarity": 4, "channel": "LINE"} and going.state["cursor"] == "topics"
    reviewing = qe.start(q, answers={"clarity": 5, "channel": "LINE", "hours": "2"}, submitted=True)
    assert reviewing.state is not None
    again = engine.resume(q, reviewing.state)
    assert isinstance(again.replies[0], engine.Review)


def test_a_text_limit_above_the_engines_own_is_the_questionnaires() -> None:
    from evaluation import engine

    q = parse_yaml(
        "title: t\nquestions:\n  - {key: long, kind: text, text: เล่าให้ฟัง, max_length: 4000}\n", name="t"
    )
    started = engine.start(q)
    assert started.state is not None
    taken = engine.step(q, started.state, engine.Text("ก" * 3500))
    assert taken.state is not None and taken.state["mode"] == engine.Mode.REVIEW.value
    refused = engine.step(q, started.state, engine.Text("ก" * 4001))
    assert refused.replies[0].correction == engine.Correction(engine.Code.TOO_LONG, "4000")
