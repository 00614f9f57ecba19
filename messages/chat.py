"""What the bot says in chat outside of forms: greetings, help, linking, lists, polite fallbacks.

Pure functions: plain data in, line-bot-sdk message objects out. One voice: short, polite, "ค่ะ"/"คะ".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from linebot.v3.messaging import MessageAction, QuickReply, QuickReplyItem, TextMessage

from messages.thai_dates import format_date, format_fiscal_year, format_quarter
from messages.thai_numbers import format_baht, format_percent_words
from messages.wire import construct

BOT_NAME = "ติดตาม"


LINKED_MENU = ("รายงานผล", "สถานะ", "โครงการของฉัน", "ช่วยเหลือ")


@cache
def _quick(*labels: str) -> QuickReply:
    """Buttons that type their label. Built once per set of labels (the SDK's models are slow to
    build) and shared by every message that shows them: nothing may change one."""
    return construct(
        QuickReply,
        items=[
            construct(QuickReplyItem, action=construct(MessageAction, label=label, text=label))
            for label in labels
        ],
    )


def text(body: str, *quick_labels: str) -> TextMessage:
    """A text message, with quick-reply buttons that type their label.

    The builders here, in messages/forms.py and messages/report_form.py make the SDK's models with
    pydantic's `construct` (the values are their own strings: nothing to validate, and validating took
    about as long as the rest of a menu answer), as `messages.wire.construct` makes it at half the
    cost; tests/test_wire.py checks every message they make is
    what the SDK's validation makes of it, byte for byte."""
    return construct(TextMessage, text=body, quick_reply=_quick(*quick_labels) if quick_labels else None)


# --- greetings and linking ------------------------------------------------------------------------


def greeting_unlinked() -> TextMessage:
    return text(
        f"สวัสดีค่ะ ยินดีต้อนรับสู่ {BOT_NAME} ผู้ช่วยติดตามและรายงานผลโครงการค่ะ\n"
        "เริ่มใช้งานโดยพิมพ์รหัสลงทะเบียนที่ได้รับจากกลุ่มนโยบายและแผน เช่น ABCD-2345",
        "ช่วยเหลือ",
    )


def greeting_linked(address: str, menu: Sequence[str] = LINKED_MENU) -> TextMessage:
    """`address`: "ท่าน" for a director, "คุณ" + first name otherwise (messages.menus.address)."""
    return text(f"ยินดีต้อนรับกลับค่ะ {address}\nเลือกเมนูด้านล่างได้เลยค่ะ", *menu)


def link_prompt() -> TextMessage:
    return text(
        "บัญชี LINE นี้ยังไม่ได้ลงทะเบียนค่ะ\n"
        "กรุณาพิมพ์รหัสลงทะเบียน 8 ตัวที่ได้รับจากกลุ่มนโยบายและแผน เช่น ABCD-2345\n"
        "หากยังไม่มีรหัส ขอได้ที่กลุ่มนโยบายและแผนของสำนักงานเขตพื้นที่ฯ ค่ะ",
        "ช่วยเหลือ",
    )


def linked_ok(full_name: str, office_name: str, menu: Sequence[str] = LINKED_MENU) -> TextMessage:
    return text(
        f"ลงทะเบียนสำเร็จแล้วค่ะ ในชื่อ {full_name} ({office_name})\nจากนี้จะได้รับการแจ้งเตือนการรายงานผลทาง LINE นี้ค่ะ",
        *menu,
    )


def link_code_wrong(tries_left: int) -> TextMessage:
    # One answer for a wrong, expired, revoked or already used code: a guesser learns nothing from it.
    left = f" (ลองได้อีก {tries_left} ครั้ง)" if tries_left > 0 else ""
    return text(
        f"รหัสลงทะเบียนไม่ถูกต้อง ใช้ไปแล้ว หรือหมดอายุแล้วค่ะ{left}\n"
        "กรุณาตรวจสอบแล้วพิมพ์ใหม่ เช่น ABCD-2345 หากรหัสใช้ไม่ได้ ขอรหัสใหม่ได้ที่กลุ่มนโยบายและแผนค่ะ",
    )


def link_locked(minutes: int) -> TextMessage:
    return text(
        f"พิมพ์รหัสผิดหลายครั้งเกินไปค่ะ กรุณารอ {minutes} นาทีแล้วลองใหม่\nหากรหัสใช้ไม่ได้ ขอรหัสใหม่ได้ที่กลุ่มนโยบายและแผนค่ะ"
    )


def link_busy(minutes: int) -> TextMessage:
    return text(
        f"ขณะนี้มีการพิมพ์รหัสลงทะเบียนจำนวนมาก ระบบจึงพักการตรวจรหัสไว้ชั่วคราวค่ะ\nกรุณารอ {minutes} นาทีแล้วพิมพ์รหัสอีกครั้งค่ะ"
    )


def link_account_already_linked(full_name: str, menu: Sequence[str] = LINKED_MENU) -> TextMessage:
    return text(f"บัญชี LINE นี้ลงทะเบียนเป็น {full_name} อยู่แล้วค่ะ", *menu)


def link_code_for_group_only() -> TextMessage:
    return text("รหัสนี้ใช้ผูกกลุ่ม LINE ของกลุ่มนโยบายและแผน กรุณาพิมพ์ในกลุ่ม LINE นั้นค่ะ")


def link_code_for_person_only() -> TextMessage:
    return text("รหัสนี้เป็นรหัสลงทะเบียนส่วนตัว กรุณาพิมพ์ในแชตส่วนตัวกับบัญชีนี้ค่ะ")


# --- groups ---------------------------------------------------------------------------------------


def group_joined() -> TextMessage:
    return text(
        f"สวัสดีค่ะ {BOT_NAME} เข้าร่วมกลุ่มแล้วค่ะ\n"
        "หากเป็นกลุ่มของกลุ่มนโยบายและแผน กรุณาพิมพ์รหัสผูกกลุ่มที่ได้จากผู้ดูแลระบบ "
        "เพื่อรับแจ้งเตือนงานที่ล่าช้าในกลุ่มนี้ค่ะ"
    )


def group_bound(office_name: str) -> TextMessage:
    return text(f"ผูกกลุ่มนี้กับกลุ่มนโยบายและแผน {office_name} แล้วค่ะ\nจะแจ้งเตือนงานที่ล่าช้าในกลุ่มนี้ค่ะ")


def group_already_bound(office_name: str) -> TextMessage:
    return text(f"กลุ่มนี้ผูกกับกลุ่มนโยบายและแผน {office_name} อยู่แล้วค่ะ")


# --- help and menus -------------------------------------------------------------------------------


def help_unlinked() -> TextMessage:
    return text(
        f"{BOT_NAME} ช่วยรายงานผลการดำเนินงานโครงการรายไตรมาสผ่าน LINE ค่ะ\n"
        "เริ่มใช้งานโดยพิมพ์รหัสลงทะเบียน 8 ตัวที่ได้รับจากกลุ่มนโยบายและแผน เช่น ABCD-2345",
    )


def help_group() -> TextMessage:
    return text(
        f"{BOT_NAME} ใช้กลุ่มนี้แจ้งเตือนงานที่ล่าช้าให้กลุ่มนโยบายและแผนค่ะ\nการรายงานผลโครงการ กรุณาทำในแชตส่วนตัวกับบัญชีนี้ค่ะ"
    )


def nothing_to_cancel(menu: Sequence[str] = LINKED_MENU) -> TextMessage:
    return text("ตอนนี้ไม่มีสิ่งที่ต้องยกเลิกค่ะ", *menu)


def not_understood(menu: Sequence[str] = LINKED_MENU) -> TextMessage:
    return text('ขออภัยค่ะ ไม่เข้าใจคำสั่งนี้ ลองแตะเมนูด้านล่าง หรือพิมพ์ "ช่วยเหลือ" ค่ะ', *menu)


def unsupported_message(kind: str, menu: Sequence[str] = LINKED_MENU) -> TextMessage:
    names = {
        "sticker": "สติกเกอร์",
        "audio": "ข้อความเสียง",
        "video": "วิดีโอ",
        "location": "ตำแหน่งที่ตั้ง",
        "file": "ไฟล์",
        "image": "รูปภาพ",
    }
    what = names.get(kind, "ข้อความแบบนี้")
    return text(f"ขอบคุณค่ะ ตอนนี้ยังรับ{what}ไม่ได้ กรุณาพิมพ์คำสั่งหรือแตะเมนูด้านล่างค่ะ", *menu)


def unknown_button(menu: Sequence[str] = LINKED_MENU) -> TextMessage:
    return text("ปุ่มนี้ใช้ไม่ได้แล้วค่ะ กรุณาเลือกจากเมนูล่าสุดอีกครั้งค่ะ", *menu)


def something_went_wrong() -> TextMessage:
    return text("ขออภัยค่ะ ระบบขัดข้องชั่วคราว ข้อมูลที่กรอกไว้ยังอยู่ครบ กรุณาลองใหม่อีกครั้งค่ะ", *LINKED_MENU)


# --- my projects and status -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectLine:
    code: str
    name: str
    budget_satang: int
    report_state: str  # a ReportStatus value, or "none" when nothing was reported this quarter
    progress_pct: object | None = None  # Decimal of the latest version, if any


STATE_LABELS = {
    "none": "ยังไม่รายงาน",
    "draft": "กำลังกรอก (ยังไม่ส่ง)",
    "submitted": "ส่งแล้ว รออนุมัติ",
    "approved": "อนุมัติแล้ว",
    "returned": "ส่งกลับให้แก้ไข",
}
MAX_LISTED = 30


def my_projects(fiscal_year: int, projects: Sequence[ProjectLine]) -> TextMessage:
    if not projects:
        return text(f"ไม่พบโครงการที่รับผิดชอบใน{format_fiscal_year(fiscal_year)} ค่ะ", *LINKED_MENU)
    lines = [f"โครงการที่รับผิดชอบ {format_fiscal_year(fiscal_year)} ({len(projects)} โครงการ)"]
    for index, p in enumerate(projects[:MAX_LISTED], start=1):
        lines.append(f"{index}. {p.code} {p.name}\n   งบประมาณ {format_baht(p.budget_satang)}")
    if len(projects) > MAX_LISTED:
        lines.append(f"…และอีก {len(projects) - MAX_LISTED} โครงการ")
    return text("\n".join(lines), "สถานะ", "ช่วยเหลือ")


def my_status(quarter: object, due_on: date | None, projects: Sequence[ProjectLine]) -> TextMessage:
    label = format_quarter(quarter)  # type: ignore[arg-type]
    if not projects:
        return text(f"ไม่พบโครงการที่ต้องรายงานใน{label} ค่ะ", *LINKED_MENU)
    due = f" กำหนดส่ง {format_date(due_on)}" if due_on else ""
    lines = [f"สถานะการรายงานผล {label}{due}"]
    for p in projects[:MAX_LISTED]:
        progress = f" ({format_percent_words(p.progress_pct)})" if p.progress_pct is not None else ""  # type: ignore[arg-type]
        lines.append(f"• {p.code} {p.name}\n   {STATE_LABELS.get(p.report_state, p.report_state)}{progress}")
    if len(projects) > MAX_LISTED:
        lines.append(f"…และอีก {len(projects) - MAX_LISTED} โครงการ")
    return text("\n".join(lines), "โครงการของฉัน", "ช่วยเหลือ")
