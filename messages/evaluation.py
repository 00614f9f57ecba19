"""Every Thai word of evaluation: questionnaire loading problems, the workbook's headers, the
questionnaire conversation (questions, corrections, the review card), campaign invitations and
reminders, the year-end evaluation, and the command line's lines.

Pure functions: values in, strings or line-bot-sdk message objects out. Buttons carry the payloads
built by `bot/evaluation_postback.py`'s codec; this module only receives them as strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from linebot.v3.messaging import (
    FlexContainer,
    FlexMessage,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
)

from messages.thai_dates import format_date
from messages.thai_numbers import format_number

LABEL_LIMIT = 20

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
