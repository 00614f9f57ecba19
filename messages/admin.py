"""Thai text the admin commands print (`tidtam link-code`, `tidtam link-codes`) and the headers of the
link-code sheet the planning group hands out.

Pure functions and constants only: values in, Thai text out. Dates arrive already formatted (BE).
"""

from __future__ import annotations

LINK_SHEET_TITLE = "รหัสลงทะเบียน"

LINK_SHEET_HEADERS: tuple[str, ...] = (
    "รหัสบุคลากร",
    "ชื่อ-นามสกุล",
    "ตำแหน่ง",
    "หน่วยงาน",
    "รหัสลงทะเบียน",
    "หมดอายุ",
)


def person_link_code(full_name: str, person_code: str, office_name: str, expiry: str) -> str:
    return f"รหัสลงทะเบียนของ {full_name} ({person_code}, {office_name}) ใช้ได้ครั้งเดียว ภายในวันที่ {expiry} ค่ะ"


def person_already_linked(full_name: str) -> str:
    return f"หมายเหตุ: {full_name} ลงทะเบียน LINE ไว้แล้ว ถ้าใช้รหัสนี้ จะย้ายไปผูกกับบัญชี LINE ใหม่ค่ะ"


def group_link_code(office_name: str, expiry: str) -> str:
    return (
        f"รหัสผูกกลุ่ม LINE กับกลุ่มนโยบายและแผนของ {office_name} ใช้ได้ครั้งเดียว ภายในวันที่ {expiry} "
        "ให้พิมพ์รหัสนี้ในกลุ่ม LINE ที่เชิญบอทเข้าไปแล้วค่ะ"
    )


def unknown_person(code: str) -> str:
    return f"ไม่พบบุคลากรรหัส {code} ค่ะ"


def inactive_person(code: str) -> str:
    return f"บุคลากรรหัส {code} ไม่ได้ใช้งานแล้ว จึงไม่สร้างรหัสลงทะเบียนให้ค่ะ"


def unknown_office(code: str) -> str:
    return f"ไม่พบหน่วยงานรหัส {code} ค่ะ"


def person_or_group_required() -> str:
    return "กรุณาระบุรหัสบุคลากร หรือ --planning-group ตามด้วยรหัสหน่วยงาน อย่างใดอย่างหนึ่งค่ะ"


def link_codes_written(count: int, path: str) -> str:
    if count == 0:
        return f"ทุกคนในหน่วยงานนี้ลงทะเบียนแล้ว จึงไม่มีรหัสใหม่ค่ะ (ไฟล์ {path} มีแต่หัวตาราง)"
    return f"สร้างรหัสลงทะเบียน {count:,} รายการ บันทึกไว้ที่ {path} แล้วค่ะ"


# --- `tidtam holidays` ---------------------------------------------------------------------------------


def holiday_added(day: str, name: str, office: str, working_day: bool) -> str:
    what = "วันทำงาน (แม้เป็นวันหยุดราชการ)" if working_day else f"วันหยุด{(' ' + name) if name else ''}"
    return f"บันทึกวันที่ {day} เป็น{what} ของ{office}แล้วค่ะ"


def holiday_removed(day: str, office: str) -> str:
    return f"ลบการตั้งค่าวันที่ {day} ของ{office}แล้วค่ะ"


def holiday_not_found(day: str, office: str) -> str:
    return f"ไม่พบการตั้งค่าวันที่ {day} ของ{office}ค่ะ"


def every_office() -> str:
    return "ทุกหน่วยงาน"


def holidays_header(year: int) -> str:
    return f"วันหยุดปีงบประมาณ {year}"


def holiday_line(day: str, name: str, source: str) -> str:
    return f"{day}  {name}  ({source})"


def source_public() -> str:
    return "วันหยุดราชการ"


def source_office(office: str) -> str:
    return f"ตั้งค่าโดย{office}"


def working_day_label() -> str:
    return "ทำงานตามปกติ"
