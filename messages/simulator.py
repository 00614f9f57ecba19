"""The demo simulator's Thai text: the page's labels, the people picker's role names, the clock panel.

The page (tidtam/simulator/static) holds no Thai of its own: it is handed ``page_texts()`` as JSON.
Pure functions and constants; nothing here reads the clock.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from messages.chat import BOT_NAME
from messages.thai_dates import format_date, format_datetime

__all__ = ["KIND_LABELS", "clock_face", "initial_of", "page_texts"]

# Picker groups, keyed by tidtam.simulator.people.PersonaKind values.
KIND_LABELS = {
    "teacher": "ครูผู้รับผิดชอบโครงการ",
    "school_director": "ผู้อำนวยการโรงเรียน",
    "group_director": "ผู้อำนวยการกลุ่มในสำนักงานเขต",
    "planner": "กลุ่มนโยบายและแผน",
    "executive": "ผู้บริหารสำนักงานเขต",
    "office_staff": "เจ้าหน้าที่สำนักงานเขต",
    "newcomer": "ผู้ใช้ใหม่ (ยังไม่ลงทะเบียน)",
}

_TITLES = ("นางสาว", "นาง", "นาย", "ดร.", "ว่าที่ร้อยตรี")
_WEEKDAYS = ("จ.", "อ.", "พ.", "พฤ.", "ศ.", "ส.", "อา.")


def page_texts() -> dict[str, object]:
    """Every label the simulator page shows."""
    return {
        "title": f"ลองใช้ {BOT_NAME} แบบจำลอง LINE",
        "bot_name": BOT_NAME,
        "intro": (
            "หน้านี้จำลองแชต LINE กับบอทติดตาม เลือกบุคคลจากสำนักงานเขตตัวอย่าง แล้วลองรายงานผล "
            "อนุมัติ หรือเลื่อนนาฬิกาเพื่อดูการแจ้งเตือน เปิดหลายแท็บเพื่อเป็นหลายคนพร้อมกันได้ค่ะ"
        ),
        "pick_person": "เลือกบุคคล",
        "search": "ค้นหาชื่อ โรงเรียน หรือตำแหน่ง",
        "change_person": "เปลี่ยนคน",
        "projects_owned": "รับผิดชอบ {n} โครงการ",
        "kinds": KIND_LABELS,
        "newcomer_name": "ผู้ใช้ LINE ที่ยังไม่ลงทะเบียน",
        "type_here": "พิมพ์ข้อความ",
        "send": "ส่ง",
        "photo": "ส่งรูป",
        "quote": "ตอบกลับ",
        "copy": "คัดลอก",
        "cancel": "ยกเลิก",
        "quoting": "ตอบกลับข้อความ",
        "reply_free": "ตอบกลับ · ฟรี",
        "push_paid": "ส่งเอง (พุช) · ใช้โควตา",
        "multicast_paid": "ส่งหลายคน · ใช้โควตา",
        "quota": "โควตาข้อความเดือนนี้",
        "quota_used": "ใช้ไป",
        "quota_unlimited": "ไม่จำกัด",
        "refused": "LINE ไม่รับคำขอนี้",
        "not_delivered": "ข้อความยังไม่ถึง: บริการตอบไม่ได้",
        "photo_sent": "รูปภาพ",
        "sticker": "สติกเกอร์",
        "menu": "เมนู",
        "hide_menu": "ซ่อนเมนู",
        "no_menu": "คนนี้ยังไม่มีริชเมนู",
        "pick_date": "เลือกวันที่",
        "ok": "ตกลง",
        "clock": "นาฬิกาของระบบ",
        "clock_next_day": "วันทำการถัดไป",
        "clock_next_reminder": "ถึงรอบแจ้งเตือนถัดไป",
        "clock_go": "ไปวันเวลาที่เลือก",
        "clock_reset": "กลับเป็นเวลาจริง",
        "clock_working": "กำลังเลื่อนนาฬิกาและส่งการแจ้งเตือน…",
        "clock_help": (
            "เลื่อนนาฬิกาไปข้างหน้า ระบบจะทำรอบแจ้งเตือนของทุกวันทำการที่ผ่านไป แล้วข้อความจะเข้ามาในแชตของแต่ละคนค่ะ"
        ),
        "refusals": "คำขอที่ LINE ไม่รับ",
        "no_refusals": "ยังไม่มีค่ะ",
        "error": "ทำรายการไม่สำเร็จ กรุณาลองใหม่ค่ะ",
        "loading": "กำลังพิมพ์…",
        "unsupported": "ข้อความชนิดนี้แสดงในแบบจำลองไม่ได้",
        "open_link": "เปิดลิงก์",
        "today": "วันนี้",
    }


def clock_face(now: datetime, tz: ZoneInfo, origin: str) -> dict[str, str]:
    """The clock panel's lines: ``{"date": "พ. 2 ธ.ค. 2569", "time": "08:30 น.", "origin": ...}``."""
    local = now.astimezone(tz)
    origins = {"moved": "เวลาจำลอง (เลื่อนนาฬิกาไว้)", "TIDTAM_NOW": "เวลาจำลอง (TIDTAM_NOW)"}
    return {
        "date": f"{_WEEKDAYS[local.weekday()]} {format_date(local.date())}",
        "time": f"{local:%H:%M} น.",
        "origin": origins.get(origin, "เวลาจริง"),
        "full": format_datetime(now, tz),
    }


def initial_of(full_name: str) -> str:
    """The letter on a person's avatar: the first of their first name, past any title."""
    name = full_name.strip()
    for title in _TITLES:
        if name.startswith(title):
            name = name[len(title) :].strip()
            break
    return name[:1] or "?"
