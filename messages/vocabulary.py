"""Every word people type to the bot: menu commands, form commands, approval words, with synonyms.

The words are what Thai staff actually type, so they are user-facing text and live here; `bot/intents.py`
reads them, normalises what people type (polite particles, spaces, digits…) and matches it. Keys are the
names of `bot.intents.Intent` members (a string here, so `messages/` stays free of `bot/`). The first word
of each entry is the canonical one: what buttons and help texts show.

One word may mean different things in different places (`ตกลง` confirms inside a form, approves on an
approval card; `แก้ไข` edits a form, returns a report when quoting a card): the caller says which
intents apply where it is.
"""

from __future__ import annotations

WORDS: dict[str, tuple[str, ...]] = {
    # --- menu commands (anywhere in a one-to-one chat) ---
    "HELP": ("ช่วยเหลือ", "เมนู", "วิธีใช้", "คำสั่ง", "help", "menu", "?"),
    "REPORT": ("รายงานผล", "รายงาน", "ส่งรายงาน", "รายงานผลโครงการ", "report"),
    "STATUS": ("สถานะ", "สถานะโครงการ", "status"),
    "MY_PROJECTS": ("โครงการของฉัน", "โครงการ", "โครงการของผม", "my projects", "projects"),
    "VIEW_REPORT": ("ดูรายงาน", "ดูรายงานผล", "รายงานที่ส่งแล้ว", "ดูรายงานที่ส่ง", "view report"),
    "CONTACT": ("ติดต่อเจ้าหน้าที่", "ติดต่อ", "ติดต่อกลุ่มนโยบายและแผน", "contact"),
    "REGISTER": ("ลงทะเบียน", "register"),
    "PENDING": ("รออนุมัติ", "รายการรออนุมัติ", "งานรออนุมัติ", "pending"),
    "APPROVE_ALL": ("อนุมัติทั้งหมด", "อนุมัติทุกรายการ", "approve all"),
    "APPROVE_CHOSEN": ("อนุมัติที่เลือก", "เลือกอนุมัติ", "อนุมัติหลายรายการ"),
    "SCHOOL_STATUS": ("สถานะโรงเรียน", "สถานะหน่วยงาน", "ใครส่งแล้ว", "school status"),
    "AREA_OVERVIEW": ("ภาพรวมเขต", "ภาพรวม", "สรุปภาพรวม", "overview"),
    "NOT_SUBMITTED": ("ใครยังไม่ส่ง", "ยังไม่ส่ง", "ใครยังไม่รายงาน", "ยังไม่รายงาน", "not submitted"),
    "DASHBOARD": ("แดชบอร์ด", "แดชบอด", "แดชบอร์ท", "แดชบอร์ดข้อมูล", "หน้าสรุปผล", "dashboard"),
    "DETAILS": ("ดูรายละเอียด", "รายละเอียด", "details"),
    # --- form commands (inside a chat form) ---
    "CANCEL": ("ยกเลิก", "ยกเลิกการกรอก", "เลิก", "cancel"),
    "BACK": ("ย้อนกลับ", "ย้อน", "กลับ", "ข้อก่อนหน้า", "back"),
    "SKIP": ("ข้าม", "ไม่มี", "ข้ามข้อนี้", "skip", "-"),
    "EDIT": ("แก้ไข", "แก้", "แก้ไขคำตอบ", "edit"),
    "SUBMIT": ("ยืนยันส่ง", "ส่ง", "ส่งเลย", "ยืนยันการส่ง", "submit"),
    "DONE": ("เสร็จ", "เสร็จแล้ว", "ครบแล้ว", "ส่งครบแล้ว", "หมดแล้ว", "done"),
    "YES": ("ยืนยัน", "ใช่", "ตกลง", "ถูกต้อง", "ok", "โอเค", "yes"),
    "NO": ("ไม่", "ไม่ใช่", "ทำต่อ", "กรอกต่อ", "no"),
    # --- approval words (from a director, about a report) ---
    "APPROVE": ("อนุมัติ", "เห็นชอบ", "ผ่าน", "ตกลง", "ok", "okay", "โอเค", "approve"),
    "RETURN": ("ส่งกลับแก้ไข", "ส่งกลับ", "ไม่อนุมัติ", "ไม่ผ่าน", "ไม่เห็นชอบ", "แก้ไข", "return"),
}

# Polite particles and endings that close almost every Thai message; they never change what a command
# means. Matched at the end of a message, repeatedly (`ยกเลิกนะคะ` = ยกเลิก + นะ + คะ).
POLITE_PARTICLES = (
    "ครับผม", "ขอรับ", "ครับ", "คับ", "คร้าบ", "ค่ะ", "คะ", "ค่า", "ค้า", "คา", "เจ้าค่ะ",
    "จ้า", "จ้ะ", "จ๊ะ", "จ้าา", "ฮะ", "ฮับ", "งับ", "นะ", "น้า", "น่ะ", "จ้ะ",
)  # fmt: skip

# Decision words that decide only when they quote an approval card: typed on their own ("ok", "แก้ไข")
# they are too common to mean "approve the report" or "return it".
QUOTE_ONLY_DECISION_WORDS = ("ตกลง", "ok", "okay", "โอเค", "ผ่าน", "แก้ไข", "return")

# What may also follow an approval word and still make it a plain approval (`อนุมัติได้เลยครับ`).
# What separates the reports named in one approval ("อนุมัติ P001, P003 และ P004").
LIST_SEPARATORS = (",", "และ")
APPROVAL_SOFTENERS = ("เลย", "ได้", "แล้ว", "ด้วย", "ให้")

# Particles that may be glued straight to the word before them (`อนุมัติครับ`) and still be dropped.
GLUED_PARTICLES = frozenset({"ครับผม", "ครับ", "ค่ะ", "ขอรับ", "เจ้าค่ะ"})

# Words people type before a quarter's number ("ไตรมาส 2", "ไตร 2", "q2").
QUARTER_WORDS = ("ไตรมาส", "ไตร", "q")

# Yes and no in a questionnaire's sheet or YAML (its `required` and `anonymous` columns).
SHEET_TRUE = frozenset({"true", "yes", "y", "1", "ใช่", "ต้องตอบ", "จำเป็น", "ไม่ระบุตัวตน"})
SHEET_FALSE = frozenset({"false", "no", "n", "0", "ไม่", "ไม่ใช่", "ไม่ต้องตอบ", "ไม่จำเป็น", "ระบุตัวตน", ""})
