"""Menus by role, and what the bot says to directors and the planning group about who has reported.

A person's menu is the commands of every role they hold (a director who owns projects also reports).
The same declarations feed the quick-reply buttons, the help texts and the rich menus, so the three
never disagree. Pure functions: plain data in, line-bot-sdk messages out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache

from linebot.v3.messaging import TextMessage

from messages.chat import text
from messages.names import split_name
from messages.thai_dates import format_date, format_quarter
from messages.thai_numbers import format_number, format_percent_words
from messages.vocabulary import WORDS


class MenuRole(StrEnum):
    REPORTER = "reporter"
    DIRECTOR = "director"
    PLANNER = "planner"
    UNLINKED = "unlinked"


@dataclass(frozen=True)
class MenuEntry:
    intent: str  # a key of messages.vocabulary.WORDS
    explains: str  # what the help text says it does

    @property
    def label(self) -> str:
        return WORDS[self.intent][0]


MENUS: dict[MenuRole, tuple[MenuEntry, ...]] = {
    MenuRole.REPORTER: (
        MenuEntry("REPORT", "รายงานผลการดำเนินงานโครงการรายไตรมาส"),
        MenuEntry("STATUS", "ดูสถานะการรายงานผลไตรมาสนี้และวันกำหนดส่ง"),
        MenuEntry("MY_PROJECTS", "ดูโครงการที่รับผิดชอบในปีงบประมาณนี้"),
        MenuEntry("VIEW_REPORT", "ดูรายงานที่ส่งแล้ว รวมถึงไตรมาสก่อน ๆ"),
        MenuEntry("CONTACT", "ดูผู้ประสานงานของกลุ่มนโยบายและแผน"),
    ),
    MenuRole.DIRECTOR: (
        MenuEntry("PENDING", "ดูรายงานที่รอท่านอนุมัติ เลือกอนุมัติทีละรายการหรือหลายรายการ"),
        MenuEntry("SCHOOL_STATUS", "ดูว่าโครงการใดส่งรายงานไตรมาสนี้แล้ว และโครงการใดยังไม่ส่ง"),
        MenuEntry("DETAILS", 'ดูรายละเอียดรายงาน เช่น "ดูรายละเอียด P001"'),
    ),
    MenuRole.PLANNER: (
        MenuEntry("AREA_OVERVIEW", "ดูภาพรวมการรายงานผลของทั้งเขตในไตรมาสนี้"),
        MenuEntry("NOT_SUBMITTED", "ดูรายชื่อโครงการและผู้รับผิดชอบที่ยังไม่ส่งรายงาน"),
        MenuEntry("DASHBOARD", "ขอลิงก์เข้าแดชบอร์ดของกลุ่มนโยบายและแผน"),
    ),
    MenuRole.UNLINKED: (
        MenuEntry("REGISTER", "ลงทะเบียนด้วยรหัส 8 ตัวที่ได้รับจากกลุ่มนโยบายและแผน"),
        MenuEntry("HELP", "วิธีใช้งาน"),
    ),
}
HELP_ENTRY = MenuEntry("HELP", "แสดงเมนูนี้")
QUICK_REPLY_LIMIT = 13


def entries(roles: Sequence[MenuRole]) -> tuple[MenuEntry, ...]:
    """The commands of every role held, in role order, each once, help last."""
    return _entries(tuple(roles))


@cache
def _entries(roles: tuple[MenuRole, ...]) -> tuple[MenuEntry, ...]:  # a few sets of roles: made once each
    seen: dict[str, MenuEntry] = {}
    for role in roles:
        for entry in MENUS[role]:
            seen.setdefault(entry.intent, entry)
    if MenuRole.UNLINKED not in roles:
        seen.setdefault(HELP_ENTRY.intent, HELP_ENTRY)
    return tuple(seen.values())


def labels(roles: Sequence[MenuRole]) -> tuple[str, ...]:
    """Quick-reply labels of a person's menu (what each button types); `DETAILS` needs a project."""
    return _labels(tuple(roles))


@cache
def _labels(roles: tuple[MenuRole, ...]) -> tuple[str, ...]:
    return tuple(e.label for e in _entries(roles) if e.intent != "DETAILS")[:QUICK_REPLY_LIMIT]


def address(roles: Sequence[MenuRole], full_name: str = "") -> str:
    """How the bot addresses a person: ท่าน for a director, คุณ + first name (never the title) otherwise."""
    if MenuRole.DIRECTOR in roles:
        return "ท่าน"
    first = split_name(full_name).first if full_name else ""
    return f"คุณ{first}" if first else "คุณ"


def help_for(roles: Sequence[MenuRole], full_name: str = "") -> TextMessage:
    lines = [f"เมนูสำหรับ{address(roles, full_name)}ค่ะ พิมพ์คำสั่งหรือแตะปุ่มด้านล่างได้เลย"]
    lines += [f"• {e.label} — {e.explains}" for e in entries(roles)]
    return text("\n".join(lines), *labels(roles))


def no_own_projects(roles: Sequence[MenuRole], fiscal_year_label: str) -> TextMessage:
    """`สถานะ` / `โครงการของฉัน` from someone who owns no project: what they can do instead."""
    lines = [f"ใน{fiscal_year_label}ไม่มีโครงการที่{address(roles)}เป็นผู้รับผิดชอบค่ะ"]
    others = [e for e in entries(roles) if e.intent not in ("REPORT", "STATUS", "MY_PROJECTS", "HELP")]
    if others:
        lines.append("คำสั่งที่ใช้ได้:")
        lines += [f"• {e.label} — {e.explains}" for e in others]
    return text("\n".join(lines), *labels(roles))


# --- who has reported ---------------------------------------------------------------------------------

STATE_WORDS = {
    "none": "ยังไม่รายงาน",
    "draft": "กำลังกรอก ยังไม่ส่ง",
    "submitted": "ส่งแล้ว รออนุมัติ",
    "approved": "อนุมัติแล้ว",
    "returned": "ส่งกลับให้แก้ไข",
}
_SENT = ("submitted", "approved")
MAX_LINES = 25


@dataclass(frozen=True)
class ProjectState:
    code: str
    name: str
    state: str
    owners: tuple[str, ...]
    progress_pct: object | None = None


def _due(quarter: object, due_on: date | None) -> str:
    label = format_quarter(quarter)  # type: ignore[arg-type]
    return f"{label} (กำหนดส่ง {format_date(due_on)})" if due_on else label


def _owner_text(owners: Sequence[str]) -> str:
    if not owners:
        return ""
    return f" — {owners[0]}" + (f" และอีก {len(owners) - 1} คน" if len(owners) > 1 else "")


def school_status(
    office_name: str,
    quarter: object,
    due_on: date | None,
    projects: Sequence[ProjectState],
    menu: Sequence[str],
) -> TextMessage:
    if not projects:
        return text(f"ยังไม่มีโครงการของ{office_name}ที่ต้องรายงานใน{format_quarter(quarter)} ค่ะ", *menu)  # type: ignore[arg-type]
    sent = [p for p in projects if p.state in _SENT]
    waiting = [p for p in projects if p.state not in _SENT]
    lines = [
        f"สถานะการรายงานผลของ{office_name} {_due(quarter, due_on)}",
        f"ส่งแล้ว {format_number(len(sent))} จาก {format_number(len(projects))} โครงการค่ะ",
    ]
    if waiting:
        lines.append("")
        lines.append(f"ยังไม่ส่ง {format_number(len(waiting))} โครงการ")
        lines += [f"• {p.code} {p.name} ({STATE_WORDS[p.state]}){_owner_text(p.owners)}" for p in waiting]
    if sent:
        lines.append("")
        lines.append("ส่งแล้ว")
        for p in sent:
            progress = (
                f" ความก้าวหน้า {format_percent_words(p.progress_pct)}" if p.progress_pct is not None else ""
            )
            lines.append(f"• {p.code} {p.name} ({STATE_WORDS[p.state]}{progress})")
    return text(_cap(lines), *menu)


def _cap(lines: list[str]) -> str:
    if len(lines) <= MAX_LINES + 3:
        return "\n".join(lines)
    hidden = len(lines) - MAX_LINES
    return "\n".join([*lines[:MAX_LINES], f"…และอีก {format_number(hidden)} รายการค่ะ"])


@dataclass(frozen=True)
class OfficeLine:
    name: str
    total: int
    waiting: int
    by_state: dict[str, int]


def area_overview(
    area_name: str, quarter: object, due_on: date | None, offices: Sequence[OfficeLine], menu: Sequence[str]
) -> TextMessage:
    total = sum(o.total for o in offices)
    if total == 0:
        return text(f"ยังไม่มีโครงการที่ต้องรายงานใน{format_quarter(quarter)} ค่ะ", *menu)  # type: ignore[arg-type]
    states: dict[str, int] = {}
    for office in offices:
        for state, n in office.by_state.items():
            states[state] = states.get(state, 0) + n
    sent = sum(states.get(s, 0) for s in _SENT)
    lines = [
        f"ภาพรวมการรายงานผล {area_name} {_due(quarter, due_on)}",
        f"ส่งแล้ว {format_number(sent)} จาก {format_number(total)} โครงการ ({format_percent_words(100 * sent / total)})",
    ]
    lines += [f"• {STATE_WORDS[s]} {format_number(states[s])} โครงการ" for s in STATE_WORDS if states.get(s)]
    behind = sorted((o for o in offices if o.waiting), key=lambda o: (-o.waiting, o.name))[:10]
    if behind:
        lines.append("")
        lines.append("หน่วยงานที่ยังไม่ส่งมากที่สุด")
        lines += [
            f"• {o.name} ยังไม่ส่ง {format_number(o.waiting)} จาก {format_number(o.total)} โครงการ"
            for o in behind
        ]
    return text("\n".join(lines), *menu)


def not_submitted(
    quarter: object,
    due_on: date | None,
    rows: Sequence[tuple[str, ProjectState]],
    total: int,
    menu: Sequence[str],
) -> TextMessage:
    if not rows:
        return text(f"ทุกโครงการส่งรายงาน{format_quarter(quarter)}แล้วค่ะ", *menu)  # type: ignore[arg-type]
    lines = [f"โครงการที่ยังไม่ส่งรายงาน {_due(quarter, due_on)} รวม {format_number(total)} โครงการค่ะ"]
    office = None
    for office_name, p in rows:
        if office_name != office:
            office = office_name
            lines.append(f"\n{office_name}")
        lines.append(f"• {p.code} {p.name} ({STATE_WORDS[p.state]}){_owner_text(p.owners)}")
    shown = len(rows)
    body = _cap(lines)
    if total > shown and "…และอีก" not in body:
        body += f"\n…และอีก {format_number(total - shown)} โครงการ ดูทั้งหมดได้ในแดชบอร์ดค่ะ"
    return text(body, *menu)


def contact(office_name: str, planners: Sequence[tuple[str, str]], menu: Sequence[str]) -> TextMessage:
    """`ติดต่อเจ้าหน้าที่`: the planning group's people (name, position)."""
    if not planners:
        return text(f"ติดต่อกลุ่มนโยบายและแผน {office_name} ได้ที่สำนักงานเขตพื้นที่ฯ ค่ะ", *menu)
    lines = [f"ผู้ประสานงานกลุ่มนโยบายและแผน {office_name}"]
    lines += [f"• {name}" + (f" ({position})" if position else "") for name, position in planners[:10]]
    lines.append("ติดต่อได้ที่กลุ่มนโยบายและแผน สำนักงานเขตพื้นที่ฯ ในวันและเวลาราชการค่ะ")
    return text("\n".join(lines), *menu)
