"""What the planning group's dashboard says: the chat answer with the login link, the words of its
pages (the Jinja2 templates under messages/web/ hold the page layouts), report states and their colours.

Pure: plain values in, text or line-bot-sdk messages out.
"""

from __future__ import annotations

from linebot.v3.messaging import ButtonsTemplate, TemplateMessage, TextMessage, URIAction

from messages.report_form import LABELS as REPORT_LABELS
from messages.report_form import STATUS_LABELS as IMPLEMENTATION_LABELS


def dashboard_link(url: str, minutes: int) -> TemplateMessage:
    body = f"เปิดแดชบอร์ดได้ที่ปุ่มด้านล่างค่ะ ลิงก์ใช้ได้ครั้งเดียว ภายใน {minutes} นาที"
    return TemplateMessage(
        alt_text=f"ลิงก์เปิดแดชบอร์ด (ใช้ได้ครั้งเดียว ภายใน {minutes} นาที)",
        template=ButtonsTemplate(
            title="แดชบอร์ดติดตามผล",
            text=body,
            actions=[URIAction(label="เปิดแดชบอร์ด", uri=url)],
        ),
    )


def dashboard_not_for_you() -> TextMessage:
    return TextMessage(
        text=(
            "แดชบอร์ดเปิดให้กลุ่มนโยบายและแผนและผู้อำนวยการค่ะ\nดูสถานะโครงการของท่านได้โดยพิมพ์ สถานะ หรือ โครงการของฉัน ค่ะ"
        )
    )


# --- report states: a colour and a text label each (never colour alone) ----------------------------

STATES = ("not_started", "draft", "submitted", "returned", "approved", "late")
STATE_LABELS = {
    "not_started": "ยังไม่เริ่ม",
    "draft": "กำลังกรอก",
    "submitted": "รออนุมัติ",
    "returned": "ส่งกลับแก้ไข",
    "approved": "อนุมัติแล้ว",
    "late": "เลยกำหนด",
}
DECISION_LABELS = {"approved": "อนุมัติ", "returned": "ส่งกลับแก้ไข", "reopened": "เปิดให้แก้ไขใหม่"}
VERSION_FIELDS = {
    "implementation_status": REPORT_LABELS["status"],
    "progress_pct": REPORT_LABELS["progress"],
    "budget_disbursed_satang": REPORT_LABELS["budget"],
    "activities": REPORT_LABELS["activities"],
    "problems": REPORT_LABELS["problems"],
    "suggestions": REPORT_LABELS["suggestions"],
    "status_reason": REPORT_LABELS["status_reason"],
}
LEVEL_LABELS = {
    "national": "ยุทธศาสตร์ชาติ",
    "master_plan": "แผนแม่บท",
    "obec": "นโยบาย สพฐ.",
    "area": "กลยุทธ์เขตพื้นที่",
}
ROLE_LABELS = {
    "planner": "กลุ่มนโยบายและแผน",
    "monitoring_head": "หัวหน้ากลุ่มงานติดตามฯ",
    "admin": "ผู้ดูแลระบบ",
    "observer": "ผู้ติดตาม",
    "approver": "ผู้อำนวยการ",
    "reporter": "ผู้รายงาน",
}
NO_ROLE = "ไม่ระบุบทบาท"


def implementation_label(value: str) -> str:
    return IMPLEMENTATION_LABELS.get(value, value)


# --- page notices ----------------------------------------------------------------------------------

LINK_REFUSED_TITLE = "ลิงก์นี้ใช้ไม่ได้แล้ว"
LINK_REFUSED_BODY = (
    "ลิงก์เข้าแดชบอร์ดใช้ได้ครั้งเดียวและภายใน 15 นาทีค่ะ กรุณาพิมพ์ แดชบอร์ด ในแชต LINE ของบัญชีติดตาม เพื่อรับลิงก์ใหม่ค่ะ"
)
NO_SESSION_TITLE = "กรุณาเข้าสู่ระบบก่อน"
NO_SESSION_BODY = (
    "หน้านี้ต้องเข้าผ่านลิงก์จากบัญชี LINE ติดตามค่ะ หรือการเข้าใช้หมดเวลาแล้ว (8 ชั่วโมง) "
    "กรุณาพิมพ์ แดชบอร์ด ในแชต LINE เพื่อรับลิงก์ใหม่ค่ะ"
)
NOT_ALLOWED_TITLE = "ไม่มีสิทธิ์ดูหน้านี้"
NOT_ALLOWED_BODY = "รายการนี้อยู่นอกหน่วยงานที่ท่านดูแลค่ะ หากต้องการดู กรุณาติดต่อกลุ่มนโยบายและแผนค่ะ"
NOT_FOUND_TITLE = "ไม่พบหน้าที่ต้องการ"
NOT_FOUND_BODY = "ไม่พบรายการนี้ค่ะ อาจถูกลบหรือพิมพ์ที่อยู่ไม่ถูกต้อง"
BAD_FORM_TITLE = "ส่งแบบฟอร์มไม่สำเร็จ"
BAD_FORM_BODY = "แบบฟอร์มนี้หมดอายุหรือไม่ได้ส่งจากหน้าแดชบอร์ดค่ะ กรุณาเปิดหน้าเดิมใหม่แล้วลองอีกครั้งค่ะ"
LOGGED_OUT_TITLE = "ออกจากระบบแล้ว"
LOGGED_OUT_BODY = "ขอบคุณค่ะ หากต้องการเข้าใหม่ พิมพ์ แดชบอร์ด ในแชต LINE ได้เลยค่ะ"
REOPEN_NEEDS_REASON = "กรุณาพิมพ์เหตุผลที่เปิดรายงานให้แก้ไขใหม่ค่ะ"
REOPEN_REFUSED = "เปิดรายงานนี้ให้แก้ไขไม่ได้ค่ะ (รายงานต้องได้รับอนุมัติแล้ว)"
REOPEN_DONE = "เปิดรายงานให้แก้ไขใหม่แล้วค่ะ ระบบแจ้งผู้รับผิดชอบทาง LINE แล้ว"
ACTIONS_NOT_ALLOWED = "การดำเนินการนี้สำหรับกลุ่มนโยบายและแผนและผู้ดูแลระบบค่ะ"


# --- exports ---------------------------------------------------------------------------------------

INDICATOR_KIND_LABELS = {"output": "ผลผลิต", "outcome": "ผลลัพธ์"}


def indicator_summary(name: str, unit: str, target: str, result: str) -> str:
    """One indicator in the projects sheet's indicator column."""
    return f"{name}: เป้าหมาย {target} {unit} ผล {result} {unit}".replace("  ", " ")


def mapping_unreadable(path: str, error: str) -> str:
    return f"อ่านไฟล์กำหนดคอลัมน์ {path} ไม่ได้ค่ะ ({error}) กรุณาตรวจสอบว่าเป็นไฟล์ TOML ที่บันทึกเป็น UTF-8"


def mapping_no_columns(path: str, sheet: str) -> str:
    return f'ไฟล์กำหนดคอลัมน์ {path} ไม่มีรายการคอลัมน์ของส่วน [{sheet}] ค่ะ เช่น columns = [{{ field = "code", header = "รหัสโครงการ" }}]'


def mapping_unknown_field(path: str, sheet: str, field: str, known: list[str]) -> str:
    return f'ไฟล์กำหนดคอลัมน์ {path} ส่วน [{sheet}] มีช่องข้อมูล "{field}" ที่ระบบไม่รู้จักค่ะ ใช้ได้: {", ".join(known)}'


def export_suffix(path: str) -> str:
    return f"ไฟล์ส่งออก {path} ต้องลงท้ายด้วย .xlsx หรือ .csv ค่ะ เช่น รายงาน-2570-ไตรมาส1.xlsx"


def export_written(projects: int, indicators: int, files: list[str]) -> str:
    return f"ส่งออกแล้ว {projects} โครงการ {indicators} ตัวชี้วัด: {', '.join(files)}"


def no_period(fiscal_year: int, quarter: int) -> str:
    return f"ไม่พบไตรมาส {quarter} ของปีงบประมาณ {fiscal_year} ในระบบค่ะ ตรวจสอบปีงบประมาณ (พ.ศ. เช่น 2570) และไตรมาส (1–4)"


# --- budget and results ----------------------------------------------------------------------------

CHART_DISBURSED = "เบิกจ่ายสะสม (% ของงบประมาณ)"
CHART_TARGET = "เป้าหมายการเบิกจ่าย (%)"
CHART_ACHIEVEMENT = "ผลสัมฤทธิ์ตัวชี้วัด (%)"
UNLINKED_STRATEGY = "ไม่ระบุกลยุทธ์เขตพื้นที่"
TARGETS_SAVED = "บันทึกเป้าหมายการเบิกจ่ายแล้วค่ะ"
TARGETS_INVALID = "เป้าหมายการเบิกจ่ายต้องเป็นตัวเลข 0–100 และไม่ลดลงจากไตรมาสก่อนค่ะ เช่น 32, 54, 77, 100"


def short_label(label: str) -> str:
    """A strategy's code alone (its label starts with it), for a printed chart; the unlinked group: "-"."""
    code = label.split(" ", 1)[0]
    return "-" if label == UNLINKED_STRATEGY else code


def quarter_label(quarter: int) -> str:
    return f"ไตรมาส {quarter}"


def chart_disbursement_title(fiscal_year: int) -> str:
    return f"การเบิกจ่ายเทียบเป้าหมาย ปีงบประมาณ {fiscal_year}"


def chart_strategy_title(fiscal_year: int, quarter: int) -> str:
    return f"ผลการเบิกจ่ายและตัวชี้วัดรายกลยุทธ์ ไตรมาส {quarter}/{fiscal_year}"


def chart_office_title(fiscal_year: int, quarter: int) -> str:
    return f"ผลการเบิกจ่ายและตัวชี้วัดรายหน่วยงาน ไตรมาส {quarter}/{fiscal_year}"


# --- messages and actions --------------------------------------------------------------------------

PURPOSE_LABELS = {
    "reminder": "แจ้งเตือนรายงาน",
    "approval_card": "ขออนุมัติรายงาน",
    "reopen_notice": "แจ้งเปิดรายงานให้แก้ไข",
    "decision_notice": "แจ้งผลการพิจารณา",
    "approval_stuck": "แจ้งรายงานที่ไม่มีผู้อนุมัติ",
    "campaign_invite": "เชิญตอบแบบประเมิน",
    "campaign_reminder": "เตือนตอบแบบประเมิน",
    "reply": "ตอบกลับในแชต",
    "apology": "แจ้งขออภัย (ระบบขัดข้อง)",
    "": "ตอบกลับในแชต",
}
KIND_LABELS = {"reply": "ตอบกลับ (ไม่เสียโควตา)", "push": "ส่งถึงรายคน", "multicast": "ส่งพร้อมกันหลายคน"}
OUTBOX_STATUS_LABELS = {
    "pending": "รอส่ง",
    "sending": "กำลังส่ง",
    "sent": "ส่งแล้ว",
    "failed": "ส่งไม่สำเร็จ",
    "deferred": "รอโควตาเดือนหน้า",
}
REACHABILITY_LABELS = {"unlinked": "ยังไม่ลงทะเบียน LINE", "following": "ติดต่อได้", "blocked": "บล็อกบัญชีแล้ว"}


def purpose_label(purpose: str) -> str:
    """What a message was for; a reply's later parts (`reply-1`, …) are replies too."""
    return PURPOSE_LABELS.get(purpose.split("-", 1)[0] if purpose.startswith("reply-") else purpose, purpose)


def reminded(count: int) -> str:
    return f"ส่งการแจ้งเตือนแล้ว {count} ข้อความค่ะ" if count else "ไม่มีใครในหน่วยงานนี้ที่ต้องแจ้งเตือนวันนี้ค่ะ"


def unknown_office(code: str) -> str:
    return f"ไม่พบหน่วยงานรหัส {code or '(ว่าง)'} ค่ะ กรุณาตรวจสอบรหัสหน่วยงาน เช่น SCH1"


# --- the annual report -----------------------------------------------------------------------------


def no_fiscal_year(fiscal_year: int) -> str:
    return f"ไม่พบปีงบประมาณ {fiscal_year} ในระบบค่ะ ตรวจสอบปี พ.ศ. เช่น 2570"


def annual_report_written(html: str, pdf: str) -> str:
    return f"เขียนรายงานประจำปีแล้ว: {html} และ {pdf}"


# --- reports nobody can approve (issue 16) -------------------------------------------------------------

STUCK_TITLE = "รายงานที่ไม่มีผู้อนุมัติ"
STUCK_WHAT_TO_DO = (
    "รายงานเหล่านี้ส่งแล้ว แต่ผู้รายงานเป็นผู้อนุมัติโครงการเอง และไม่มีผู้บังคับบัญชาระดับถัดไปในระบบ "
    "จึงไม่มีใครอนุมัติได้ค่ะ วิธีแก้: กำหนดผู้อนุมัติระดับถัดไปในข้อมูลหน่วยงาน "
    "(escalation_approver ของหน่วยงาน หรือ approver ของหน่วยงานระดับบน) หรือแก้ผู้อนุมัติของโครงการในแบบนำเข้า "
    'แล้วนำเข้าอีกครั้ง เมื่อกำหนดแล้ว ผู้อนุมัติจะเห็นรายงานในเมนู "รออนุมัติ" ทาง LINE ค่ะ'
)
STUCK_NONE = "ไม่มีรายงานที่ค้างเพราะไม่มีผู้อนุมัติค่ะ"


def stuck_marker(count: int) -> str:
    return f"มีรายงาน {count} รายการที่ไม่มีผู้อนุมัติ ดูวิธีแก้ค่ะ"


# --- the annual report's public edition -------------------------------------------------------------
REDACTED_NAME = "[ชื่อบุคคล]"
REDACTED_CONTACT = "[ข้อมูลติดต่อ]"


# --- evaluation results (issue 19) ----------------------------------------------------------------
CAMPAIGN_STATUS_LABELS = {"scheduled": "รอเปิด", "open": "เปิดรับคำตอบ", "closed": "ปิดแล้ว"}
CAMPAIGN_START_HINT = (
    "เลือกไฟล์แบบประเมิน (.yaml หรือ .xlsx จากคำสั่ง tidtam evaluation template) และกลุ่มเป้าหมาย "
    "ระบบจะแสดงจำนวนผู้รับและโควตาที่ใช้ให้ตรวจสอบก่อนยืนยันส่งทาง LINE ค่ะ"
)
CAMPAIGN_TARGET_HELP = (
    "พิมพ์บทบาท: reporter (ผู้รายงาน), approver (ผู้อำนวยการ), planner (กลุ่มนโยบายและแผน), "
    "monitoring_head (หัวหน้ากลุ่มงานติดตามฯ), "
    "admin (ผู้ดูแลระบบ), observer (ผู้ติดตาม) หรือรหัสหน่วยงาน หรือ strategy:รหัสยุทธศาสตร์ ค่ะ"
)
CAMPAIGN_FILE_NEEDED = "กรุณาเลือกไฟล์แบบประเมิน (.yaml หรือ .xlsx) ค่ะ"
CAMPAIGN_FILE_TOO_BIG = "ไฟล์แบบประเมินใหญ่เกิน 5 MB กรุณาตรวจสอบไฟล์อีกครั้งค่ะ"
CAMPAIGN_TARGET_NEEDED = "กรุณาระบุกลุ่มเป้าหมาย เช่น reporter รหัสหน่วยงาน หรือ strategy:รหัสยุทธศาสตร์ ค่ะ"
CAMPAIGN_NOT_STARTED = "ยังไม่ได้เริ่มแบบประเมิน กรุณาแก้ไขแล้วเลือกไฟล์อีกครั้งค่ะ"
CAMPAIGN_DATE_HINT = "พิมพ์วันที่ เช่น 1/12/69 หรือ 1 ธ.ค. 2569 (เว้นว่างไว้ได้ ระบบจะใช้ช่วงเวลาตามคู่มือ)"
CAMPAIGN_DATE_PLACEHOLDER = "เช่น 1 ธ.ค. 2569"
CAMPAIGN_CLOSE_CONFIRM = "ปิดรับคำตอบเดี๋ยวนี้ (ผู้ที่ยังไม่ตอบจะตอบไม่ได้อีก)"


def campaign_saved(saved: str, n: int) -> str:
    """The note on a campaign's page after an action."""
    if saved == "started":
        return (
            f"เริ่มแบบประเมินแล้วค่ะ ส่งคำเชิญ {n:,} คน (รวมในข้อความประจำวันของแต่ละคน)"
            if n
            else ("เริ่มแบบประเมินแล้วค่ะ คำเชิญจะส่งในวันเปิดรับ")
        )
    if saved == "closed":
        return "ปิดรับคำตอบแล้วค่ะ"
    return ""


NO_CAMPAIGNS = "ยังไม่มีแบบประเมินสำหรับปีงบประมาณนี้ค่ะ"
NO_STRATEGY_RATES = "ยังไม่มีโครงการที่เชื่อมโยงกับยุทธศาสตร์ในปีงบประมาณนี้ค่ะ"
