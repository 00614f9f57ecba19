"""The Thai pieces the scheduler puts inside its items: labels, the lines of escalations and the
weekly digest, the reasons something could not be delivered. (The messages themselves are built in
``messages.reminders``; the planner only fills items, and takes every word it needs from here.)

Pure functions; the same voice as the rest of the bot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from messages.reminders import ItemKind
from messages.thai_dates import format_date

__all__ = [
    "SUMMARY_LABELS",
    "approval_line_detail",
    "budget_figures",
    "digest_figures",
    "digest_office_detail",
    "draft_detail",
    "dry_run_digest_only",
    "dry_run_heading",
    "dry_run_unreachable",
    "group_label",
    "late_projects_detail",
    "not_delivered",
    "planning_on_reply",
    "stuck_detail",
    "unreachable_reason",
]

# What a person's items were about, in the planning group's list of those not messaged themselves.
SUMMARY_LABELS: Mapping[ItemKind, str] = {
    ItemKind.REPORT_DUE: "ใกล้ครบกำหนด",
    ItemKind.REPORT_OVERDUE: "เลยกำหนด",
    ItemKind.APPROVER_OVERDUE: "ผู้อนุมัติ (ค้างส่ง)",
    ItemKind.APPROVAL_PENDING: "รออนุมัติ",
    ItemKind.DRAFT_IDLE: "ฉบับร่างค้าง",
}
NO_APPROVER = "ยังไม่ได้กำหนดผู้อนุมัติ"


def planning_on_reply(people: int) -> str:
    """`tidtam remind --dry-run`: the planners told the planning group's items on their next reply."""
    return f"ฝ่ายแผนที่ได้รับข้อความเดียวกันพร้อมคำตอบครั้งถัดไปของบอท (ไม่ใช้โควตา): {people} คน"


def group_label(office_name: str) -> str:
    """How a planning group's LINE group is named in logs and lists."""
    return f"กลุ่ม LINE ของ{office_name}"


def _codes(codes: Sequence[str], shown: int = 5) -> str:
    listed = ", ".join(sorted(codes)[:shown])
    return listed + (f" และอีก {len(codes) - shown} โครงการ" if len(codes) > shown else "")


def late_projects_detail(codes: Sequence[str]) -> str:
    """An office's line in an escalation: how many projects are late, and which."""
    return f"{len(codes)} โครงการ: {_codes(codes)}"


def approval_line_detail(office: str, approver: str | None) -> str:
    return f"{office} · ผู้อนุมัติ {approver or NO_APPROVER}"


def stuck_detail(office: str, fiscal_year: int, quarter: int) -> str:
    """A stuck report's line in the digest: its office and quarter."""
    return f"{office} · ไตรมาส {quarter}/{fiscal_year}"


def draft_detail(quarter: int, fiscal_year: int) -> str:
    return f"ไตรมาส {quarter}/{fiscal_year}"


def digest_office_detail(counts: Mapping[str, int], past_due: bool) -> str:
    late = "ค้างส่ง" if past_due else "ยังไม่ส่ง"
    return (
        f"ส่ง {counts.get('submitted', 0)} · อนุมัติ {counts.get('approved', 0)} · "
        f"ส่งกลับ {counts.get('returned', 0)} · {late} {counts.get('late' if past_due else 'open', 0)}"
    )


def digest_figures(totals: Mapping[str, int], past_due: bool) -> tuple[tuple[str, int], ...]:
    return (
        ("ส่งแล้ว", totals["submitted"]),
        ("อนุมัติแล้ว", totals["approved"]),
        ("ส่งกลับแก้ไข", totals["returned"]),
        ("ค้างส่ง" if past_due else "ยังไม่ส่ง", totals["late" if past_due else "open"]),
    )


def not_delivered(error: str | None) -> str:
    return (error or "ส่งไม่สำเร็จ")[:80]


def unreachable_reason(blocked: bool) -> str:
    return "ผู้ใช้บล็อก LINE" if blocked else "ยังไม่ได้ผูกบัญชี LINE"


def budget_figures(used: int, quota: int) -> tuple[tuple[str, int], ...]:
    return (("ใช้ไปแล้ว", used), ("โควตาต่อเดือน", quota), ("ร้อยละ", round(100 * used / quota)))


# --- `tidtam remind --dry-run`: what a day's tick would send, for the planning group ---------------------


def dry_run_heading(day: date, messages: int) -> str:
    return f"วันที่ {format_date(day)} ({day.isoformat()}): {messages} ข้อความ"


def dry_run_unreachable(people: int) -> str:
    return f"ไม่ได้ส่ง (ยังไม่ผูก LINE หรือบล็อก): {people} คน"


def dry_run_digest_only(used: int, quota: int) -> str:
    return f"(งบข้อความ: ใช้ไปแล้ว {used}/{quota} จึงส่งเป็นสรุปเท่านั้น)"
