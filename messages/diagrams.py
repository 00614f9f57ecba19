"""The Thai words of the conversation diagrams (`tidtam forms diagram`): Mermaid flowcharts drawn from a
form's declaration (`bot.forms.spec.Form.mermaid`) or a questionnaire's
(`evaluation.questionnaire.Questionnaire.mermaid`), read by the planning group and administrators."""

from __future__ import annotations

REPEATS = "ซ้ำตามรายการ"
SKIPPABLE = "ข้ามได้"
AUTO_SINGLE = "ตัวเลือกเดียวเลือกให้เอง"
CONDITION = "เงื่อนไข"
NEXT_ITEM = "รายการถัดไป"
CONDITION_NOT_MET = "ไม่เข้าเงื่อนไข"


def only_if(condition: str) -> str:
    return f"ถ้า {condition}"


def unless(condition: str) -> str:
    return f"ถ้าไม่ใช่ {condition}"


# The fixed end of a chat form: its summary, submitting, editing, cancelling and going back.
FORM_END = (
    '    summary{{"สรุปคำตอบ"}}',
    '    summary -- "ยืนยันส่ง" --> done(["ส่งแล้ว"])',
    '    summary -- "แก้ไข" --> edit["ถามข้อที่เลือกอีกครั้ง"] --> summary',
    '    anywhere(("ทุกคำถาม")) -- "ยกเลิก (เก็บร่างไว้)" --> cancelled(["ยกเลิก"])',
    '    anywhere -- "ย้อนกลับ" --> back["คำถามก่อนหน้า"]',
)

# The fixed end of a questionnaire: its review, submitting (answers stay editable until it closes)…
QUESTIONNAIRE_END = (
    '    review{{"ทบทวนคำตอบ"}}',
    '    review -- "ส่งคำตอบ" --> done(["ส่งแล้ว (แก้ไขได้จนปิดรับ)"])',
    '    review -- "แก้ไข" --> edit["ถามข้อที่เลือกอีกครั้ง"] --> review',
    '    anywhere(("ทุกคำถาม")) -- "ยกเลิก (เก็บคำตอบไว้)" --> paused(["พักไว้"])',
    '    anywhere -- "ย้อนกลับ" --> back["คำถามก่อนหน้า"]',
)
