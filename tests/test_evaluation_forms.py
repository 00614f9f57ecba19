"""Questionnaires as data: loading YAML and workbooks (every problem named by its line or row, in
Thai), the `when:` language, the conversation engine driven with plain values, the diagram command."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from evaluation import engine as e
from evaluation.conditions import ConditionError, holds, parse_condition
from evaluation.loader import QuestionnaireError, from_dict, load_file, parse_yaml
from evaluation.payload import Button, OpenCampaign, StartYearEnd, encode, parse_data
from evaluation.questionnaire import QuestionKind
from evaluation.sheet import write_template
from messages import evaluation as txt

FORM = """\
title: แบบประเมินความพึงพอใจต่อการขับเคลื่อนแผนปฏิบัติการ ปีงบประมาณ 2570
intro: ขอความร่วมมือตอบแบบประเมิน ใช้เวลาประมาณ 3 นาทีค่ะ
anonymous: false
questions:
  - key: clarity
    kind: rating          # rating (1-5, Thai labels) | choice | multi | number | text
    text: ความชัดเจนของแผน
    required: true
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
    when: clarity <= 2      # optional condition on earlier answers
"""


def form():  # type: ignore[no-untyped-def]
    return parse_yaml(FORM, name="satisfaction")


def problems(text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_yaml(text)
    return caught.value.problems


# --- loading ---------------------------------------------------------------------------------------


def test_the_issue_example_loads_with_every_kind_and_its_condition():
    q = form()
    assert [x.kind for x in q.questions] == [
        QuestionKind.RATING,
        QuestionKind.CHOICE,
        QuestionKind.MULTI,
        QuestionKind.NUMBER,
        QuestionKind.TEXT,
    ]
    comment = q.question("comment")
    assert not comment.required and comment.when == "clarity <= 2"
    assert comment.applies({"clarity": 2}) and not comment.applies({"clarity": 3})
    assert q.question("hours").maximum == Decimal(100)
    assert from_dict(q.to_dict()) == q  # a campaign's stored copy is the same questionnaire


def test_a_malformed_form_is_refused_with_each_line_named_in_thai():
    found = problems(
        "title: ทดสอบ\n"  # 1
        "questions:\n"  # 2
        "  - key: a\n"  # 3
        "    kind: ratng\n"  # 4
        "    text: ข้อ ก\n"  # 5
        "  - key: b\n"  # 6
        "    kind: choice\n"  # 7
        "    text: ข้อ ข\n"  # 8
        "    choices: [x, x]\n"  # 9
        "    when: c == 1\n"  # 10
        "  - key: c\n"  # 11
        "    kind: number\n"  # 12
        "    text: ข้อ ค\n"  # 13
        "  - key: c\n"  # 14
        "    kind: text\n"  # 15
        "    text: ซ้ำ\n"  # 16
        "    colour: red\n"  # 17
    )
    assert found == [
        "บรรทัด 4: ไม่รู้จักชนิดคำถาม ratng (ใช้ได้: rating, choice, multi, number, text) ค่ะ",
        "บรรทัด 9: ตัวเลือก x ซ้ำกันค่ะ",
        "บรรทัด 9: คำถาม b ต้องมีตัวเลือกอย่างน้อย 2 ข้อค่ะ",
        "บรรทัด 10: เงื่อนไขอ้างถึงคำถาม c ซึ่งอยู่ถัดไป เงื่อนไขใช้ได้กับคำถามก่อนหน้าเท่านั้นค่ะ",
        "บรรทัด 14: รหัสคำถาม c ซ้ำกับคำถามที่ บรรทัด 11 ค่ะ",
        "บรรทัด 17: ไม่รู้จักหัวข้อ colour (ใช้ได้: key, kind, text, required, choices, when, min, max, unit, max_length) ค่ะ",
    ]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("when: nope > 1", "เงื่อนไขอ้างถึงคำถาม nope ซึ่งไม่มีในแบบประเมินค่ะ"),
        ("when: r == 9", "คะแนนของคำถาม r มีแค่ 1 ถึง 5 แต่เงื่อนไขเทียบกับ 9 ค่ะ"),
        ("when: r <=", "เงื่อนไขอ่านไม่ออก: เงื่อนไขไม่ครบ (ตัวอย่าง: clarity <= 2)"),
        ("when: t == 1", "เงื่อนไขอ้างถึงคำถาม t ของตัวเองค่ะ"),
        ("required: maybe", "ต้องตอบ (required) ต้องเป็น true หรือ false (ใช่ หรือ ไม่) แต่เขียนว่า maybe ค่ะ"),
        ("choices: [a, b]", "คำถามชนิด text ไม่มีตัวเลือก ลบ choices ออกค่ะ"),
        ("max_length: 0", "ความยาวสูงสุดใช้กับชนิด text และต้องเป็นจำนวนเต็ม 1 ถึง 5000 ค่ะ"),
    ],
)
def test_each_problem_names_its_line(snippet: str, expected: str):
    lines = ["title: x", "questions:", "  - key: r", "    kind: rating", "    text: R"]
    lines += ["  - key: t", "    kind: text", "    text: T", f"    {snippet}"]
    assert problems("\n".join(lines) + "\n") == [f"บรรทัด 9: {expected}"]


def test_a_choice_on_a_value_that_is_not_a_choice_and_order_on_a_choice_are_refused():
    found = problems(
        "title: x\nquestions:\n"
        "  - {key: c, kind: choice, text: C, choices: [a, b]}\n"
        "  - {key: d, kind: text, text: D, when: c == z}\n"
        "  - {key: e, kind: text, text: E, when: c > a}\n"
    )
    assert "บรรทัด 4: คำถาม c ไม่มีตัวเลือก z ค่ะ" in found
    assert "บรรทัด 5: คำถาม c ไม่ใช่คะแนนหรือตัวเลข จึงใช้ > ไม่ได้ ใช้ == หรือ in แทนค่ะ" in found


def test_not_yaml_and_empty_files_are_refused_politely(tmp_path: Path):
    assert problems("title: x\nquestions: [\n")[0].startswith("บรรทัด 3: เขียนรูปแบบ YAML ไม่ถูกต้อง")
    assert problems("title: x\n") == ["บรรทัด 1: ยังไม่มีคำถาม (questions) ค่ะ"]
    other = tmp_path / "form.json"
    other.write_text("{}")
    with pytest.raises(QuestionnaireError, match=r"ไม่รู้จักไฟล์ชนิด \.json"):
        load_file(other)


def test_the_workbook_template_round_trips_and_its_problems_name_the_row(tmp_path: Path):
    path = tmp_path / "แบบประเมิน.xlsx"
    write_template(path)
    loaded = load_file(path)
    assert [q.key for q in loaded.questions] == ["clarity", "channel", "comment"]
    assert loaded.question("channel").choices == ("หนังสือราชการ", "LINE", "เว็บไซต์", "การประชุม")
    assert loaded.question("comment").applies({"clarity": 1})
    book = load_workbook(path)
    assert [c.value for c in book[txt.QUESTIONS_SHEET][1]][:3] == ["รหัสคำถาม", "ชนิดคำถาม", "ข้อความคำถาม"]
    sheet = book[txt.QUESTIONS_SHEET]
    sheet.append(["clarity", "ตัวเลข", "ซ้ำ"])  # row 5
    sheet.append(["late", "ข้อความ", "ถามเมื่อ", "", "", "later == 1"])  # row 6
    sheet.append(["later", "ตัวเลข", "ข้อหลัง"])  # row 7
    book.save(path)
    with pytest.raises(QuestionnaireError) as caught:
        load_file(path)
    assert caught.value.problems == [
        "แผ่นงาน คำถาม แถว 5: รหัสคำถาม clarity ซ้ำกับคำถามที่ แผ่นงาน คำถาม แถว 2 ค่ะ",
        "แผ่นงาน คำถาม แถว 6: เงื่อนไขอ้างถึงคำถาม later ซึ่งอยู่ถัดไป เงื่อนไขใช้ได้กับคำถามก่อนหน้าเท่านั้นค่ะ",
    ]


# --- the condition language ----------------------------------------------------------------------------


def test_conditions_combine_and_never_evaluate_code():
    node = parse_condition("clarity <= 2 and (channel in [LINE, 'เว็บไซต์'] or not comment)")
    assert holds(node, {"clarity": 1, "channel": "LINE", "comment": "x"})
    assert holds(node, {"clarity": 2, "channel": "หนังสือราชการ"})
    assert not holds(node, {"clarity": 3, "channel": "LINE"})
    assert not holds(parse_condition("clarity <= 2"), {})  # unanswered compares false
    assert holds(parse_condition("topics in [ตัวชี้วัด]"), {"topics": ["งบประมาณ", "ตัวชี้วัด"]})
    for bad in ("__import__('os')", "clarity <= ", "clarity == 1 1", "(clarity", "1 == clarity"):
        with pytest.raises(ConditionError):
            parse_condition(bad)


@given(st.text(max_size=40))
def test_any_text_either_parses_or_is_a_condition_error(text: str):
    try:
        node = parse_condition(text)
    except ConditionError:
        return
    holds(node, {"a": 1})  # whatever parsed can be evaluated without raising


# --- the engine with plain values --------------------------------------------------------------------


def run(q, state, *inputs):  # type: ignore[no-untyped-def]
    step = None
    for given_input in inputs:
        step = e.step(q, state, given_input)
        state = step.state
    return step


def test_a_whole_questionnaire_with_corrections_condition_and_edit():
    q = form()
    step = e.start(q)
    assert isinstance(step.replies[0], e.Ask) and step.replies[0].question.key == "clarity"
    step = e.step(q, step.state, e.Text("6"))
    assert step.replies[0].correction.code is e.Code.RATING
    step = run(q, step.state, e.Text("๒"), e.Text("เว็บ"))  # Thai digit; a unique part of a choice
    assert step.state["answers"] == {"clarity": 2, "channel": "เว็บไซต์"}
    seq = step.state["seq"]
    step = run(q, step.state, e.Tap(e.Op.TOGGLE, seq, "1"))
    step = run(q, step.state, e.Tap(e.Op.TOGGLE, step.state["seq"], "3"), e.Tap(e.Op.DONE, None))
    assert step.state["answers"]["topics"] == ["งบประมาณ", "ปฏิทินงาน"]
    step = e.step(q, step.state, e.Text("150"))
    assert step.replies[0].correction == e.Correction(e.Code.TOO_BIG, "100")
    step = e.step(q, step.state, e.Text("สิบ"))
    assert step.replies[0].correction.code is e.Code.NUMBER
    step = run(q, step.state, e.Text("12.5 ชั่วโมง"), e.Text("ควรชี้แจงให้ชัด"))
    assert isinstance(step.replies[0], e.Review)
    # Editing clarity to 5 switches the comment off: it is dropped from what is submitted.
    step = run(q, step.state, e.Tap(e.Op.EDIT, None), e.Text("1"), e.Text("5"))
    assert isinstance(step.replies[0], e.Review)
    step = e.step(q, step.state, e.Tap(e.Op.SUBMIT, None))
    assert step.state is None
    assert step.effects == [
        e.Submit({"clarity": 5, "channel": "เว็บไซต์", "topics": ["งบประมาณ", "ปฏิทินงาน"], "hours": "12.5"})
    ]


def test_skip_back_stale_buttons_and_cancel_keep_everything():
    q = form()
    state = run(q, e.start(q).state, e.Text("4"), e.Text("2")).state
    step = e.step(q, state, e.Tap(e.Op.SKIP, None))  # topics is optional
    assert step.replies[0].question.key == "hours"
    step = e.step(q, step.state, e.Tap(e.Op.SKIP, None))  # hours is required
    assert step.replies[0].correction.code is e.Code.REQUIRED
    step = e.step(q, step.state, e.Tap(e.Op.ANSWER, 1, "5"))  # a button of the first question
    assert step.replies[0].correction.code is e.Code.STALE and step.state["answers"]["clarity"] == 4
    step = e.step(q, step.state, e.Tap(e.Op.BACK, None))
    assert step.replies[0].question.key == "topics"
    step = e.step(q, step.state, e.Tap(e.Op.CANCEL, None))
    assert step.state is None and step.effects == [e.SaveDraft({"clarity": 4, "channel": "LINE"})]
    resumed = e.start(q, answers={"clarity": 4, "channel": "LINE"})
    assert resumed.replies[0].question.key == "topics"


def test_a_complete_earlier_answer_opens_on_the_review():
    q = form()
    step = e.start(
        q, answers={"clarity": 3, "channel": "LINE", "hours": "4", "comment": "stale"}, submitted=True
    )
    assert isinstance(step.replies[0], e.Review)
    assert "comment" not in step.state["answers"]  # no longer applies


def test_payloads_round_trip_and_strangers_are_refused():
    for payload in (Button(e.Op.TOGGLE, 7, "3"), OpenCampaign(12), StartYearEnd(99), Button(e.Op.SUBMIT, 2)):
        assert parse_data(encode(payload)) == payload
    for data in (
        "v1|ev|op=zz|s=1",
        "v1|ev|op=a",
        "v1|ev|op=open|c=x",
        "v2|ev|op=open|c=1",
        "v1|ev|op=a|s=1|v=" + "9" * 50,
    ):
        assert parse_data(data) is None


def test_rendered_questions_respect_line_limits():
    q = form()
    ask = e.start(q).replies[0]
    message = txt.render([ask])[0].to_dict()
    items = message["quickReply"]["items"]
    assert [i["action"]["label"] for i in items][:5] == [
        "5 มากที่สุด",
        "4 มาก",
        "3 ปานกลาง",
        "2 น้อย",
        "1 น้อยที่สุด",
    ]
    assert all(len(i["action"]["label"]) <= 20 and len(i["action"]["data"]) <= 300 for i in items)
    assert len(items) <= 13


def test_forms_diagram_draws_a_questionnaire_file(tmp_path: Path):
    from tidtam.cli import app

    path = tmp_path / "satisfaction.yaml"
    path.write_text(FORM, encoding="utf-8")
    result = CliRunner().invoke(app, ["forms", str(path), "--diagram"])
    assert result.exit_code == 0, result.output
    assert "flowchart TD" in result.output
    assert '-.->|"ถ้า clarity <= 2"| q_comment' in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(FORM.replace("kind: number", "kind: numbr"), encoding="utf-8")
    refused = CliRunner().invoke(app, ["forms", str(bad), "--diagram"])
    assert refused.exit_code == 2
    assert "บรรทัด 19: ไม่รู้จักชนิดคำถาม numbr" in refused.output


_INPUTS = st.one_of(
    st.builds(
        e.Text, st.sampled_from(["1", "๕", "3,1", "LINE", "เว็บ", "12 ชั่วโมง", "-5", "abc", "ข้อความ", " "])
    ),
    st.builds(
        e.Tap,
        st.sampled_from(list(e.Op)),
        st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
        st.sampled_from(["", "1", "2", "3", "5", "9", "x"]),
    ),
)


@given(st.lists(_INPUTS, max_size=40))
def test_any_sequence_of_inputs_keeps_the_state_consistent(inputs: list[e.Input]):
    import json

    q = form()
    step = e.start(q)
    for given_input in inputs:
        if step.state is None:
            step = e.start(q, answers=next((x.answers for x in step.effects), {}))
        step = e.step(q, step.state, given_input)
        assert len(step.replies) <= 1
        if step.state is None:
            continue
        json.dumps(step.state)  # it lives in a JSON column
        answers = step.state["answers"]
        assert set(answers) <= {x.key for x in q.applicable(answers)}  # nothing that no longer applies
        for key, value in answers.items():
            question = q.question(key)
            if question.kind is QuestionKind.RATING:
                assert value in (1, 2, 3, 4, 5)
            elif question.kind is QuestionKind.CHOICE:
                assert value in question.choices
            elif question.kind is QuestionKind.MULTI:
                assert value and set(value) <= set(question.choices)
            elif question.kind is QuestionKind.NUMBER:
                assert Decimal(0) <= Decimal(value) <= Decimal(100)
