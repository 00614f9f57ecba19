"""Thai text of the workbook import: sheet and column headers, the instructions sheet, value labels,
one builder per kind of mistake, and the summary the CLI prints.

Pure functions and constants only: data in, Thai text out. The importer (``tidtam.workbook``) keeps the
structure of a problem (sheet, row, column, value); these builders only word it for planning-group staff.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from messages.thai_numbers import format_number

# --- sheets and columns ---------------------------------------------------------------------------

SHEET_LABELS: dict[str, str] = {
    "offices": "หน่วยงาน",
    "people": "บุคลากร",
    "strategies": "ยุทธศาสตร์",
    "projects": "โครงการ",
    "indicators": "ตัวชี้วัด",
}

INSTRUCTIONS_SHEET = "คำอธิบาย"

# Thai header of each column, by (sheet, column key). The template writes these; import reads them or
# the English keys.
COLUMN_HEADERS: dict[tuple[str, str], str] = {
    ("offices", "code"): "รหัสหน่วยงาน",
    ("offices", "name"): "ชื่อหน่วยงาน",
    ("offices", "kind"): "ประเภทหน่วยงาน",
    ("offices", "parent_code"): "รหัสหน่วยงานต้นสังกัด",
    ("people", "code"): "รหัสบุคลากร",
    ("people", "full_name"): "ชื่อ-นามสกุล",
    ("people", "position"): "ตำแหน่ง",
    ("people", "office_code"): "รหัสหน่วยงาน",
    ("people", "roles"): "บทบาท",
    ("strategies", "code"): "รหัสยุทธศาสตร์",
    ("strategies", "level"): "ระดับ",
    ("strategies", "title"): "ชื่อยุทธศาสตร์/นโยบาย",
    ("strategies", "parent_code"): "รหัสยุทธศาสตร์ระดับบน",
    ("projects", "code"): "รหัสโครงการ",
    ("projects", "fiscal_year"): "ปีงบประมาณ",
    ("projects", "name"): "ชื่อโครงการ",
    ("projects", "office_code"): "รหัสหน่วยงาน",
    ("projects", "owner_codes"): "รหัสผู้รับผิดชอบ",
    ("projects", "approver_code"): "รหัสผู้อนุมัติ",
    ("projects", "budget"): "งบประมาณ (บาท)",
    ("projects", "strategy_codes"): "รหัสยุทธศาสตร์ที่เชื่อมโยง",
    ("projects", "start_date"): "วันเริ่มต้น",
    ("projects", "end_date"): "วันสิ้นสุด",
    ("projects", "emenscr_id"): "รหัสโครงการใน eMENSCR",
    ("indicators", "project_code"): "รหัสโครงการ",
    ("indicators", "code"): "รหัสตัวชี้วัด",
    ("indicators", "name"): "ชื่อตัวชี้วัด",
    ("indicators", "unit"): "หน่วยนับ",
    ("indicators", "target"): "ค่าเป้าหมาย",
    ("indicators", "kind"): "ประเภทตัวชี้วัด",
}

# Thai labels of coded values; import accepts either the English value or its Thai label.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "office_kind": {"area_office": "สำนักงานเขตพื้นที่", "group": "กลุ่ม", "school": "โรงเรียน"},
    "role": {
        "reporter": "ผู้รายงาน",
        "approver": "ผู้อนุมัติ",
        "planner": "ฝ่ายแผน",
        "monitoring_head": "หัวหน้ากลุ่มงานติดตามฯ",
        "admin": "ผู้ดูแลระบบ",
        "observer": "ผู้ติดตาม",
    },
    "strategy_level": {
        "national": "ยุทธศาสตร์ชาติ",
        "master_plan": "แผนแม่บท",
        "obec": "สพฐ.",
        "area": "เขตพื้นที่",
    },
    "indicator_kind": {"output": "ผลผลิต", "outcome": "ผลลัพธ์"},
}

_REQUIRED = "ต้องกรอก"
_OPTIONAL = "ไม่บังคับ"

# (sheet, column) → what the column holds, for the instructions sheet.
COLUMN_HELP: dict[tuple[str, str], str] = {
    ("offices", "code"): "รหัสที่ไม่ซ้ำกันของหน่วยงาน ไม่เกิน 32 ตัวอักษร เช่น S001",
    ("offices", "name"): "ชื่อเต็มของหน่วยงาน",
    ("offices", "kind"): "area_office (สำนักงานเขตพื้นที่), group (กลุ่ม) หรือ school (โรงเรียน)",
    ("offices", "parent_code"): "รหัสหน่วยงานที่สังกัด เว้นว่างได้สำหรับสำนักงานเขตพื้นที่",
    ("people", "code"): "รหัสที่ไม่ซ้ำกันของบุคลากร ไม่เกิน 32 ตัวอักษร เช่น P0001",
    ("people", "full_name"): "คำนำหน้า ชื่อ และนามสกุล",
    ("people", "position"): "ตำแหน่ง เช่น ครู ผู้อำนวยการโรงเรียน",
    ("people", "office_code"): "รหัสหน่วยงานที่สังกัด (ต้องมีในชีตหน่วยงานหรือในระบบแล้ว)",
    ("people", "roles"): "คั่นด้วยจุลภาค: reporter (ผู้รายงาน), approver (ผู้อนุมัติ), planner (ฝ่ายแผน), "
    "monitoring_head (หัวหน้ากลุ่มงานติดตามฯ ได้รับข้อความของฝ่ายแผนทาง LINE และเป็นฝ่ายแผนด้วย), "
    "admin (ผู้ดูแลระบบ), observer (ผู้ติดตาม)",
    ("strategies", "code"): "รหัสที่ไม่ซ้ำกัน ไม่เกิน 32 ตัวอักษร เช่น NS3",
    ("strategies", "level"): "national (ยุทธศาสตร์ชาติ), master_plan (แผนแม่บท), obec (สพฐ.) หรือ area (เขตพื้นที่)",
    ("strategies", "title"): "ชื่อยุทธศาสตร์ แผน หรือนโยบาย",
    ("strategies", "parent_code"): "รหัสยุทธศาสตร์ระดับที่สูงกว่าที่เชื่อมโยง เว้นว่างได้สำหรับยุทธศาสตร์ชาติ",
    ("projects", "code"): "รหัสที่ไม่ซ้ำกันของโครงการ ไม่เกิน 40 ตัวอักษร",
    ("projects", "fiscal_year"): "ปีงบประมาณเป็น พ.ศ. เช่น 2570",
    ("projects", "name"): "ชื่อโครงการ",
    ("projects", "office_code"): "รหัสหน่วยงานเจ้าของโครงการ",
    ("projects", "owner_codes"): "รหัสบุคลากรผู้รับผิดชอบ ถ้ามีหลายคนคั่นด้วย ; เช่น P0001;P0002",
    ("projects", "approver_code"): "รหัสบุคลากรผู้อนุมัติรายงาน ต้องมีบทบาท approver",
    ("projects", "budget"): "จำนวนเงินเป็นบาท ทศนิยมไม่เกิน 2 ตำแหน่ง เช่น 120000 หรือ 120,000 บาท",
    ("projects", "strategy_codes"): "รหัสยุทธศาสตร์ที่โครงการเชื่อมโยง คั่นด้วย ; เช่น AREA1;OBEC2",
    ("projects", "start_date"): "วันที่แบบ Excel หรือพิมพ์ เช่น 1/10/69, 01/10/2569 หรือ 1 ต.ค. 2569",
    ("projects", "end_date"): "ต้องไม่ก่อนวันเริ่มต้น รูปแบบเดียวกับวันเริ่มต้น",
    ("projects", "emenscr_id"): "รหัสโครงการในระบบ eMENSCR ถ้ามี",
    ("indicators", "project_code"): "รหัสโครงการที่ตัวชี้วัดนี้สังกัด",
    ("indicators", "code"): "รหัสตัวชี้วัด ไม่ซ้ำกันภายในโครงการเดียวกัน เช่น K1",
    ("indicators", "name"): "ชื่อตัวชี้วัด",
    ("indicators", "unit"): "หน่วยนับ เช่น ร้อยละ คน โรงเรียน",
    ("indicators", "target"): "ค่าเป้าหมายเป็นตัวเลข ทศนิยมไม่เกิน 4 ตำแหน่ง",
    ("indicators", "kind"): "output (ผลผลิต) หรือ outcome (ผลลัพธ์) ถ้าเว้นว่างจะเป็น output",
}

# One example row per sheet, shown on the instructions sheet (not in the data sheets, so it is never
# imported by accident).
EXAMPLE_ROWS: dict[str, tuple[str, ...]] = {
    "offices": ("S001", "โรงเรียนบ้านสวนวิทยา", "school", "AO01"),
    "people": ("P0001", "นางสาวสมใจ ใจดี", "ครู", "S001", "reporter"),
    "strategies": ("AREA1", "area", "พัฒนาคุณภาพผู้เรียนทุกระดับ", "OBEC2"),
    "projects": (
        "2570-S001-01",
        "2570",
        "โครงการส่งเสริมการอ่าน",
        "S001",
        "P0001;P0002",
        "P0003",
        "120,000 บาท",
        "AREA1",
        "1/10/69",
        "30 ก.ย. 2570",
        "",
    ),
    "indicators": ("2570-S001-01", "K1", "ร้อยละของนักเรียนที่อ่านออกเขียนได้", "ร้อยละ", "90", "outcome"),
}

INSTRUCTIONS_INTRO: tuple[str, ...] = (
    "วิธีกรอกแบบฟอร์มนำเข้าข้อมูลของระบบติดตาม",
    "1. กรอกข้อมูลในแต่ละชีตตั้งแต่แถวที่ 2 ลงไป แถวที่ 1 เป็นหัวตาราง ห้ามแก้ไขหรือลบ",
    "2. ชีตใดไม่มีข้อมูลใหม่ เว้นว่างไว้ได้ รหัสที่อ้างถึงต้องมีในแบบฟอร์มนี้หรือในระบบแล้ว",
    "3. นำเข้าซ้ำได้: แถวที่รหัสตรงกับข้อมูลเดิมจะถูกปรับปรุง แถวใหม่จะถูกเพิ่ม ไม่มีการลบข้อมูล",
    "4. ถ้ามีข้อผิดพลาดแม้แถวเดียว ระบบจะไม่บันทึกอะไรเลย และแจ้งทุกจุดที่ต้องแก้ (ชีต แถว คอลัมน์)",
    "5. ผู้อนุมัติของโครงการต้องมีบทบาท approver ในชีตบุคลากร มิฉะนั้นจะนำเข้าไม่ได้",
)
INSTRUCTIONS_HEADER: tuple[str, str, str, str, str] = ("ชีต", "คอลัมน์", "หัวคอลัมน์", "ต้องกรอก", "คำอธิบาย")
EXAMPLE_LABEL = "ตัวอย่างการกรอก (แถวตัวอย่าง ไม่ต้องคัดลอกไปกรอก)"


def required_label(required: bool) -> str:
    return _REQUIRED if required else _OPTIONAL


def sheet_label(sheet: str) -> str:
    """``projects`` → ``projects (โครงการ)``."""
    thai = SHEET_LABELS.get(sheet)
    return f"{sheet} ({thai})" if thai else excerpt(sheet)


def column_label(sheet: str, column: str) -> str:
    """``('projects', 'budget')`` → ``งบประมาณ (บาท)``; the key itself for unknown columns."""
    return COLUMN_HEADERS.get((sheet, column)) or excerpt(column)


# --- what a cell should hold (the "expected" half of every message) ----------------------------


def expect_choice(vocabulary: str) -> str:
    labels = VALUE_LABELS[vocabulary]
    return "ใช้ได้เฉพาะ " + ", ".join(f"{key} ({thai})" for key, thai in labels.items())


EXPECT_FISCAL_YEAR = "ใส่ปีงบประมาณเป็น พ.ศ. 4 หลัก เช่น 2570"
EXPECT_MONEY = "ใส่จำนวนเงินเป็นบาท เช่น 120000 หรือ 120,000.50 บาท"
EXPECT_NUMBER = "ใส่เป็นตัวเลข ทศนิยมไม่เกิน 4 ตำแหน่ง เช่น 80 หรือ 12.5"
EXPECT_DATE = "ใส่วันที่ เช่น 15/1/70, 15/01/2570 หรือ 15 ม.ค. 2570"


# --- problem builders ----------------------------------------------------------------------------


def missing_value() -> str:
    return "ช่องนี้ต้องกรอก แต่ยังว่างอยู่ค่ะ"


def too_long(limit: int) -> str:
    return f"ยาวเกินไปค่ะ ใส่ได้ไม่เกิน {format_number(limit)} ตัวอักษร"


def bad_choice(vocabulary: str) -> str:
    return f"ไม่รู้จักค่านี้ค่ะ {expect_choice(vocabulary)}"


def bad_fiscal_year() -> str:
    return f"ปีงบประมาณไม่ถูกต้องค่ะ {EXPECT_FISCAL_YEAR}"


def fiscal_year_looks_ce(year: int) -> str:
    return f"ดูเหมือนเป็นปี ค.ศ. ค่ะ ปีงบประมาณต้องเป็น พ.ศ. ถ้าหมายถึง ค.ศ. {year} ให้ใส่ {year + 543}"


def fiscal_year_out_of_range(low: int, high: int) -> str:
    return f"ปีงบประมาณอยู่นอกช่วงที่เป็นไปได้ค่ะ ต้องอยู่ระหว่าง {low} ถึง {high}"


def bad_money(reason: str) -> str:
    """``reason`` is the Thai line the money parser gave (it already ends politely)."""
    return f"{reason} {EXPECT_MONEY}"


def bad_number(reason: str) -> str:
    return f"{reason} {EXPECT_NUMBER}"


def too_many_decimals(places: int) -> str:
    return f"ใส่ทศนิยมได้ไม่เกิน {places} ตำแหน่งค่ะ"


def negative_number() -> str:
    return "ค่านี้ต้องไม่ติดลบค่ะ"


def bad_date(reason: str) -> str:
    return f"{reason} {EXPECT_DATE}"


def end_before_start(start_text: str) -> str:
    return f"วันสิ้นสุดต้องไม่ก่อนวันเริ่มต้น ({start_text}) ค่ะ"


def unknown_office(code: str) -> str:
    return f"ไม่พบหน่วยงานรหัส {code} ค่ะ ต้องมีในชีตหน่วยงานหรือในระบบแล้ว"


def unknown_person(code: str) -> str:
    return f"ไม่พบบุคลากรรหัส {code} ค่ะ ต้องมีในชีตบุคลากรหรือในระบบแล้ว"


def unknown_strategy(code: str) -> str:
    return f"ไม่พบยุทธศาสตร์รหัส {code} ค่ะ ต้องมีในชีตยุทธศาสตร์หรือในระบบแล้ว"


def unknown_project(code: str) -> str:
    return f"ไม่พบโครงการรหัส {code} ค่ะ ต้องมีในชีตโครงการหรือในระบบแล้ว"


def duplicate_code(first_row: int) -> str:
    return f"รหัสนี้ซ้ำกับแถวที่ {first_row} ค่ะ รหัสต้องไม่ซ้ำกัน"


def duplicate_indicator(project_code: str, first_row: int) -> str:
    return f"รหัสตัวชี้วัดนี้ซ้ำกับแถวที่ {first_row} ในโครงการ {project_code} ค่ะ"


def duplicate_in_list(code: str) -> str:
    return f"ใส่รหัส {code} ซ้ำในช่องเดียวกันค่ะ"


def own_parent() -> str:
    return "รหัสต้นสังกัดต้องไม่ใช่รหัสของแถวตัวเองค่ะ"


def parent_cycle(path: Sequence[str]) -> str:
    return "ต้นสังกัดวนกลับมาที่เดิมค่ะ: " + " → ".join(path)


def parent_level_lower(parent_code: str, parent_level: str, level: str) -> str:
    labels = VALUE_LABELS["strategy_level"]
    return (
        f"ยุทธศาสตร์ระดับบน {parent_code} เป็นระดับ {labels.get(parent_level, parent_level)} "
        f"ซึ่งต่ำกว่าระดับ {labels.get(level, level)} ของแถวนี้ค่ะ"
    )


def approver_lacks_role(code: str) -> str:
    return f"บุคลากรรหัส {code} ยังไม่มีบทบาท approver ค่ะ กรุณาเพิ่มบทบาทในชีตบุคลากรก่อน"


def dates_outside_fiscal_year(fiscal_year: int) -> str:
    return f"ช่วงวันที่ของโครงการอยู่นอกปีงบประมาณ {fiscal_year} ทั้งหมด กรุณาตรวจสอบอีกครั้งค่ะ"


def missing_column() -> str:
    return "ไม่พบคอลัมน์นี้ในหัวตาราง (แถวที่ 1) ค่ะ"


def duplicate_column(first_column: int) -> str:
    return f"หัวคอลัมน์นี้ซ้ำกับคอลัมน์ที่ {first_column} ค่ะ"


def unknown_column() -> str:
    return "ไม่รู้จักคอลัมน์นี้ ระบบจะข้ามไปค่ะ"


def unknown_sheet() -> str:
    return "ไม่รู้จักชีตนี้ ระบบจะข้ามไปค่ะ"


def no_known_sheets() -> str:
    known = ", ".join(sheet_label(s) for s in SHEET_LABELS)
    return f"ไม่พบชีตข้อมูลที่รู้จักเลยค่ะ ต้องมีอย่างน้อยหนึ่งชีตจาก {known}"


def unreadable_file(detail: str) -> str:
    return f"เปิดไฟล์ไม่ได้ค่ะ ({excerpt(detail)}) ต้องเป็นไฟล์ .xlsx หรือโฟลเดอร์ของไฟล์ .csv"


# --- files, rows and cells the reader cannot take (limits in ``tidtam.workbook.limits``) ----------


def _megabytes(size: int) -> str:
    return f"{format_number(max(1, round(size / 2**20)))} MB"


def file_too_large(size: int, limit: int) -> str:
    return (
        f"ไฟล์ใหญ่เกินไปค่ะ ({_megabytes(size)}) รับได้ไม่เกิน {_megabytes(limit)} "
        "กรุณาแบ่งข้อมูลเป็นหลายไฟล์แล้วนำเข้าทีละไฟล์"
    )


def unpacked_too_large(limit: int) -> str:
    return (
        f"ข้อมูลในไฟล์ .xlsx นี้เมื่อคลายการบีบอัดแล้วใหญ่เกิน {_megabytes(limit)} ค่ะ ไฟล์อาจเสียหาย "
        "กรุณาเปิดใน Excel แล้วบันทึกใหม่ หรือแบ่งข้อมูลเป็นหลายไฟล์"
    )


def unknown_encoding() -> str:
    return (
        "อ่านตัวอักษรในไฟล์ CSV นี้ไม่ได้ค่ะ ไม่ใช่การเข้ารหัสที่รู้จัก (UTF-8, UTF-16 หรือ TIS-620) "
        "กรุณาเปิดใน Excel แล้วเลือกบันทึกเป็นชนิด “CSV UTF-8 (Comma delimited)” แล้วนำเข้าอีกครั้ง"
    )


def cell_too_long(length: int, limit: int) -> str:
    return (
        f"ข้อความในช่องนี้ยาว {format_number(length)} ตัวอักษร เกินที่รับได้ค่ะ "
        f"ช่องหนึ่งใส่ได้ไม่เกิน {format_number(limit)} ตัวอักษร"
    )


def row_too_long(limit: int) -> str:
    return f"แถวนี้มีข้อมูลมากเกินไปค่ะ แถวหนึ่งรับได้ไม่เกิน {format_number(limit)} ตัวอักษร"


def row_too_large(limit: int) -> str:
    return f"แถวนี้มีข้อมูลมากเกินไปค่ะ แถวหนึ่งรับได้ไม่เกิน {_megabytes(limit)}"


def row_too_many_cells(limit: int) -> str:
    return f"แถวนี้มีช่องมากเกินไปค่ะ แถวหนึ่งมีได้ไม่เกิน {format_number(limit)} ช่อง"


def row_number_too_large(limit: int) -> str:
    return f"เลขแถวเกิน {format_number(limit)} ซึ่งเป็นจำนวนแถวสูงสุดของ Excel ค่ะ ไฟล์อาจเสียหาย"


def broken_row() -> str:
    return "อ่านแถวนี้ไม่ได้ค่ะ ไฟล์อาจเสียหาย กรุณาตรวจแถวนี้ใน Excel แล้วบันทึกไฟล์ใหม่"


def broken_sheet() -> str:
    return "อ่านชีตนี้ต่อไม่ได้ค่ะ ไฟล์อาจเสียหาย กรุณาเปิดใน Excel แล้วบันทึกไฟล์ใหม่"


def broken_cell() -> str:
    return "อ่านค่าในช่องนี้ไม่ได้ค่ะ ไฟล์อาจเสียหาย กรุณาพิมพ์ค่าในช่องนี้ใหม่แล้วบันทึกไฟล์อีกครั้ง"


def formula_error_value(code: str) -> str:
    return f"ช่องนี้เป็นค่าผิดพลาดของสูตร ({excerpt(code)}) ค่ะ กรุณาแก้สูตร หรือพิมพ์ค่าลงไปแทน"


def control_character() -> str:
    return "ช่องนี้มีอักขระควบคุมที่มองไม่เห็นค่ะ กรุณาลบช่องนี้แล้วพิมพ์ค่าใหม่"


def reading_stopped(reason: str) -> str:
    """``reason`` already ends politely; the sheet was not read past this row."""
    return f"{reason} ระบบจึงหยุดอ่านชีตนี้ที่แถวนี้ แถวถัดไปยังไม่ได้ตรวจ"


def looks_like_formula() -> str:
    return (
        "ค่านี้ขึ้นต้นด้วยเครื่องหมายที่โปรแกรมตารางคำนวณอาจถือเป็นสูตรค่ะ ระบบจะเก็บเป็นข้อความตามที่พิมพ์ "
        "และเขียนเป็นข้อความในไฟล์ Excel ที่ระบบสร้าง กรุณาตรวจว่าตั้งใจพิมพ์เช่นนี้"
    )


# --- a problem as one line --------------------------------------------------------------------------

ERROR_WORD = "ข้อผิดพลาด"
WARNING_WORD = "ข้อควรตรวจสอบ"


EXCERPT_CHARS = 40
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``value`` on one line, ``…`` where it was cut."""
    text = str(value)
    short = _UNPRINTABLE.sub(" ", text[: limit + 1])
    return short if len(text) <= limit else short[:limit] + "…"


def shown_value(value: object) -> str:
    """A cell's value as quoted in a problem: a short excerpt, with the full length when cut."""
    if value is None or value == "":
        return "(ว่าง)"
    text = str(value)
    if len(text) <= EXCERPT_CHARS:
        return f"“{excerpt(text)}”"
    return f"“{excerpt(text)}” (ยาว {format_number(len(text))} ตัวอักษร)"


def format_problem(
    *, sheet: str, row: int | None, column: str | None, value: object, message: str, is_error: bool
) -> str:
    """``ข้อผิดพลาด: ชีต projects (โครงการ) แถว 5 คอลัมน์ งบประมาณ (บาท) ค่า “abc”: …``."""
    parts = [f"{ERROR_WORD if is_error else WARNING_WORD}: ชีต {sheet_label(sheet)}"]
    if row is not None:
        parts.append(f"แถว {row}")
    if column is not None:
        parts.append(f"คอลัมน์ {column_label(sheet, column)}")
        parts.append(f"ค่า {shown_value(value)}")
    return " ".join(parts) + f": {message}"


# --- the summary -----------------------------------------------------------------------------------

_MAX_CODES_SHOWN = 20


def codes_line(codes: Sequence[str]) -> str:
    shown = ", ".join(codes[:_MAX_CODES_SHOWN])
    rest = len(codes) - _MAX_CODES_SHOWN
    return shown + (f" และอีก {format_number(rest)} รายการ" if rest > 0 else "")


def sheet_counts_line(sheet: str, created: int, updated: int, unchanged: int) -> str:
    return (
        f"ชีต {sheet_label(sheet)}: เพิ่มใหม่ {format_number(created)} รายการ "
        f"ปรับปรุง {format_number(updated)} รายการ ไม่เปลี่ยนแปลง {format_number(unchanged)} รายการ"
    )


def created_codes_line(codes: Sequence[str]) -> str:
    return "  เพิ่มใหม่: " + codes_line(codes)


def updated_codes_line(codes: Sequence[str]) -> str:
    return "  ปรับปรุง: " + codes_line(codes)


def fiscal_years_created_line(years: Iterable[int]) -> str:
    return "สร้างปีงบประมาณ " + ", ".join(str(y) for y in years) + " พร้อมรอบรายงานทั้ง 4 ไตรมาสแล้วค่ะ"


def dry_run_heading() -> str:
    return "ทดลองนำเข้า (ยังไม่บันทึกข้อมูล) ถ้านำเข้าจริงจะได้ผลดังนี้ค่ะ"


def import_heading() -> str:
    return "นำเข้าข้อมูลเรียบร้อยแล้วค่ะ"


def nothing_changed() -> str:
    return "ข้อมูลตรงกับในระบบแล้วทั้งหมด ไม่มีการเปลี่ยนแปลงค่ะ"


def errors_heading(count: int) -> str:
    return f"พบข้อผิดพลาด {format_number(count)} จุด ยังไม่ได้บันทึกข้อมูลใด ๆ กรุณาแก้ไขแล้วนำเข้าอีกครั้งค่ะ"


def warnings_heading(count: int) -> str:
    return f"ข้อควรตรวจสอบ {format_number(count)} จุด (ไม่ขัดขวางการนำเข้า):"


def template_written(path: str) -> str:
    return f"สร้างแบบฟอร์มนำเข้าข้อมูลที่ {path} แล้วค่ะ"


def demo_written(path: str, schools: int, projects: int) -> str:
    return (
        f"สร้างข้อมูลตัวอย่าง (โรงเรียน {format_number(schools)} แห่ง โครงการ {format_number(projects)} โครงการ) "
        f"ไว้ที่ {path} แล้วค่ะ"
    )


def demo_needs_target() -> str:
    return "กรุณาระบุ --out ไฟล์.xlsx หรือ --import อย่างใดอย่างหนึ่งค่ะ"
