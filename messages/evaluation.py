"""Every Thai word of evaluation: questionnaire loading problems, the workbook's headers, the
questionnaire conversation (questions, corrections, the review card), campaign invitations and
reminders, the year-end evaluation, and the command line's lines.

Pure functions: values in, strings or line-bot-sdk message objects out. Buttons carry the payloads
of `evaluation/payload.py`, the one place they are built and parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from linebot.v3.messaging import (
    FlexContainer,
    FlexMessage,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
)

from evaluation.codes import Code, Op
from evaluation.payload import Button, OpenCampaign, StartYearEnd, encode
from evaluation.questionnaire import RATING_VALUES, Question
from messages.forms import truncate
from messages.thai_dates import format_date
from messages.thai_numbers import format_number

if TYPE_CHECKING:  # the engine's reply types; this module only reads their attributes
    from evaluation.engine import Ask, Correction, PickEdit, Review

# --- loading a questionnaire ------------------------------------------------------------------------

KIND_WORDS: dict[str, tuple[str, ...]] = {
    "rating": ("คะแนน", "คะแนน 1-5", "ระดับ", "มาตราส่วน", "ความพึงพอใจ"),
    "choice": ("เลือกหนึ่งข้อ", "ตัวเลือก", "เลือกตอบ"),
    "multi": ("เลือกได้หลายข้อ", "หลายตัวเลือก", "เลือกหลายข้อ"),
    "number": ("ตัวเลข", "จำนวน"),
    "text": ("ข้อความ", "คำตอบสั้น", "ความคิดเห็น"),
}
KIND_LABELS = {
    "rating": "คะแนน 1-5",
    "choice": "เลือกหนึ่งข้อ",
    "multi": "เลือกได้หลายข้อ",
    "number": "ตัวเลข",
    "text": "ข้อความ",
}
RATING_LABELS = {5: "มากที่สุด", 4: "มาก", 3: "ปานกลาง", 2: "น้อย", 1: "น้อยที่สุด"}

_FIELD_NAMES = {
    "title": "ชื่อแบบประเมิน (title)",
    "intro": "คำชี้แจง (intro)",
    "anonymous": "ไม่ระบุตัวตน (anonymous)",
    "questions": "คำถาม (questions)",
    "key": "รหัสคำถาม (key)",
    "kind": "ชนิดคำถาม (kind)",
    "text": "ข้อความคำถาม (text)",
    "required": "ต้องตอบ (required)",
    "choices": "ตัวเลือก (choices)",
    "when": "เงื่อนไข (when)",
    "min": "ค่าต่ำสุด (min)",
    "max": "ค่าสูงสุด (max)",
    "unit": "หน่วย (unit)",
    "max_length": "ความยาวสูงสุด (max_length)",
}

_PROBLEMS = {
    "yaml_syntax": "เขียนรูปแบบ YAML ไม่ถูกต้อง (ตรวจการเว้นวรรคย่อหน้าและเครื่องหมาย : ) ค่ะ",
    "empty_file": "ไฟล์ว่าง ยังไม่มีแบบประเมินค่ะ",
    "not_utf8": "ไฟล์ไม่ได้บันทึกเป็น UTF-8 ค่ะ",
    "unknown_file_type": "ไม่รู้จักไฟล์ชนิด {suffix} ใช้ได้เฉพาะ .yaml .yml หรือ .xlsx ค่ะ",
    "not_mapping": "แบบประเมินต้องเริ่มด้วยหัวข้อ title และ questions ค่ะ",
    "duplicate_field": "หัวข้อ {name} ซ้ำกับที่เขียนไว้แล้ว ({first}) ค่ะ",
    "unknown_field": "ไม่รู้จักหัวข้อ {name} (ใช้ได้: {allowed}) ค่ะ",
    "missing_field": "ยังไม่ได้ใส่{name} ค่ะ",
    "not_text": "{name} ต้องเป็นข้อความบรรทัดเดียวค่ะ",
    "bad_boolean": "{name} ต้องเป็น true หรือ false (ใช่ หรือ ไม่) แต่เขียนว่า {value} ค่ะ",
    "bad_number": "{name} ต้องเป็นตัวเลข แต่เขียนว่า {value} ค่ะ",
    "no_questions": "ยังไม่มีคำถาม (questions) ค่ะ",
    "too_many_questions": "มีคำถามเกิน {limit} ข้อค่ะ",
    "question_not_mapping": "คำถามแต่ละข้อต้องมี key, kind และ text ค่ะ",
    "bad_key": "รหัสคำถาม {key} ใช้ได้เฉพาะอักษรอังกฤษ ตัวเลข และ _ และต้องขึ้นต้นด้วยตัวอักษรค่ะ",
    "duplicate_key": "รหัสคำถาม {key} ซ้ำกับคำถามที่ {first} ค่ะ",
    "unknown_kind": "ไม่รู้จักชนิดคำถาม {kind} (ใช้ได้: {allowed}) ค่ะ",
    "choices_not_list": "ตัวเลือกต้องเป็นรายการ เช่น [ก, ข, ค] ค่ะ",
    "bad_choice": "ตัวเลือกว่างหรือไม่ใช่ข้อความค่ะ",
    "duplicate_choice": "ตัวเลือก {choice} ซ้ำกันค่ะ",
    "choice_too_long": "ตัวเลือกยาวเกิน {limit} ตัวอักษรค่ะ",
    "too_few_choices": "คำถาม {key} ต้องมีตัวเลือกอย่างน้อย 2 ข้อค่ะ",
    "too_many_choices": "ตัวเลือกเกิน {limit} ข้อ (ปุ่มใน LINE ไม่พอ) ค่ะ",
    "choices_not_allowed": "คำถามชนิด {kind} ไม่มีตัวเลือก ลบ choices ออกค่ะ",
    "range_not_allowed": "คำถามชนิด {kind} ไม่มีค่าต่ำสุดหรือสูงสุด ใช้ได้กับชนิด number เท่านั้นค่ะ",
    "min_over_max": "ค่าต่ำสุดมากกว่าค่าสูงสุดค่ะ",
    "bad_max_length": "ความยาวสูงสุดใช้กับชนิด text และต้องเป็นจำนวนเต็ม 1 ถึง {limit} ค่ะ",
    "condition_syntax": "เงื่อนไขอ่านไม่ออก: {detail} (ตัวอย่าง: clarity <= 2)",
    "condition_self": "เงื่อนไขอ้างถึงคำถาม {key} ของตัวเองค่ะ",
    "condition_later": "เงื่อนไขอ้างถึงคำถาม {key} ซึ่งอยู่ถัดไป เงื่อนไขใช้ได้กับคำถามก่อนหน้าเท่านั้นค่ะ",
    "condition_unknown": "เงื่อนไขอ้างถึงคำถาม {key} ซึ่งไม่มีในแบบประเมินค่ะ",
    "condition_order": "คำถาม {key} ไม่ใช่คะแนนหรือตัวเลข จึงใช้ {op} ไม่ได้ ใช้ == หรือ in แทนค่ะ",
    "condition_choice": "คำถาม {key} ไม่มีตัวเลือก {value} ค่ะ",
    "condition_number": "คำถาม {key} เป็นตัวเลข แต่เงื่อนไขเทียบกับ {value} ค่ะ",
    "condition_rating": "คะแนนของคำถาม {key} มีแค่ 1 ถึง 5 แต่เงื่อนไขเทียบกับ {value} ค่ะ",
    "sheet_missing": "ไม่พบแผ่นงาน {sheet} (สร้างแบบฟอร์มด้วยคำสั่ง tidtam evaluation template) ค่ะ",
    "header_missing": "แผ่นงาน {sheet} ไม่มีหัวคอลัมน์ {header} ค่ะ",
    "not_xlsx": "เปิดไฟล์ Excel นี้ไม่ได้ค่ะ",
}
_CONDITION_ERRORS = {
    "empty": "เงื่อนไขว่าง",
    "incomplete": "เงื่อนไขไม่ครบ",
    "bad_character": "มีอักขระที่ใช้ไม่ได้ ({detail})",
    "expected": "ขาดเครื่องหมาย {detail}",
    "expected_key": "ต้องขึ้นต้นด้วยรหัสคำถาม แต่พบ {detail}",
    "expected_value": "ต้องมีค่าที่จะเทียบ แต่พบ {detail}",
    "trailing": "มีคำเกินมา ({detail})",
}


def field_name(name: str) -> str:
    return _FIELD_NAMES.get(name, name)


def where_line(line: int) -> str:
    return f"บรรทัด {line}"


def where_row(sheet: str, row: int) -> str:
    return f"แผ่นงาน {sheet} แถว {row}"


def where_file() -> str:
    return "ไฟล์"


def where_stored() -> str:
    return "แบบประเมินที่บันทึกไว้"


def condition_error(code: str, detail: str) -> str:
    return _CONDITION_ERRORS.get(code, code).format(detail=detail)


def problem(where: str, code: str, **detail: Any) -> str:
    """One loading problem as a Thai line that starts with where it is ("บรรทัด 12: …")."""
    if "name" in detail:
        detail["name"] = field_name(str(detail["name"]))
    return f"{where}: {_PROBLEMS[code].format(**detail)}"


def refused(path: str, problems: Sequence[str]) -> str:
    return "\n".join([f"ใช้แบบประเมิน {path} ไม่ได้ พบปัญหา {len(problems)} จุด:", *problems])


# --- the workbook template ---------------------------------------------------------------------------

FORM_SHEET = "แบบประเมิน"
QUESTIONS_SHEET = "คำถาม"
HOW_TO_SHEET = "วิธีกรอก"
FORM_ROWS = {"title": "ชื่อแบบประเมิน", "intro": "คำชี้แจง", "anonymous": "ไม่ระบุตัวตน (ใช่/ไม่)"}
FORM_EXAMPLE = {
    "title": "แบบประเมินความพึงพอใจต่อการขับเคลื่อนแผนปฏิบัติการ ปีงบประมาณ 2570",
    "intro": "ขอความร่วมมือตอบแบบประเมิน ใช้เวลาประมาณ 3 นาทีค่ะ",
    "anonymous": "ไม่",
}
QUESTION_HEADERS = {
    "key": "รหัสคำถาม",
    "kind": "ชนิดคำถาม",
    "text": "ข้อความคำถาม",
    "required": "ต้องตอบ (ใช่/ไม่)",
    "choices": "ตัวเลือก (คั่นด้วย |)",
    "when": "ถามเมื่อ (เงื่อนไข)",
    "min": "ค่าต่ำสุด",
    "max": "ค่าสูงสุด",
    "unit": "หน่วย",
    "max_length": "ความยาวสูงสุด",
}
HOW_TO_LINES = (
    "วิธีกรอกแบบประเมิน",
    "1. แผ่นงาน แบบประเมิน: ใส่ชื่อแบบประเมิน คำชี้แจง และระบุว่าไม่ระบุตัวตนหรือไม่ (ใช่/ไม่)",
    "2. แผ่นงาน คำถาม: หนึ่งแถวต่อหนึ่งคำถาม เรียงตามลำดับที่จะถาม",
    "   รหัสคำถาม: อักษรอังกฤษ ตัวเลข หรือ _ ไม่ซ้ำกัน เช่น clarity",
    "   ชนิดคำถาม: คะแนน 1-5 / เลือกหนึ่งข้อ / เลือกได้หลายข้อ / ตัวเลข / ข้อความ",
    "   ตัวเลือก: สำหรับเลือกหนึ่งข้อหรือหลายข้อ คั่นด้วย | เช่น หนังสือราชการ | LINE | เว็บไซต์",
    "   ถามเมื่อ: เงื่อนไขจากคำถามก่อนหน้า เช่น clarity <= 2 หรือ channel in [LINE, เว็บไซต์]",
    "3. ตรวจแบบประเมินด้วยคำสั่ง tidtam forms ไฟล์.xlsx --diagram แล้วเริ่มด้วย tidtam campaign start",
)
EXAMPLE_ROWS = (
    ("clarity", "คะแนน 1-5", "ความชัดเจนของแผน", "ใช่", "", "", "", "", "", ""),
    (
        "channel",
        "เลือกหนึ่งข้อ",
        "ช่องทางที่ได้รับข้อมูลมากที่สุด",
        "ใช่",
        "หนังสือราชการ | LINE | เว็บไซต์ | การประชุม",
        "",
        "",
        "",
        "",
        "",
    ),
    ("comment", "ข้อความ", "ข้อเสนอแนะเพิ่มเติม", "ไม่", "", "clarity <= 2", "", "", "", ""),
)


def rating_from_word(typed: str) -> int | None:
    """A rating typed as its Thai label ("มาก", "ปานกลาง"); None for anything else."""
    folded = "".join(typed.split())
    for value, label in RATING_LABELS.items():
        if folded == label:
            return value
    return None


# --- the questionnaire conversation ------------------------------------------------------------------

EVALUATION_WORDS = ("แบบประเมิน", "ตอบแบบประเมิน", "แบบสอบถาม", "evaluation")
REVIEW_WORDS = ("ทบทวน", "ดูคำตอบ")

_CORRECTIONS = {
    Code.RATING: "กรุณาตอบเป็นคะแนน 1 ถึง 5 ค่ะ แตะปุ่ม หรือพิมพ์ตัวเลข เช่น 4",
    Code.CHOICE: "ไม่พบตัวเลือกนี้ค่ะ แตะปุ่ม หรือพิมพ์หมายเลขข้อ เช่น 1",
    Code.MULTI: "ไม่พบตัวเลือกนี้ค่ะ แตะเพื่อเลือกได้หลายข้อ หรือพิมพ์หมายเลขคั่นด้วยจุลภาค เช่น 1,3",
    Code.MULTI_EMPTY: 'ยังไม่ได้เลือกเลยค่ะ เลือกอย่างน้อย 1 ข้อ แล้วแตะ "เสร็จ"',
    Code.NUMBER: "{detail}",
    Code.TOO_SMALL: "ตัวเลขต้องไม่น้อยกว่า {detail} ค่ะ",
    Code.TOO_BIG: "ตัวเลขต้องไม่เกิน {detail} ค่ะ",
    Code.EMPTY: "ยังไม่ได้พิมพ์คำตอบค่ะ",
    Code.TOO_LONG: "คำตอบยาวเกิน {detail} ตัวอักษรค่ะ กรุณาย่อให้สั้นลง",
    Code.REQUIRED: "ข้อนี้จำเป็นต้องตอบค่ะ ข้ามไม่ได้",
    Code.NOTHING_TO_KEEP: "ข้อนี้ยังไม่มีคำตอบเดิมค่ะ",
    Code.FIRST_QUESTION: "นี่คือคำถามข้อแรกแล้วค่ะ",
    Code.STALE: "ปุ่มนั้นเป็นของข้อความก่อนหน้าค่ะ ตอนนี้ถึงข้อนี้แล้ว",
    Code.HELP: (
        'ตอบทีละข้อได้เลยค่ะ พิมพ์ "ย้อนกลับ" เพื่อกลับไปข้อก่อน "ข้าม" สำหรับข้อที่ไม่บังคับ '
        'หรือ "ยกเลิก" เพื่อพักไว้ (คำตอบที่ตอบแล้วไม่หาย)'
    ),
    Code.REVIEW_HINT: 'แตะ "ส่งคำตอบ" เพื่อส่ง หรือ "แก้ไข" เพื่อเปลี่ยนคำตอบค่ะ',
    Code.PICK_HINT: "กรุณาพิมพ์หมายเลขข้อที่จะแก้ เช่น 2 ค่ะ",
}
_HINTS = {
    "rating": "แตะคะแนน หรือพิมพ์ตัวเลข 1-5 ค่ะ (5 = มากที่สุด)",
    "choice": "แตะตัวเลือก หรือพิมพ์หมายเลขข้อค่ะ",
    "multi": 'เลือกได้หลายข้อ แตะเพื่อเลือก/ยกเลิก แล้วแตะ "เสร็จ" หรือพิมพ์หมายเลข เช่น 1,3 ค่ะ',
    "number": "พิมพ์ตัวเลขค่ะ",
    "text": "พิมพ์คำตอบได้เลยค่ะ",
}


def correction_text(correction: Correction) -> str:
    return _CORRECTIONS[correction.code].format(detail=correction.detail)


def correction_line(code: Code, detail: str = "") -> str:
    """A correction's line by its code (the compiled form's checks say what the engine said)."""
    return _CORRECTIONS[code].format(detail=detail)


def _button(label: str, data: str, display: str | None = None) -> QuickReplyItem:
    return QuickReplyItem(
        action=PostbackAction(label=truncate(label), data=data, display_text=truncate(display or label, 300))
    )


def answer_text(question: Question, value: Any) -> str:
    """An answer as people read it back."""
    if value is None or value == [] or value == "":
        return "-"
    kind = question.kind.value
    if kind == "rating":
        return f"{value} ({RATING_LABELS.get(int(value), '')})"
    if kind == "multi":
        return ", ".join(str(v) for v in value)
    if kind == "number":
        return f"{format_number(Decimal(str(value)))} {question.unit}".strip()
    return str(value)


def render_ask(ask: Ask) -> TextMessage:
    q = ask.question
    kind = q.kind.value
    lines: list[str] = []
    if ask.correction is not None:
        lines += [correction_text(ask.correction), ""]
    lines.append(f"({ask.number}/{ask.total}) {q.text}" if ask.total > 1 else q.text)
    if q.detail:
        lines.append(q.detail)
    if kind == "choice":
        lines += [f"{i}. {c}" for i, c in enumerate(q.choices, start=1)]
    if kind == "multi":
        lines += [f"{'☑' if c in ask.picked else '☐'} {i}. {c}" for i, c in enumerate(q.choices, start=1)]
    if kind == "number":
        limits = [
            f"ไม่น้อยกว่า {format_number(q.minimum)}" if q.minimum is not None else "",
            f"ไม่เกิน {format_number(q.maximum)}" if q.maximum is not None else "",
        ]
        shown = " ".join(x for x in limits if x)
        unit = f" (หน่วย: {q.unit})" if q.unit else ""
        lines.append(f"{_HINTS['number']}{unit}" + (f" {shown}" if shown else ""))
    else:
        lines.append(_HINTS[kind])
    if ask.current is not None:
        lines.append(f"คำตอบเดิม: {answer_text(q, ask.current)}")
    if not q.required:
        lines.append('ข้อนี้ไม่บังคับ ไม่ตอบ แตะ "ข้าม" ได้ค่ะ')

    def tap(op: Op, value: str = "") -> str:
        return encode(Button(op, ask.seq, value))

    items: list[QuickReplyItem] = []
    if kind == "rating":
        items += [_button(f"{v} {RATING_LABELS[v]}", tap(Op.ANSWER, str(v))) for v in RATING_VALUES]
    elif kind == "choice":
        items += [_button(c, tap(Op.ANSWER, str(i)), c) for i, c in enumerate(q.choices, start=1)]
    elif kind == "multi":
        items += [
            _button(f"{'☑' if c in ask.picked else '☐'} {c}", tap(Op.TOGGLE, str(i)), c)
            for i, c in enumerate(q.choices, start=1)
        ]
        items.append(_button("เสร็จ", tap(Op.DONE), "เลือกครบแล้ว"))
    if ask.current is not None:
        items.append(_button("ใช้คำตอบเดิม", tap(Op.KEEP)))
    if not q.required:
        items.append(_button("ข้าม", tap(Op.SKIP)))
    if ask.can_go_back:
        items.append(_button("ย้อนกลับ", tap(Op.BACK)))
    items.append(_button("ยกเลิก", tap(Op.CANCEL), "ยกเลิก (พักไว้ก่อน)"))
    return TextMessage(text="\n".join(lines)[:5000], quick_reply=QuickReply(items=items[:13]))


def render_review(review: Review, *, closes_on: date | None = None) -> TextMessage:
    lines: list[str] = []
    if review.correction is not None:
        lines += [correction_text(review.correction), ""]
    lines.append(f"ทบทวนคำตอบ: {review.questionnaire.title}")
    applicable = review.questionnaire.applicable(review.answers)
    for number, q in enumerate(applicable, start=1):
        lines.append(f"{number}. {q.text}: {answer_text(q, review.answers.get(q.key))}")
    if closes_on is not None:
        lines.append(f"แก้ไขได้จนถึง {format_date(closes_on)}")
    lines.append('ถูกต้องแล้ว แตะ "ส่งคำตอบ" ค่ะ')
    text = "\n".join(lines)
    if len(text) > 5000:
        text = text[:4990] + "…"
    items = [
        _button("ส่งคำตอบ", encode(Button(Op.SUBMIT, review.seq))),
        _button("แก้ไข", encode(Button(Op.EDIT, review.seq)), "แก้ไขคำตอบ"),
        _button("ยกเลิก", encode(Button(Op.CANCEL, review.seq)), "ยกเลิก (พักไว้ก่อน)"),
    ]
    return TextMessage(text=text, quick_reply=QuickReply(items=items))


def render_pick(pick: PickEdit) -> TextMessage:
    lines: list[str] = []
    if pick.correction is not None:
        lines += [correction_text(pick.correction), ""]
    lines.append("แก้ไขข้อไหนคะ แตะหรือพิมพ์หมายเลขข้อ")
    lines += [f"{n}. {q.text}" for n, q in enumerate(pick.questions, start=1)]
    items = [
        _button(f"ข้อ {n}", encode(Button(Op.EDIT_KEY, pick.seq, str(n))), f"แก้ไขข้อ {n}")
        for n in range(1, min(len(pick.questions), 12) + 1)
    ]
    items.append(_button("กลับไปทบทวน", encode(Button(Op.BACK, pick.seq))))
    return TextMessage(text="\n".join(lines)[:5000], quick_reply=QuickReply(items=items))


def paused() -> TextMessage:
    return TextMessage(text='พักแบบประเมินไว้ก่อนแล้วค่ะ คำตอบที่ตอบไว้ยังอยู่ครบ พิมพ์ "แบบประเมิน" เมื่อพร้อมทำต่อได้เลยค่ะ')


def render(replies: Sequence[object], *, closes_on: date | None = None) -> list[TextMessage]:
    """The engine's replies as LINE messages."""
    from evaluation import engine  # imported here: the engine reads this module's rating words

    out: list[TextMessage] = []
    for reply in replies:
        if isinstance(reply, engine.Ask):
            out.append(render_ask(reply))
        elif isinstance(reply, engine.Review):
            out.append(render_review(reply, closes_on=closes_on))
        elif isinstance(reply, engine.PickEdit):
            out.append(render_pick(reply))
        elif isinstance(reply, engine.Paused):
            out.append(paused())
    return out


def intro(title: str, text: str, count: int, revising_since: date | None = None) -> TextMessage:
    lines = [f"แบบประเมิน: {title}"]
    if text:
        lines.append(text)
    if revising_since is not None:
        lines.append(f"ส่งคำตอบไว้แล้วเมื่อ {format_date(revising_since)} ยังแก้ไขได้ค่ะ")
    else:
        lines.append(f"มีทั้งหมด {count} ข้อค่ะ")
    return TextMessage(text="\n".join(lines)[:5000])


def submitted(title: str, closes_on: date, revised: bool) -> TextMessage:
    first = "บันทึกคำตอบที่แก้ไขแล้วค่ะ" if revised else "ส่งคำตอบแล้ว ขอบคุณที่ร่วมตอบแบบประเมินค่ะ"
    return TextMessage(text=f'{first}\n{title}\nแก้ไขได้จนถึง {format_date(closes_on)} (พิมพ์ "แบบประเมิน")')


def campaign_closed(title: str, closed_on: date) -> TextMessage:
    return TextMessage(text=f"แบบประเมิน {title} ปิดรับคำตอบแล้วเมื่อ {format_date(closed_on)} ขอบคุณค่ะ")


def campaign_not_open(title: str, opens_on: date) -> TextMessage:
    return TextMessage(text=f"แบบประเมิน {title} เปิดให้ตอบวันที่ {format_date(opens_on)} ค่ะ")


def not_for_you() -> TextMessage:
    return TextMessage(text="แบบประเมินนี้ไม่ได้ส่งถึงบัญชีนี้ค่ะ หากคิดว่าควรได้รับ กรุณาติดต่อกลุ่มนโยบายและแผนค่ะ")


def nothing_open() -> TextMessage:
    return TextMessage(text="ตอนนี้ยังไม่มีแบบประเมินที่เปิดให้ตอบค่ะ")


@dataclass(frozen=True)
class OpenItem:
    campaign_id: int
    title: str
    closes_on: date
    answered: bool


def choose_campaign(items: Sequence[OpenItem]) -> TextMessage:
    lines = ["มีแบบประเมินที่เปิดให้ตอบ แตะเพื่อเลือกค่ะ"]
    for n, item in enumerate(items, start=1):
        state = "ตอบแล้ว แก้ไขได้" if item.answered else "ยังไม่ได้ตอบ"
        lines.append(f"{n}. {item.title} ({state} ปิดรับ {format_date(item.closes_on)})")
    buttons = [
        _button(f"{n}. {item.title}", encode(OpenCampaign(item.campaign_id)), item.title)
        for n, item in enumerate(items[:13], start=1)
    ]
    return TextMessage(text="\n".join(lines)[:5000], quick_reply=QuickReply(items=buttons))


def busy_in_evaluation() -> TextMessage:
    return TextMessage(
        text='ตอนนี้กำลังตอบแบบประเมินอยู่ค่ะ ตอบต่อให้เสร็จ หรือพิมพ์ "ยกเลิก" เพื่อพักไว้ (คำตอบไม่หาย) ก่อนเริ่มเรื่องอื่นค่ะ'
    )


def _card(kicker: str, title: str, lines: Sequence[str], button: str, data: str) -> dict[str, Any]:
    """A bubble: a small coloured kicker, the title, a few lines, one postback button."""
    return {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {"type": "text", "text": kicker, "size": "xs", "color": "#1E6FD9", "weight": "bold"},
                {"type": "text", "text": title[:400], "weight": "bold", "wrap": True},
                *(
                    {"type": "text", "text": line[:1000], "size": "sm", "wrap": True}
                    for line in lines
                    if line
                ),
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "action": {
                        "type": "postback",
                        "label": truncate(button),
                        "data": data,
                        "displayText": button,
                    },
                }
            ],
        },
    }


def invitation(campaign_id: int, title: str, text: str, closes_on: date, count: int) -> FlexMessage:
    lines = [text, f"{count} ข้อ ตอบได้ถึง {format_date(closes_on)}"]
    bubble = _card("แบบประเมิน", title, lines, "เริ่มตอบแบบประเมิน", encode(OpenCampaign(campaign_id)))
    return FlexMessage(alt_text=f"แบบประเมิน: {title}"[:400], contents=FlexContainer.from_dict(bubble))


def reminder(campaign_id: int, title: str, closes_on: date) -> FlexMessage:
    lines = [f"ยังไม่ได้รับคำตอบแบบประเมินนี้ค่ะ ปิดรับวันที่ {format_date(closes_on)}", "ใช้เวลาเพียงไม่กี่นาทีค่ะ"]
    bubble = _card("แบบประเมิน", title, lines, "ตอบแบบประเมิน", encode(OpenCampaign(campaign_id)))
    return FlexMessage(alt_text=f"เตือน: แบบประเมิน {title}"[:400], contents=FlexContainer.from_dict(bubble))


# --- the year-end project evaluation ------------------------------------------------------------------

VERDICTS = ("บรรลุ", "ไม่บรรลุ")
YEAREND_OUTCOME_QUESTION = "ผลลัพธ์ของโครงการในหนึ่งประโยค (โครงการนี้ทำให้เกิดอะไรขึ้น)"
YEAREND_LESSONS_QUESTION = "บทเรียนที่ได้รับ (สิ่งที่ทำได้ดี และสิ่งที่ควรปรับในปีต่อไป)"


def verdict_label(achieved: bool) -> str:
    return VERDICTS[0] if achieved else VERDICTS[1]


def verdict_value(label: Any) -> bool:
    return label == VERDICTS[0]


def yearend_title(project_label: str) -> str:
    return f"ประเมินผลสิ้นปี: {project_label}"


def yearend_indicator_question(name: str) -> str:
    return f"ตัวชี้วัด: {name} บรรลุค่าเป้าหมายหรือไม่"


def yearend_indicator_detail(
    target: Decimal | None, result: Decimal | None, unit: str, computed: bool | None
) -> str:
    def shown(value: Decimal | None) -> str:
        return f"{format_number(value)} {unit}".strip() if value is not None else "ไม่ได้ระบุ"

    line = f"ค่าเป้าหมาย {shown(target)} ผลที่รายงาน {shown(result)}"
    if computed is None:
        return f"{line}\nระบบคำนวณให้ไม่ได้ กรุณาเลือกค่ะ"
    return f'{line}\nระบบคำนวณว่า "{verdict_label(computed)}" ถ้าถูกต้อง แตะ "ใช้คำตอบเดิม" หรือเลือกใหม่ได้ค่ะ'


def offer_yearend(project_label: str, report_id: int) -> FlexMessage:
    line = "รายงานไตรมาส 4 เป็นรายงานสุดท้ายของปี ขอเวลาอีกไม่กี่ข้อ ยืนยันผลตัวชี้วัด ผลลัพธ์ และบทเรียนที่ได้รับค่ะ"
    bubble = _card("ประเมินผลสิ้นปี", project_label, [line], "ประเมินผลสิ้นปี", encode(StartYearEnd(report_id)))
    return FlexMessage(
        alt_text=f"ประเมินผลสิ้นปี: {project_label}"[:400], contents=FlexContainer.from_dict(bubble)
    )


def yearend_saved(project_label: str, achieved: int, total: int) -> TextMessage:
    return TextMessage(
        text=f"บันทึกการประเมินผลสิ้นปีแล้วค่ะ\n{project_label}\nตัวชี้วัดบรรลุ {achieved} จาก {total} ตัว ขอบคุณค่ะ"
    )


def yearend_not_available() -> TextMessage:
    return TextMessage(text="ประเมินผลสิ้นปีได้หลังส่งรายงานไตรมาส 4 ของโครงการที่รับผิดชอบค่ะ")


# --- the results workbook and the command line ---------------------------------------------------------

RESULTS_SUMMARY_SHEET = "สรุป"
RESULTS_QUESTIONS_SHEET = "รายข้อ"
RESULTS_COMMENTS_SHEET = "ความคิดเห็น"
RESULTS_ANSWERS_SHEET = "คำตอบ"
RESULTS_STRATEGY_SHEET = "ยุทธศาสตร์"
SUMMARY_HEADERS = ("รหัสหน่วยงาน", "หน่วยงาน", "ผู้รับแบบประเมิน", "ตอบแล้ว", "ร้อยละที่ตอบ")
QUESTION_RESULT_HEADERS = (
    "ข้อ",
    "คำถาม",
    "ชนิด",
    "จำนวนผู้ตอบ",
    "ตัวเลือก/คะแนน",
    "จำนวน",
    "ร้อยละ",
    "ค่าเฉลี่ย",
    "มัธยฐาน",
)
COMMENT_HEADERS = ("ข้อ", "คำถาม", "คำตอบ")
ANSWER_IDENTITY_HEADERS = ("รหัสบุคลากร", "ชื่อ", "หน่วยงาน")
ANSWER_TIME_HEADERS = ("ส่งเมื่อ", "แก้ไขล่าสุด")
STRATEGY_HEADERS = ("รหัสยุทธศาสตร์", "ยุทธศาสตร์", "จำนวนโครงการ", "ประเมินแล้ว", "บรรลุทุกตัวชี้วัด", "ร้อยละความสำเร็จ")
ALL_OFFICES = "รวมทั้งหมด"


def summary_title(title: str, opens_on: date, closes_on: date, anonymous: bool) -> tuple[str, ...]:
    mode = "ไม่ระบุตัวตน" if anonymous else "ระบุตัวตน"
    return (f"แบบประเมิน: {title}", f"เปิดรับ {format_date(opens_on)} ถึง {format_date(closes_on)} ({mode})")


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


_TARGET_ERRORS = {
    "unknown_strategy": "ไม่พบยุทธศาสตร์รหัส {value}",
    "unknown_target": "ไม่รู้จักกลุ่มเป้าหมาย {value} (ใช้บทบาท reporter/approver/planner/monitoring_head/admin/observer รหัสหน่วยงาน หรือ strategy:รหัส)",
    "unknown_office": "ไม่พบหน่วยงานรหัส {value}",
}


def target_error(code: str, value: str) -> str:
    return _TARGET_ERRORS[code].format(value=value)


def bad_date(text: str) -> str:
    return f"อ่านวันที่ {text} ไม่ออก (ตัวอย่าง: 1/9/70 หรือ 1 ก.ย. 2570)"


def closes_before_opens() -> str:
    return "วันปิดรับต้องไม่ก่อนวันเปิดรับ"


def closes_in_past() -> str:
    return "วันปิดรับผ่านไปแล้ว"


def no_default_window(step: str) -> str:
    return f"ไม่พบช่วงเวลาของขั้นตอน {step} ในปฏิทินงาน ระบุ --opens และ --closes"


def no_recipients() -> str:
    return "กลุ่มเป้าหมายนี้ไม่มีผู้รับ จึงไม่ได้เริ่มแบบประเมิน"


def campaign_started(
    campaign_id: int, recipients: int, opens_on: date, closes_on: date, remind_on: date | None
) -> str:
    remind = f" เตือนผู้ที่ยังไม่ตอบ {format_date(remind_on)}" if remind_on else ""
    return (
        f"เริ่มแบบประเมินหมายเลข {campaign_id} ถึงผู้รับ {recipients} คน "
        f"เปิดรับ {format_date(opens_on)} ถึง {format_date(closes_on)}{remind}"
    )


def campaign_sending(invited: int, unreachable: int, held: int, quiet_until: str | None) -> str:
    parts = [f"ส่งคำเชิญแล้ว {invited} คน"]
    if unreachable:
        parts.append(f"ยังไม่ได้เชื่อมบัญชี LINE {unreachable} คน")
    if held:
        parts.append(f"รอโควตาข้อความ {held} คน (จะส่งในรอบถัดไป)")
    if quiet_until:
        parts.append(f"อยู่ในช่วงงดส่งข้อความ จะส่งเวลา {quiet_until}")
    return " ".join(parts)


def campaign_line(
    campaign_id: int, title: str, status: str, opens_on: date, closes_on: date, recipients: int, answered: int
) -> str:
    states = {"scheduled": "รอเปิด", "open": "เปิดรับ", "closed": "ปิดแล้ว"}
    return (
        f"{campaign_id}\t{states.get(status, status)}\t{format_date(opens_on)}–{format_date(closes_on)}"
        f"\tตอบ {answered}/{recipients}\t{title}"
    )


def no_campaigns() -> str:
    return "ยังไม่มีแบบประเมิน"


def unknown_campaign(campaign_id: int) -> str:
    return f"ไม่พบแบบประเมินหมายเลข {campaign_id}"


def results_written(path: str, answered: int, recipients: int) -> str:
    return f"บันทึกผลแบบประเมินแล้ว: {path} (ตอบ {answered} จาก {recipients} คน)"
