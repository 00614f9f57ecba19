"""Thai texts of the quarterly progress report form (the manual's M6 step)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import cache

from linebot.v3.messaging import MessageAction, QuickReply, QuickReplyItem, TextMessage

from messages.thai_dates import format_date, format_month_span, format_quarter
from messages.thai_numbers import format_baht, format_measure, format_percent_words
from messages.wire import construct

TITLE = "รายงานผลการดำเนินงานโครงการ"
PLANNING_GROUP = "กลุ่มนโยบายและแผน"
HELP = "แบบรายงานผลการดำเนินงานรายไตรมาส ตอบทีละข้อ แล้วตรวจสอบก่อนยืนยันส่งค่ะ"

LABELS = {
    "project": "โครงการ",
    "period": "ไตรมาสที่รายงาน",
    "status": "สถานะการดำเนินงาน",
    "status_reason": "เหตุผลที่ยุติ/เลื่อน",
    "progress": "ความก้าวหน้า",
    "budget": "เบิกจ่ายสะสม",
    "indicators": "ผลตัวชี้วัด",
    "activities": "กิจกรรมที่ทำในไตรมาสนี้",
    "problems": "ปัญหาอุปสรรค",
    "suggestions": "ข้อเสนอแนะ",
    "photos": "รูปหลักฐาน",
}

# Other words that pick a status when typed (the old label "ยกเลิก/เลื่อน" among them: it read like
# leaving the form, so the button now says "ยุติ/เลื่อนโครงการ").
STATUS_KEYWORDS = {
    "not_started": ("ยังไม่เริ่ม",),
    "in_progress": ("กำลังดำเนินการ", "ดำเนินการอยู่"),
    "completed": ("เสร็จสิ้น", "แล้วเสร็จ", "เสร็จสมบูรณ์"),
    "cancelled": ("ยกเลิก/เลื่อน", "ยกเลิกโครงการ", "เลื่อนโครงการ", "ยุติโครงการ", "ยุติ", "เลื่อน"),
}
STATUS_LABELS = {
    "not_started": "ยังไม่ดำเนินการ",
    "in_progress": "อยู่ระหว่างดำเนินการ",
    "completed": "ดำเนินการแล้วเสร็จ",
    "cancelled": "ยุติ/เลื่อนโครงการ",
}


def project_label(code: str, name: str) -> str:
    return f"{code} {name}"


def _short_name(name: str) -> str:
    short = name.strip()
    for word in ("โครงการ",):
        if short.startswith(word) and len(short) > len(word):
            short = short[len(word) :].lstrip()
    return short


def project_buttons(projects: Sequence[tuple[str, str, bool]], limit: int = 20) -> list[str]:
    """Button labels of projects (code, name, has a draft): the short name people know them by
    (`พัฒนาการอ่าน`), or code and name where short names would look alike once cut to `limit`."""

    def cut(text: str) -> str:
        return text if len(text) <= limit else text[: limit - 1] + "…"

    mark = {True: f"{DRAFT_MARK} ", False: ""}
    alike = [cut(mark[True] + _short_name(n)) for _, n, _ in projects]  # compared as if all had the mark
    labels = []
    for look, (code, name, draft) in zip(alike, projects, strict=True):
        shown = (
            _short_name(name) if alike.count(look) == 1 and _short_name(name) else project_label(code, name)
        )
        labels.append(cut(mark[draft] + shown))
    return labels


def period_label(quarter: object, due_on: object, returned: bool, late: bool) -> str:
    label = format_quarter(quarter)  # type: ignore[arg-type]
    if returned:
        return f"{label} (ส่งกลับแก้ไข)"
    if late:
        return f"{label} (เลยกำหนด)"
    return label


DRAFT_MARK = "✎"


def ask_project(count: int, drafts: int = 0) -> str:
    head = f"รายงานผลโครงการไหนคะ (มี {count} โครงการ)" if count > 10 else "รายงานผลโครงการไหนคะ"
    if drafts:
        head += f"\nมีร่างที่กรอกค้างไว้ {drafts} โครงการ (เครื่องหมาย {DRAFT_MARK} อยู่ลำดับแรก) แตะเพื่อทำต่อได้เลยค่ะ"
    return head


def ask_period(project: str) -> str:
    return f"{project}\nรายงานผลของไตรมาสไหนคะ"


def ask_status(quarter_line: str = "") -> str:
    question = "สถานะการดำเนินงานของโครงการตอนนี้เป็นอย่างไรคะ"
    return f"{quarter_line}\n{question}" if quarter_line else question


def quarter_line(quarter: object, starts_on: date, ends_on: date, due_on: date) -> str:
    """`รายงานไตรมาส 1/2570 (ต.ค.–ธ.ค. 2569) กำหนดส่ง 12 ม.ค. 2570`."""
    return f"รายงาน{format_quarter(quarter)} ({format_month_span(starts_on, ends_on)}) กำหนดส่ง {format_date(due_on)}"  # type: ignore[arg-type]


def ask_status_reason() -> str:
    return "ขอเหตุผลที่ยกเลิกหรือเลื่อนการดำเนินงานสั้น ๆ ค่ะ"


def ask_progress(previous: Decimal | None) -> str:
    tail = f"\n(ไตรมาสก่อน {format_percent_words(previous, places=2)})" if previous is not None else ""
    return f"ความก้าวหน้าของโครงการกี่เปอร์เซ็นต์คะ (0–100){tail}"


def ask_budget(allocated_satang: int, previous_satang: int | None) -> str:
    tail = f"\n(ไตรมาสก่อน {format_baht(previous_satang)})" if previous_satang is not None else ""
    return f"เบิกจ่ายงบประมาณสะสมถึงตอนนี้เท่าไรคะ\nงบประมาณที่ได้รับ {format_baht(allocated_satang)}{tail}"


def ask_indicator(name: str) -> str:
    return f"ผลตัวชี้วัด: {name}\nได้เท่าไรคะ"


def indicator_detail(target: Decimal | None, unit: str) -> str:
    if target is None:
        return f"หน่วย: {unit}" if unit else ""
    return f"ค่าเป้าหมาย {format_measure(target, unit)}"


def ask_activities() -> str:
    return "ไตรมาสนี้ทำกิจกรรมอะไรไปบ้างคะ (สรุปสั้น ๆ)"


def ask_problems() -> str:
    return "มีปัญหาอุปสรรคอะไรไหมคะ"


def ask_suggestions() -> str:
    return "มีข้อเสนอแนะอะไรไหมคะ"


def ask_photos() -> str:
    return "ส่งรูปหลักฐานการดำเนินงานได้สูงสุด 5 รูปค่ะ"


# --- checks ----------------------------------------------------------------------------------------


def progress_lower(previous: Decimal, value: Decimal) -> str:
    return f"ความก้าวหน้า {format_percent_words(value, places=2)} ต่ำกว่าไตรมาสก่อน ({format_percent_words(previous, places=2)}) ยืนยันตัวเลขนี้ไหมคะ"


def progress_not_full_but_completed(value: Decimal) -> str:
    return f"สถานะแล้วเสร็จ แต่ความก้าวหน้า {format_percent_words(value, places=2)} ยืนยันไหมคะ"


def indicator_negative() -> str:
    return "ผลตัวชี้วัดต้องไม่ติดลบค่ะ"


def budget_over(value: int, allocated: int) -> str:
    return f"เบิกจ่าย {format_baht(value)} เกินงบที่ได้รับ ({format_baht(allocated)}) ยืนยันตัวเลขนี้ไหมคะ"


def budget_lower(value: int, previous: int) -> str:
    return f"ยอดเบิกจ่ายสะสม {format_baht(value)} น้อยกว่าไตรมาสก่อน ({format_baht(previous)}) ยืนยันไหมคะ"


# --- outcomes --------------------------------------------------------------------------------------

MENU = ("สถานะ", "โครงการของฉัน", "รายงานผล")


@cache
def _quick(*labels: str) -> QuickReply:
    """Built once per set of labels and shared (as messages/chat.py's): nothing may change one."""
    return construct(
        QuickReply,
        items=[construct(QuickReplyItem, action=construct(MessageAction, label=x, text=x)) for x in labels],
    )


def submitted(project: str, quarter: object, version: int, approvers: Sequence[str]) -> TextMessage:
    """After a submission: who it went to; when nobody can approve it, the truth and what happens next."""
    again = f" (ฉบับที่ {version})" if version > 1 else ""
    if approvers:
        names = " หรือ ".join(approvers[:3]) + (
            f" และอีก {len(approvers) - 3} คน" if len(approvers) > 3 else ""
        )
        who = f"ส่งให้ {names} พิจารณาอนุมัติแล้ว จะแจ้งผลให้ทราบทาง LINE นี้ค่ะ"
    else:
        who = (
            "ตอนนี้ยังไม่มีผู้อนุมัติรายงานนี้ในระบบค่ะ (ไม่มีผู้บังคับบัญชาระดับถัดไป) "
            "ระบบแจ้งกลุ่มนโยบายและแผนแล้ว เพื่อกำหนดผู้อนุมัติ รายงานยังเก็บไว้ครบค่ะ"
        )
    return construct(
        TextMessage,
        text=f"ส่งรายงาน{format_quarter(quarter)}{again} เรียบร้อยแล้วค่ะ\n{project}\n{who}",  # type: ignore[arg-type]
        quick_reply=_quick(*MENU),
    )


def cancelled(*, kept_draft: bool = True) -> TextMessage:
    if not kept_draft:
        return construct(
            TextMessage, text='ยกเลิกแล้วค่ะ พิมพ์ "รายงานผล" เมื่อพร้อมรายงานได้เลยค่ะ', quick_reply=_quick(*MENU)
        )
    return construct(
        TextMessage,
        text='ยกเลิกแล้วค่ะ ข้อมูลที่กรอกไว้เก็บเป็นร่าง พิมพ์ "รายงานผล" เพื่อทำต่อได้ค่ะ',
        quick_reply=_quick(*MENU),
    )


def no_projects(fiscal_year_label: str) -> TextMessage:
    return construct(
        TextMessage,
        text=f"ไม่พบโครงการที่ต้องรายงานใน{fiscal_year_label} ค่ะ",
        quick_reply=_quick("สถานะ", "ช่วยเหลือ"),
    )


def nothing_to_report() -> TextMessage:
    return construct(
        TextMessage,
        text="โครงการนี้ไม่มีไตรมาสที่เปิดให้รายงานค่ะ (ส่งครบแล้ว หรือยังไม่ถึงกำหนด)",
        quick_reply=_quick(*MENU),
    )


def nothing_to_report_note() -> str:
    return "โครงการนี้ไม่มีไตรมาสที่เปิดให้รายงานค่ะ (ส่งครบแล้ว หรือยังไม่ถึงกำหนด)"


def continuing_submitted(version: int) -> str:
    return f"รายงานไตรมาสนี้ส่งไปแล้ว (ฉบับที่ {version}) แก้ไขแล้วยืนยันส่งใหม่ได้ค่ะ จะเป็นฉบับที่ {version + 1}"


def busy_elsewhere() -> TextMessage:
    return construct(
        TextMessage,
        text='ตอนนี้ยังทำรายการอื่นค้างอยู่ค่ะ ตอบรายการนั้นให้เสร็จ หรือพิมพ์ "ยกเลิก" ก่อน แล้วค่อยพิมพ์ "รายงานผล" อีกครั้งนะคะ',
        quick_reply=_quick("ยกเลิก"),
    )


def continuing_draft() -> str:
    return "พบร่างที่กรอกไว้ ทำต่อจากร่างนะคะ"


def returned_note(reason: str, decided_by: str, decided_on: object) -> str:
    when = format_date(decided_on)  # type: ignore[arg-type]
    return f"รายงานนี้ถูกส่งกลับให้แก้ไขโดย {decided_by} เมื่อ {when}\nเหตุผล: {reason}"


def already_submitted(quarter: object, status_label: str) -> TextMessage:
    return construct(
        TextMessage,
        text=f"รายงาน{format_quarter(quarter)}ของโครงการนี้{status_label}แล้วค่ะ",  # type: ignore[arg-type]
        quick_reply=_quick(*MENU),
    )


def cannot_submit(code: str) -> TextMessage:
    texts = {
        "already_approved": "รายงานนี้ได้รับอนุมัติแล้ว แก้ไขไม่ได้ค่ะ หากต้องแก้ กรุณาติดต่อกลุ่มนโยบายและแผนค่ะ",
        "not_owner": "โครงการนี้ไม่ได้อยู่ในความรับผิดชอบของบัญชีนี้แล้วค่ะ",
    }
    return construct(
        TextMessage,
        text=texts.get(code, "ขออภัยค่ะ ส่งรายงานไม่สำเร็จ ข้อมูลที่กรอกไว้ยังอยู่ กรุณาลองใหม่ค่ะ"),
        quick_reply=_quick(*MENU),
    )


def photo_rejected(reason: str) -> TextMessage:
    reasons = {
        "too_large": "รูปมีขนาดใหญ่เกินไป (ไม่เกิน 10 MB)",
        "bad_type": "รับเฉพาะรูปภาพ JPEG หรือ PNG",
        "download": "ดาวน์โหลดรูปจาก LINE ไม่สำเร็จ",
        "bad_id": "อ่านรูปนี้ไม่ได้",
    }
    return construct(TextMessage, text=f"{reasons.get(reason, 'รับรูปนี้ไม่ได้')}ค่ะ กรุณาส่งใหม่อีกครั้ง")
